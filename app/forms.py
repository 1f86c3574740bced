"""Form pieces shared by several blueprints."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import HiddenInput
from wtforms.validators import InputRequired, Length, ValidationError


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select options."""
    return [SelectChoice(value, label) for value, label in pairs]


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
