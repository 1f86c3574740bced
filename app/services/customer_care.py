"""The care schedule (关怀与回访, R15): who to call in the coming days, and why.

Care is kept as tasks (``CareTask``), so the schedule is one indexed range per
tab at any size of network:

- a purchase makes its after-sale tasks at once (``add_after_sale_tasks``: return visit, follow-up);
- ``generate`` (the nightly job, and after a seed) makes the birthday and
  holiday tasks of the look-ahead window, makes any missing return visit, and
  drops tasks long past as *missed*; it is idempotent (a task is never made
  twice: ``ref`` is unique per customer);
- logging a contact with the task's purpose and reference (the purchase, the
  birthday year, the holiday) marks it done (``complete``).

The customer's ``next_care_on`` is the earliest open task.
"""
from datetime import date, timedelta

from sqlalchemy import String, and_, cast, delete, exists, func, insert, literal, or_, select, update

from app.extensions import db
from app.models import CareHoliday, CareTask, Contact, Customer, Purchase
from app.security.tenancy import unscoped

# Return visits more than this many days overdue drop off the list as missed.
MISSED_AFTER_DAYS = 30
# The follow-up call after a complaint is resolved (R25): made by services/complaints/workflow.py,
# done when the customer's satisfaction is recorded on the complaint.
COMPLAINT_KIND = "complaint"

_active = and_(Customer.anonymised_at.is_(None), Customer.merged_into_id.is_(None))
_TASK_COLUMNS = ("store_id", "franchisee_id", "customer_id", "kind", "ref", "due_on", "state",
                 "purchase_id", "holiday_id", "care_year", "contactable")


def _window(today: date, days: int) -> list[date]:
    return [today + timedelta(days=i) for i in range(days + 1)]


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


# --- making and closing tasks ---------------------------------------------------

# R12 (seed 001, the five relationship levels): what the store does after a sale.
AFTER_SALE = {
    "basic": (),                              # 基本型: it sells; no contact after the sale
    "reactive": (),                           # 被动型: the customer was asked to call about problems
    "accountable": ("return",),               # 负责型: a call soon after the sale about fit and defects
    "proactive": ("return", "follow_up"),     # 能动型: ... and later, usage tips and new products
    "partnership": ("return", "follow_up"),   # 伙伴型: ... working with the customer continuously
}
# Each kind of after-sale task: its reference prefix, the contact purpose that does it, and the rule
# that says how many days after the purchase it falls due.
AFTER_SALE_KINDS = {"return": ("p:", "return_visit", "return_visit_after_days"),
                    "follow_up": ("f:", "follow_up", "follow_up_after_days")}


def relationships_with(kind: str) -> list[str]:
    return [relationship for relationship, kinds in AFTER_SALE.items() if kind in kinds]


def add_after_sale_tasks(purchase: Purchase, rules, today: date) -> None:
    """The after-sale tasks a new purchase calls for by the customer's relationship type (a return
    visit, and for proactive and partner customers a later follow-up), unless long past."""
    customer = db.session.get(Customer, purchase.customer_id)
    made = False
    for kind in AFTER_SALE.get(customer.relationship_type, ()):
        prefix, _purpose, rule = AFTER_SALE_KINDS[kind]
        due = purchase.purchased_on + timedelta(days=getattr(rules, rule))
        if due < today - timedelta(days=MISSED_AFTER_DAYS):
            continue
        db.session.add(CareTask(
            store_id=purchase.store_id, franchisee_id=purchase.franchisee_id, customer_id=purchase.customer_id,
            kind=kind, ref=f"{prefix}{purchase.id}", due_on=due, purchase_id=purchase.id,
            contactable=bool(customer.consent),
        ))
        made = True
    if made:
        db.session.flush()
        update_next_care(Customer.id == purchase.customer_id)


def _ref_of(contact: Contact) -> str | None:
    if contact.purpose == "return_visit" and contact.purchase_id:
        return f"p:{contact.purchase_id}"
    if contact.purpose == "follow_up" and contact.purchase_id:
        return f"f:{contact.purchase_id}"
    if contact.purpose == "birthday" and contact.care_year:
        return f"b:{contact.care_year}"
    if contact.purpose == "points_expiry" and contact.points_expiry_on:
        return f"x:{contact.points_expiry_on:%Y%m%d}"
    if contact.purpose == "holiday" and contact.holiday_id:
        return f"h:{contact.holiday_id}"
    return None


