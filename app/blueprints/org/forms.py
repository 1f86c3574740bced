from datetime import date, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import DateField, EmailField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Optional, Regexp, ValidationError

from app.extensions import db
from app.forms import EmailAddress, Chosen, MultiCheckboxField, OnceForm, Unique, VersionedForm, choices, safe_text
from app.models.training import STORE_SIZES
from app.models import Franchisee, Region, Store
from app.models.org import FRANCHISEE_STATUSES
from flask_wtf import FlaskForm

CODE = Regexp(r"^[A-Za-z0-9_-]+$", message=_l("Use letters, digits, '-' or '_' only."))
PHONE = Regexp(r"^[0-9+()\- ]{5,30}$", message=_l("Enter a valid phone number."))


def _lookup(model, column):
    return lambda value: db.session.scalar(select(model).where(column == (value or "").strip()))


class FranchiseeForm(VersionedForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(), safe_text(100), Unique(_lookup(Franchisee, Franchisee.name), _l("Another franchisee has this name."))],
    )
    legal_entity = StringField(_l("Legal entity"), validators=[DataRequired(), safe_text(150)])
    contract_no = StringField(
        _l("Contract number"),
        validators=[DataRequired(), safe_text(40), Unique(_lookup(Franchisee, Franchisee.contract_no), _l("This contract number is already used."))],
    )
    contract_start = DateField(_l("Contract start"), validators=[DataRequired(message=_l("Enter a valid date."))])
    contract_end = DateField(_l("Contract end"), validators=[DataRequired(message=_l("Enter a valid date."))])
    owner_name = StringField(_l("Owner contact"), validators=[DataRequired(), safe_text(60)])
    owner_phone = StringField(_l("Owner phone"), validators=[DataRequired(), PHONE])
    owner_email = EmailField(_l("Owner e-mail"), validators=[Optional(), EmailAddress(), safe_text(254)])
    status = SelectField(_l("Status"), choices=choices(FRANCHISEE_STATUSES.items()))

    def validate_contract_end(self, field):
        if self.contract_start.data and field.data and field.data <= self.contract_start.data:
            raise ValidationError(_l("The contract must end after it starts."))

    def data_for_model(self) -> dict:
        keys = ("name", "legal_entity", "contract_no", "contract_start", "contract_end", "owner_name", "owner_phone", "owner_email", "status")
        data = {k: getattr(self, k).data for k in keys}
        for k in ("name", "legal_entity", "contract_no", "owner_name", "owner_phone"):
            data[k] = data[k].strip()
        data["owner_email"] = (data["owner_email"] or "").strip().lower() or None
        return data


class RegionForm(VersionedForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), safe_text(20), CODE, Unique(_lookup(Region, Region.code), _l("This code is already used."))],
    )
    name = StringField(
        _l("Name"),
        validators=[DataRequired(), safe_text(60), Unique(_lookup(Region, Region.name), _l("Another region has this name."))],
    )

    def data_for_model(self) -> dict:
        return {"code": self.code.data.strip().upper(), "name": self.name.data.strip()}


def _region_choices():
    return [(r.id, r.name) for r in db.session.scalars(select(Region).order_by(Region.code))]


def _franchisee_choices(active_only=False):
    stmt = select(Franchisee).order_by(Franchisee.name)
    if active_only:
        stmt = stmt.where(Franchisee.status == "active")
    return [(f.id, f.name) for f in db.session.scalars(stmt)]


WEEKDAYS = {"0": _l("Monday"), "1": _l("Tuesday"), "2": _l("Wednesday"), "3": _l("Thursday"), "4": _l("Friday"),
            "5": _l("Saturday"), "6": _l("Sunday")}


