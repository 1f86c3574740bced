"""Form pieces shared by several blueprints."""
import hashlib
import json
import re
import secrets

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import select
from decimal import Decimal, InvalidOperation

from wtforms import DecimalField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget, TextInput
from wtforms.validators import InputRequired, Length, NumberRange, StopValidation, ValidationError

from app.text import without_direction_overrides


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
    """Carries the record version the user started from, to catch concurrent edits, and a
    fingerprint of every field as the form was opened (``original``), so that a save after a
    colleague's writes only the fields this user changed (``blueprints.common.save_versioned``).

    The fingerprint is a short hash per field, not the values: it only tells "changed since
    opened" apart, and a forged one can do no more than the user could by typing.
    """

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    original = StringField(widget=HiddenInput())
    UNCOMPARED = frozenset({"version", "original", "csrf_token", "submission"})

    def __new__(cls, *args, **kwargs):
        form = super().__new__(cls)
        # The arguments the view built the form with, to build it afresh from the record (``as_on_file``).
        form._init = (args, {k: v for k, v in kwargs.items() if k not in ("formdata", "_copy")})
        return form

    def __init__(self, *args, obj=None, **kwargs):
        self._copy = kwargs.pop("_copy", False)
        super().__init__(*args, obj=obj, **kwargs)
        self._obj = obj  # the record being edited: Unique lets it keep its own values
        if obj is not None and not self.is_submitted():
            self.show_record(obj)

    def show_record(self, obj) -> None:
        """Fields whose value on the form is not the stored one (a time in the reader's zone, a
        list kept as text, codes of related rows): set them from ``obj`` here, not in the view,
        so that ``as_on_file`` shows the record the same way and a concurrent edit compares like
        with like (trial 22: an event's stored UTC start, compared with the local one the form
        was opened with, looked changed and was saved again as local: 8 hours earlier)."""

    @property
    def form_attributes(self):
        """For the <form> tag of an edit form: ``autocomplete="off"``, so that Back shows the
        record as it is now. Chromium otherwise restores the drop-downs and tick boxes of the
        page left, over the current values the server sent, and Save then undid a colleague's
        change that had just been merged (issue 9, trial 6). A create form keeps the browser's
        restoring: its one-time token depends on it (SubmissionInput)."""
        return Markup(' autocomplete="off"') if self._obj is not None else ""

    def is_submitted(self) -> bool:
        # A copy built from the record shows the record, whatever this request posted.
        return False if self._copy else super().is_submitted()

    def compared_fields(self):
        return [(name, field) for name, field in self._fields.items() if name not in self.UNCOMPARED]

    def fingerprints(self) -> dict[str, str]:
        return {name: _fingerprint(field) for name, field in self.compared_fields()}

    def opened_with(self) -> dict[str, str] | None:
        """The fingerprints posted back, or None when the page did not carry them."""
        try:
            posted = json.loads(self.original.data or "")
        except ValueError:
            return None
        return posted if isinstance(posted, dict) else None

    def remember(self, fingerprints: dict[str, str]) -> None:
        text = json.dumps(fingerprints, separators=(",", ":"), sort_keys=True)
        self.original.data = text
        self.original.raw_data = [text]

    def as_on_file(self):
        """The same form built from the record as it is now (refresh the record first)."""
        args, kwargs = self._init
        return type(self)(*args, **dict(kwargs, formdata=None, _copy=True))

    def hidden_tag(self, *fields):
        if self._obj is not None and not self.original.data:
            self.remember(self.fingerprints())
        return super().hidden_tag(*fields)

    def populate_obj(self, obj):
        for name, field in self._fields.items():
            if name not in self.UNCOMPARED:
                field.populate_obj(obj, name)


def _canonical(value, select: bool) -> str:
    if isinstance(value, (list, tuple, set)):
        return "|".join(sorted(_canonical(v, False) for v in value))
    if value is None or value == "" or (select and value == 0):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, str):
        return value.strip()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _fingerprint(field) -> str:
    select = isinstance(field, (SelectField, SelectMultipleField))
    return hashlib.sha256(_canonical(field.data, select).encode()).hexdigest()[:12]


class _SafeText(Length):
    """Takes direction-override characters out of the text (app/text.py), then checks the length."""

    def __call__(self, form, field):
        if isinstance(field.data, str):
            field.data = without_direction_overrides(field.data)
        super().__call__(form, field)


def safe_text(max_length: int):
    """Length check whose message names the limit, in the user's language; the text loses any
    direction-override characters, for every form's free text at once."""
    return _SafeText(max=max_length, message=_l("At most %(max)d characters.", max=max_length))


class EmailAddress:
    """An e-mail address a mail server delivers to: the customer files' check (ASCII before the
    "@", no SMTPUTF8), where WTForms' Email() let "😀@example.com" through (issue 9, trial 6).
    The normalised address replaces what was typed."""

    def __init__(self, message=None):
        self.message = message

    def __call__(self, form, field):
        from app.services.customer_fields import FieldError, normalise_email

        if not field.data:
            return
        try:
            field.data = normalise_email(field.data)
        except FieldError:
            raise ValidationError(self.message or _l("Enter a valid e-mail address.")) from None


