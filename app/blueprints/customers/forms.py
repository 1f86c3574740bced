from datetime import timedelta
from decimal import Decimal

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone, to_utc
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, DateTimeLocalField, Field, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Optional, ValidationError
from wtforms.widgets import DateInput

from app.extensions import db
from app.forms import AmountField, Chosen, InRange, OnceForm, SelectChoice, VersionedForm, choices, safe_text, text_or_blank
from app.models import Customer, Employee, Store
from app.models.base import local_date, local_today, utcnow
from app.models.customer import (
    CONSENT_METHODS, CONTACT_METHODS, CONTACT_PURPOSES, CUSTOMER_TYPES, GENDERS, PRODUCT_TYPES, PURCHASE_CHANNELS,
    RELATIONSHIPS, SOURCES,
)
from app.models.customer_file import (
    ANALYSIS_SOURCES, ANALYSIS_TOPICS, CREDIT_RATINGS, LOYALTY_LEVELS, LOYALTY_MEASURES, OBSERVED_MEASURES,
)
from app.services import customer_fields as fields

MONEY = InRange(min=0, max=99_999_999, message=_l("Enter an amount between 0 and 99,999,999."))


class FlexibleDateField(Field):
    """A date typed by hand or picked: 2026-01-05, 2026/1/5, 20260105, 2026年1月5日."""

    widget = DateInput()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if self.data else ""

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist:
            try:
                self.data = fields.parse_date(valuelist[0])
            except fields.FieldError as error:
                raise ValueError(str(error)) from None


def _normalised(normalise):
    """Validator that replaces the field's data by its normalised form or reports why not."""
    def check(form, field):
        try:
            field.data = normalise(field.data)
        except fields.FieldError as error:
            raise ValidationError(str(error)) from None
    return check


def store_choices(stores):
    return choices(((s.id, str(s)) for s in stores), blank=len(stores) > 1)