class StoreForm(VersionedForm):
    code = StringField(
        _l("Store code"),
        validators=[DataRequired(), safe_text(20), CODE, Unique(_lookup(Store, Store.code), _l("This store code is already used."))],
    )
    name = StringField(_l("Store name"), validators=[DataRequired(), safe_text(100)])
    region_id = SelectField(_l("Region"), coerce=int, validators=[Chosen(_l("Choose the region."))])
    city = StringField(_l("City"), validators=[DataRequired(), safe_text(40)])
    address = StringField(_l("Address"), validators=[DataRequired(), safe_text(200)])
    opened_on = DateField(_l("Opening date"), validators=[DataRequired(message=_l("Enter a valid date."))])
    franchisee_id = SelectField(_l("Franchisee"), coerce=int, validators=[Chosen(_l("Choose the franchisee."))])
    # Opening hours: the complaint clock runs on them (empty: 10:00 to 21:00, every day).
    opens_at = TimeField(_l("Opens at"), validators=[Optional()], description=_l("Empty: 10:00."))
    closes_at = TimeField(_l("Closes at"), validators=[Optional()], description=_l("Empty: 21:00."))
    closed_weekdays = MultiCheckboxField(_l("Closed on"), choices=choices(WEEKDAYS.items()))
    # Sets the team's size by position (training: positions and norms).
    size = SelectField(_l("Store size"), choices=choices(STORE_SIZES.items()), default="medium")

    def __init__(self, *args, obj=None, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        if obj is not None and not self.is_submitted():
            self.closed_weekdays.data = list(obj.closed_weekdays or "")
        self.region_id.choices = choices(_region_choices(), blank=obj is None)
        if obj is not None:
            # Ownership changes only through a transfer, which keeps the history.
            del self.franchisee_id
        else:
            self.franchisee_id.choices = choices(_franchisee_choices(active_only=True), blank=True)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators=extra_validators)
        # Here, not in validate_closes_at: an empty box (21:00) stops that field's own checks, and
        # "opens 22:00, closes empty" left a store with no hours (intake then failed).
        if valid and (self.closes_at.data or time(21)) <= (self.opens_at.data or time(10)):
            self.closes_at.errors.append(_l("The store must close after it opens."))
            return False
        return valid

    def validate_closed_weekdays(self, field):
        if len(set(field.data or [])) >= 7:
            raise ValidationError(_l("A store open on no day cannot keep a complaint clock; leave at least one day open."))

    def data_for_model(self) -> dict:
        data = {
            "code": self.code.data.strip().upper(),
            "name": self.name.data.strip(),
            "region_id": self.region_id.data,
            "city": self.city.data.strip(),
            "address": self.address.data.strip(),
            "opened_on": self.opened_on.data,
            "opens_at": self.opens_at.data,
            "closes_at": self.closes_at.data,
            "closed_weekdays": "".join(sorted(d for d in (self.closed_weekdays.data or []) if d in WEEKDAYS)),
            "size": self.size.data if self.size.data in STORE_SIZES else "medium",
        }
        if getattr(self, "franchisee_id", None) is not None:  # a deleted WTForms field is None
            data["franchisee_id"] = self.franchisee_id.data
        return data


class TransferStoreForm(FlaskForm):
    franchisee_id = SelectField(
        _l("Receiving franchisee"), coerce=int, validators=[Chosen(_l("Choose the franchisee taking over the store."))]
    )
    effective_on = DateField(_l("Effective from"), default=date.today, validators=[DataRequired(message=_l("Enter a valid date."))])
    note = TextAreaField(_l("Note"), validators=[Optional(), safe_text(200)])

    def __init__(self, *args, store=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.franchisee_id.choices = choices(
            (c for c in _franchisee_choices(active_only=True) if c[0] != store.franchisee_id), blank=True
        )


class CloseStoreForm(FlaskForm):
    closed_on = DateField(_l("Closing date"), default=date.today, validators=[DataRequired(message=_l("Enter a valid date."))])


class NewFranchiseeForm(OnceForm, FranchiseeForm):
    """Registering a franchisee: a replayed post lands on the one it registered."""


class NewRegionForm(OnceForm, RegionForm):
    """Creating a region: a replayed post creates nothing."""


class NewStoreForm(OnceForm, StoreForm):
    """Opening a store: a replayed post lands on the store it opened."""
