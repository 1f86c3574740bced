from decimal import Decimal

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, ValidationError

from app.forms import AmountField, InRange, OnceForm, VersionedForm, safe_text


def _int(label, low, high, **kwargs):
    return IntegerField(label, validators=[
        InputRequired(message=_l("Enter a whole number.")),
        InRange(min=low, max=high, message=_l("Enter a number from %(min)s to %(max)s.", min=low, max=high)),
    ], **kwargs)


def _dec(label, low, high, places=2, **kwargs):
    # A text box (with the decimal keypad on phones, inputmode in the template), not type=number:
    # a browser shows a number box holding "abc" or "30,5" as empty, so the user could not see
    # what was refused.
    return AmountField(label, places=places, validators=[
        InputRequired(message=_l("Enter a number.")),
        InRange(min=low, max=high, message=_l("Enter a number from %(min)s to %(max)s.", min=low, max=high)),
    ], **kwargs)


class RulesForm(VersionedForm):
    vip_min_spend = _dec(_l("VIP from yearly spend (yuan)"), 0, 99_999_999)
    vip_min_orders = _int(_l("... or from purchases a year"), 1, 10_000)
    vip_min_product_types = _int(_l("... having bought at least this many product types"), 1, 20)
    grade_a_min_clv = _dec(_l("Grade A from lifetime value (yuan)"), 0, 99_999_999)
    grade_b_min_clv = _dec(_l("Grade B from lifetime value (yuan)"), 0, 99_999_999)
    gross_margin_pct = _dec(_l("Gross margin (%)"), Decimal("0.01"), 100)
    discount_rate_pct = _dec(_l("Yearly discount rate (%)"), 0, 100)
    points_per_yuan = _dec(_l("Points per yuan spent"), 0, 100)
    points_valid_months = _int(_l("Points lapse after (months, 0 = never)"), 0, 120)
    points_notice_days = _int(_l("Tell customers this many days before their points lapse"), 0, 180)
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
    active_within_days = _int(_l("Kept while the last purchase is within (days, 0 = always)"), 0, 3650)

    # Conditions rise with rank (R10): a higher tier asks for more, or for recent activity sooner.
    RISING = (("min_spend", _l("lifetime spend")), ("min_orders", _l("number of purchases")),
              ("min_points", _l("points")))

    def __init__(self, *args, others=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.others = [t for t in others if self._obj is None or t.id != self._obj.id]

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        rank = self.rank.data
        if any(t.rank == rank for t in self.others):
            self.rank.errors.append(_l("Another tier has this rank."))
            return False
        ok = True
        # A higher tier offers no way in that the tiers below it lack: with "any one condition
        # is enough", a points-only top tier let customers with a fraction of the spend in.
        mine_kinds = {name for name, _label in self.RISING if getattr(self, name).data}
        for other in self.others:
            theirs_kinds = {name for name, _label in self.RISING if getattr(other, name)}
            if not theirs_kinds or not mine_kinds:
                continue  # the entry tier, reached by every member
            extra = mine_kinds - theirs_kinds if other.rank < rank else theirs_kinds - mine_kinds
            if extra:
                name = sorted(extra)[0]
                field = getattr(self, name) if other.rank < rank else getattr(self, name)
                message = (_l("A higher tier cannot be reached by %(what)s when the tier %(tier)s (rank %(rank)d) "
                              "below it is not.", what=dict(self.RISING)[name], tier=other.label(str(get_locale())),
                              rank=other.rank) if other.rank < rank else
                           _l("The tier %(tier)s (rank %(rank)d) above this one can be reached by %(what)s, so this "
                              "tier needs a condition on it too.", what=dict(self.RISING)[name],
                              tier=other.label(str(get_locale())), rank=other.rank))
                field.errors.append(message)
                return False
        for name, label in self.RISING:
            mine = getattr(self, name).data or 0
            if not mine:
                continue
            for other in self.others:
                theirs = getattr(other, name) or 0
                if theirs and ((other.rank < rank and theirs >= mine) or (other.rank > rank and theirs <= mine)):
                    getattr(self, name).errors.append(_l(
                        "Must rise with rank: the tier %(tier)s (rank %(rank)d) is reached at %(value)s (%(what)s).",
                        tier=other.label(str(get_locale())), rank=other.rank, value=f"{theirs:,}", what=label))
                    ok = False
                    break
        mine = self.active_within_days.data or 0
        for other in self.others:
            theirs = other.active_within_days or 0
            if other.rank < rank and theirs and (not mine or mine > theirs):
                self.active_within_days.errors.append(_l(
                    "A higher tier needs activity at least as recent: the tier %(tier)s (rank %(rank)d) asks for "
                    "a purchase within %(days)d days.", tier=other.label(str(get_locale())), rank=other.rank,
                    days=theirs))
            elif other.rank > rank and mine and (not theirs or theirs > mine):
                self.active_within_days.errors.append(_l(
                    "A lower tier cannot ask for more recent activity than the tier %(tier)s (rank %(rank)d) above it.",
                    tier=other.label(str(get_locale())), rank=other.rank))
            if self.active_within_days.errors:
                ok = False
                break
        return ok


class HolidayForm(OnceForm):
    on = DateField(_l("Date"), validators=[InputRequired(message=_l("Enter a valid date."))])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), safe_text(30)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), safe_text(30)])


class NewTierForm(OnceForm, TierForm):
    """Adding a tier: a replayed post adds nothing."""
