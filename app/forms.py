"""Form pieces shared by several blueprints."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import HiddenInput
from wtforms.validators import InputRequired, Length, StopValidation, ValidationError


def choices(pairs, blank: bool = False) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select options.

    ``blank`` puts a "please choose" option (value 0) first, so that a required
    choice is never made silently by the browser picking the first entry.
    """
    options = [SelectChoice(0, _l("Please choose"))] if blank else []
    return options + [SelectChoice(value, label) for value, label in pairs]


def text_or_blank(value) -> str:
    """``coerce`` for text-valued selects with a "please choose" option (value 0)."""
    return "" if value in (None, 0, "0") else str(value)


class Chosen:
    """Requires a real option, not the "please choose" placeholder of ``choices(blank=True)``."""

    def __init__(self, message=None):
        self.message = message or _l("Please choose one.")

    def __call__(self, form, field):
        if not field.data:
            raise StopValidation(self.message)


class EmptyForm(FlaskForm):
    """CSRF-only form for POST buttons (sign out, deactivate, ...)."""


class VersionedForm(FlaskForm):
    """Carries the record version the user started from, to catch concurrent edits."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])

    def __init__(self, *args, obj=None, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        self._obj = obj  # the record being edited: Unique lets it keep its own values


def safe_text(max_length: int):
    """Length check whose message names the limit, in the user's language."""
    return Length(max=max_length, message=_l("At most %(max)d characters.", max=max_length))


class Unique:
    """Rejects a value that another row of ``model`` already has in ``column``."""

    def __init__(self, lookup, message):
        self.lookup = lookup
        self.message = message

    def __call__(self, form, field):
        existing = self.lookup(field.data)
        if existing is not None and existing is not form._obj:
            raise ValidationError(self.message)
