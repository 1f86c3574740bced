"""Audit forms: planning, the lifecycle's steps, corrective actions, touchpoints and templates.
The audit itself (one field per template item) is read in views_conduct.py."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError
from wtforms.widgets import HiddenInput

from app.blueprints.customers.forms import FlexibleDateField
from app.forms import AmountField, Chosen, InRange, OnceForm, VersionedForm, choices, safe_text
from app.models.base import local_today
from app.models.mystery import CRITICAL_RULES, SCORINGS, STAGES
from app.models.user import DEPARTMENTS

QUARTERS = ((1, "Q1"), (2, "Q2"), (3, "Q3"), (4, "Q4"))


def _template_label(template) -> str:
    from app.i18n import current_locale

    return f"{template.label(current_locale())} v{template.number}"


def _years():
    this = local_today().year
    return [(y, str(y)) for y in (this - 1, this, this + 1)]


class StepForm(FlaskForm):
    """A step on an audit (start, submit, publish, cancel): the version the user saw."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class PlanQuarterForm(OnceForm):
    """Plan a quarter's audits (R31): every open store in the chosen region or franchisee that
    has none yet, the auditors taking them in turn."""

    year = SelectField(_l("Year"), coerce=int)
    quarter = SelectField(_l("Quarter"), coerce=int, choices=choices(QUARTERS))
    template_id = SelectField(_l("Template"), coerce=int, validators=[Chosen(_l("Choose the template."))])
    region_id = SelectField(_l("Region"), coerce=int)
    franchisee_id = SelectField(_l("Franchisee"), coerce=int)
    auditor_ids = SelectMultipleField(_l("Auditors"), coerce=int,
                                      description=_l("The stores are shared among them in turn; none: assign later."))
    due_on = FlexibleDateField(_l("Visits due by"), validators=[Optional()],
                               description=_l("Empty: the last day of the quarter."))

    def __init__(self, *args, templates=(), regions=(), franchisees=(), auditors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.year.choices = choices(_years())
        if self.year.data is None:
            self.year.data = local_today().year
        if self.quarter.data is None:
            self.quarter.data = (local_today().month - 1) // 3 + 1
        self.template_id.choices = choices(((t.id, _template_label(t)) for t in templates), blank=len(templates) != 1)
        if len(templates) == 1 and not self.template_id.data:
            self.template_id.data = templates[0].id
        self.region_id.choices = choices([(0, _l("All regions"))] + list(regions))
        self.franchisee_id.choices = choices([(0, _l("All franchisees"))] + list(franchisees))
        self.auditor_ids.choices = choices(auditors)

    def validate_due_on(self, field):
        if field.data and field.data < local_today():
            raise ValidationError(_l("The visit cannot be due in the past."))
        if field.data and self.year.data and self.quarter.data in (1, 2, 3, 4):
            from app.services.audits.workflow import quarter_of

            if quarter_of(field.data) != (self.year.data, self.quarter.data):
                raise ValidationError(_l("Choose a day within %(year)d Q%(quarter)d.", year=self.year.data,
                                         quarter=self.quarter.data))


class PlanOneForm(OnceForm):
    """Plan one visit (a store, a quarter, the auditor)."""

    store_id = SelectField(_l("Store"), coerce=int, validators=[Chosen(_l("Choose the store."))])
    template_id = SelectField(_l("Template"), coerce=int, validators=[Chosen(_l("Choose the template."))])
    auditor_id = SelectField(_l("Auditor"), coerce=int)
    due_on = FlexibleDateField(_l("Visit due by"), validators=[DataRequired(message=_l("Enter a valid date."))])

    def __init__(self, *args, stores=(), templates=(), auditors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.store_id.choices = choices(stores, blank=True)
        self.template_id.choices = choices(((t.id, _template_label(t)) for t in templates), blank=len(templates) != 1)
        if len(templates) == 1 and not self.template_id.data:
            self.template_id.data = templates[0].id
        self.auditor_id.choices = choices([(0, _l("Assign later"))] + list(auditors))
        if self.due_on.data is None and not self.is_submitted():
            self.due_on.data = local_today() + timedelta(days=30)

    def validate_due_on(self, field):
        if field.data and field.data < local_today():
            raise ValidationError(_l("The visit cannot be due in the past."))
        if field.data and field.data > local_today() + timedelta(days=730):
            raise ValidationError(_l("Plan at most two years ahead."))


class ReassignForm(StepForm):
    auditor_id = SelectField(_l("Auditor"), coerce=int)
    due_on = FlexibleDateField(_l("Visit due by"), validators=[DataRequired(message=_l("Enter a valid date."))])

    def __init__(self, *args, auditors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.auditor_id.choices = choices([(0, _l("Assign later"))] + list(auditors))


class RespondForm(StepForm):
    """The franchisee's answer to a corrective action (R33)."""

    response = TextAreaField(_l("What was done"), validators=[DataRequired(), safe_text(2000)])
    root_cause = TextAreaField(_l("Root cause"), validators=[DataRequired(), safe_text(1000)])
    preventive_action = TextAreaField(_l("Preventive action"), validators=[DataRequired(), safe_text(1000)],
                                      description=_l("What stops it happening again."))


class VerifyForm(StepForm):
    decision = SelectField(_l("Decision"), choices=choices((("accept", _l("Accept the correction")),
                                                            ("return", _l("Send it back")))), default="accept")
    note = TextAreaField(_l("Note"), validators=[Optional(), safe_text(1000)],
                         description=_l("Required when sending it back: say what is still missing."))


class AppealForm(StepForm):
    reason = TextAreaField(_l("Reasons for the appeal"), validators=[DataRequired(), safe_text(2000)])


class DecideAppealForm(StepForm):
    decision = SelectField(_l("Decision"), choices=choices((("uphold", _l("Uphold the finding")),
                                                            ("grant", _l("Re-score the item")))), default="uphold")
    new_value = IntegerField(_l("New score of the item"), validators=[Optional(), InRange(min=0, max=5)],
                             description=_l("Yes/no items: 1 = yes. Empty: full marks."))
    note = TextAreaField(_l("Reasons for the decision"), validators=[DataRequired(), safe_text(1000)])


class TouchpointForm(VersionedForm):
    """A key touchpoint and its standard (R29, R34)."""

    code = StringField(_l("Code"), validators=[DataRequired(), safe_text(20)])
    stage = SelectField(_l("Stage"), choices=choices(STAGES.items()))
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), safe_text(60)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), safe_text(80)])
    department = SelectField(_l("Responsible department"), choices=choices(DEPARTMENTS.items()))
    standard = TextAreaField(_l("Service standard"), validators=[DataRequired(), safe_text(2000)],
                             description=_l("Specific, clear and measurable: what the staff do, and by when."))
    criteria = TextAreaField(_l("How it is measured"), validators=[DataRequired(), safe_text(1000)])
    standard_en = TextAreaField(_l("Service standard (English)"), validators=[Optional(), safe_text(2000)],
                                description=_l("For English readers; empty: they see the Chinese."))
    criteria_en = TextAreaField(_l("How it is measured (English)"), validators=[Optional(), safe_text(1000)])
    next_review_on = DateField(_l("Next review"), validators=[DataRequired(message=_l("Enter a valid date."))])
    active = BooleanField(_l("In use"), default=True)

    def validate_next_review_on(self, field):
        # A date already on file may have passed (the review is overdue); a new one may not.
        kept = self._obj is not None and field.data == self._obj.next_review_on
        if field.data and field.data <= local_today() and not kept:
            raise ValidationError(_l("The next review must be after today."))


