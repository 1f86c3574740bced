"""Training forms: staff, moves, positions and norms, courses and their requirements, sessions."""
import unicodedata

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError
from wtforms.widgets import HiddenInput
from sqlalchemy import select

from app.blueprints.customers.forms import FlexibleDateField
from app.forms import AmountField, Chosen, InRange, MultiCheckboxField, OnceForm, Unique, VersionedForm, choices, safe_text
from app.models import Course, Employee, Position
from app.models.base import local_today
from app.models.training import COURSE_KINDS, COURSE_TOPICS, INCENTIVE_KINDS, INCENTIVE_TYPES, PERIOD_KINDS, STORE_SIZES

PHONE_CHARS = set("0123456789+- ()")


def _upper(value):
    """A code as stored: half-width (ＹＧ００００４７ typed with a Chinese IME is YG000047), upper case."""
    return unicodedata.normalize("NFKC", value).strip().upper() if isinstance(value, str) else value


def _taken(model, column):
    """A row of ``model`` with this code, across the network (codes are unique there), for ``Unique``."""
    def lookup(value):
        from app.extensions import db
        from app.security.tenancy import unscoped

        with unscoped():
            return db.session.scalar(select(model).where(column == _upper(value or "")))
    return lookup


class StepForm(FlaskForm):
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


def _phone(form, field):
    value = (field.data or "").strip()
    field.data = value or None
    if value and (not set(value) <= PHONE_CHARS or sum(c.isdigit() for c in value) < 7):
        raise ValidationError(_l("Enter a phone number of digits, e.g. 13812345678 or 021-64881234."))


class EmployeeForm(VersionedForm):
    name = StringField(lazy_pgettext("person", "Name"), validators=[DataRequired(), safe_text(60)])
    store_id = SelectField(_l("Store"), coerce=int, validators=[Chosen()])
    position_id = SelectField(_l("Position"), coerce=int, validators=[Chosen()])
    hire_date = FlexibleDateField(_l("Hire date"), validators=[DataRequired(message=_l("Enter a valid date."))])
    staff_no = StringField(_l("Staff number"), filters=[_upper], validators=[
        Optional(), safe_text(20), Unique(_taken(Employee, Employee.staff_no), _l("This staff number is already used."))],
        description=_l("Leave empty to number the employee automatically."))
    phone = StringField(_l("Work phone"), validators=[Optional(), safe_text(30), _phone])
    user_id = SelectField(_l("Portal login"), coerce=int, validators=[Optional()],
                          description=_l("Only if this person signs in to the portal; most staff do not."))
    note = TextAreaField(_l("Note"), validators=[Optional(), safe_text(500)])

    def __init__(self, *args, stores=(), positions=(), logins=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.store_id.choices = choices(stores, blank=len(stores) != 1)
        self.position_id.choices = choices(positions, blank=True)
        self.user_id.choices = choices([(0, _l("No login"))] + list(logins))

    def validate_hire_date(self, field):
        if field.data and field.data.year < 1950:
            raise ValidationError(_l("Enter a valid date."))


class NewEmployeeForm(OnceForm, EmployeeForm):
    """A new employee: a replayed post creates nothing."""


class MoveForm(StepForm):
    store_id = SelectField(_l("To store"), coerce=int, validators=[Chosen()])
    position_id = SelectField(_l("Position"), coerce=int, validators=[Chosen()])
    moved_on = FlexibleDateField(_l("From"), validators=[DataRequired(message=_l("Enter a valid date."))])
    note = StringField(_l("Reason"), validators=[Optional(), safe_text(300)])

    def __init__(self, *args, stores=(), positions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.store_id.choices = choices(stores)
        self.position_id.choices = choices(positions)


class LeaveForm(StepForm):
    left_on = FlexibleDateField(_l("Last working day"), validators=[DataRequired(message=_l("Enter a valid date."))])

    def validate_left_on(self, field):
        if field.data and field.data > local_today():
            raise ValidationError(_l("Record a leaving on or after the last working day."))


class PositionForm(VersionedForm):
    code = StringField(_l("Code"), filters=[_upper], validators=[
        DataRequired(), safe_text(20), Unique(_taken(Position, Position.code), _l("This code is already used."))])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), safe_text(40)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), safe_text(60)])
    hiring_criteria = TextAreaField(_l("Hiring criteria"), validators=[DataRequired(), safe_text(2000)])
    hiring_criteria_en = TextAreaField(_l("Hiring criteria (English)"), validators=[Optional(), safe_text(2000)])
    customer_contact = BooleanField(_l("Serves customers"))
    active = BooleanField(_l("In use"), default=True)
    small = IntegerField(STORE_SIZES["small"], validators=[InputRequired(message=_l("Enter a whole number.")),
                                                           InRange(min=0, max=50)])
    medium = IntegerField(STORE_SIZES["medium"], validators=[InputRequired(message=_l("Enter a whole number.")),
                                                             InRange(min=0, max=50)])
    large = IntegerField(STORE_SIZES["large"], validators=[InputRequired(message=_l("Enter a whole number.")),
                                                           InRange(min=0, max=50)])


class NewPositionForm(OnceForm, PositionForm):
    pass


