"""Forms of the report pages: one report on demand, and a batch of store reports. Choices come
from scoped queries (the stores and franchisees the user sees), so a store of another
franchisee is not a choice at all."""
from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import InputRequired

from app.forms import EmptyForm, choices

LANGUAGES = choices([("zh_Hans", "中文"), ("en", "English")])


class StoreReportForm(EmptyForm):
    store = SelectField(_l("Store"), coerce=str, validators=[InputRequired()])
    period = SelectField(_l("Half-year"), coerce=str, validators=[InputRequired()])
    language = SelectField(_l("Language"), choices=LANGUAGES, validators=[InputRequired()])


class BatchForm(EmptyForm):
    franchisee = SelectField(_l("Stores"), coerce=str)
    period = SelectField(_l("Half-year"), coerce=str, validators=[InputRequired()])
    language = SelectField(_l("Language"), choices=LANGUAGES, validators=[InputRequired()])


class GroupReportForm(BatchForm):
    report = SelectField(_l("Report"), choices=choices([("evaluation", _l("Evaluation (stores compared and ranked)")),
                                                       ("complaints", _l("Complaint analysis"))]),
                         validators=[InputRequired()])
