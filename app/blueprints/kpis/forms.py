from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional

from app.blueprints.customers.forms import FlexibleDateField
from app.forms import AmountField, OnceForm, safe_text


class ThresholdForm(OnceForm):
    kpi = SelectField(_l("KPI"), validators=[InputRequired()])
    green = AmountField(_l("Green at or better than"), places=2, validators=[InputRequired()])
    red = AmountField(_l("Red (a warning) when worse than"), places=2, validators=[InputRequired()])
    change_percent = AmountField(_l("Abnormal change: worse by more than (%)"), places=2, validators=[Optional()],
                                 description=_l("From the previous half-year, in percent of its value; leave empty "
                                                "for no change warning."))


class AcknowledgeForm(FlaskForm):
    pass


class ActionForm(FlaskForm):
    action = TextAreaField(_l("What will be done"), validators=[DataRequired(), safe_text(1000)])
    action_due_on = FlexibleDateField(_l("By"), validators=[DataRequired(message=_l("Enter a valid date."))])


class CloseForm(FlaskForm):
    closing_note = TextAreaField(_l("Closing note"), validators=[Optional(), safe_text(500)])
