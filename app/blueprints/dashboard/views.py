from dataclasses import dataclass
from datetime import date

from flask import current_app, render_template
from flask_login import current_user
from sqlalchemy import case, func, select

from app import refcache
from app.blueprints.dashboard import bp
from app.extensions import db
from app.models import Franchisee, Store, StoreMonthStats, StoreStats
from app.models.base import utcnow, local_today
from app.models.org import FRANCHISEE_STATUSES
from app.security.access import access
from app.security.policy import can
from app.security.scope import current_scope
from app.services.rollups import month_key

TREND_MONTHS = 12
RANKED_STORES = 10


def _months_back(today: date, n: int) -> list[int]:
    """The last ``n`` months as yyyymm, oldest first, this month included."""
    year, month = today.year, today.month
    keys = []
    for _ in range(n):
        keys.append(year * 100 + month)
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return keys[::-1]


def _customer_figures(today: date) -> dict:
    """Cards, trend and ranking, read from the stores' roll-ups only (scope applies to them)."""
    totals = db.session.execute(select(
        func.coalesce(func.sum(StoreStats.customers), 0), func.coalesce(func.sum(StoreStats.vip), 0),
        func.coalesce(func.sum(StoreStats.churn_warnings), 0), func.coalesce(func.sum(StoreStats.care_due), 0),
        func.coalesce(func.sum(StoreStats.loyalty_customers), 0), func.coalesce(func.sum(StoreStats.loyalty_total), 0),
    )).one()
    months = _months_back(today, TREND_MONTHS)
    by_month = {
        row.month: row for row in db.session.execute(
            select(StoreMonthStats.month, func.sum(StoreMonthStats.purchases).label("purchases"),
                   func.sum(StoreMonthStats.spend).label("spend"),
                   func.sum(StoreMonthStats.new_customers).label("new_customers"))
            .where(StoreMonthStats.month >= months[0]).group_by(StoreMonthStats.month)
        )
    }
    trend = [(m, by_month[m].purchases if m in by_month else 0, by_month[m].spend if m in by_month else 0,
              by_month[m].new_customers if m in by_month else 0) for m in months]
    last_month = months[-2]
    ranking = db.session.execute(
        select(Store.id, Store.code, Store.name, Franchisee.name.label("franchisee"), StoreMonthStats.purchases,
               StoreMonthStats.spend)
        .join(Store, Store.id == StoreMonthStats.store_id).join(Franchisee, Franchisee.id == Store.franchisee_id)
        .where(StoreMonthStats.month == last_month)
        .order_by(StoreMonthStats.spend.desc(), Store.id).limit(RANKED_STORES)
    ).all()
    return {
        "as_of": utcnow(),
        "total": totals[0], "vip": totals[1], "churn": totals[2], "care": totals[3],
        "loyalty_customers": totals[4], "loyalty": round(totals[5] / totals[4]) if totals[4] else None,
        "trend": trend, "peak": max((t[2] for t in trend), default=0) or 1,
        "ranking": ranking, "ranking_month": last_month,
    }


@bp.route("/")
@access("dashboard.view")
def index():
    """Landing page: what the signed-in user can see, from roll-ups."""
    today = local_today()
    org = refcache.scoped(("dashboard_org", current_user.franchisee_id), lambda: _org_summary(current_user))
    customers = None
    if can(current_user, "customers.view"):
        scope = current_scope._get_current_object()
        cfg = current_app.config
        if scope.is_network or len(scope.store_ids) > cfg["DASHBOARD_LIVE_MAX_STORES"]:
            # Hundreds of stores' roll-ups summed on every visit: a minute-old figure will do,
            # and the page says how old it is.
            customers = refcache.cached_for(cfg["DASHBOARD_CACHE_SECONDS"], ("dashboard", scope, today),
                                            lambda: _customer_figures(today))
        else:
            customers = _customer_figures(today)
    open_tasks = None
    visits = None
    if current_user.role == "mystery_shopper":
        from app.models import StoreAudit

        # The shopper's scope holds only the audits assigned to them: one indexed count.
        visits = db.session.scalar(select(func.count()).select_from(StoreAudit).where(
            StoreAudit.auditor_id == current_user.id, StoreAudit.status.in_(("planned", "in_progress"))))
    if current_user.role == "hq_department":
        from app.models import ComplaintTask, ImprovementProject, ProjectPart
        from app.models.governance import PROJECT_CYCLE

        # The department's queue (its scope grants only those tasks' complaints): one indexed count.
        open_tasks = db.session.scalar(select(func.count()).select_from(ComplaintTask).where(
            ComplaintTask.department == current_user.department, ComplaintTask.done_at.is_(None)))
        # ... and its parts of improvement projects in progress (the same queue, issue 15).
        open_tasks += db.session.scalar(select(func.count()).select_from(ProjectPart).join(ProjectPart.project).where(
            ProjectPart.department == current_user.department, ProjectPart.done_at.is_(None),
            ImprovementProject.stage.in_(PROJECT_CYCLE)))
    # What headquarters asks of this user (issue 15): announcements their stores have not
    # acknowledged, and manual versions they hold a copy of and have not acknowledged.
    waiting_notices, waiting_copies = [], []
    if not current_user.is_hq and can(current_user, "governance.announcements"):
        from app.services.governance import announcements, manuals

        waiting_notices = announcements.for_reader(limit=5)
        waiting_copies = manuals.waiting_for(current_user)
    return render_template(
        "dashboard/index.html",
        waiting_notices=waiting_notices,
        waiting_copies=waiting_copies,
        open_tasks=open_tasks,
        visits=visits,
        customers=customers,
        user=current_user,
        scope=current_scope._get_current_object(),
        this_month=month_key(today),
        **org,
    )


@dataclass(frozen=True)
class FranchiseeRow:
    id: int
    name: str
    status: str

    @property
    def status_label(self):
        return FRANCHISEE_STATUSES[self.status]


def _org_summary(user) -> dict:
    """Stores and franchisees in scope: reference data, cached per worker (app/refcache.py)."""
    store_total, open_total = db.session.execute(
        select(func.count(Store.id), func.coalesce(func.sum(case((Store.status == "open", 1), else_=0)), 0))
    ).one()
    franchisees = db.session.execute(
        select(Franchisee.id, Franchisee.name, Franchisee.status).order_by(Franchisee.name).limit(20)
    ).all()
    own = db.session.scalar(select(Franchisee.name).where(Franchisee.id == user.franchisee_id)) \
        if user.franchisee_id else None
    return {
        "store_total": store_total,
        "open_total": open_total,
        "franchisees": tuple(FranchiseeRow(*row) for row in franchisees),
        "franchisee_total": db.session.scalar(select(func.count(Franchisee.id))),
        "own_franchisee": own,
    }
