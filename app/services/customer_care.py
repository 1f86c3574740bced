"""The care schedule (关怀与回访, R15): who to call in the coming days, and why.

Each list is a query over purchases, birthdays and holidays that leaves out
what is already done: a care task is done when a contact with its purpose and
reference (the purchase, the birthday year, the holiday) is in the log. So the
lists need no generating job and are never stale.
"""
from datetime import date, timedelta

from sqlalchemy import and_, case, exists, or_, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import CareHoliday, Contact, Customer, Purchase
from app.security.tenancy import unscoped

# Return visits more than this many days overdue drop off the list as missed.
MISSED_AFTER_DAYS = 30

_active = and_(Customer.anonymised_at.is_(None), Customer.merged_into_id.is_(None))


def return_visits(rules, today: date):
    """Purchases whose return visit falls due by the end of the look-ahead, not yet made."""
    after = timedelta(days=rules.return_visit_after_days)
    first = today - timedelta(days=MISSED_AFTER_DAYS) - after
    last = today + timedelta(days=rules.care_lookahead_days) - after
    done = exists().where(Contact.purchase_id == Purchase.id, Contact.purpose == "return_visit")
    return (
        select(Purchase)
        .join(Customer, Customer.id == Purchase.customer_id)
        .where(_active, Purchase.purchased_on >= first, Purchase.purchased_on <= last, ~done)
        .options(joinedload(Purchase.customer))
        .order_by(Purchase.purchased_on, Purchase.id)
    )


def _window(today: date, days: int) -> list[date]:
    return [today + timedelta(days=i) for i in range(days + 1)]


def birthday_year_expr(today: date):
    """The year of the customer's next birthday occurrence, from today's month and day."""
    today_md = today.month * 100 + today.day
    return case((Customer.birthday_md >= today_md, today.year), else_=today.year + 1)


def birthdays(rules, today: date):
    """Customers who agreed to be contacted and have a birthday in the look-ahead window."""
    days = _window(today, rules.care_lookahead_days)
    mds = {d.month * 100 + d.day for d in days}
    if any(d.month == 2 and d.day == 28 for d in days) and not any(d.month == 2 and d.day == 29 for d in days):
        mds.add(229)  # born on 29 February: greeted on the 28th in other years
    done = exists().where(
        Contact.customer_id == Customer.id, Contact.purpose == "birthday", Contact.care_year == birthday_year_expr(today)
    )
    today_md = today.month * 100 + today.day
    return (
        select(Customer)
        .where(_active, Customer.consent.is_(True), Customer.birthday_md.in_(sorted(mds)), ~done)
        # Soonest first, across the turn of the year.
        .order_by(case((Customer.birthday_md >= today_md, 0), else_=1), Customer.birthday_md, Customer.id)
    )


def next_birthday(customer: Customer, today: date) -> date | None:
    if not customer.birthday_md:
        return None
    month, day = divmod(customer.birthday_md, 100)
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = date(year, 2, 28)
        if candidate >= today:
            return candidate
    return None


def upcoming_holidays(rules, today: date) -> list[CareHoliday]:
    with unscoped():
        return list(db.session.scalars(
            select(CareHoliday)
            .where(CareHoliday.on >= today, CareHoliday.on <= today + timedelta(days=rules.care_lookahead_days))
            .order_by(CareHoliday.on)
        ))


def holiday_greetings(holiday: CareHoliday):
    """Important customers (VIP or grade A) who agreed to contact and are not yet greeted."""
    done = exists().where(
        Contact.customer_id == Customer.id, Contact.purpose == "holiday", Contact.holiday_id == holiday.id
    )
    return (
        select(Customer)
        .where(_active, Customer.consent.is_(True), or_(Customer.category == "vip", Customer.grade == "A"), ~done)
        .order_by(Customer.clv.desc(), Customer.id)
    )
