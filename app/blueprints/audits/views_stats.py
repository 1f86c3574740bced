"""Scores compared: stores ranked by quarter, the weakest touchpoints, and headquarters' check
on its auditors (who scores high or low against the network, and implausibly short visits).
Everything reads the stored figures (``AuditQuarterStats``, ``StoreAudit.score``)."""
from decimal import Decimal

from flask import render_template, request
from sqlalchemy import and_, case, func, select

from app.blueprints.audits import bp
from app.blueprints.customers.views_customers import franchisee_choices
from app.extensions import db
from app.i18n import current_locale
from app.models import Store, StoreAudit, User
from app.models.base import local_today
from app.models.mystery import PUBLISHED_STATUSES
from app.security.access import access
from app.security.scope import current_scope
from app.security.tenancy import unscoped
from app.services.audits import stats, workflow


# An auditor whose average is further than this from the network's stands out.
SPREAD = Decimal(10)
# Score bands of each auditor's distribution: under 60, 60-75, 75-90, 90 and above.
BANDS = ((0, 60), (60, 75), (75, 90), (90, 101))
BAND_LABELS = ("<60", "60–75", "75–90", "≥90")


def _period():
    this_year, this_quarter = workflow.quarter_of(local_today())
    year = request.args.get("year", type=int)
    quarter = request.args.get("quarter", type=int)
    period = request.args.get("period", "")
    if "-" in period:
        left, _sep, right = period.partition("-")
        year, quarter = (int(left), int(right)) if left.isdigit() and right.isdigit() else (None, None)
    if not (year and 2000 <= year <= 2100 and quarter in (1, 2, 3, 4)):
        year, quarter = this_year, this_quarter
    return year, quarter


def _quarters_back(year: int, quarter: int, n: int = 8):
    out = []
    for _ in range(n):
        out.append((year, quarter))
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return out


@bp.route("/rankings")
@access("audits.rankings")
def rankings():
    """Stores ranked by their audit score in a quarter (a franchisee's people see their own
    stores), and the touchpoints that score lowest."""
    year, quarter = _period()
    franchisee = request.args.get("franchisee", type=int)
    rows = stats.ranking(year, quarter, franchisee)
    return render_template(
        "audits/rankings.html", rows=rows, year=year, quarter=quarter, franchisee=franchisee,
        total=stats.ranked_count(year, quarter, franchisee), weakest=stats.touchpoints(year, quarter, franchisee),
        franchisees=franchisee_choices(), periods=_quarters_back(*workflow.quarter_of(local_today())),
        network=current_scope.is_network,
        locale=current_locale())


@bp.route("/quality")
@access("audits.quality")
def quality():
    """Each auditor's scores against the network's in the last four quarters, and visits that
    were implausibly short: an auditor who scores everything high or low stands out."""
    year, quarter = workflow.quarter_of(local_today())
    periods = _quarters_back(year, quarter, 4)
    oldest = periods[-1]
    since = (StoreAudit.year * 10 + StoreAudit.quarter) >= oldest[0] * 10 + oldest[1]
    with unscoped():
        network = db.session.execute(select(func.avg(StoreAudit.score), func.count()).where(
            StoreAudit.status.in_(PUBLISHED_STATUSES + ("submitted",)), since)).one()
        rows = db.session.execute(
            select(User.id, User.display_name, User.role, func.count(StoreAudit.id), func.avg(StoreAudit.score),
                   func.min(StoreAudit.score), func.max(StoreAudit.score),
                   func.sum(func.cast(StoreAudit.short_visit, db.Integer)),
                   *(func.sum(case((and_(StoreAudit.score >= low, StoreAudit.score < high), 1), else_=0))
                     for low, high in BANDS))
            .join(StoreAudit, StoreAudit.auditor_id == User.id)
            .where(StoreAudit.status.in_(PUBLISHED_STATUSES + ("submitted",)), since)
            .group_by(User.id, User.display_name, User.role).order_by(func.avg(StoreAudit.score).desc())).all()
        short = db.session.execute(
            select(StoreAudit, Store.code, Store.name, User.display_name)
            .join(Store, Store.id == StoreAudit.store_id).join(User, User.id == StoreAudit.auditor_id)
            .where(StoreAudit.short_visit.is_(True), since).order_by(StoreAudit.submitted_at.desc()).limit(50)).all()
    cent = Decimal("0.01")
    average = Decimal(network[0]).quantize(cent) if network[0] is not None else None
    auditors = []
    for uid, name, role, count, mean, low, high, short_count, *bands in rows:
        mean = Decimal(mean).quantize(cent) if mean is not None else None
        auditors.append({"name": name, "count": count, "average": mean, "low": low, "high": high,
                         "short": short_count or 0,
                         "bands": [(label, n or 0, round(100 * (n or 0) / count) if count else 0)
                                   for label, n in zip(BAND_LABELS, bands)],
                         "stands_out": average is not None and mean is not None and abs(mean - average) > SPREAD})
    return render_template("audits/quality.html", auditors=auditors, average=average, audits=network[1], short=short,
                           spread=SPREAD, bands=BANDS)
