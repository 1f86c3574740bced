"""Complaint statistics: the store-month roll-up and what the statistics page reads from it.

Maintenance: any flush that writes a complaint marks its store-month; before the transaction
commits, each marked store-month's rows are recomputed from its complaints (a few dozen rows
through the (store_id, received_at) index). So the figures are right after every change, and
no page ever counts the complaint history. ``rebuild`` recomputes everything (the large seed,
a repair); ``from_scratch`` is the definition the tests compare the roll-up with.
"""
from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Complaint, ComplaintMonthStats, StoreMonthStats, StoreStats
from app.security.tenancy import unscoped

MARK = "complaint_stats_dirty"
MEASURES = ("received", "major", "escalated", "acknowledged", "acknowledged_in_time", "first_response_seconds",
            "resolved", "resolved_in_time", "resolution_seconds", "reopened", "followed_up", "follow_up_score",
            "open_now")
COLUMNS_OUT = MEASURES + ("suggestions", "praise")
_COLUMNS = (Complaint.store_id, Complaint.franchisee_id, Complaint.received_at, Complaint.category_id,
            Complaint.channel_id, Complaint.kind, Complaint.severity, Complaint.escalated, Complaint.acknowledged_at,
            Complaint.acknowledged_in_time, Complaint.resolved_at, Complaint.resolved_in_time, Complaint.reopen_count,
            Complaint.follow_up_score, Complaint.is_open)
_ZONE = ZoneInfo("Asia/Shanghai")


def month_of(moment: datetime) -> int:
    local = moment.replace(tzinfo=UTC).astimezone(_ZONE)
    return local.year * 100 + local.month


def _month_bounds(month: int) -> tuple[datetime, datetime]:
    """The month's first and next month's first instant, as naive UTC."""
    year, mon = divmod(month, 100)
    start = datetime(year, mon, 1, tzinfo=_ZONE)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=_ZONE)
    return (start.astimezone(UTC).replace(tzinfo=None), end.astimezone(UTC).replace(tzinfo=None))


def _aggregate(rows) -> dict:
    """Rows of complaints -> {(store, month, franchisee, dimension, value): figures}."""
    groups: dict = defaultdict(lambda: dict.fromkeys(COLUMNS_OUT, 0))
    for r in rows:
        base = (r.store_id, month_of(r.received_at), r.franchisee_id)
        total = groups[base + ("total", 0)]
        if r.kind != "complaint":
            total["suggestions" if r.kind == "suggestion" else "praise"] += 1
            continue
        for g in (total, groups[base + ("category", r.category_id or 0)], groups[base + ("channel", r.channel_id)]):
            g["received"] += 1
            g["major"] += r.severity == "major"
            g["escalated"] += bool(r.escalated)
            g["open_now"] += bool(r.is_open)
            if r.acknowledged_at is not None:
                g["acknowledged"] += 1
                g["acknowledged_in_time"] += bool(r.acknowledged_in_time)
                g["first_response_seconds"] += max(0, int((r.acknowledged_at - r.received_at).total_seconds()))
            if r.resolved_at is not None:
                g["resolved"] += 1
                g["resolved_in_time"] += bool(r.resolved_in_time)
                g["resolution_seconds"] += max(0, int((r.resolved_at - r.received_at).total_seconds()))
            g["reopened"] += (r.reopen_count or 0) > 0
            if r.follow_up_score:
                g["followed_up"] += 1
                g["follow_up_score"] += r.follow_up_score
    return groups


def _write(groups: dict) -> None:
    rows = [{"store_id": store, "month": month, "franchisee_id": franchisee, "dimension": dimension,
             "value_id": value, **values}
            for (store, month, franchisee, dimension, value), values in groups.items()]
    for start in range(0, len(rows), 1000):
        db.session.execute(insert(ComplaintMonthStats), rows[start:start + 1000])