class NewTouchpointForm(OnceForm, TouchpointForm):
    """A new touchpoint: a replayed post creates nothing."""


class ReviewedForm(StepForm):
    next_review_on = DateField(_l("Next review"), validators=[DataRequired(message=_l("Enter a valid date."))])

    def validate_next_review_on(self, field):
        if field.data and field.data <= local_today():
            raise ValidationError(_l("The next review must be after today."))


class TemplateSettingsForm(VersionedForm):
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(), safe_text(100)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), safe_text(100)])
    critical_rule = SelectField(_l("A failed critical item"), choices=choices(CRITICAL_RULES.items()))
    critical_cap = AmountField(_l("Score cap (%)"), places=2, validators=[InputRequired(message=_l("Enter a number.")),
                                                                          InRange(min=0, max=100)])
    scale_pass = IntegerField(_l("0-5 items: below standard under"), validators=[
        InputRequired(message=_l("Enter a whole number.")), InRange(min=1, max=5)])
    recheck_below = AmountField(_l("Re-check visit below score"), places=2, validators=[
        InputRequired(message=_l("Enter a number.")), InRange(min=0, max=100)])
    min_minutes = IntegerField(_l("Visits shorter than (minutes) are flagged"), validators=[
        InputRequired(message=_l("Enter a whole number.")), InRange(min=1, max=600)])


class ItemForm(VersionedForm):
    section_id = SelectField(_l("Touchpoint"), coerce=int, validators=[Chosen()])
    text_zh = StringField(_l("Standard to check (Chinese)"), validators=[DataRequired(), safe_text(300)])
    text_en = StringField(_l("Standard to check (English)"), validators=[DataRequired(), safe_text(300)])
    weight = AmountField(_l("Weight"), places=2, validators=[InputRequired(message=_l("Enter a number.")),
                                                             InRange(min=0.01, max=100, message=_l(
                                                                 "A weight is above 0 and at most 100."))])
    scoring = SelectField(_l("Scoring"), choices=choices(SCORINGS.items()))
    allow_na = BooleanField(_l("May be marked not applicable"))
    critical = BooleanField(_l("Critical"))
    photo_on_fail = BooleanField(_l("A failure needs a photo"))

    def __init__(self, *args, sections=(), locale="zh_Hans", **kwargs):
        super().__init__(*args, **kwargs)
        self.section_id.choices = choices(((s.id, s.touchpoint.label(locale)) for s in sections), blank=True)


class SectionForm(FlaskForm):
    touchpoint_id = SelectField(_l("Touchpoint"), coerce=int, validators=[Chosen()])

    def __init__(self, *args, touchpoints=(), locale="zh_Hans", **kwargs):
        super().__init__(*args, **kwargs)
        self.touchpoint_id.choices = choices(((t.id, f"{t.code} {t.label(locale)}") for t in touchpoints), blank=True)