class CustomerForm(VersionedForm):
    store_id = SelectField(_l("Store"), coerce=int, validators=[Chosen()])
    code = StringField(_l("Customer code"), validators=[Optional(), safe_text(30)],
                       description=_l("Leave empty to number the customer automatically."))
    name = StringField(_l("Name"), validators=[DataRequired(), _normalised(fields.clean_name)])
    gender = SelectField(_l("Gender"), choices=choices(GENDERS.items()), default="unknown")
    birthday = FlexibleDateField(_l("Birthday"), validators=[Optional(), _normalised(fields.check_birthday)])
    mobile = StringField(_l("Mobile phone"), validators=[_normalised(fields.normalise_mobile)])
    landline = StringField(_l("Landline"), validators=[_normalised(fields.normalise_landline)],
                           description=_l("With the area code, e.g. 021-64881234 (for businesses without a mobile)."))
    email = StringField(_l("E-mail"), validators=[_normalised(fields.normalise_email)])
    address = StringField(_l("Address"), validators=[_normalised(fields.normalise_address)],
                          description=_l("Province, city and district are recognised and written in full."))
    postal_code = StringField(_l("Postal code"), validators=[_normalised(fields.normalise_postal_code)])
    customer_type = SelectField(_l("Customer type"), choices=choices(CUSTOMER_TYPES.items()))
    source = SelectField(_l("Source"), choices=choices(SOURCES.items()))
    relationship_type = SelectField(_l("Relationship type"), choices=choices(RELATIONSHIPS.items()))
    salesperson_id = SelectField(_l("Salesperson"), coerce=int)
    commission_code = StringField(_l("Commission code"), validators=[_normalised(lambda v: fields.normalise_text(v, 20))])
    tax_no = StringField(_l("Tax number"), validators=[_normalised(lambda v: fields.normalise_text(v, 30))])
    credit_record = StringField(_l("Payment credit record"), validators=[_normalised(lambda v: fields.normalise_text(v, 200))])
    sales_limit = AmountField(_l("Sales limit (yuan)"), places=2, validators=[Optional(), MONEY])
    delivery_address = StringField(_l("Delivery address"), validators=[_normalised(lambda v: fields.normalise_text(v, 200))])
    invoice_address = StringField(_l("Invoice address"), validators=[_normalised(lambda v: fields.normalise_text(v, 200))])
    occupation = StringField(_l("Occupation"), validators=[_normalised(lambda v: fields.normalise_text(v, 60))])
    interests = StringField(_l("Interests"), validators=[_normalised(lambda v: fields.normalise_text(v, 200))])
    habits = StringField(_l("Buying and contact habits"), validators=[_normalised(lambda v: fields.normalise_text(v, 200))],
                         description=_l("e.g. shops at weekends, prefers WeChat, pays by instalments."))
    tags = StringField(_l("Tags"), validators=[_normalised(lambda v: fields.normalise_text(v, 200))],
                       description=_l("Separate tags with commas."))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), safe_text(2000)])
    consent = BooleanField(_l("The customer agrees that we keep their contact details"))
    consent_method = SelectField(_l("How consent was given"), coerce=text_or_blank,
                                 choices=choices(CONSENT_METHODS.items(), blank=True))
    consent_purpose = StringField(_l("Purpose told to the customer"), validators=[Optional(), safe_text(200)])
    consent_date = FlexibleDateField(_l("Date consent was given"), validators=[Optional()])

    def __init__(self, *args, stores=(), customer=None, **kwargs):
        super().__init__(*args, obj=customer, **kwargs)
        if not self.is_submitted():
            self.consent_date.data = (local_date(customer.consent_at) if customer and customer.consent_at
                                      else local_today())
        self.stores = {s.id: s for s in stores}
        if customer is not None:
            del self.store_id
            self.code.render_kw = {"readonly": True}
        else:
            self.store_id.choices = store_choices(stores)
            if len(stores) == 1:
                self.store_id.data = stores[0].id
        franchisee_ids = {s.franchisee_id for s in stores} or ({customer.franchisee_id} if customer else set())
        # The franchisee's staff (issue 11: an employee, with or without a portal login); the one
        # on file stays a choice after leaving.
        current = customer.salesperson_id if customer is not None else None
        people = db.session.execute(
            select(Employee.id, Employee.name, Employee.status, Store.code).join(Store, Store.id == Employee.store_id)
            .where(Employee.franchisee_id.in_(franchisee_ids), (Employee.status != "left") | (Employee.id == current))
            .order_by(Store.code, Employee.name, Employee.id).limit(2000)
        ).all()
        left = _l("left")
        self.salesperson_id.choices = choices(((e.id, f"{e.name} · {e.code}" + (f" · {left}" if e.status == "left" else ""))
                                               for e in people), blank=True)
        if self.salesperson_id.data is None:
            self.salesperson_id.data = 0

    def validate_code(self, field):
        if not field.data or self._obj is not None:
            return
        field.data = field.data.strip().upper()
        store_id = self.store_id.data
        if db.session.scalar(select(Customer.id).where(Customer.store_id == store_id, Customer.code == field.data)):
            raise ValidationError(_l("This store already has a customer with code %(code)s.", code=field.data))

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators=extra_validators)
        data = {name: getattr(self, name).data for name in ("consent", "consent_method", "consent_purpose")}
        # Contact details typed now need consent; those already on file from before consent was
        # enforced stay until consent is recorded or the file is anonymised (editing a note on
        # such a customer must not be blocked).
        # Unticking consent on a file that had it withdraws it: its contact details must go too.
        withdrawn = self._obj is not None and self._obj.consent and not self.consent.data
        for name in fields.CONTACT_FIELDS:
            value = getattr(self, name).data
            if self._obj is None or withdrawn or value != getattr(self._obj, name):
                data[name] = value
        data["consent_at"] = self.consent_date.data
        for name, message in fields.consent_problems(data):
            field = getattr(self, name)
            if message not in field.errors:
                field.errors = [*field.errors, message]
                valid = False
        return valid

    def validate_mobile(self, field):
        if not field.data:
            return
        franchisee_id = (self._obj.franchisee_id if self._obj else
                         getattr(self.stores.get(self.store_id.data), "franchisee_id", None))
        stmt = select(Customer).where(
            Customer.franchisee_id == franchisee_id, Customer.mobile == field.data,
            Customer.merged_into_id.is_(None), Customer.anonymised_at.is_(None),
        )
        if self._obj is not None:
            stmt = stmt.where(Customer.id != self._obj.id)
        other = db.session.scalar(stmt.limit(1))
        if other is not None:
            raise ValidationError(_l("This mobile number already belongs to customer %(code)s.", code=other.code))

    def data_for_model(self) -> dict:
        keys = ("name", "gender", "birthday", "mobile", "landline", "email", "address", "postal_code", "customer_type", "source",
                "relationship_type", "commission_code", "tax_no", "credit_record", "sales_limit", "delivery_address",
                "invoice_address", "occupation", "interests", "habits", "tags", "notes", "consent", "consent_purpose")
        data = {k: getattr(self, k).data for k in keys}
        data["notes"] = (data["notes"] or "").strip() or None
        data["consent_purpose"] = (data["consent_purpose"] or "").strip() or None
        data["consent_method"] = self.consent_method.data or None
        existing = self._obj.consent_at if self._obj is not None else None
        data["consent_at"] = fields.consent_time(self.consent_date.data, existing) if self.consent.data else None
        data["salesperson_id"] = self.salesperson_id.data or None
        if self._obj is None and self.code.data:
            data["code"] = self.code.data
        return data


class NewCustomerForm(OnceForm, CustomerForm):
    """Opening a customer file: a replayed post lands on the file it opened."""