class Unique:
    """Rejects a value that another row of ``model`` already has in ``column``."""

    def __init__(self, lookup, message):
        self.lookup = lookup
        self.message = message

    def __call__(self, form, field):
        existing = self.lookup(field.data)
        if existing is not None and existing is not form._obj:
            raise ValidationError(self.message)


class SubmissionInput(HiddenInput):
    """The one-time token of a create form, as a hidden *text* input filled in by app.js.

    Why not a plain hidden input with the token as its value: after Save, Back makes the
    browser fetch the form again (pages are ``no-store``), so the server would hand out a new
    token while the browser restores what the user had typed - and the replayed post would
    look new. A text input whose value a script set is part of the form state the browser
    restores, so Back then Save sends the first token again. ``hidden_tag()`` renders it
    (it is a ``HiddenInput``); without JavaScript the field stays empty and the form simply
    has no replay guard.
    """

    def __call__(self, field, **kwargs):
        return Markup(f'<input type="text" name="{escape(field.name)}" value="" '
                      f'data-submission="{escape(field.token)}" hidden tabindex="-1" aria-hidden="true">')


TOKEN_SHAPE = re.compile(r"[0-9a-f]{32}")


class SubmissionField(StringField):
    widget = SubmissionInput()

    def process_formdata(self, valuelist):
        posted = (valuelist[0] if valuelist else "") or ""
        self.data = posted if TOKEN_SHAPE.fullmatch(posted) else None

    @property
    def token(self) -> str:
        # A form shown again after a validation error keeps the token it was posted with.
        if not self.data:
            self.data = secrets.token_hex(16)
        return self.data


class OnceForm(FlaskForm):
    """A form that creates a record: a replayed post is recognised (issue 8).

    ``validate()`` looks the posted token up first: when that user already saved this form,
    ``receipt`` is set and validation passes without checking the fields again (a replayed
    new customer would otherwise fail on its own mobile number). ``blueprints.common.create_once``
    then takes the user to the record the first post created.
    """

    submission = SubmissionField()

    def validate(self, extra_validators=None):
        self.receipt = None
        token = self.submission.data
        csrf = getattr(self, "csrf_token", None)  # absent where CSRF is switched off (tests)
        if token and current_user.is_authenticated and (csrf is None or csrf.validate(self)):
            from app.extensions import db
            from app.models import FormReceipt

            receipt = db.session.scalar(select(FormReceipt).where(FormReceipt.token == token))
            if receipt is not None and receipt.user_id == current_user.id:
                self.receipt = receipt
                return True
            if receipt is not None:  # someone else's token: no way into their record, no guard either
                self.submission.data = None
        return super().validate(extra_validators=extra_validators)


_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
# Thousands separators only where they group thousands: "1,200.50" yes, "1,5" (a decimal comma) no.
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


class AmountField(DecimalField):
    """A decimal typed as people write amounts: digits, a point, at most ``places`` decimals.

    Python's Decimal also reads "NaN", "sNaN", "Infinity" and "1e5"; WTForms' DecimalField
    passes them on (NaN made the range check raise: a 500) or rounds "12.345" to 12.35 in
    silence. Here each is refused with a message. Thousands separators (1,200) and full-width
    digits (１２００) are accepted. A text box, not type=number, so what was refused stays visible.
    """

    widget = TextInput()

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        import unicodedata

        raw = unicodedata.normalize("NFKC", valuelist[0] or "").strip()
        if "," in raw:
            if not _GROUPED.fullmatch(raw):
                self.data = None
                raise ValueError(str(_l("Enter a number, e.g. 1200 or 99.50.")))
            raw = raw.replace(",", "")
        if not raw:
            self.data = None
            return
        if not _PLAIN_NUMBER.fullmatch(raw):
            self.data = None
            raise ValueError(str(_l("Enter a number, e.g. 1200 or 99.50.")))
        try:
            value = Decimal(raw)
        except InvalidOperation:
            self.data = None
            raise ValueError(str(_l("Enter a number, e.g. 1200 or 99.50."))) from None
        # "12.340" is 12.34: trailing zeros are not decimals that would be lost.
        if self.places is not None and "." in raw and -Decimal(raw.rstrip("0")).as_tuple().exponent > self.places:
            self.data = None
            raise ValueError(str(_l("At most %(n)d decimal places.", n=self.places)))
        self.data = value


class InRange(NumberRange):
    """NumberRange that stays quiet when the value could not be read at all: the field already
    says "not a valid number", and a second message under it only confused."""

    def __call__(self, form, field):
        if field.data is None and field.process_errors:
            return
        super().__call__(form, field)


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (macros/forms.html draws them as a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
