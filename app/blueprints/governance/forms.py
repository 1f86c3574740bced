"""Forms of the manual library, announcements and the privacy policy."""
import re

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional, Regexp

from app.forms import Chosen, InRange, OnceForm, VersionedForm, choices, safe_text, text_or_blank
from app.models.governance import AUDIENCES, MANUAL_KINDS

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
