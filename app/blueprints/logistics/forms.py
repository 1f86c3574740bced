"""Forms of the logistics pages: a partner (headquarters), a delivery leaving, and its outcome.

Times are typed in the portal's zone and stored in UTC; a form for an existing delivery is built
from ``LocalShipment`` (the record with its times in the portal's zone), so the concurrent-edit
merge compares what the user saw with what is on file now."""
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone, to_utc
from wtforms import BooleanField, DateTimeLocalField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional, Regexp, ValidationError

from app.blueprints.customers.forms import FlexibleDateField
from app.forms import Chosen, OnceForm, VersionedForm, choices, safe_text
from app.models.base import local_today, utcnow
from app.models.logistics import FAILURE_REASONS, SHIPMENT_STATES

TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
CALLED_AHEAD = {"": _l("Not known"), "yes": _l("Yes"), "no": _l("No")}


def local_now() -> datetime:
    return to_user_timezone(utcnow()).replace(tzinfo=None, second=0, microsecond=0)


def stored(moment: datetime | None) -> datetime | None:
    """A time typed in the portal's zone, as stored (naive UTC)."""
    return to_utc(moment).replace(tzinfo=None) if moment else None


def _sane_time(field):
    # Checked before converting: year 1 or 9999 would overflow the time-zone arithmetic.
    if field.data and not date(2000, 1, 1) <= field.data.date() <= local_today() + timedelta(days=1):
        raise ValidationError(_l("Enter a time between 2000 and today."))


class PartnerForm(VersionedForm):
    code = StringField(_l("Code"), validators=[DataRequired(), safe_text(20), Regexp(
        r"^[A-Za-z0-9_-]+$", message=_l("Letters, digits, - and _ only."))])
    name = StringField(_l("Name"), validators=[DataRequired(), safe_text(100)])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), safe_text(60)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), safe_text(30), Regexp(
        r"^[0-9 +()-]+$", message=_l("Digits, spaces and + - ( ) only."))])

    def validate_contact_phone(self, field):
        digits = sum(ch.isdigit() for ch in field.data or "")
        if field.data and not 3 <= digits <= 15:  # a hotline (95338) up to an international number
            raise ValidationError(_l("A phone number has 3 to 15 digits."))
    service_area = StringField(_l("Service area"), validators=[Optional(), safe_text(200)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), safe_text(2000)])
    active = BooleanField(_l("In use (stores can choose it)"), default=True)


class NewPartnerForm(OnceForm, PartnerForm):
    pass


class _DispatchFields:
    partner_id = SelectField(_l("Carrier"), coerce=int, validators=[Chosen(_l("Choose the carrier."))])
    tracking_no = StringField(_l("Tracking number"), validators=[Optional(), safe_text(40)])
    dispatched_at = DateTimeLocalField(_l("Left the store / warehouse"), format=TIME_FORMATS,
                                       validators=[InputRequired(message=_l("Enter a valid date and time."))])
    promised_on = FlexibleDateField(_l("Promised to the customer for"),
                                    validators=[InputRequired(message=_l("Enter a valid date."))])
    note = StringField(_l("Note"), validators=[Optional(), safe_text(500)])

    def validate_dispatched_at(self, field):
        _sane_time(field)

    def dispatch_data(self) -> dict:
        return {"partner_id": self.partner_id.data, "tracking_no": self.tracking_no.data,
                "dispatched_at": stored(self.dispatched_at.data), "promised_on": self.promised_on.data,
                "note": self.note.data}


class NewShipmentForm(_DispatchFields, OnceForm):
    def __init__(self, *args, partners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.partner_id.choices = choices(((p.id, p.name) for p in partners), blank=True)
        if not self.is_submitted():
            self.dispatched_at.data = local_now()


class ShipmentForm(_DispatchFields, VersionedForm):
    state = RadioField(_l("Outcome"), choices=choices(SHIPMENT_STATES.items()), default="in_transit")
    delivered_at = DateTimeLocalField(_l("Arrived at"), format=TIME_FORMATS, validators=[Optional()])
    damaged = BooleanField(_l("Arrived damaged"))
    damage_note = StringField(_l("What was damaged"), validators=[Optional(), safe_text(200)])
    failure_reason = SelectField(_l("Why not delivered"), choices=choices(FAILURE_REASONS.items(), blank=True),
                                 validators=[Optional()])
    called_ahead = SelectField(_l("Did the carrier call before coming?"), choices=choices(CALLED_AHEAD.items()))

    def __init__(self, *args, partners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.partner_id.choices = choices(((p.id, p.name) for p in partners))

    def validate_delivered_at(self, field):
        _sane_time(field)
        if self.state.data == "delivered" and not field.data:
            raise ValidationError(_l("Enter when the delivery arrived."))

    def validate_failure_reason(self, field):
        if self.state.data == "failed" and not field.data:
            raise ValidationError(_l("Say why it was not delivered."))

    def outcome_data(self) -> dict:
        return {**self.dispatch_data(), "state": self.state.data, "delivered_at": stored(self.delivered_at.data),
                "damaged": self.damaged.data, "damage_note": self.damage_note.data,
                "failure_reason": self.failure_reason.data or None,
                "called_ahead": {"yes": True, "no": False}.get(self.called_ahead.data)}


class LocalShipment:
    """A shipment as its edit form shows it: times in the portal's zone, the call as yes/no/''."""

    def __init__(self, shipment):
        self._s = shipment

    def __getattr__(self, name):
        return getattr(self._s, name)

    @property
    def dispatched_at(self):
        return to_user_timezone(self._s.dispatched_at).replace(tzinfo=None)

    @property
    def delivered_at(self):
        moment = self._s.delivered_at
        return to_user_timezone(moment).replace(tzinfo=None) if moment else None

    @property
    def called_ahead(self):
        return {True: "yes", False: "no"}.get(self._s.called_ahead, "")

    @property
    def failure_reason(self):
        return self._s.failure_reason or ""