def refresh(store_months) -> None:
    """Recompute the rows of these (store id, month) pairs from their complaints."""
    with unscoped():
        for store_id, month in sorted(set(store_months)):
            start, end = _month_bounds(month)
            rows = db.session.execute(select(*_COLUMNS).where(
                Complaint.store_id == store_id, Complaint.received_at >= start, Complaint.received_at < end)).all()
            db.session.execute(delete(ComplaintMonthStats).where(ComplaintMonthStats.store_id == store_id,
                                                                 ComplaintMonthStats.month == month)
                               .execution_options(synchronize_session=False))
            _write(_aggregate(rows))


def rebuild(progress=print) -> int:
    """Every row again, from all complaints (read in pages by id; the large seed, a repair)."""
    with unscoped():
        db.session.execute(delete(ComplaintMonthStats).execution_options(synchronize_session=False))
        groups: dict = {}
        last, total = 0, 0
        while True:
            rows = db.session.execute(select(Complaint.id, *_COLUMNS).where(Complaint.id > last)
                                      .order_by(Complaint.id).limit(20_000)).all()
            if not rows:
                break
            last, total = rows[-1].id, total + len(rows)
            for key, values in _aggregate(rows).items():
                target = groups.setdefault(key, dict.fromkeys(COLUMNS_OUT, 0))
                for name, value in values.items():
                    target[name] += value
        _write(groups)
    progress(f"complaint statistics: {total} complaints, {len(groups)} rows")
    return total


def from_scratch(where=None) -> dict:
    """The figures counted from the complaints themselves (tests compare the roll-up with it)."""
    with unscoped():
        stmt = select(*_COLUMNS)
        if where is not None:
            stmt = stmt.where(where)
        return _aggregate(db.session.execute(stmt).all())


@event.listens_for(Session, "after_flush")
def _mark(session, flush_context) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Complaint) and obj.received_at is not None:
            session.info.setdefault(MARK, set()).add((obj.store_id, month_of(obj.received_at)))


@event.listens_for(Session, "before_commit")
def _refresh_marked(session) -> None:
    marked = session.info.pop(MARK, None)
    if marked:
        session.flush()
        session.info.pop(MARK, None)
        refresh(marked)


@event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    session.info.pop(MARK, None)


# --- reading -------------------------------------------------------------------------------------

GROUPS = ("store", "franchisee", "category", "channel", "month")


def figures(group: str, first: int, last: int, store_id: int | None = None, franchisee_id: int | None = None):
    """Sums of the complaint roll-up in the months ``first``..``last`` (yyyymm), per ``group``,
    for the complaints proper (suggestions and praise are counted apart), through the scope."""
    dimension = group if group in ("category", "channel") else "total"
    key = {"store": ComplaintMonthStats.store_id, "franchisee": ComplaintMonthStats.franchisee_id,
           "month": ComplaintMonthStats.month}.get(group, ComplaintMonthStats.value_id)
    sums = [func.sum(getattr(ComplaintMonthStats, name)).label(name) for name in MEASURES]
    stmt = (select(key.label("key"), *sums)
            .where(ComplaintMonthStats.dimension == dimension, ComplaintMonthStats.month >= first,
                   ComplaintMonthStats.month <= last, ComplaintMonthStats.received > 0)
            .group_by(key))
    if store_id:
        stmt = stmt.where(ComplaintMonthStats.store_id == store_id)
    if franchisee_id:
        stmt = stmt.where(ComplaintMonthStats.franchisee_id == franchisee_id)
    return db.session.execute(stmt).all()


def feedback_counts(first: int, last: int, store_id=None, franchisee_id=None) -> dict[str, int]:
    stmt = (select(func.coalesce(func.sum(ComplaintMonthStats.suggestions), 0),
                   func.coalesce(func.sum(ComplaintMonthStats.praise), 0))
            .where(ComplaintMonthStats.dimension == "total", ComplaintMonthStats.month >= first,
                   ComplaintMonthStats.month <= last))
    if store_id:
        stmt = stmt.where(ComplaintMonthStats.store_id == store_id)
    if franchisee_id:
        stmt = stmt.where(ComplaintMonthStats.franchisee_id == franchisee_id)
    suggestions, praise = db.session.execute(stmt).one()
    return {"suggestion": suggestions, "praise": praise}


