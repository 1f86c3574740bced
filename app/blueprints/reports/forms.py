"""Forms of the report pages: one report on demand, and a batch of store reports. Choices come
from scoped queries (the stores and franchisees the user sees), so a store of another
franchisee is not a choice at all."""
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from app.forms import EmptyForm, MultiCheckboxField, VersionedForm, choices
from app.models.report import SCHEDULE_EVERY, SCHEDULE_KINDS
from app.models.user import DEPARTMENTS

LANGUAGES = choices([("zh_Hans", "中文"), ("en", "English")])


class StoreReportForm(EmptyForm):
    store = SelectField(_l("Store"), coerce=str, validators=[InputRequired()])
    period = SelectField(lazy_pgettext("report", "Period"), coerce=str, validators=[InputRequired()])
    language = SelectField(_l("Language"), choices=LANGUAGES, validators=[InputRequired()])


class BatchForm(EmptyForm):
    franchisee = SelectField(_l("Stores"), coerce=str)
    period = SelectField(lazy_pgettext("report", "Period"), coerce=str, validators=[InputRequired()])
    language = SelectField(_l("Language"), choices=LANGUAGES, validators=[InputRequired()])


class GroupReportForm(BatchForm):
    report = SelectField(_l("Report"), choices=choices([("evaluation", _l("Evaluation (stores compared and ranked)")),
                                                       ("complaints", _l("Complaint analysis"))]),
                         validators=[InputRequired()])


class DistributeForm(EmptyForm):
    owners = BooleanField(_l("The franchise owner it is about"))
    committee = BooleanField(_l("The customer-experience committee"))
    departments = MultiCheckboxField(_l("Departments"), choices=choices(DEPARTMENTS.items()))


class AnswerForm(VersionedForm):
    answer = TextAreaField(_l("Our improvement measures"), validators=[DataRequired(), Length(max=4000)])


class ScheduleForm(EmptyForm):
    kind = SelectField(_l("Report"), choices=choices(SCHEDULE_KINDS.items()), validators=[InputRequired()])
    every = SelectField(_l("How often"), choices=choices(SCHEDULE_EVERY.items()), validators=[InputRequired()])
    language = SelectField(_l("Language"), choices=LANGUAGES, validators=[InputRequired()])
    owners = BooleanField(_l("To the franchise owners"), default=True)
    committee = BooleanField(_l("To the customer-experience committee"))
    departments = MultiCheckboxField(_l("To departments"), choices=choices(DEPARTMENTS.items()))
