"""Store roll-ups: recomputed from indexed source rows whenever a store's data changes.

``touch(store_id, day)`` is what services call after a purchase, contact or
customer change: it recomputes that store's ``StoreStats`` row and the month of
``day`` in ``StoreMonthStats`` (a few grouped queries over one store's rows,
milliseconds). ``rebuild`` recomputes every store (the nightly job, after a
seed or a rule change). Recomputing rather than adding +1 keeps the roll-ups
right whatever path changed the data, and repairs them if one was missed.
"""
from datetime import date, timedelta

from sqlalchemy import and_, case, extract, func, or_, select, true

from app.extensions import db
from app.models import CareTask, Contact, Customer, DuplicateCandidate, Purchase, Store, StoreMonthStats, StoreStats
from app.models.base import utcnow, local_today
from app.security.tenancy import unscoped
from app.services.customer_care import MISSED_AFTER_DAYS

_active = and_(Customer.anonymised_at.is_(None), Customer.merged_into_id.is_(None))


def _dialect_insert():
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _upsert(model, rows: list[dict], keys: tuple[str, ...]) -> None:
    if not rows:
        return
    insert = _dialect_insert()
    for start in range(0, len(rows), 2000):
        stmt = insert(model.__table__).values(rows[start:start + 2000])
        columns = [c for c in rows[0] if c not in keys]
        db.session.execute(stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: getattr(stmt.excluded, c) for c in columns}
        ))


def _grouped(stmt, column, store_ids):
    if store_ids is not None:
        stmt = stmt.where(column.in_(store_ids))
    return {row[0]: row[1:] for row in db.session.execute(stmt.group_by(column))}


def refresh_stores(store_ids=None, today: date | None = None, rules=None) -> int:
    """Recompute ``StoreStats`` for these stores (all if None); returns how many rows were written."""
    from app.services.customer_analytics import get_rules

    today = today or local_today()
    rules = rules or get_rules()
    ids = sorted(set(store_ids)) if store_ids is not None else None
    ahead = today + timedelta(days=rules.care_lookahead_days)
    with unscoped():
        stores = _grouped(select(Store.id, Store.franchisee_id), Store.id, ids)
        customers = _grouped(
            select(Customer.store_id, func.count(),
                   func.sum(case((Customer.category == "vip", 1), else_=0)),
                   func.sum(case((Customer.churn_flags > 0, 1), else_=0)),
                   func.count(Customer.loyalty_score), func.coalesce(func.sum(Customer.loyalty_score), 0)).where(_active),
            Customer.store_id, ids)
        care = _grouped(  # what the care page lists: tasks of customers who may be contacted
            select(CareTask.store_id, func.count()).where(
                CareTask.contactable == true(), CareTask.state == "open", CareTask.due_on <= ahead,
                or_(CareTask.due_on >= today, and_(CareTask.kind.in_(("return", "follow_up")),
                                                   CareTask.due_on >= today - timedelta(days=MISSED_AFTER_DAYS)))),
            CareTask.store_id, ids)
        duplicates = _grouped(select(DuplicateCandidate.store_id, func.count()), DuplicateCandidate.store_id, ids)
        purchases = _grouped(select(Purchase.store_id, func.count(), func.coalesce(func.sum(Purchase.amount - Purchase.returned_amount), 0)),
                             Purchase.store_id, ids)
        now = utcnow()
        rows = []
        for store_id, (franchisee_id,) in stores.items():
            total, vip, churn, loyal, loyalty = customers.get(store_id, (0, 0, 0, 0, 0))
            count, spend = purchases.get(store_id, (0, 0))
            rows.append({
                "store_id": store_id, "franchisee_id": franchisee_id, "customers": total, "vip": vip or 0,
                "churn_warnings": churn or 0, "care_due": care.get(store_id, (0,))[0],
                "duplicates": duplicates.get(store_id, (0,))[0], "purchases": count, "spend": spend,
                "loyalty_customers": loyal or 0, "loyalty_total": loyalty or 0, "refreshed_at": now,
            })
        _upsert(StoreStats, rows, ("store_id",))
    return len(rows)


def _month_of(column):
    return (extract("year", column) * 100 + extract("month", column)).label("month")


def _month_bounds(month: int) -> tuple[date, date]:
    year, mon = divmod(month, 100)
    start = date(year, mon, 1)
    end = date(year + (mon == 12), mon % 12 + 1, 1)
    return start, end


def refresh_months(store_months) -> None:
    """Recompute ``StoreMonthStats`` for these (store id, yyyymm) pairs."""
    rows = []
    with unscoped():
        owners = dict(db.session.execute(
            select(Store.id, Store.franchisee_id).where(Store.id.in_({s for s, _ in store_months}))
        ).all())
        for store_id, month in sorted(set(store_months)):
            start, end = _month_bounds(month)
            count, spend = db.session.execute(
                select(func.count(), func.coalesce(func.sum(Purchase.amount - Purchase.returned_amount), 0))
                .where(Purchase.store_id == store_id, Purchase.purchased_on >= start, Purchase.purchased_on < end)
            ).one()
            new = db.session.scalar(select(func.count()).where(
                Customer.store_id == store_id, Customer.created_at >= start, Customer.created_at < end))
            contacts = db.session.scalar(select(func.count()).where(
                Contact.store_id == store_id, Contact.occurred_at >= start, Contact.occurred_at < end))
            rows.append({"store_id": store_id, "franchisee_id": owners[store_id], "month": month, "purchases": count,
                         "spend": spend, "new_customers": new, "contacts": contacts})
        _upsert(StoreMonthStats, rows, ("store_id", "month"))


def month_key(day: date) -> int:
    return day.year * 100 + day.month


def touch(store_id: int, *days: date) -> None:
    """A store's data changed on these days: bring its roll-ups up to date."""
    refresh_stores([store_id])
    refresh_months({(store_id, month_key(d)) for d in days or (local_today(),)})


def rebuild(progress=None) -> None:
    """Recompute every roll-up from scratch (nightly, after a seed or a data repair)."""
    refresh_stores()
    with unscoped():
        owners = dict(db.session.execute(select(Store.id, Store.franchisee_id)).all())
        figures: dict[tuple[int, int], dict] = {}

        def collect(stmt, names):
            for store_id, month, *values in db.session.execute(stmt):
                row = figures.setdefault((store_id, int(month)), {"purchases": 0, "spend": 0, "new_customers": 0,
                                                                   "contacts": 0})
                row.update(zip(names, values))

        month = _month_of(Purchase.purchased_on)
        collect(select(Purchase.store_id, month, func.count(), func.sum(Purchase.amount - Purchase.returned_amount))
                .group_by(Purchase.store_id, month), ("purchases", "spend"))
        month = _month_of(Customer.created_at)
        collect(select(Customer.store_id, month, func.count()).group_by(Customer.store_id, month), ("new_customers",))
        month = _month_of(Contact.occurred_at)
        collect(select(Contact.store_id, month, func.count()).group_by(Contact.store_id, month), ("contacts",))
        rows = [{"store_id": s, "franchisee_id": owners[s], "month": m, **values} for (s, m), values in figures.items()]
        _upsert(StoreMonthStats, rows, ("store_id", "month"))
    if progress:
        progress(f"roll-ups: {len(owners)} stores, {len(rows)} store-months")