class PurchaseForm(OnceForm):
    purchased_on = FlexibleDateField(_l("Date"), validators=[InputRequired(message=_l("Enter a valid date."))])
    amount = AmountField(_l("Amount (yuan)"), places=2, validators=[
        InputRequired(message=_l("Enter an amount.")),
        InRange(min=Decimal("0.01"), max=99_999_999, message=_l("Enter an amount between 0.01 and 99,999,999.")),
    ])
    product_type = SelectField(_l("Product type"), choices=choices(PRODUCT_TYPES.items(), blank=True),
                               validators=[AnyOf(list(PRODUCT_TYPES), message=_l("Choose the product type."))])
    items = StringField(_l("Items"), validators=[DataRequired(), safe_text(200)])
    channel = SelectField(_l("Channel"), choices=choices(PURCHASE_CHANNELS.items()))
    deliver = BooleanField(_l("We deliver it: record the delivery next"))
    # The customer's coupons usable here today (the view fills the choices; 0: none used).
    coupon_id = SelectField(_l("Coupon used"), coerce=int, choices=[], validate_choice=False)

    def validate_purchased_on(self, field):
        if field.data and field.data > local_today():
            raise ValidationError(_l("A purchase cannot be in the future."))
        if field.data and field.data.year < 2000:
            raise ValidationError(_l("Purchases before 2000 are not recorded."))


