"""Complaint forms: intake, the workflow's actions and headquarters' settings."""
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone, to_utc
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DateTimeLocalField, IntegerField, SelectField, StringField,
    TextAreaField,
)
from wtforms.validators import URL, DataRequired, InputRequired, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import HiddenInput

from app.blueprints.customers.forms import FlexibleDateField, _normalised
from app.forms import AmountField, Chosen, InRange, MultiCheckboxField, OnceForm, VersionedForm, choices, safe_text, text_or_blank
from app.models.base import local_today, utcnow
from app.models import ComplaintCategory, ComplaintChannel
from app.models.complaint import CHECKLIST, COMMUNICATION_METHODS, KINDS, REMEDIES, REMEDY_KINDS, SEVERITIES
from app.services import customer_fields as fields
from app.services.complaints.workflow import TASK_ASSIGNEES

# Complaints are recorded when they arrive; a late entry of an older letter is still possible.
RECEIVED_MAX_DAYS_BACK = 365
MONEY = InRange(min=0, max=9_999_999, message=_l("Enter an amount between 0 and 9,999,999."))


def _local_now():
    return to_user_timezone(utcnow()).replace(tzinfo=None, second=0, microsecond=0)


class ComplaintForm(OnceForm):
    """Intake (R17): who, about what, through which channel, and when."""

    kind = SelectField(_l("Type of feedback"), choices=choices(KINDS.items()), default="complaint")
    store_id = SelectField(_l("Store"), coerce=int, validators=[Optional()])
    store_code = StringField(_l("Store code"), validators=[Optional(), safe_text(20)])
    channel_id = SelectField(_l("Channel"), coerce=int, validators=[Chosen()])
    social_url = StringField(_l("Link to the post"), validators=[safe_text(500)],
                             description=_l("Social media: where the customer posted, so the answer goes there too."))
    category_id = SelectField(_l("Complaint category"), coerce=int, validators=[Optional()])
    severity = SelectField(_l("Severity"), choices=choices(SEVERITIES.items()), default="general",
                           description=_l("Major complaints go to headquarters' customer-experience department at once."))
    multi_department = BooleanField(_l("Involves several departments (handled jointly by headquarters)"))
    lookup = StringField(_l("Customer's mobile or customer code"), validators=[Optional(), safe_text(30)],
                         description=_l("Links the complaint to the customer file; leave empty if they have none."))
    create_customer = BooleanField(_l("No file yet: open a customer file for them"))
    consent = BooleanField(_l("The customer agrees that we keep their contact details to handle this and follow up"))
    contact_name = StringField(_l("Customer name"), validators=[DataRequired(), _normalised(fields.clean_name)])
    contact_phone = StringField(_l("Contact phone"), validators=[_normalised(fields.normalise_phone)])
    contact_email = StringField(_l("E-mail"), validators=[_normalised(fields.normalise_email)])
    title = StringField(_l("Subject"), validators=[DataRequired(), safe_text(100)])
    description = TextAreaField(_l("What the customer says"), validators=[DataRequired(), safe_text(4000)])
    received_at = DateTimeLocalField(_l("Received at"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                     validators=[InputRequired(message=_l("Enter a valid date and time."))])

    def __init__(self, *args, stores=None, categories=(), channels=(), locale="zh_Hans", **kwargs):
        super().__init__(*args, **kwargs)
        if stores is None:  # too many to list: the store is typed by its code
            del self.store_id
        else:
            del self.store_code
            self.store_id.choices = choices(((s.id, str(s)) for s in stores), blank=len(stores) != 1)
            self.store_id.validators = [Chosen(_l("Choose the store."))]
            if len(stores) == 1 and not self.is_submitted():
                self.store_id.data = stores[0].id
        self.category_id.choices = choices(((c.id, c.label(locale)) for c in categories), blank=True)
        self.channel_id.choices = choices(((c.id, c.label(locale)) for c in channels), blank=True)
        self.link_channels = {c.id for c in channels if c.asks_link}
        if self.received_at.data is None and not self.is_submitted():
            self.received_at.data = _local_now()

    def validate_received_at(self, field):
        if not field.data:
            return
        # Checked before converting: year 1 would overflow the time-zone arithmetic.
        if field.data.date() < local_today() - timedelta(days=RECEIVED_MAX_DAYS_BACK):
            raise ValidationError(_l("The time received cannot be more than %(days)d days ago.", days=RECEIVED_MAX_DAYS_BACK))
        if to_utc(field.data) > utcnow() + timedelta(minutes=10):
            raise ValidationError(_l("The time received cannot be in the future."))

    def validate_category_id(self, field):
        if self.kind.data == "complaint" and not field.data:
            raise ValidationError(_l("Choose the category of the complaint."))

    def validate_social_url(self, field):
        field.data = (field.data or "").strip()
        if not field.data:
            if self.channel_id.data in self.link_channels:
                raise ValidationError(_l("Paste the link to the post."))
            return
        if any(ch.isspace() for ch in field.data):
            raise ValidationError(_l("A link has no spaces: copy it from the post's share button, starting with https://"))
        URL(schemes=("https",), message=_l("Enter the full address, starting with https://"))(self, field)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators=extra_validators)
        if not valid or self.receipt is not None:
            return valid
        if not (self.contact_phone.data or self.contact_email.data or self.lookup.data):
            self.contact_phone.errors.append(_l("Give a phone number or an e-mail address to reply to."))
            return False
        if self.create_customer.data and not self.contact_phone.data:
            self.contact_phone.errors.append(_l("A new customer file needs the mobile number."))
            return False
        if self.create_customer.data and not self.consent.data:
            # R61: a file with contact details needs the customer's consent.
            self.consent.errors.append(_l("Ask the customer first: a customer file keeps their contact details."))
            return False
        return True

    def data_for_model(self) -> dict:
        kind = self.kind.data
        return {
            "kind": kind,
            "channel_id": self.channel_id.data,
            "category_id": self.category_id.data or None,
            "severity": self.severity.data if kind == "complaint" else "general",
            "multi_department": bool(self.multi_department.data) and kind == "complaint",
            "contact_name": self.contact_name.data,
            "contact_phone": self.contact_phone.data,
            "contact_email": self.contact_email.data,
            "social_url": self.social_url.data or None,
            "title": self.title.data.strip(),
            "description": self.description.data.strip(),
            "received_at": to_utc(self.received_at.data).replace(tzinfo=None),
        }