def complete(contact: Contact) -> None:
    """A logged contact closes the care task it answers, if there is one."""
    ref = _ref_of(contact)
    if ref is None:
        return
    with unscoped():
        db.session.execute(
            update(CareTask)
            .where(CareTask.customer_id == contact.customer_id, CareTask.ref == ref, CareTask.state == "open")
            .values(state="done", contact_id=contact.id)
            .execution_options(synchronize_session=False)
        )
    update_next_care(Customer.id == contact.customer_id)


def drop_for(customer_ids) -> None:
    """Open tasks of anonymised or merged customers go: nobody is to call them."""
    ids = list(customer_ids)
    with unscoped():
        db.session.execute(
            delete(CareTask).where(CareTask.customer_id.in_(ids), CareTask.state == "open")
            .execution_options(synchronize_session=False)
        )
    update_next_care(Customer.id.in_(ids))


def sync_contactable(customer_ids) -> None:
    """Open tasks follow their customers' consent (given, withdrawn, merged in)."""
    ids = list(customer_ids)
    consent = select(Customer.consent).where(Customer.id == CareTask.customer_id).scalar_subquery()
    with unscoped():
        db.session.execute(
            update(CareTask).where(CareTask.customer_id.in_(ids), CareTask.state == "open",
                                   CareTask.contactable.is_distinct_from(consent))
            .values(contactable=consent).execution_options(synchronize_session=False)
        )


def update_next_care(where) -> None:
    """Store each matching customer's earliest open task date."""
    earliest = (
        select(func.min(CareTask.due_on))
        .where(CareTask.customer_id == Customer.id, CareTask.state == "open")
        .scalar_subquery()
    )
    # Only rows whose date changes: rewriting every row (PostgreSQL makes a new row version and
    # index entries for each) took 7–10 s per 25 stores in the nightly job.
    with unscoped():
        db.session.execute(
            update(Customer).where(where, Customer.next_care_on.is_distinct_from(earliest))
            .values(next_care_on=earliest).execution_options(synchronize_session=False)
        )


def _insert_tasks(source) -> int:
    table = CareTask.__table__
    # preserve_rowcount: without it SQLAlchemy 2.1 reports -1 for an INSERT ... SELECT on psycopg.
    inserted = insert(table).from_select(_TASK_COLUMNS, source).execution_options(preserve_rowcount=True)
    return max(db.session.execute(inserted).rowcount or 0, 0)


def _task_exists(ref):
    return exists().where(CareTask.customer_id == Customer.id, CareTask.ref == ref)


def generate(rules, today: date, where=None) -> int:
    """Make the tasks due in the look-ahead window and retire those long past; returns tasks made.

    ``where`` (a condition on Customer) limits it to some customers, e.g. one
    store's. Set-based: a handful of INSERT … SELECT statements.
    """
    made = 0
    scope = [_active] + ([where] if where is not None else [])
    with unscoped():
        # After-sale tasks (R12) of recent purchases that have neither a task nor a contact yet.
        for kind, (prefix, purpose, rule) in AFTER_SALE_KINDS.items():
            after = timedelta(days=getattr(rules, rule))
            ref = literal(prefix) + cast(Purchase.id, String)
            visited = exists().where(Contact.purchase_id == Purchase.id, Contact.purpose == purpose)
            has_task = exists().where(CareTask.customer_id == Purchase.customer_id, CareTask.ref == ref)
            made += _insert_tasks(
                select(Purchase.store_id, Purchase.franchisee_id, Purchase.customer_id, literal(kind), ref,
                       _plus_days(Purchase.purchased_on, after.days), literal("open"), Purchase.id, literal(None),
                       literal(None), Customer.consent)
                .join(Customer, Customer.id == Purchase.customer_id)
                .where(*scope, Customer.relationship_type.in_(relationships_with(kind)),
                       Purchase.purchased_on >= today - timedelta(days=MISSED_AFTER_DAYS) - after,
                       Purchase.purchased_on <= today + timedelta(days=rules.care_lookahead_days) - after,
                       ~visited, ~has_task)
            )
        # Birthdays in the window, for customers who agreed to be contacted.
        for day in _window(today, rules.care_lookahead_days):
            mds = [day.month * 100 + day.day]
            if (day.month, day.day) == (2, 28) and not _is_leap(day.year):
                mds.append(229)  # born on 29 February: greeted on the 28th in other years
            ref = f"b:{day.year}"
            greeted = exists().where(Contact.customer_id == Customer.id, Contact.purpose == "birthday",
                                     Contact.care_year == day.year)
            made += _insert_tasks(
                select(Customer.store_id, Customer.franchisee_id, Customer.id, literal("birthday"), literal(ref),
                       literal(day), literal("open"), literal(None), literal(None), literal(day.year), literal(True))
                .where(*scope, Customer.consent.is_(True), Customer.birthday_md.in_(mds), ~greeted, ~_task_exists(ref))
            )
        # Holiday greetings in person (with a gift) for important customers (VIP or grade A) who
        # agreed to contact; everyone else who agreed gets the greeting by message, from the
        # export the holiday tab links to (a task each would be a million rows a holiday).
        for holiday in upcoming_holidays(rules, today):
            ref = f"h:{holiday.id}"
            greeted = exists().where(Contact.customer_id == Customer.id, Contact.purpose == "holiday",
                                     Contact.holiday_id == holiday.id)
            made += _insert_tasks(
                select(Customer.store_id, Customer.franchisee_id, Customer.id, literal("holiday"), literal(ref),
                       literal(holiday.on), literal("open"), literal(None), literal(holiday.id), literal(None),
                       literal(True))
                .where(*scope, Customer.consent.is_(True), or_(Customer.category == "vip", Customer.grade == "A"),
                       ~greeted, ~_task_exists(ref))
            )
        past = or_(
            and_(CareTask.kind.in_(AFTER_SALE_KINDS), CareTask.due_on < today - timedelta(days=MISSED_AFTER_DAYS)),
            # A complaint's follow-up call stays due until it is made: the complaint waits on it.
            and_(CareTask.kind.not_in(AFTER_SALE_KINDS), CareTask.kind != COMPLAINT_KIND, CareTask.due_on < today),
        )
        missed = update(CareTask).where(CareTask.state == "open", past).values(state="missed")
        if where is not None:
            missed = missed.where(CareTask.customer_id.in_(select(Customer.id).where(where)))
        db.session.execute(missed.execution_options(synchronize_session=False))
    update_next_care(and_(*scope))
    return made


