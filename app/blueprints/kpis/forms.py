from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError

from app.blueprints.customers.forms import FlexibleDateField
from app.forms import AmountField, OnceForm, VersionedForm, safe_text
from app.models.base import local_today


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
    action_due_on = FlexibleDateField(lazy_pgettext("deadline", "To be done by"),
                                      validators=[DataRequired(message=_l("Enter a valid date."))])

    def validate_action_due_on(self, field):
        if field.data and field.data < local_today():
            raise ValidationError(_l("The date is in the past: when will it be done?"))


class CloseForm(FlaskForm):
    closing_note = TextAreaField(_l("Closing note"), validators=[Optional(), safe_text(500)])


class CommentForm(VersionedForm):
    """Headquarters' qualitative comment on a store's half-yearly evaluation (R51)."""
    comment = TextAreaField(_l("Headquarters' comment"), validators=[Optional(), safe_text(2000)],
                            description=_l("What the store does well, its problems and what it should do next: "
                                           "printed in the evaluation report."))


class SchemeForm(FlaskForm):
    pass


def scheme_form(formdata, weights):
    """One weight box per KPI."""
    from app.models.kpi import KPIS

    class Form(SchemeForm):
        pass

    from app.services.kpis import NO_THRESHOLD

    for code, (label, _unit, _higher) in KPIS.items():
        if code not in NO_THRESHOLD:  # counts have no threshold to score them by
            setattr(Form, f"w_{code}", AmountField(label, places=2, validators=[Optional()]))
    data = {f"w_{code}": weights.get(code) for code in KPIS if code not in NO_THRESHOLD}
    return Form(formdata=formdata, data=data) if formdata is not None else Form(formdata=None, data=data)
