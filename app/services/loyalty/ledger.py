"""The points ledger (issue 14): the one place that changes a customer's points.

``post`` adds an entry and moves the stored balance in one conditional UPDATE, so two
counters spending the same points cannot both succeed: the second finds the balance too low
and is refused. ``check`` compares every stored balance with its ledger (tests, and
``flask loyalty check``). Nothing here commits; the caller's transaction decides.
"""
import calendar
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, and_, case, cast, func, insert, literal, select, text, update

from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import Customer, PointsEntry, PointsSpend, Purchase
from app.models.base import local_today, utcnow
from app.security.tenancy import unscoped
from app.services import RuleError


class PointsError(RuleError):
    """A points change that breaks a rule (balance too low, customer anonymised)."""


def expiry_for(earned_on: date, rules) -> date | None:
    """The last day of the month ``points_valid_months`` after the month of ``earned_on``."""
    months = rules.points_valid_months
    if not months:
        return None
    index = earned_on.year * 12 + earned_on.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def _expiry_sql(day, rules):
    """``expiry_for`` in SQL, for the rows written in bulk."""
    months = int(rules.points_valid_months or 0)
    if not months:
        return literal(None)
    if db.engine.dialect.name == "sqlite":
        return func.date(day, "start of month", f"+{months + 1} months", "-1 day")
    return cast(func.date_trunc("month", day) + text(f"interval '{months + 1} months'") - text("interval '1 day'"),
                Date)


def post(customer: Customer, kind: str, points: int, actor=None, *, reason: str | None = None,
         expires_on: date | None = None, allow_negative: bool = False, **refs) -> PointsEntry:
    """Add one entry of ``points`` (negative to take away) and move the stored balance.

    Taking away more than the balance is refused unless ``allow_negative`` (a return of a
    purchase whose points were already spent). Added points become a lot that first pays back
    a negative balance; taken points come off the open lots, oldest expiry first."""
    if points == 0:
        raise PointsError(_l("Enter a number of points other than 0."))
    condition = Customer.id == customer.id
    if points < 0 and not allow_negative:
        condition = and_(condition, Customer.points >= -points)
    with unscoped():
        before = db.session.scalar(select(Customer.points).where(Customer.id == customer.id).with_for_update())
        balance = db.session.execute(
            update(Customer).where(condition).values(points=Customer.points + points)
            .returning(Customer.points).execution_options(synchronize_session=False)
        ).scalar()
        if balance is None:
            raise PointsError(_l("Not enough points: the balance is %(balance)s, %(needed)s are needed.",
                                 balance=f"{before or 0:,}", needed=f"{-points:,}"))
        remaining = min(points, max(balance, 0)) if points > 0 else 0  # what repaid a debt is spent
        entry = PointsEntry(customer_id=customer.id, store_id=customer.store_id, franchisee_id=customer.franchisee_id,
                            kind=kind, points=points, balance=balance, remaining=remaining,
                            expires_on=expires_on if remaining else None, reason=reason,
                            created_by_id=actor.id if actor is not None else None, **refs)
        db.session.add(entry)
        db.session.flush()
        if points < 0:
            # The lots it spent are kept (PointsSpend): cancelling it gives each lot's points back
            # with that lot's date, not a new life; the entry shows the earliest of them.
            entry.expires_on = _consume(customer.id, -points, entry.id)
            db.session.flush()
    # Not a change of the record: its version stays, so nobody's open edit form conflicts.
    set_committed_value(customer, "points", balance)
    return entry


def _consume(customer_id: int, points: int, entry_id: int) -> date | None:
    """Take ``points`` off the customer's open lots, those expiring first first (no date last),
    recording what ``entry_id`` took from each; returns the earliest date of the lots taken from."""
    lots = db.session.execute(
        select(PointsEntry.id, PointsEntry.remaining, PointsEntry.expires_on)
        .where(PointsEntry.customer_id == customer_id, PointsEntry.remaining > 0)
        .order_by(PointsEntry.expires_on.is_(None), PointsEntry.expires_on, PointsEntry.id)
    ).all()
    left, earliest = points, None
    for lot_id, remaining, expires_on in lots:
        if left <= 0:
            break
        earliest = earliest or expires_on
        taken = min(remaining, left)
        db.session.execute(update(PointsEntry).where(PointsEntry.id == lot_id)
                           .values(remaining=PointsEntry.remaining - taken)
                           .execution_options(synchronize_session=False))
        db.session.add(PointsSpend(entry_id=entry_id, lot_id=lot_id, points=taken))
        left -= taken
    return earliest


def spent_lots(entry_id: int) -> list[tuple[date | None, int]]:
    """(lot date, points) that a taking-away entry spent, by date."""
    lot = aliased(PointsEntry)
    return [(day, int(points)) for day, points in db.session.execute(
        select(lot.expires_on, func.sum(PointsSpend.points)).join(lot, lot.id == PointsSpend.lot_id)
        .where(PointsSpend.entry_id == entry_id).group_by(lot.expires_on).order_by(lot.expires_on))]


def earn_for_purchase(customer: Customer, purchase: Purchase, rules, actor=None) -> PointsEntry | None:
    if purchase.points_earned <= 0:
        return None
    return post(customer, "earn", purchase.points_earned, actor, purchase_id=purchase.id,
                expires_on=expiry_for(purchase.purchased_on, rules))


