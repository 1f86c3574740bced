"""Forms of lost customers and orders, the lost-reason list, and relationship reviews."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional, Regexp, ValidationError

from app.blueprints.customers.forms import FlexibleDateField
from app.forms import AmountField, Chosen, InRange, OnceForm, VersionedForm, choices, safe_text, text_or_blank
from app.models.base import local_today
from app.models.relationship import REASON_KINDS, RELATIONSHIP_STATUSES, REVIEW_EVERY


def _not_future(form, field):
    if field.data and field.data > local_today():
        raise ValidationError(_l("The date cannot be in the future."))


def _reason_choices(reasons, locale):
    return choices(((r.id, r.label(locale)) for r in reasons), blank=True)


class MarkLostForm(OnceForm):
    lost_on = FlexibleDateField(_l("Lost since"), validators=[InputRequired(message=_l("Enter a valid date.")),
                                                              _not_future])
    reason_id = SelectField(_l("Reason"), coerce=int, validators=[Chosen(_l("Choose the reason."))])
    note = StringField(_l("What happened"), validators=[Optional(), safe_text(300)])

    def __init__(self, *args, reasons=(), locale="zh_Hans", **kwargs):
        super().__init__(*args, **kwargs)
        self.reason_id.choices = _reason_choices(reasons, locale)


class LostOrderForm(OnceForm):
    store_id = SelectField(_l("Store"), coerce=int, validators=[Chosen(_l("Choose one of your stores."))])
    lost_on = FlexibleDateField(_l("Date"), validators=[InputRequired(message=_l("Enter a valid date.")), _not_future])
    amount = AmountField(_l("Amount of the quote or order (yuan)"), places=2, validators=[
        InputRequired(message=_l("Enter an amount.")),
        InRange(min=Decimal("0.01"), max=99_999_999, message=_l("Enter an amount between 0.01 and 99,999,999."))])
    items = StringField(_l("Items"), validators=[DataRequired(), safe_text(200)])
    reason_id = SelectField(_l("Reason"), coerce=int, validators=[Chosen(_l("Choose the reason."))])
    competitor = StringField(_l("Went to (competitor)"), validators=[Optional(), safe_text(100)])
    customer_code = StringField(_l("Customer code (if on file)"), validators=[Optional(), safe_text(30)])
    note = TextAreaField(_l("Note"), validators=[Optional(), safe_text(1000)])

    def __init__(self, *args, stores=(), reasons=(), locale="zh_Hans", **kwargs):
        super().__init__(*args, **kwargs)
        self.store_id.choices = choices(((s.id, f"{s.code} {s.name}") for s in stores), blank=len(stores) > 1)
        self.reason_id.choices = _reason_choices(reasons, locale)


class ReasonForm(OnceForm):
    code = StringField(_l("Code"), validators=[DataRequired(), safe_text(20), Regexp(
        r"^[A-Za-z0-9_-]+$", message=_l("Letters, digits, - and _ only."))])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), safe_text(60)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), safe_text(60)])
    kind = SelectField(_l("Used for"), choices=choices(REASON_KINDS.items()))


class OwnersForm(VersionedForm):
    sales_id = SelectField(_l("Sales staff"), coerce=int)
    technician_id = SelectField(_l("Technician"), coerce=int)
    manager_id = SelectField(_l("Store manager"), coerce=int)
    hq_manager_id = SelectField(_l("Headquarters manager"), coerce=int)
    review_every_days = SelectField(_l("Review"), coerce=int, choices=choices(REVIEW_EVERY.items()))

    def __init__(self, *args, employees=(), managers=(), hq=(), **kwargs):
        super().__init__(*args, **kwargs)
        none = [(0, _l("Nobody yet"))]
        self.sales_id.choices = choices(none + [(e.id, e.name) for e in employees])
        self.technician_id.choices = choices(none + [(e.id, e.name) for e in employees])
        self.manager_id.choices = choices(none + [(u.id, u.display_name) for u in managers])
        self.hq_manager_id.choices = choices(none + [(u.id, u.display_name) for u in hq])


class ReviewForm(OnceForm):
    reviewed_on = FlexibleDateField(_l("Reviewed on"), validators=[InputRequired(message=_l("Enter a valid date.")),
                                                                   _not_future])
    status = SelectField(_l("Status of the relationship"), choices=choices(RELATIONSHIP_STATUSES.items(), blank=True),
                         coerce=text_or_blank, validators=[Chosen(_l("Choose the status."))])
    quality = IntegerField(_l("Quality (1 poor - 5 excellent)"), validators=[
        InputRequired(message=_l("Enter a whole number.")),
        InRange(min=1, max=5, message=_l("Enter a number from %(min)s to %(max)s.", min=1, max=5))])
    findings = TextAreaField(_l("What the review found"), validators=[DataRequired(), safe_text(2000)])
    actions = TextAreaField(_l("What we will do"), validators=[Optional(), safe_text(2000)])
    next_review_on = FlexibleDateField(_l("Next relationship review"), validators=[InputRequired(message=_l("Enter a valid date."))])