class CourseForm(VersionedForm):
    code = StringField(_l("Code"), filters=[_upper], validators=[
        DataRequired(), safe_text(20), Unique(_taken(Course, Course.code), _l("This code is already used."))])
    title = StringField(_l("Title (Chinese)"), validators=[DataRequired(), safe_text(100)])
    title_en = StringField(_l("Title (English)"), validators=[Optional(), safe_text(150)])
    topic = SelectField(_l("Topic"), choices=choices(COURSE_TOPICS.items()))
    kind = SelectField(_l("Form"), choices=choices(COURSE_KINDS.items()))
    hours = AmountField(_l("Duration (hours)"), places=1, validators=[
        InputRequired(message=_l("Enter a number.")), InRange(min=0.5, max=500)])
    pass_mark = IntegerField(_l("Pass mark (of 100)"), validators=[Optional(), InRange(min=1, max=100)],
                             description=_l("Empty: attending is passing."))
    validity_months = IntegerField(_l("Certificate valid for (months)"), validators=[Optional(), InRange(min=1, max=120)],
                                   description=_l("Empty: it does not expire."))
    onboarding = BooleanField(_l("Onboarding course (new hires, counted from the hire date)"))
    # Each position ticked has its own number of days (days-<position id>, read by the view).
    positions = MultiCheckboxField(_l("Required for"), coerce=int)
    description = TextAreaField(_l("Contents"), validators=[Optional(), safe_text(4000)])
    active = BooleanField(_l("In use"), default=True)

    def __init__(self, *args, position_options=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.positions.choices = choices(position_options)
        self.bad_days = None  # the position whose days box holds something else than days


class NewCourseForm(OnceForm, CourseForm):
    pass


class SessionForm(VersionedForm):
    course_id = SelectField(_l("Course"), coerce=int, validators=[Chosen()])
    held_on = FlexibleDateField(_l("Date"), validators=[DataRequired(message=_l("Enter a valid date."))])
    trainer = StringField(_l("Trainer"), validators=[DataRequired(), safe_text(60)])
    online = BooleanField(_l("Online"))
    place = StringField(_l("Place"), validators=[Optional(), safe_text(120)])
    stores = MultiCheckboxField(_l("Stores invited"), coerce=int)
    # For a network too large to tick store by store: all stores of a franchisee, and/or codes.
    franchisee_id = SelectField(_l("All open stores of"), coerce=int, validators=[Optional()])
    store_codes = TextAreaField(_l("Store codes"), validators=[Optional(), safe_text(4000)],
                                description=_l("Separated by spaces or commas, e.g. SH001 SH002."))
    note = TextAreaField(_l("Note"), validators=[Optional(), safe_text(500)])

    def __init__(self, *args, courses=(), stores=(), franchisees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.course_id.choices = choices(courses, blank=True)
        self.stores.choices = choices(stores)
        self.franchisee_id.choices = choices([(0, "—")] + list(franchisees))

    def validate_place(self, field):
        if not self.online.data and not (field.data or "").strip():
            raise ValidationError(_l("Say where it is held, or tick Online."))


    def validate_held_on(self, field):
        if field.data and abs((field.data - local_today()).days) > 730:
            raise ValidationError(_l("Choose a date within two years of today."))


class NewSessionForm(OnceForm, SessionForm):
    pass


class PeriodForm(OnceForm):
    """Open an appraisal period: a quarter, a half-year or a year."""

    kind = SelectField(_l("Period"), choices=choices(PERIOD_KINDS.items()))
    year = IntegerField(_l("Year"), validators=[InputRequired(message=_l("Enter a whole number.")),
                                                InRange(min=2000, max=2100)])
    number = IntegerField(_l("Which (quarter 1-4, half 1-2)"), default=1, validators=[
        InputRequired(message=_l("Enter a whole number.")), InRange(min=1, max=4)])

    def validate_number(self, field):
        if self.kind.data == "half" and field.data and field.data > 2:
            raise ValidationError(_l("A year has two halves: 1 or 2."))


class IncentiveForm(OnceForm):
    """A reward or penalty: a replayed post (Back then the button again) records nothing more."""

    kind = SelectField(_l("Reward or penalty"), choices=choices(INCENTIVE_KINDS.items()))
    type = SelectField(_l("Kind"), choices=choices(INCENTIVE_TYPES.items()))
    description = StringField(_l("What and why"), validators=[DataRequired(), safe_text(300)])
    amount = AmountField(_l("Amount (yuan)"), places=2, validators=[Optional(), InRange(min=0, max=1_000_000)])
    awarded_on = FlexibleDateField(_l("Date"), validators=[DataRequired(message=_l("Enter a valid date."))])

    def validate_amount(self, field):
        if self.type.data == "non_material" and field.data:
            raise ValidationError(_l("A non-material incentive has no amount."))


class PlanForm(OnceForm):
    """A franchisee's annual training plan (headquarters chooses the franchisee)."""

    franchisee_id = SelectField(_l("Franchisee"), coerce=int, validators=[Optional()])
    year = IntegerField(_l("Year"), validators=[InputRequired(message=_l("Enter a whole number.")),
                                                InRange(min=2000, max=2100)])

    def __init__(self, *args, franchisees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.franchisee_id.choices = choices(franchisees, blank=True)

    def validate_franchisee_id(self, field):
        from flask_login import current_user

        if current_user.role.startswith("hq_") and not field.data:
            raise ValidationError(_l("Choose the franchisee."))


MONTHS = choices((m, str(m)) for m in range(1, 13))


class PlanEntryForm(FlaskForm):
    course_id = SelectField(_l("Course"), coerce=int, validators=[Chosen()])
    month = SelectField(_l("Month"), coerce=int, choices=MONTHS)
    kind = SelectField(_l("Form"), choices=choices(COURSE_KINDS.items()))
    participants = IntegerField(_l("Participants planned"), validators=[Optional(), InRange(min=0, max=100000)])
    note = StringField(_l("Note"), validators=[Optional(), safe_text(300)])

    def __init__(self, *args, courses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.course_id.choices = choices(courses, blank=True)
