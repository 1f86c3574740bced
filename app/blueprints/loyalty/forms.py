"""Forms of the loyalty pages: redeeming, adjusting points, a return, the catalogue, privileges."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional, Regexp, ValidationError

from app.blueprints.customers.forms import FlexibleDateField
from app.forms import AmountField, Chosen, InRange, OnceForm, VersionedForm, choices, safe_text, text_or_blank
from app.models.base import local_today
from app.models.loyalty import RETURN_REASONS, REWARD_KINDS
from app.services.loyalty.redemption import MAX_QUANTITY

MAX_POINTS = 10_000_000


def _whole(label, low, high, required=True, **kwargs):
    checks = [InputRequired(message=_l("Enter a whole number."))] if required else [Optional()]
    return IntegerField(label, validators=[
        *checks, InRange(min=low, max=high, message=_l("Enter a number from %(min)s to %(max)s.",
                                                       min=f"{low:,}", max=f"{high:,}"))], **kwargs)


class RedeemForm(OnceForm):
    reward_id = SelectField(_l("Reward"), coerce=int, validators=[Chosen(_l("Choose the reward."))])
    quantity = _whole(_l("Quantity"), 1, MAX_QUANTITY, default=1)
    note = StringField(_l("Note"), validators=[Optional(), safe_text(200)])

    def __init__(self, *args, rewards=(), locale="zh_Hans", **kwargs):
        super().__init__(*args, **kwargs)
        self.reward_id.choices = choices(
            ((r.id, _l("%(name)s · %(points)s points", name=r.label(locale), points=f"{r.points:,}")) for r in rewards),
            blank=True)


class AdjustForm(OnceForm):
    points = _whole(_l("Points (negative to take away)"), -MAX_POINTS, MAX_POINTS)
    reason = StringField(_l("Reason"), validators=[DataRequired(message=_l("Say why the points are adjusted.")),
                                                   safe_text(200)])

    def validate_points(self, field):
        if field.data == 0:
            raise ValidationError(_l("Enter a number of points other than 0."))


class ReturnForm(OnceForm):
    returned_on = FlexibleDateField(_l("Returned on"), validators=[InputRequired(message=_l("Enter a valid date."))])
    amount = AmountField(_l("Amount refunded (yuan)"), places=2, validators=[
        InputRequired(message=_l("Enter an amount.")),
        InRange(min=Decimal("0.01"), max=99_999_999, message=_l("Enter an amount between 0.01 and 99,999,999.")),
    ])
    reason = SelectField(_l("Reason"), choices=choices(RETURN_REASONS.items(), blank=True), coerce=text_or_blank,
                         validators=[Chosen(_l("Choose the reason."))])
    note = TextAreaField(_l("Note"), validators=[Optional(), safe_text(1000)])

    def validate_returned_on(self, field):
        if field.data and field.data > local_today():
            raise ValidationError(_l("A return cannot be in the future."))


class CancelRedemptionForm(FlaskForm):
    reason = StringField(_l("Why is it cancelled?"), validators=[DataRequired(message=_l("Say why it is cancelled.")),
                                                                 safe_text(200)])


class RewardForm(VersionedForm):
    code = StringField(_l("Code"), validators=[DataRequired(), safe_text(20), Regexp(
        r"^[A-Za-z0-9_-]+$", message=_l("Letters, digits, - and _ only."))])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), safe_text(60)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), safe_text(60)])
    kind = SelectField(_l("Kind"), choices=choices(REWARD_KINDS.items()))
    points = _whole(_l("Price in points"), 1, MAX_POINTS)
    min_tier_rank = SelectField(_l("For members of"), coerce=int)
    description = TextAreaField(_l("Description"), validators=[Optional(), safe_text(300)])
    active = BooleanField(_l("Offered (staff can redeem it)"), default=True)

    def __init__(self, *args, tiers=(), locale="zh_Hans", **kwargs):
        super().__init__(*args, **kwargs)
        self.min_tier_rank.choices = choices(
            [(0, _l("Every member"))] + [(t.rank, _l("%(tier)s and above", tier=t.label(locale))) for t in tiers])


class NewRewardForm(OnceForm, RewardForm):
    stock = _whole(_l("Stock (empty: not counted)"), 0, 1_000_000, required=False)


class RestockForm(OnceForm):
    # Checked by validate_change: empty is right only when counting stops.
    change = IntegerField(_l("Add to stock (negative to write off)"))
    uncounted = BooleanField(_l("Stop counting stock (a service, unlimited)"))

    def validate_change(self, field):
        if self.uncounted.data:
            typed = (field.raw_data or [""])[0].strip()
            if typed not in ("", "0"):
                raise ValidationError(_l("Leave the number empty (or 0) to stop counting the stock."))
            field.errors.clear()  # empty is right here, not "not a whole number"
            return
        if field.process_errors:
            return  # "not a whole number" is already said
        if not field.data:
            raise ValidationError(_l("Enter a number other than 0."))
        if abs(field.data) > 1_000_000:
            raise ValidationError(_l("Enter a number from %(min)s to %(max)s.", min="-1,000,000", max="1,000,000"))


class PrivilegesForm(VersionedForm):
    discount_pct = AmountField(_l("Member discount (%)"), places=1, validators=[
        InputRequired(message=_l("Enter a number.")),
        InRange(min=0, max=90, message=_l("Enter a number from %(min)s to %(max)s.", min=0, max=90))])
    points_multiplier = AmountField(_l("Points per yuan, times"), places=1, validators=[
        InputRequired(message=_l("Enter a number.")),
        InRange(min=1, max=10, message=_l("Enter a number from %(min)s to %(max)s.", min=1, max=10))])
    free_delivery = BooleanField(_l("Free delivery"))
    priority_service = BooleanField(_l("Priority service (fast lane, dedicated adviser)"))
    birthday_gift = BooleanField(_l("Birthday gift"))
    extra_zh = StringField(_l("Other privileges (Chinese)"), validators=[Optional(), safe_text(200)])
    extra_en = StringField(_l("Other privileges (English)"), validators=[Optional(), safe_text(200)])
