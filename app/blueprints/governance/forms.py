"""Forms of the manual library, announcements and the privacy policy."""
import re

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional, Regexp

from app.forms import Chosen, InRange, OnceForm, VersionedForm, choices, safe_text, text_or_blank
from app.models.governance import AUDIENCES, EFFECTS, IMPACTS, MANUAL_KINDS, SENTIMENTS

BODY_LIMIT = 200_000


class NewManualForm(OnceForm):
    code = StringField(_l("Code (used in the copies' serial numbers)"), validators=[
        DataRequired(), safe_text(12),
        Regexp(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$", flags=re.ASCII,
               message=_l("Letters, digits and single hyphens only, e.g. FM-SC."))])
    title_zh = StringField(_l("Title (Chinese)"), validators=[DataRequired(), safe_text(120)])
    title_en = StringField(_l("Title (English)"), validators=[DataRequired(), safe_text(120)])
    kind = SelectField(_l("Kind"), choices=choices(MANUAL_KINDS.items()))
    body_zh = TextAreaField(_l("Text (Chinese)"), validators=[DataRequired(), safe_text(BODY_LIMIT)])
    body_en = TextAreaField(_l("Text (English, optional)"), validators=[Optional(), safe_text(BODY_LIMIT)])


class VersionForm(VersionedForm):
    summary = StringField(_l("What changed (shown to the holders)"), validators=[Optional(), safe_text(300)])
    body_zh = TextAreaField(_l("Text (Chinese)"), validators=[DataRequired(), safe_text(BODY_LIMIT)])
    body_en = TextAreaField(_l("Text (English, optional)"), validators=[Optional(), safe_text(BODY_LIMIT)])


class IssueForm(OnceForm):
    holder_id = SelectField(_l("Holder"), coerce=int, validators=[Chosen(_l("Choose who receives the copy."))])
    note = StringField(_l("Note for the register"), validators=[Optional(), safe_text(300)])

    def __init__(self, *args, holders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.holder_id.choices = choices([(u.id, f"{u.display_name} · {u.role_label}") for u in holders], blank=True)


CLOSE_CHOICES = {"lost": _l("Lost"), "stolen": _l("Stolen"), "damaged": _l("Damaged"), "returned": _l("Returned to headquarters")}


class CloseCopyForm(FlaskForm):
    state = SelectField(_l("What happened"), coerce=text_or_blank, validators=[Chosen(_l("Choose what happened to the copy."))])
    note = StringField(_l("Where and when (required for a loss)"), validators=[Optional(), safe_text(300)])

    def __init__(self, *args, hq=False, **kwargs):
        super().__init__(*args, **kwargs)
        states = [(k, v) for k, v in CLOSE_CHOICES.items() if hq or k != "returned"]
        self.state.choices = choices(states, blank=True)


class ReturnCopiesForm(FlaskForm):
    confirm = BooleanField(_l("Headquarters has every copy back"), validators=[
        DataRequired(message=_l("Tick the box to confirm that the copies are back."))])
    note = StringField(_l("Note"), validators=[Optional(), safe_text(300)])


class AnnouncementForm(VersionedForm):
    title = StringField(_l("Title"), validators=[DataRequired(), safe_text(120)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), safe_text(20_000)])
    audience = SelectField(_l("To"), choices=choices(AUDIENCES.items()))
    region_id = SelectField(_l("Region"), coerce=int)
    store_codes = TextAreaField(_l("Store codes (for chosen stores; separated by spaces, commas or lines)"),
                                validators=[Optional(), safe_text(20_000)])
    needs_ack = BooleanField(_l("Stores must acknowledge it"), default=True)
    ack_by = DateField(_l("Acknowledge by"), validators=[Optional()])

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.region_id.choices = choices([(r.id, r.name) for r in regions], blank=True)


class NewAnnouncementForm(OnceForm, AnnouncementForm):
    pass


class PolicyForm(VersionedForm):
    summary = StringField(_l("What changed"), validators=[Optional(), safe_text(300)])
    body_zh = TextAreaField(_l("Policy (Chinese)"), validators=[DataRequired(), safe_text(BODY_LIMIT)])
    body_en = TextAreaField(_l("Policy (English)"), validators=[DataRequired(), safe_text(BODY_LIMIT)])


class SubmitForm(FlaskForm):
    note = StringField(_l("Note for the committee"), validators=[Optional(), safe_text(500)])


class CommentForm(FlaskForm):
    body = TextAreaField(lazy_pgettext("approval", "Comment"), validators=[DataRequired(), safe_text(2000)])


class DecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"), coerce=text_or_blank, validators=[Chosen(_l("Choose to approve or to return it."))],
                           choices=choices([("approve", _l("Approve")), ("return", _l("Return for changes"))], blank=True))
    note = TextAreaField(_l("Reasons (required to return it)"), validators=[Optional(), safe_text(2000)])


class ChannelSettingsForm(FlaskForm):
    contact = StringField(_l("Where customers reach it (number, address, account)"),
                          validators=[Optional(), safe_text(200)])
    publicised = BooleanField(_l("Offered to customers (publicised)"))
    check_every_days = IntegerField(_l("Check every (days; 0 = never)"), default=30, validators=[
        InputRequired(message=_l("Enter a number of days.")),
        InRange(min=0, max=366, message=_l("Enter a number from %(min)s to %(max)s.", min=0, max=366))])


class ChannelCheckForm(FlaskForm):
    result = SelectField(_l("Result"), coerce=text_or_blank, validators=[Chosen(_l("Say whether it worked."))],
                         choices=choices([("ok", _l("Works")), ("failed", _l("Does not work"))], blank=True))
    checked_on = DateField(_l("Checked on"), validators=[InputRequired(message=_l("Enter a valid date."))])
    note = StringField(_l("What was tried, what happened"), validators=[Optional(), safe_text(300)])


# Improvement projects and the feedback-to-improvement cycle.
class _ProjectFields(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), safe_text(200)])
    goal = TextAreaField(_l("Goal (what will be better, and how it is measured)"),
                         validators=[DataRequired(), safe_text(5_000)])
    department = SelectField(_l("Owner department"), coerce=text_or_blank,
                             validators=[Chosen(_l("Choose the department that owns the project."))])
    owner_name = StringField(_l("Person in charge"), validators=[Optional(), safe_text(60)])
    impact = SelectField(_l("Impact"), choices=choices(IMPACTS.items()), default="high")
    due_on = DateField(_l("To be completed by"), validators=[InputRequired(message=_l("Enter a valid date."))])
    root_cause = TextAreaField(_l("Root cause"), validators=[Optional(), safe_text(10_000)])
    measures = TextAreaField(_l("Measures (the plan)"), validators=[Optional(), safe_text(10_000)])

    def __init__(self, *args, departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.department.choices = choices((departments or {}).items(), blank=True)


class NewProjectForm(OnceForm, _ProjectFields):
    pass


class ProjectForm(VersionedForm, _ProjectFields):
    pass


class PartForm(FlaskForm):
    department = SelectField(_l("Department"), coerce=text_or_blank, validators=[Chosen(_l("Choose a department."))])
    responsibility = StringField(_l("Responsible for"), validators=[DataRequired(), safe_text(300)])
    due_on = DateField(lazy_pgettext("project part", "Due"), validators=[InputRequired(message=_l("Enter a valid date."))])

    def __init__(self, *args, departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.department.choices = choices((departments or {}).items(), blank=True)


class PartDoneForm(FlaskForm):
    outcome = TextAreaField(_l("What was done"), validators=[DataRequired(), safe_text(5_000)])


class ProgressForm(OnceForm):
    body = TextAreaField(_l("What has been done"), validators=[DataRequired(), safe_text(5_000)])
    progress = IntegerField(_l("Done so far (%)"), validators=[Optional(), InRange(0, 100)])


class EvaluateForm(FlaskForm):
    effect = SelectField(_l("Effect"), choices=choices(EFFECTS.items(), blank=True), coerce=text_or_blank,
                         validators=[Chosen(_l("Choose how effective it was."))])
    evaluation = TextAreaField(_l("Evaluation (the evidence: figures before and after)"),
                               validators=[DataRequired(), safe_text(10_000)])


class CancelProjectForm(FlaskForm):
    reason = StringField(_l("Why is it cancelled?"), validators=[DataRequired(), safe_text(300)])


class LinkForm(FlaskForm):
    project_id = SelectField(_l("Project in progress"), coerce=int,
                             validators=[Chosen(_l("Choose the project to add it to."))])

    def __init__(self, *args, open_projects=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.project_id.choices = choices([(p.id, f"{p.reference} · {p.title}") for p in open_projects], blank=True)


class ClassifyForm(FlaskForm):
    sentiment = SelectField(_l("Positive or negative"), choices=choices(SENTIMENTS.items(), blank=True),
                            coerce=text_or_blank, validators=[Chosen(_l("Choose positive or negative."))])
    impact = SelectField(_l("Impact"), choices=choices(IMPACTS.items()), default="medium")
    category_id = SelectField(_l("Topic"), coerce=int, validators=[Optional()])
    no_action = BooleanField(_l("No project needed"))

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.category_id.choices = choices(categories, blank=True)