def denominators(first: int, last: int, store_id=None, franchisee_id=None) -> tuple[int, int]:
    """(customers now, purchases in the months) of the stores in scope, for the rates per 1,000."""
    customers = select(func.coalesce(func.sum(StoreStats.customers), 0))
    purchases = select(func.coalesce(func.sum(StoreMonthStats.purchases), 0)).where(
        StoreMonthStats.month >= first, StoreMonthStats.month <= last)
    if store_id:
        customers = customers.where(StoreStats.store_id == store_id)
        purchases = purchases.where(StoreMonthStats.store_id == store_id)
    if franchisee_id:
        customers = customers.where(StoreStats.franchisee_id == franchisee_id)
        purchases = purchases.where(StoreMonthStats.franchisee_id == franchisee_id)
    return db.session.scalar(customers) or 0, db.session.scalar(purchases) or 0


def denominators_by(group: str, first: int, last: int, store_id=None, franchisee_id=None) -> dict:
    """Customers and purchases per store, franchisee or month (two grouped statements), for the
    rates of each row; other groupings use the scope's totals."""
    if group not in ("store", "franchisee", "month"):
        return {}
    customer_key = {"store": StoreStats.store_id, "franchisee": StoreStats.franchisee_id}.get(group)
    purchase_key = {"store": StoreMonthStats.store_id, "franchisee": StoreMonthStats.franchisee_id,
                    "month": StoreMonthStats.month}[group]
    purchases = (select(purchase_key, func.sum(StoreMonthStats.purchases))
                 .where(StoreMonthStats.month >= first, StoreMonthStats.month <= last).group_by(purchase_key))
    if store_id:
        purchases = purchases.where(StoreMonthStats.store_id == store_id)
    if franchisee_id:
        purchases = purchases.where(StoreMonthStats.franchisee_id == franchisee_id)
    bought = dict(db.session.execute(purchases).all())
    if customer_key is None:  # by month: today's customers of the scope for every month
        customers, _ = denominators(first, last, store_id, franchisee_id)
        return {k: (customers, v or 0) for k, v in bought.items()}
    counted = select(customer_key, func.sum(StoreStats.customers)).group_by(customer_key)
    if store_id:
        counted = counted.where(StoreStats.store_id == store_id)
    if franchisee_id:
        counted = counted.where(StoreStats.franchisee_id == franchisee_id)
    people = dict(db.session.execute(counted).all())
    return {k: (people.get(k) or 0, bought.get(k) or 0) for k in set(people) | set(bought)}


def first_month(today, months: int) -> int:
    """yyyymm of the first of ``months`` calendar months ending with today's."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return (index // 12) * 100 + index % 12 + 1


def over_thresholds(today) -> list[dict]:
    """Franchisees in scope with at least a threshold's complaints in its months (from the
    roll-up: one grouped statement per threshold)."""
    from app.models import Franchisee
    from app.services.complaints import settings

    warnings = []
    for threshold_id, count, months in settings.thresholds():
        since = first_month(today, months)
        total = func.sum(ComplaintMonthStats.received)
        rows = db.session.execute(
            select(ComplaintMonthStats.franchisee_id, Franchisee.name, total)
            .join(Franchisee, Franchisee.id == ComplaintMonthStats.franchisee_id)
            .where(ComplaintMonthStats.dimension == "total", ComplaintMonthStats.month >= since)
            .group_by(ComplaintMonthStats.franchisee_id, Franchisee.name).having(total >= count)).all()
        warnings += [{"threshold_id": threshold_id, "franchisee_id": f, "name": name, "count": n, "limit": count,
                      "months": months, "since": since} for f, name, n in rows]
    return sorted(warnings, key=lambda w: (-w["count"], w["name"]))
