"""Forms of coupons and offers."""
import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional, Regexp, ValidationError

from app.blueprints.customers.forms import FlexibleDateField
from app.forms import AmountField, InRange, OnceForm, VersionedForm, choices, safe_text
from app.models.offer import OFFER_KINDS


class OfferForm(VersionedForm):
    code = StringField(_l("Code"), validators=[DataRequired(), safe_text(20), Regexp(
        r"^[A-Za-z0-9_-]+$", message=_l("Letters, digits, - and _ only."))])
    title_zh = StringField(_l("Title (Chinese)"), validators=[DataRequired(), safe_text(60)])
    title_en = StringField(_l("Title (English)"), validators=[DataRequired(), safe_text(60)])
    kind = SelectField(_l("Kind"), choices=choices(OFFER_KINDS.items()))
    # Checked by validate_value: a gift needs none, the others a positive number.
    value = AmountField(_l("Yuan off, or per cent off"), places=2)
    min_spend = AmountField(_l("From a purchase of (yuan)"), places=2, default=Decimal("0"), validators=[
        InputRequired(message=_l("Enter an amount.")),
        InRange(min=0, max=99_999_999, message=_l("Enter a number from %(min)s to %(max)s.", min=0, max="99,999,999"))])
    starts_on = FlexibleDateField(_l("Valid from"), validators=[InputRequired(message=_l("Enter a valid date."))])
    ends_on = FlexibleDateField(_l("Valid until"), validators=[InputRequired(message=_l("Enter a valid date."))])
    min_tier_rank = SelectField(_l("For members of"), coerce=int)
    store_codes = StringField(_l("Valid in stores (codes, separated by commas; empty: all)"),
                              validators=[Optional(), safe_text(2000)])
    description = TextAreaField(_l("Conditions"), validators=[Optional(), safe_text(300)])
    active = BooleanField(_l("Active (can be issued and used)"), default=True)

    def __init__(self, *args, tiers=(), locale="zh_Hans", **kwargs):
        super().__init__(*args, **kwargs)
        self.min_tier_rank.choices = choices(
            [(0, _l("Every member"))] + [(t.rank, _l("%(tier)s and above", tier=t.label(locale))) for t in tiers])

    def show_record(self, obj) -> None:
        self.min_tier_rank.data = obj.min_tier_rank or 0
        self.store_codes.data = ", ".join(s.code for s in obj.stores)

    def validate_value(self, field):
        if self.kind.data == "gift":
            return
        if field.process_errors:
            return  # "enter a number" is already said
        if not field.data or field.data <= 0:
            raise ValidationError(_l("Enter how much the offer takes off."))
        if field.data > 99_999_999:
            raise ValidationError(_l("Enter a number from %(min)s to %(max)s.", min=0, max="99,999,999"))
        if self.kind.data == "percent" and field.data >= 100:
            raise ValidationError(_l("A percentage off must be below 100."))

    def validate_starts_on(self, field):
        if field.data and not 2000 <= field.data.year <= 2099:
            raise ValidationError(_l("Enter a date between the years 2000 and 2099."))

    def validate_ends_on(self, field):
        if field.data and not 2000 <= field.data.year <= 2099:
            raise ValidationError(_l("Enter a date between the years 2000 and 2099."))
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The offer must end on or after the day it starts."))

    @property
    def codes(self) -> list[str]:
        return [c for c in re.split(r"[\s,，、;；]+", (self.store_codes.data or "").upper()) if c]


class NewOfferForm(OnceForm, OfferForm):
    def validate_ends_on(self, field):
        super().validate_ends_on(field)
        from app.models.base import local_today

        if field.data and field.data < local_today():  # trial 22: an offer made already over
            raise ValidationError(_l("This end date is past: a new offer must still be running today."))


class IssueForm(FlaskForm):
    """The confirmation of an issue: the filters travel in the address."""

    confirm = BooleanField(_l("I have checked the customers chosen"), validators=[
        DataRequired(message=_l("Tick the box to confirm."))])
