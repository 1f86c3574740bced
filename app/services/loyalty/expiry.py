"""Points expiry and the notice before it (issue 14), run by the nightly job.

- ``notify``: customers who agreed to be contacted and hold points lapsing within
  ``points_notice_days`` get a care task ("points", reference ``x:YYYYMMDD``) in the store's
  care list: staff call or message them, and logging that contact closes it (R61: customers
  without consent are not told, and are not listed to be called).
- ``expire``: what is left of lots whose date has passed lapses, one "expire" entry per
  customer, slice by slice in short transactions. The customers' tiers follow (a tier can be
  reached by points) and the notices of that date close.
"""
from datetime import date, timedelta

from sqlalchemy import and_, func, insert, literal, select, update

from app.extensions import db
from app.models import CareTask, Customer, PointsEntry
from app.models.base import utcnow
from app.security.tenancy import unscoped
from app.services import customer_analytics as analytics
from app.services import customer_care as care

KIND = "points"
SLICE = 2000


def ref_for(day: date) -> str:
    return f"x:{day:%Y%m%d}"


def day_of(ref: str) -> date | None:
    try:
        return date(int(ref[2:6]), int(ref[6:8]), int(ref[8:10])) if ref.startswith("x:") and len(ref) == 10 else None
    except ValueError:
        return None


def lapsing_points(customer_ids, days) -> dict[tuple[int, str], int]:
    """{(customer id, YYYYMMDD): points left to lapse that day} (in the caller's scope)."""
    if not customer_ids or not days:
        return {}
    rows = db.session.execute(
        select(PointsEntry.customer_id, PointsEntry.expires_on, func.sum(PointsEntry.remaining))
        .where(PointsEntry.customer_id.in_(list(customer_ids)), PointsEntry.expires_on.in_(list(days)),
               PointsEntry.remaining > 0)
        .group_by(PointsEntry.customer_id, PointsEntry.expires_on))
    return {(cid, f"{day:%Y%m%d}"): int(points) for cid, day, points in rows}


def notice_open(customer_id: int, day: date) -> bool:
    return db.session.scalar(select(CareTask.id).where(CareTask.customer_id == customer_id, CareTask.kind == KIND,
                                                       CareTask.ref == ref_for(day), CareTask.state == "open")) is not None


def notify(rules, today: date, where=None) -> int:
    """Make the notice tasks of lots lapsing in the notice window; returns how many were made."""
    if not rules.points_valid_months or not rules.points_notice_days:
        return 0
    last = today + timedelta(days=rules.points_notice_days)
    made = 0
    with unscoped():
        days = db.session.scalars(
            select(PointsEntry.expires_on)
            .where(PointsEntry.remaining > 0, PointsEntry.expires_on >= today, PointsEntry.expires_on <= last).distinct()
        ).all()
        for day in sorted(days):
            ref = ref_for(day)
            holders = (select(PointsEntry.customer_id).where(
                PointsEntry.remaining > 0, PointsEntry.expires_on == day).distinct())
            scope = [Customer.id.in_(holders), Customer.consent.is_(True), Customer.anonymised_at.is_(None),
                     Customer.merged_into_id.is_(None), ~care._task_exists(ref)]
            if where is not None:
                scope.append(where)
            due = max(today, day - timedelta(days=rules.points_notice_days))
            made += care._insert_tasks(
                select(Customer.store_id, Customer.franchisee_id, Customer.id, literal(KIND), literal(ref),
                       literal(due), literal("open"), literal(None), literal(None), literal(None), literal(True))
                .where(*scope))
            care.update_next_care(and_(Customer.id.in_(holders), *([where] if where is not None else [])))
    return made


def expire(today: date, commit=None) -> int:
    """Lapse what is left of every lot dated before ``today``; returns the customers affected.
    ``commit`` (the nightly job's) ends each slice's transaction."""
    affected = 0
    while True:
        with unscoped():
            ids = db.session.scalars(
                select(PointsEntry.customer_id)
                .where(PointsEntry.remaining > 0, PointsEntry.expires_on < today).distinct().limit(SLICE)
            ).all()
            if not ids:
                return affected
            ids = sorted(ids)
            # PostgreSQL: a counter redeeming for one of them waits for this slice (SQLite: the write lock).
            db.session.execute(select(Customer.id).where(Customer.id.in_(ids)).with_for_update())
            due = (PointsEntry.customer_id.in_(ids), PointsEntry.remaining > 0, PointsEntry.expires_on < today)
            lapsing = (select(PointsEntry.customer_id.label("cid"), func.sum(PointsEntry.remaining).label("pts"))
                       .where(*due).group_by(PointsEntry.customer_id).subquery())
            db.session.execute(insert(PointsEntry.__table__).from_select(
                ["customer_id", "store_id", "franchisee_id", "kind", "points", "balance", "remaining", "created_at"],
                select(Customer.id, Customer.store_id, Customer.franchisee_id, literal("expire"), -lapsing.c.pts,
                       Customer.points - lapsing.c.pts, literal(0), literal(utcnow()))
                .join(lapsing, lapsing.c.cid == Customer.id)).execution_options(preserve_rowcount=True))
            db.session.execute(
                update(Customer).where(Customer.id.in_(ids))
                .values(points=Customer.points - select(func.coalesce(func.sum(PointsEntry.remaining), 0))
                        .where(PointsEntry.customer_id == Customer.id, PointsEntry.remaining > 0,
                               PointsEntry.expires_on < today).scalar_subquery())
                .execution_options(synchronize_session=False))
            db.session.execute(update(PointsEntry).where(*due)
                               .values(lapsed=PointsEntry.lapsed + PointsEntry.remaining, remaining=0)
                               .execution_options(synchronize_session=False))
            # The notices of dates now past close: nothing is left to warn of (references sort by date).
            db.session.execute(
                update(CareTask).where(CareTask.customer_id.in_(ids), CareTask.kind == KIND, CareTask.state == "open",
                                       CareTask.ref < ref_for(today))
                .values(state="missed").execution_options(synchronize_session=False))
            care.update_next_care(Customer.id.in_(ids))
            analytics.apply_rules(ids, today=today)
        affected += len(ids)
        if commit is not None:
            commit()
        else:
            db.session.flush()