def _plus_days(column, days: int):
    """``column`` + ``days`` as a date, in the dialect at hand (SQLite stores dates as text)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.date(column, f"+{int(days)} days")
    return column + int(days)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# --- the schedule -------------------------------------------------------------------

def due_window(kind: str, rules, today: date) -> tuple[date, date]:
    """The due dates a tab lists: overdue return visits stay until they count as missed."""
    last = today + timedelta(days=rules.care_lookahead_days)
    first = today - timedelta(days=MISSED_AFTER_DAYS) if kind in AFTER_SALE_KINDS else today
    if kind == COMPLAINT_KIND:
        first = date(2000, 1, 1)  # every follow-up still owed, however late
    if kind == "points":
        first = today - timedelta(days=rules.points_notice_days)  # listed until the points lapse
    return first, last


def due_tasks(kind: str, rules, today: date, holiday_id: int | None = None, consent: bool = True):
    """Open tasks of one kind due in the window, in the scope of the caller (order: due date, id),
    joined to their customers: those who agreed to be contacted, or (``consent=False``) those who
    did not, whom the store must not call (R61). Birthday and holiday tasks are only ever made
    for consenting customers; a return visit is due after every purchase."""
    first, last = due_window(kind, rules, today)
    stmt = select(CareTask).where(
        CareTask.kind == kind, CareTask.state == "open", CareTask.contactable == consent,
        CareTask.due_on >= first, CareTask.due_on <= last,
    )
    if holiday_id is not None:
        stmt = stmt.where(CareTask.holiday_id == holiday_id)
    return stmt


def complaint_follow_up(complaint, due_on: date) -> None:
    """The follow-up call of a resolved complaint, in the customer file's care list. The customer
    asked to be answered, so the call is due whatever their marketing consent."""
    ref = f"c:{complaint.id}"
    with unscoped():
        task = db.session.scalar(select(CareTask).where(CareTask.customer_id == complaint.customer_id,
                                                        CareTask.ref == ref))
        if task is None:
            customer = db.session.get(Customer, complaint.customer_id)
            db.session.add(CareTask(customer_id=customer.id, store_id=customer.store_id,
                                    franchisee_id=customer.franchisee_id, kind=COMPLAINT_KIND, ref=ref, due_on=due_on,
                                    contactable=True))
        else:
            task.state, task.due_on = "open", due_on
        db.session.flush()
    update_next_care(Customer.id == complaint.customer_id)


def complaint_followed_up(complaint) -> None:
    """The follow-up was recorded on the complaint (or the complaint was reopened): not due any more."""
    with unscoped():
        db.session.execute(update(CareTask).where(CareTask.customer_id == complaint.customer_id,
                                                  CareTask.ref == f"c:{complaint.id}", CareTask.state == "open")
                           .values(state="done").execution_options(synchronize_session=False))
    update_next_care(Customer.id == complaint.customer_id)
