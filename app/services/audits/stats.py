"""Audit figures kept as rows (``AuditQuarterStats``): a store's quarters, the rankings and the
network's weakest touchpoints read these, never the answers of every audit.

``refresh(store, year, quarter)`` recomputes one store-quarter from that quarter's published
audits (a handful of rows) whenever one is published or re-scored.
"""
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import AuditQuarterStats, StoreAudit, Store, TemplateSection, Touchpoint
from app.models.mystery import PUBLISHED_STATUSES
from app.security.tenancy import unscoped

OVERALL = 0  # touchpoint_id of the rows holding the audit score itself


def refresh(store_id: int, year: int, quarter: int) -> None:
    with unscoped():
        db.session.flush()
        audits = db.session.execute(
            select(StoreAudit.id, StoreAudit.franchisee_id, StoreAudit.score, StoreAudit.section_scores,
                   StoreAudit.template_id)
            .where(StoreAudit.store_id == store_id, StoreAudit.year == year, StoreAudit.quarter == quarter,
                   StoreAudit.status.in_(PUBLISHED_STATUSES), StoreAudit.score.is_not(None))
            .order_by(StoreAudit.visited_on, StoreAudit.id)).all()
        sections = dict(db.session.execute(select(TemplateSection.id, TemplateSection.touchpoint_id).where(
            TemplateSection.template_id.in_({a.template_id for a in audits}))).all()) if audits else {}
        db.session.execute(delete(AuditQuarterStats).where(
            AuditQuarterStats.store_id == store_id, AuditQuarterStats.year == year, AuditQuarterStats.quarter == quarter)
            .execution_options(synchronize_session=False))
        if not audits:
            return
        franchisee_id = audits[-1].franchisee_id
        sums: dict[int, list] = defaultdict(lambda: [0, Decimal(0), None])
        for audit in audits:
            rows = [(OVERALL, audit.score)] + [
                (sections.get(int(section_id)), Decimal(value)) for section_id, value in (audit.section_scores or {}).items()
                if value is not None and sections.get(int(section_id))]
            for touchpoint_id, value in rows:
                entry = sums[touchpoint_id]
                entry[0] += 1
                entry[1] += Decimal(value)
                entry[2] = Decimal(value)
        for touchpoint_id, (count, total, latest) in sums.items():
            db.session.add(AuditQuarterStats(store_id=store_id, franchisee_id=franchisee_id, year=year,
                                             quarter=quarter, touchpoint_id=touchpoint_id, audits=count,
                                             score_sum=total, latest_score=latest))
        db.session.flush()


def store_quarters(store_id: int, limit: int = 8):
    """A store's average score by quarter, newest first (scope applies)."""
    return db.session.scalars(select(AuditQuarterStats).where(
        AuditQuarterStats.store_id == store_id, AuditQuarterStats.touchpoint_id == OVERALL)
        .order_by(AuditQuarterStats.year.desc(), AuditQuarterStats.quarter.desc()).limit(limit)).all()


def ranking(year: int, quarter: int, franchisee_id: int | None = None, limit: int = 100):
    """Stores ranked by their average score in the quarter (scope applies: a franchisee's
    people rank their own stores). Rows of (stats, store)."""
    stmt = (select(AuditQuarterStats, Store).join(Store, Store.id == AuditQuarterStats.store_id)
            .where(AuditQuarterStats.year == year, AuditQuarterStats.quarter == quarter,
                   AuditQuarterStats.touchpoint_id == OVERALL))
    if franchisee_id:
        stmt = stmt.where(AuditQuarterStats.franchisee_id == franchisee_id)
    average = AuditQuarterStats.score_sum / AuditQuarterStats.audits
    return db.session.execute(stmt.order_by(average.desc(), Store.code).limit(limit)).all()


def ranked_count(year: int, quarter: int, franchisee_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(AuditQuarterStats).where(
        AuditQuarterStats.year == year, AuditQuarterStats.quarter == quarter, AuditQuarterStats.touchpoint_id == OVERALL)
    if franchisee_id:
        stmt = stmt.where(AuditQuarterStats.franchisee_id == franchisee_id)
    return db.session.scalar(stmt)


def touchpoints(year: int, quarter: int, franchisee_id: int | None = None):
    """Each touchpoint's average section score in the quarter, weakest first: (touchpoint,
    average, audits)."""
    average = (func.sum(AuditQuarterStats.score_sum) / func.sum(AuditQuarterStats.audits)).label("average")
    stmt = (select(AuditQuarterStats.touchpoint_id, average, func.sum(AuditQuarterStats.audits))
            .where(AuditQuarterStats.year == year, AuditQuarterStats.quarter == quarter,
                   AuditQuarterStats.touchpoint_id != OVERALL)
            .group_by(AuditQuarterStats.touchpoint_id).order_by(average))
    if franchisee_id:
        stmt = stmt.where(AuditQuarterStats.franchisee_id == franchisee_id)
    rows = db.session.execute(stmt).all()
    names = {t.id: t for t in db.session.scalars(select(Touchpoint).where(Touchpoint.id.in_([r[0] for r in rows])))}
    return [(names[r[0]], Decimal(r[1]).quantize(Decimal("0.01")), r[2]) for r in rows if r[0] in names]