class VersionedActionForm(FlaskForm):
    """Every action on a complaint carries the version the user saw: an action on a complaint a
    colleague changed meanwhile is refused, with the current state shown (nothing is lost: what
    was typed stays in the form)."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class NoteForm(VersionedActionForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), safe_text(2000)])


class RequiredNoteForm(VersionedActionForm):
    note = TextAreaField(_l("Note"), validators=[DataRequired(), safe_text(2000)])


class CommunicationForm(VersionedActionForm):
    method = SelectField(_l("How"), choices=choices(COMMUNICATION_METHODS.items()), default="phone")
    note = TextAreaField(_l("What was said"), validators=[DataRequired(), safe_text(2000)])


class WaitForm(VersionedActionForm):
    reason = StringField(_l("Waiting for"), validators=[DataRequired(), safe_text(200)],
                         description=_l("e.g. photos of the damage, the receipt, a time to visit. "
                                        "The customer sees this on their progress page."))


class ChecklistForm(VersionedActionForm):
    items = MultiCheckboxField(_l("Handling steps taken"), choices=choices(CHECKLIST.items()))


class EscalateForm(VersionedActionForm):
    reason = StringField(_l("Why headquarters should handle it"), validators=[DataRequired(), safe_text(300)])


class ResolveForm(VersionedActionForm):
    resolution = TextAreaField(_l("Resolution"), validators=[DataRequired(), safe_text(4000)],
                               description=_l("Written to the customer: they read it on their progress page. "
                                              "Internal findings go under root cause and actions."))
    remedies = MultiCheckboxField(_l("Remedy"), choices=choices(REMEDIES.items()),
                                  validators=[DataRequired(message=_l("Choose at least one remedy."))])
    compensation = AmountField(_l("Compensation (yuan)"), places=2, validators=[Optional(), MONEY])
    carrier = StringField(_l("Carrier"), validators=[Optional(), safe_text(60)])
    carrier_part = StringField(_l("The carrier's part"), validators=[Optional(), safe_text(300)],
                               description=_l("What the carrier did wrong and how it was settled with them."))

    def __init__(self, *args, offered=(), **kwargs):
        super().__init__(*args, **kwargs)
        if offered:
            self.remedies.choices = choices((code, REMEDIES[code]) for code in offered)


class FollowUpForm(VersionedActionForm):
    score = SelectField(_l("Satisfaction with the outcome"), coerce=int, validators=[Chosen()],
                        choices=choices(((5, _l("5 - very satisfied")), (4, _l("4 - satisfied")), (3, _l("3 - neutral")),
                                         (2, _l("2 - dissatisfied")), (1, _l("1 - very dissatisfied"))), blank=True),
                        description=_l("2 or less reopens the complaint."))
    method = SelectField(_l("How"), choices=choices(COMMUNICATION_METHODS.items()), default="phone")
    note = TextAreaField(_l("What the customer said"), validators=[Optional(), safe_text(500)])


class CapaForm(VersionedActionForm):
    root_cause = TextAreaField(_l("Root cause"), validators=[Optional(), safe_text(2000)])
    corrective_action = TextAreaField(_l("Corrective action"), validators=[Optional(), safe_text(2000)])
    preventive_action = TextAreaField(_l("Preventive action"), validators=[Optional(), safe_text(2000)])
    capa_owner = StringField(_l("Owner of the actions"), validators=[Optional(), safe_text(60)])
    capa_due_on = FlexibleDateField(_l("Actions due by"), validators=[Optional()])


class PlanForm(VersionedActionForm):
    plan = TextAreaField(_l("Handling plan"), validators=[DataRequired(), safe_text(4000)])


class TaskForm(VersionedActionForm):
    department = SelectField(_l("Assign to"), coerce=text_or_blank, validators=[Chosen()],
                             choices=choices(TASK_ASSIGNEES.items(), blank=True))
    title = StringField(_l("Task"), validators=[DataRequired(), safe_text(200)])
    due_on = FlexibleDateField(_l("Due by"), validators=[InputRequired(message=_l("Enter a valid date."))])

    def validate_due_on(self, field):
        if field.data and field.data < local_today():
            raise ValidationError(_l("The due date cannot be in the past."))


class TaskDoneForm(FlaskForm):
    outcome = TextAreaField(_l("What was done"), validators=[DataRequired(), safe_text(2000)])


CODE = Regexp(r"^[a-z0-9_-]{1,20}$", message=_l("Lower-case letters, digits, - and _ only (at most 20)."))


class _OptionForm(FlaskForm):
    """A category or channel: its code is unique and never changes once made."""

    model = None

    def __init__(self, *args, option=None, **kwargs):
        super().__init__(*args, obj=option, **kwargs)
        self.option = option

    def _names_taken(self, field, column):
        from sqlalchemy import func, select

        from app.extensions import db

        # Alike after case and spaces are ignored ("价 格" and "价格" read the same in a list).
        name = "".join((field.data or "").split())
        stmt = select(self.model.id).where(
            func.lower(func.replace(getattr(self.model, column), " ", "")) == name.lower())
        if self.option is not None:
            stmt = stmt.where(self.model.id != self.option.id)
        if name and db.session.scalar(stmt):
            raise ValidationError(_l("Another one already has this name: the lists would show two alike."))

    def validate_name_zh(self, field):
        self._names_taken(field, "name_zh")

    def validate_name_en(self, field):
        self._names_taken(field, "name_en")

    def validate_code(self, field):
        if self.option is not None:
            field.data = self.option.code
            return
        from sqlalchemy import select

        from app.extensions import db

        field.data = (field.data or "").strip().lower()
        CODE(self, field)
        if db.session.scalar(select(self.model.id).where(self.model.code == field.data)):
            raise ValidationError(_l("This code is already in use."))


class CategoryForm(_OptionForm):
    model = ComplaintCategory
    code = StringField(_l("Code"), validators=[DataRequired(), safe_text(20)])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), safe_text(40)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), safe_text(60)])
    remedy_kind = SelectField(_l("Remedies offered"), choices=choices(REMEDY_KINDS.items()))
    position = IntegerField(_l("Position in lists"), default=0, validators=[Optional(), NumberRange(0, 999)])
    active = BooleanField(_l("In use"), default=True)


class ChannelForm(_OptionForm):
    model = ComplaintChannel
    code = StringField(_l("Code"), validators=[DataRequired(), safe_text(20)])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), safe_text(40)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), safe_text(60)])
    asks_link = BooleanField(_l("Ask for a link to the post (social media)"))
    position = IntegerField(_l("Position in lists"), default=0, validators=[Optional(), NumberRange(0, 999)])
    active = BooleanField(_l("In use"), default=True)


HOURS = InRange(min=Decimal("0.25"), max=2000, message=_l("Between 0.25 and 2,000 business hours."))


class DeadlineRuleForm(FlaskForm):
    severity = SelectField(_l("Severity"), choices=choices(SEVERITIES.items()))
    category_id = SelectField(_l("Complaint category"), coerce=int, validators=[Optional()])
    acknowledge_hours = AmountField(_l("Acknowledge within (business hours)"), places=2, validators=[InputRequired(), HOURS])
    resolve_hours = AmountField(_l("Resolve within (business hours)"), places=2, validators=[InputRequired(), HOURS])
    hq_hours = AmountField(_l("Headquarters' part within (business hours)"), places=2,
                            validators=[InputRequired(), HOURS])

    def __init__(self, *args, categories=(), locale="zh_Hans", **kwargs):
        super().__init__(*args, **kwargs)
        self.category_id.choices = choices([(0, _l("Every category"))] + [(c.id, c.label(locale)) for c in categories])


class CalendarDayForm(FlaskForm):
    on = FlexibleDateField(_l("Date"), validators=[InputRequired(message=_l("Enter a valid date."))])

    def validate_on(self, field):
        today = local_today()
        if field.data and not (date(today.year - 1, 1, 1) <= field.data <= date(today.year + 3, 12, 31)):
            raise ValidationError(_l("Enter a date from last year to three years ahead."))
        if field.data and self.kind.data == "workday" and field.data.weekday() < 5:
            raise ValidationError(_l("A make-up working day falls on a Saturday or Sunday; this date is a weekday."))
    kind = SelectField(_l("Kind"), choices=choices((("closed", _l("Holiday: headquarters closed")),
                                                    ("workday", _l("Make-up working day")))))
    name = StringField(_l("Name"), validators=[DataRequired(), safe_text(40)])
    stores_closed = BooleanField(_l("The stores close too"))


class EscalationLevelForm(FlaskForm):
    after_hours = AmountField(_l("Business hours late"), places=2, validators=[
        InputRequired(), InRange(min=Decimal("0"), max=2000, message=_l("Between 0 and 2,000 business hours."))])


class ThresholdForm(FlaskForm):
    count = IntegerField(_l("Complaints"), validators=[
        InputRequired(message=_l("Enter a whole number.")),
        InRange(min=1, max=10_000, message=_l("Enter a number from %(min)s to %(max)s.", min=1, max=10_000))])
    months = IntegerField(_l("Within months"), validators=[
        InputRequired(message=_l("Enter a whole number.")),
        InRange(min=1, max=36, message=_l("Enter a number from %(min)s to %(max)s.", min=1, max=36))])
    active = BooleanField(_l("In use"), default=True)


class EditComplaintForm(VersionedForm):
    """What the intake recorded, corrected while the complaint is open (the category of a
    complaint filed online as "not sure", a wrong phone number, a severity found to be major)."""

    category_id = SelectField(_l("Complaint category"), coerce=int, validators=[Chosen(_l("Choose the category of the complaint."))])
    severity = SelectField(_l("Severity"), choices=choices(SEVERITIES.items()),
                           description=_l("Major complaints go to headquarters' customer-experience department at once."))
    multi_department = BooleanField(_l("Involves several departments (handled jointly by headquarters)"))
    channel_id = SelectField(_l("Channel"), coerce=int, validators=[Chosen()])
    social_url = StringField(_l("Link to the post"), validators=[safe_text(500)])
    contact_name = StringField(_l("Customer name"), validators=[DataRequired(), _normalised(fields.clean_name)])
    contact_phone = StringField(_l("Contact phone"), validators=[_normalised(fields.normalise_phone)])
    contact_email = StringField(_l("E-mail"), validators=[_normalised(fields.normalise_email)])
    title = StringField(_l("Subject"), validators=[DataRequired(), safe_text(100)])
    description = TextAreaField(_l("What the customer says"), validators=[DataRequired(), safe_text(4000)])

    def __init__(self, *args, complaint=None, categories=(), channels=(), locale="zh_Hans", **kwargs):
        super().__init__(*args, obj=complaint, **kwargs)
        self.category_id.choices = choices(((c.id, c.label(locale)) for c in categories), blank=True)
        self.channel_id.choices = choices(((c.id, c.label(locale)) for c in channels), blank=True)
        self.link_channels = {c.id for c in channels if c.asks_link}
        if complaint is not None and not complaint.is_complaint:
            for name in ("category_id", "severity", "multi_department"):
                delattr(self, name)
        if hasattr(self, "category_id") and self.category_id.data is None:
            self.category_id.data = 0  # filed online as "not sure": the placeholder until chosen

    def validate_social_url(self, field):
        ComplaintForm.validate_social_url(self, field)

    def changes(self, complaint) -> dict:
        names = ("category_id", "severity", "multi_department", "channel_id", "social_url", "contact_name",
                 "contact_phone", "contact_email", "title", "description")
        new = {name: getattr(self, name).data for name in names if hasattr(self, name)}
        new = {k: (v.strip() if isinstance(v, str) else v) or (False if k == "multi_department" else None)
               for k, v in new.items()}
        return {k: v for k, v in new.items() if getattr(complaint, k) != v}
