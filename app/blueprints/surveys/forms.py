"""Survey forms. The answers to a questionnaire's questions are read by
``services.surveys.responses.check_answers`` (their number and kinds depend on the questionnaire);
these forms carry the rest."""
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError

from app.blueprints.customers.forms import FlexibleDateField
from app.forms import AmountField, Chosen, InRange, OnceForm, VersionedForm, choices, safe_text
from app.models.base import local_today
from app.models.survey import NOTE_KINDS, RESPONDENTS


class ProjectForm(OnceForm):
    name = StringField(_l("Name"), validators=[DataRequired(), safe_text(120)])
    questionnaire_id = SelectField(_l("Questionnaire"), coerce=int, validators=[Chosen()])
    year = IntegerField(_l("Year"), validators=[InputRequired(), InRange(2000, 2100)])
    half = SelectField(_l("Half-year"), coerce=int, choices=choices([(1, _l("First half (January to June)")),
                                                                     (2, _l("Second half (July to December)"))]))
    schedule_from = FlexibleDateField(_l("Schedule starts on"), validators=[DataRequired(message=_l("Enter a valid date."))],
                                      description=_l("The eight steps are dated from this day as in the source "
                                                     "document's schedule (23 days in all); change any of them later."))
    purpose = TextAreaField(_l("Purpose"), validators=[Optional(), safe_text(1000)])


class StepForm(VersionedForm):
    owner = StringField(_l("Owner"), validators=[Optional(), safe_text(80)])
    starts_on = FlexibleDateField(lazy_pgettext("schedule", "Starts on"), validators=[DataRequired(message=_l("Enter a valid date."))])
    due_on = FlexibleDateField(lazy_pgettext("schedule", "Due on"), validators=[DataRequired(message=_l("Enter a valid date."))])
    done_on = FlexibleDateField(lazy_pgettext("schedule", "Done on"), validators=[Optional()])

    def validate_due_on(self, field):
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The due date is before the start."))

    def validate_done_on(self, field):
        if field.data and field.data > local_today():
            raise ValidationError(_l("A step is marked done on the day it was done, not in the future."))


class ResponseForm(OnceForm):
    """A paper form keyed in by staff (the answers are posted as q<question id>)."""
    store_id = SelectField(_l("Store"), coerce=int, validators=[Chosen()])
    answered_on = FlexibleDateField(_l("Answered on"), validators=[DataRequired(message=_l("Enter a valid date."))])
    respondent = RadioField(_l("Respondent"), choices=choices(RESPONDENTS.items()), default="consumer",
                            validators=[InputRequired()])
    customer_no = StringField(_l("Customer number"), validators=[Optional(), safe_text(20)],
                              description=_l("If the respondent is in the customer file: the response then shows on "
                                             "their page."))


class PublicResponseForm(FlaskForm):
    respondent = RadioField(_l("I am"), choices=choices([("consumer", _l("A customer")), ("dealer", _l("A dealer"))]),
                            default="consumer", validators=[InputRequired()])
    website = StringField(_l("Leave this empty"))


class FollowUpForm(FlaskForm):
    note = TextAreaField(_l("What was done"), validators=[DataRequired(), safe_text(1000)])


class WeightsForm(VersionedForm):
    """A draft questionnaire's weights (one field per indicator, added by the view)."""
    follow_up_at_or_below = SelectField(_l("A follow-up for answers at or below"), coerce=int,
                                        choices=choices([(1, "1"), (2, "2"), (3, "3")]))


def weight_field(label):
    return AmountField(label, places=2, validators=[InputRequired(message=_l("Enter a weight (0 to 100)."))])


class InviteForm(FlaskForm):
    """A sample of the customer file for one segment (R44)."""
    segment = SelectField(_l("Segment"), validators=[InputRequired()])
    size = IntegerField(_l("Sample size"), validators=[InputRequired(), InRange(1, 5000)],
                        description=_l("At most 5,000 at a time; only customers who agreed to be contacted."))
    region_id = SelectField(_l("Region"), coerce=int, validators=[Optional()])
    franchisee_id = SelectField(_l("Franchisee"), coerce=int, validators=[Optional()])
    store_size = SelectField(_l("Store size"), validators=[Optional()])
    franchisee_size = SelectField(_l("Franchisee size"), validators=[Optional()])
    grade = SelectField(_l("Value grade"), validators=[Optional()])


class NoteForm(OnceForm):
    kind = RadioField(_l("Kind"), choices=choices(NOTE_KINDS.items()), default="interview", validators=[InputRequired()])
    held_on = FlexibleDateField(_l("Held on"), validators=[DataRequired(message=_l("Enter a valid date."))])
    participants = IntegerField(_l("Participants"), default=1, validators=[InputRequired(), InRange(1, 500)])
    who = StringField(_l("With whom"), validators=[DataRequired(), safe_text(200)],
                      description=_l("E.g. former core customers of the Shanghai stores, potential customers."))
    summary = TextAreaField(_l("What was learnt"), validators=[DataRequired(), safe_text(4000)])

    def validate_held_on(self, field):
        if field.data and field.data > local_today():
            raise ValidationError(_l("Record an interview or focus group after it was held."))