class ContactForm(OnceForm):
    occurred_at = DateTimeLocalField(_l("When"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                     validators=[InputRequired(message=_l("Enter a valid date and time."))])
    # A return visit is a phone call more often than anything else (a home visit was the default).
    method = SelectField(_l("Method"), choices=choices(CONTACT_METHODS.items()), default="phone")
    purpose = SelectField(_l("Purpose"), choices=choices(CONTACT_PURPOSES.items()))
    place = StringField(_l("Place"), validators=[Optional(), safe_text(100)])
    cost = AmountField(_l("Cost (yuan)"), places=2, default=Decimal("0"), validators=[Optional(), MONEY])
    concession = StringField(_l("Discount or coupon given"), validators=[Optional(), safe_text(100)])
    products_services = StringField(_l("Products or services provided"), validators=[Optional(), safe_text(200)],
                                    description=_l("e.g. free measuring, installation, a sample, a design plan."))
    cooperation = StringField(_l("Cooperation and support"), validators=[Optional(), safe_text(200)],
                              description=_l("e.g. joint advertising, a joint event, parts developed together."))
    outcome = TextAreaField(_l("Outcome"), validators=[DataRequired(), safe_text(2000)])

    def __init__(self, *args, purpose=None, **kwargs):
        super().__init__(*args, **kwargs)
        if purpose:
            del self.purpose
            self.fixed_purpose = purpose
        if self.occurred_at.data is None and not self.is_submitted():
            # Typed and shown in the portal's time zone, stored in UTC like every timestamp.
            local_now = to_user_timezone(utcnow()).replace(tzinfo=None)
            self.occurred_at.data = local_now.replace(second=0, microsecond=0)

    def validate_occurred_at(self, field):
        if field.data and to_utc(field.data) > utcnow() + timedelta(minutes=10):
            raise ValidationError(_l("A contact cannot be in the future."))

    def data_for_model(self) -> dict:
        return {
            "occurred_at": to_utc(self.occurred_at.data),
            "method": self.method.data,
            "purpose": getattr(self, "fixed_purpose", None) or self.purpose.data,
            "place": (self.place.data or "").strip() or None,
            "cost": self.cost.data or Decimal("0"),
            "concession": (self.concession.data or "").strip() or None,
            "products_services": (self.products_services.data or "").strip() or None,
            "cooperation": (self.cooperation.data or "").strip() or None,
            "outcome": self.outcome.data.strip(),
        }


class AnalysisForm(OnceForm):
    """A dated note of the analysis section (seed 001, 统计分析资料)."""

    topic = SelectField(_l("Topic"), coerce=text_or_blank, choices=choices(ANALYSIS_TOPICS.items(), blank=True),
                        validators=[Chosen()])
    noted_on = FlexibleDateField(_l("Date"), validators=[InputRequired(message=_l("Enter a valid date."))])
    source = SelectField(_l("Source"), choices=choices(ANALYSIS_SOURCES.items()))
    credit_rating = SelectField(_l("Credit rating"), coerce=text_or_blank, default=0,
                                choices=choices(CREDIT_RATINGS.items(), blank=True))
    text = TextAreaField(_l("Note"), validators=[DataRequired(), safe_text(1000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_submitted():
            self.noted_on.data = local_today()

    def validate_noted_on(self, field):
        if field.data and field.data > local_today():
            raise ValidationError(_l("A note cannot be dated in the future."))
        if field.data and field.data.year < 2000:
            raise ValidationError(_l("Notes before 2000 are not recorded."))

    def validate_credit_rating(self, field):
        if self.topic.data == "credit" and not field.data:
            raise ValidationError(_l("A credit note needs a rating."))
        if self.topic.data and self.topic.data != "credit" and field.data:
            raise ValidationError(_l("Only credit notes have a rating: choose the topic Credit status, or no rating."))

    def data_for_model(self) -> dict:
        return {"topic": self.topic.data, "noted_on": self.noted_on.data, "source": self.source.data,
                "credit_rating": self.credit_rating.data or None, "text": self.text.data.strip()}


def _level(name: str, label):
    # The option text is built when the page is drawn, in the reader's language (an f-string
    # here froze the English labels at import time).
    return SelectField(label, coerce=int, choices=[SelectChoice(0, _l("Please choose"))] + [
        SelectChoice(i, LazyString(lambda i=i, text=text: f"{i} · {text}"))
        for i, text in enumerate(LOYALTY_LEVELS[name], start=1)], validators=[Chosen()])


class LoyaltyForm(OnceForm):
    """The six observed loyalty measures (R16); the seventh, repeat purchases, is counted."""

    assessed_on = FlexibleDateField(_l("Date"), validators=[InputRequired(message=_l("Enter a valid date."))])
    share_of_need = _level("share_of_need", LOYALTY_MEASURES["share_of_need"])
    brand_attention = _level("brand_attention", LOYALTY_MEASURES["brand_attention"])
    choosing_time = _level("choosing_time", LOYALTY_MEASURES["choosing_time"])
    price_tolerance = _level("price_tolerance", LOYALTY_MEASURES["price_tolerance"])
    competitor_attitude = _level("competitor_attitude", LOYALTY_MEASURES["competitor_attitude"])
    incident_tolerance = _level("incident_tolerance", LOYALTY_MEASURES["incident_tolerance"])
    note = TextAreaField(_l("Note"), validators=[Optional(), safe_text(500)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_submitted():
            self.assessed_on.data = local_today()

    def validate_assessed_on(self, field):
        if field.data and field.data > local_today():
            raise ValidationError(_l("An assessment cannot be dated in the future."))
        if field.data and field.data.year < 2000:
            raise ValidationError(_l("Assessments before 2000 are not recorded."))

    def data_for_model(self) -> dict:
        data = {name: getattr(self, name).data for name in OBSERVED_MEASURES}
        data["assessed_on"] = self.assessed_on.data
        data["note"] = (self.note.data or "").strip() or None
        return data


class ConsentForm(FlaskForm):
    consent_method = SelectField(_l("How consent was given"), coerce=text_or_blank,
                                 choices=choices(CONSENT_METHODS.items(), blank=True), validators=[Chosen()])
    consent_purpose = StringField(_l("Purpose told to the customer"), validators=[DataRequired(), safe_text(200)])
    consent_date = FlexibleDateField(_l("Date consent was given"), validators=[InputRequired(
        message=_l("Enter the date the customer gave consent."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_submitted():
            self.consent_date.data = local_today()

    def validate_consent_date(self, field):
        if field.data and field.data > local_today():
            raise ValidationError(_l("Consent cannot be dated in the future."))


class AnonymiseForm(FlaskForm):
    reason = SelectField(_l("Reason"), coerce=text_or_blank, choices=choices([
        ("withdrawn", _l("Consent withdrawn")), ("deletion", _l("Deletion requested"))], blank=True), validators=[Chosen()])
    confirm = BooleanField(_l("I understand that name and contact details are erased for good"),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])


class MergeForm(FlaskForm):
    keep = SelectField(_l("Record to keep"), coerce=int, validators=[Chosen()])


class ImportForm(OnceForm):
    kind = SelectField(_l("The file holds"), choices=choices([
        ("customers", _l("Customers (master records)")),
        ("purchases", _l("Purchase history of customers on file")),
    ]), default="customers")
    store_id = SelectField(_l("Store for rows without a store code"), coerce=int, validators=[Chosen()])
    file = FileField(_l("File (CSV or Excel .xlsx)"), validators=[FileRequired(message=_l("Choose a file to upload."))])
    existing = SelectField(_l("Rows whose customer code the store already has"), choices=choices([
        ("refuse", _l("Report them as problems (import only new customers)")),
        ("skip", _l("Skip them and import the new customers")),
        ("update", _l("Update those customers: filled cells replace, empty cells keep; points stay as earned")),
    ]), default="refuse")

    def __init__(self, *args, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.store_id.choices = store_choices(stores)
        if len(stores) == 1 and not self.store_id.data:
            self.store_id.data = stores[0].id


def scoped_store(form_field) -> Store | None:
    """The posted store id re-resolved through the scope (None when not allowed)."""
    return db.session.scalar(select(Store).where(Store.id == form_field.data))