def merge(keep: Customer, other: Customer, actor=None) -> None:
    """A duplicate merged into ``keep``: its balance moves over, each lot keeping its date."""
    with unscoped():
        lots = db.session.execute(
            select(PointsEntry.expires_on, func.sum(PointsEntry.remaining))
            .where(PointsEntry.customer_id == other.id, PointsEntry.remaining > 0)
            .group_by(PointsEntry.expires_on).order_by(PointsEntry.expires_on.is_(None), PointsEntry.expires_on)
        ).all()
        balance = db.session.scalar(select(Customer.points).where(Customer.id == other.id)) or 0
    if balance == 0:
        return
    reason = f"{other.code} → {keep.code}"
    post(other, "merge", -balance, actor, reason=reason, allow_negative=True)
    moved = 0
    for expires_on, points in lots:
        post(keep, "merge", int(points), actor, reason=reason, expires_on=expires_on)
        moved += int(points)
    if balance != moved:  # a negative balance (a return after the points were spent) moves too
        post(keep, "merge", balance - moved, actor, reason=reason, allow_negative=True)


def entries_page_query(customer_id: int):
    return select(PointsEntry).where(PointsEntry.customer_id == customer_id)


def expiring(customer_id: int, today: date | None = None) -> list[tuple[date, int]]:
    """(day, points) of the customer's open lots that will lapse, soonest first."""
    today = today or local_today()
    return [(day, int(points)) for day, points in db.session.execute(
        select(PointsEntry.expires_on, func.sum(PointsEntry.remaining))
        .where(PointsEntry.customer_id == customer_id, PointsEntry.remaining > 0,
               PointsEntry.expires_on.is_not(None), PointsEntry.expires_on >= today)
        .group_by(PointsEntry.expires_on).order_by(PointsEntry.expires_on).limit(3))]


def check(customer_ids=None) -> list[tuple[int, int, int, int]]:
    """(customer id, stored balance, ledger sum, open lots) of every customer whose stored balance
    differs from the sum of their entries, or whose open lots do not add up to a balance that is
    not negative. An empty list means the books balance."""
    ledger = (select(PointsEntry.customer_id.label("cid"), func.sum(PointsEntry.points).label("total"),
                     func.sum(PointsEntry.remaining).label("lots"))
              .group_by(PointsEntry.customer_id).subquery())
    total = func.coalesce(ledger.c.total, 0)
    lots = func.coalesce(ledger.c.lots, 0)
    stmt = (select(Customer.id, Customer.points, total, lots)
            .outerjoin(ledger, ledger.c.cid == Customer.id)
            .where((Customer.points != total) | (lots != case((Customer.points > 0, Customer.points), else_=0))))
    if customer_ids is not None:
        stmt = stmt.where(Customer.id.in_(list(customer_ids)))
    with unscoped():
        return [tuple(int(v) for v in row) for row in db.session.execute(stmt)]


def backfill(rules, where=None) -> int:
    """Write the ledger of data loaded in bulk (seeds, and files from before the ledger): an earn
    entry for every purchase with points and no entry yet, then an opening entry for whatever
    stored balance the entries do not explain. Returns how many entries were written."""
    written = 0
    with unscoped():
        already = select(PointsEntry.id).where(PointsEntry.purchase_id == Purchase.id).exists()
        before = (select(func.coalesce(func.sum(PointsEntry.points), 0))
                  .where(PointsEntry.customer_id == Purchase.customer_id).scalar_subquery())
        running = func.sum(Purchase.points_earned).over(partition_by=Purchase.customer_id,
                                                        order_by=(Purchase.purchased_on, Purchase.id)) + before
        earn = (select(Purchase.customer_id, Purchase.store_id, Purchase.franchisee_id, literal("earn"),
                       Purchase.points_earned, running, Purchase.points_earned,
                       _expiry_sql(Purchase.purchased_on, rules), Purchase.id,
                       Purchase.created_at)
                .where(Purchase.points_earned > 0, ~already))
        if where is not None:
            earn = earn.where(Purchase.customer_id.in_(select(Customer.id).where(where)))
        written += db.session.execute(insert(PointsEntry.__table__).from_select(
            ["customer_id", "store_id", "franchisee_id", "kind", "points", "balance", "remaining", "expires_on",
             "purchase_id", "created_at"], earn).execution_options(preserve_rowcount=True)).rowcount or 0
        sums = (select(PointsEntry.customer_id.label("cid"), func.sum(PointsEntry.points).label("total"))
                .group_by(PointsEntry.customer_id).subquery())
        missing = Customer.points - func.coalesce(sums.c.total, 0)
        opening = (select(Customer.id, Customer.store_id, Customer.franchisee_id, literal("opening"), missing,
                          Customer.points, case((missing > 0, missing), else_=0), literal(utcnow()))
                   .outerjoin(sums, sums.c.cid == Customer.id).where(missing != 0))
        if where is not None:
            opening = opening.where(where)
        written += db.session.execute(insert(PointsEntry.__table__).from_select(
            ["customer_id", "store_id", "franchisee_id", "kind", "points", "balance", "remaining", "created_at"],
            opening).execution_options(preserve_rowcount=True)).rowcount or 0
    return written
