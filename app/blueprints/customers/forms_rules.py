from flask_babel import lazy_gettext as _l
from wtforms import DateField, DecimalField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, NumberRange, ValidationError

from app.forms import OnceForm, VersionedForm, safe_text


def _int(label, low, high, **kwargs):
    return IntegerField(label, validators=[
        InputRequired(message=_l("Enter a whole number.")),
        NumberRange(min=low, max=high, message=_l("Enter a number from %(min)s to %(max)s.", min=low, max=high)),
    ], **kwargs)


def _dec(label, low, high, places=2, **kwargs):
    return DecimalField(label, places=places, validators=[
        InputRequired(message=_l("Enter a number.")),
        NumberRange(min=low, max=high, message=_l("Enter a number from %(min)s to %(max)s.", min=low, max=high)),
    ], **kwargs)


class RulesForm(VersionedForm):
    vip_min_spend = _dec(_l("VIP from lifetime spend (yuan)"), 0, 99_999_999)
    vip_min_orders = _int(_l("... or from number of purchases"), 1, 10_000)
    grade_a_min_clv = _dec(_l("Grade A from lifetime value (yuan)"), 0, 99_999_999)
    grade_b_min_clv = _dec(_l("Grade B from lifetime value (yuan)"), 0, 99_999_999)
    clv_horizon_years = _int(_l("Lifetime value: years of future spend counted"), 0, 30)
    points_per_yuan = _dec(_l("Points per yuan spent"), 0, 100)
    churn_interval_factor = _dec(_l("Absent: times the customer's usual interval"), 1, 20, places=1)
    churn_min_days = _int(_l("Absent: at least this many days"), 1, 3650)
    churn_single_purchase_days = _int(_l("Absent after a single purchase: days"), 1, 3650)
    freq_window_days = _int(_l("Frequency drop: window (days)"), 7, 1825)
    freq_drop_pct = _int(_l("Frequency drop: fall of at least (%)"), 1, 100)
    freq_min_previous = _int(_l("Frequency drop: purchases needed in the earlier window"), 1, 1000)
    return_visit_after_days = _int(_l("Return visit: days after a purchase"), 0, 365)
    follow_up_after_days = _int(_l("Follow-up of proactive and partner customers: days after a purchase"), 1, 730)
    care_lookahead_days = _int(_l("Care lists look ahead (days)"), 1, 90)
    retention_years = _int(_l("Anonymise customers inactive for (years)"), 1, 30)
    import_retention_days = _int(_l("Delete uploaded import files after (days)"), 1, 365)

    def validate_grade_b_min_clv(self, field):
        if self.grade_a_min_clv.data is not None and field.data is not None and field.data > self.grade_a_min_clv.data:
            raise ValidationError(_l("Grade B must start below grade A."))


class TierForm(VersionedForm):
    rank = _int(_l("Rank (1 = entry tier)"), 1, 5)
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), safe_text(30)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), safe_text(30)])
    min_spend = _dec(_l("Reached at lifetime spend (yuan, 0 = not used)"), 0, 99_999_999)
    min_orders = _int(_l("... or at number of purchases (0 = not used)"), 0, 10_000)
    min_points = _int(_l("... or at points (0 = not used)"), 0, 100_000_000)


class HolidayForm(OnceForm):
    on = DateField(_l("Date"), validators=[InputRequired(message=_l("Enter a valid date."))])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), safe_text(30)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), safe_text(30)])


class NewTierForm(OnceForm, TierForm):
    """Adding a tier: a replayed post adds nothing."""
