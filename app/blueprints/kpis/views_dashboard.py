"""The customer-experience dashboards (issue 12): headquarters sees the network's KPIs, trends
over the half-years, the ranking of stores and franchisees and the open warnings with their age;
a franchise owner their stores side by side; a store its own numbers and to-dos. Everything is
read from the stored figures (a handful of grouped statements), the charts drawn on the server
(services/charts.py); every figure links to the list it counts."""
from collections import defaultdict
from datetime import timedelta
from types import SimpleNamespace

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.blueprints.common import summed_for_scope
from app.blueprints.complaints.listing import Filters, complaint_query
from app.blueprints.kpis import bp
from app.extensions import db
from app.models import Complaint, CorrectiveAction, Franchisee, Store, StoreStats, StoreTeamStats
from app.models.base import local_today, utcnow
from app.models.kpi import KPIS, KpiWarning, StoreKpi
from app.models.mystery import TO_CORRECT_STATUSES
from app.models.survey import Questionnaire, SurveyResponse
from app.security.access import access
from app.security.scope import current_scope
from app.services import charts, kpis

TREND_PERIODS = 8
RANKED = 10
CAP = 1000


def _by_period(periods: list[int]) -> dict[int, dict]:
    """The scope's figures per half-year, added up in SQL from the stored store rows."""
    k = StoreKpi
    rows = db.session.execute(select(
        k.period, func.sum(k.responses), func.sum(k.csi * k.responses), func.sum(k.purchases), func.sum(k.complaints),
        func.sum(k.resolved), func.sum(k.resolved_in_time), func.sum(k.buyers), func.sum(k.repeat_buyers),
        func.sum(k.previous_buyers), func.sum(k.retained), func.sum(k.gained), func.sum(k.lost), func.avg(k.mystery),
        func.avg(k.training), func.avg(k.loyalty), func.avg(k.clv), func.count(k.id))
        .where(k.period.in_(periods)).group_by(k.period)).all()
    out = {}
    # The index from the pooled answers of the stores (the survey's formula), not a mean of indexes.
    parts = defaultdict(list)
    for period, store_parts, questionnaire_id in db.session.execute(select(k.period, k.csi_parts, k.questionnaire_id)
                                                                    .where(k.period.in_(periods), k.questionnaire_id.is_not(None))):
        if store_parts:
            parts[period].append((store_parts, questionnaire_id))
    questionnaires = {}
    for (period, responses, csi_sum, purchases, complaints, resolved, in_time, buyers, repeat, previous, retained,
         gained, lost, mystery, training, loyalty, clv, stores) in rows:
        csi = None
        if parts.get(period):
            qid = parts[period][0][1]
            questionnaire = questionnaires.get(qid) or questionnaires.setdefault(qid, db.session.get(Questionnaire, qid))
            csi = kpis.pooled_index(questionnaire, [p for p, q in parts[period] if q == qid])
        out[period] = {
            "csi": float(csi) if csi is not None else None, "responses": responses or 0,
            # The rates as the KPI table computes them (services/kpis.py), from the added-up counts.
            "complaint_rate": kpis.ratio(complaints or 0, purchases, 1000),
            "on_time": kpis.ratio(in_time or 0, resolved),
            "repeat_rate": kpis.ratio(repeat or 0, buyers), "retention": kpis.ratio(retained or 0, previous),
            "gained": gained, "lost": lost if previous else None,
            "mystery": round(float(mystery), 2) if mystery is not None else None,
            "training": round(float(training), 2) if training is not None else None,
            "loyalty": round(float(loyalty), 2) if loyalty is not None else None,
            "clv": round(float(clv), 2) if clv is not None else None, "stores": stores,
        }
    return out


def _store_todos(store_id: int) -> dict:
    """A store's to-dos, each an indexed count (capped) or a roll-up figure."""
    now, today = utcnow(), local_today()
    stats = db.session.scalar(select(StoreStats).where(StoreStats.store_id == store_id))
    team = db.session.scalar(select(StoreTeamStats).where(StoreTeamStats.store_id == store_id))

    def capped(stmt):
        return db.session.scalar(select(func.count()).select_from(stmt.limit(CAP + 1).subquery()))

    return {
        "care_due": stats.care_due if stats else 0,
        # The complaint queue's own "overdue" tab (late to answer or to resolve), so the figure
        # is the list it links to.
        "complaints_overdue": capped(complaint_query(Filters(tab="overdue", store=store_id), now, now)
                                     .with_only_columns(Complaint.id)),
        "actions_open": capped(select(CorrectiveAction.id).where(
            CorrectiveAction.store_id == store_id, CorrectiveAction.status.in_(TO_CORRECT_STATUSES))),
        "actions_late": capped(select(CorrectiveAction.id).where(
            CorrectiveAction.store_id == store_id, CorrectiveAction.status.in_(TO_CORRECT_STATUSES),
            CorrectiveAction.due_on < today)),
        "training_overdue": team.overdue if team else 0,
        "certificates_expiring": team.expiring if team else 0,
        "follow_ups": capped(select(SurveyResponse.id).where(SurveyResponse.store_id == store_id,
                                                             SurveyResponse.follow_up == "open")),
        "warnings": capped(select(KpiWarning.id).where(KpiWarning.store_id == store_id,
                                                       KpiWarning.state.in_(("open", "acknowledged")))),
    }


@bp.route("/dashboard")
@access("kpis.view")
def dashboard():
    scope = current_scope._get_current_object()
    today = local_today()
    period = kpis.period_of(today)
    periods = [period]
    while len(periods) < TREND_PERIODS:
        periods.append(kpis.previous(periods[-1]))
    periods.reverse()
    figures = summed_for_scope(("kpi_periods", tuple(periods)), lambda: _by_period(periods))
    while len(periods) > 2 and periods[0] not in figures:  # no history before the portal's first figures
        periods.pop(0)
    labels = [kpis.label(p) for p in periods]
    now_figures = figures.get(period, {})
    before = figures.get(kpis.previous(period), {})
    trend_csi = charts.trend(_("Satisfaction index by half-year"), labels,
                             {str(KPIS["csi"][0]): [figures.get(p, {}).get("csi") for p in periods]}, lower=20, upper=100)
    trend_rates = charts.trend(_("Rates by half-year (%)"), labels, {
        str(KPIS[code][0]): [figures.get(p, {}).get(code) for p in periods]
        for code in ("repeat_rate", "retention", "on_time")}, lower=0, upper=100, unit=" %")
    trend_customers = charts.trend(_("Customers gained and lost by half-year"), labels, {
        str(KPIS[code][0]): [figures.get(p, {}).get(code) for p in periods] for code in ("gained", "lost")})
    # Ranking: stores by this half-year's index (the current one, else the last with figures).
    shown = period if now_figures.get("responses") else next(
        (p for p in reversed(periods) if figures.get(p, {}).get("responses")), period)
    ranked = db.session.execute(
        select(StoreKpi.store_id, StoreKpi.csi, StoreKpi.responses, Store.code, Store.name)
        .join(Store, Store.id == StoreKpi.store_id)
        .where(StoreKpi.period == shown, StoreKpi.csi.is_not(None)).order_by(StoreKpi.csi.desc(), StoreKpi.id)
        .limit(RANKED)).all()
    lowest = db.session.execute(
        select(StoreKpi.store_id, StoreKpi.csi, StoreKpi.responses, Store.code, Store.name)
        .join(Store, Store.id == StoreKpi.store_id)
        .where(StoreKpi.period == shown, StoreKpi.csi.is_not(None)).order_by(StoreKpi.csi, StoreKpi.id)
        .limit(RANKED)).all()
    franchisees = []
    if scope.is_network or len(scope.franchisee_ids or ()) > 1:
        grouped = defaultdict(list)
        for franchisee_id, store_parts, questionnaire_id, responses in db.session.execute(
                select(StoreKpi.franchisee_id, StoreKpi.csi_parts, StoreKpi.questionnaire_id, StoreKpi.responses)
                .where(StoreKpi.period == shown)):
            grouped[franchisee_id].append((store_parts, questionnaire_id, responses))
        names = dict(db.session.execute(select(Franchisee.id, Franchisee.name).where(
            Franchisee.id.in_(list(grouped) or [0]))).all())
        questionnaire = None
        qid = next((q for rows in grouped.values() for p, q, _r in rows if p), None)
        if qid:
            questionnaire = db.session.get(Questionnaire, qid)
        for franchisee_id, rows in grouped.items():
            csi = kpis.pooled_index(questionnaire, [p for p, q, _r in rows if p and q == qid]) if questionnaire else None
            franchisees.append(SimpleNamespace(name=names.get(franchisee_id, "—"), stores=len(rows), csi=csi,
                                               responses=sum(r for _p, _q, r in rows)))
        franchisees = sorted(franchisees, key=lambda r: (r.csi is None, -(r.csi or 0), r.name))[:50]
    # Open warnings and their age.
    open_count, oldest = db.session.execute(select(func.count(KpiWarning.id), func.min(KpiWarning.opened_at)).where(
        KpiWarning.state.in_(("open", "acknowledged")))).one()
    warnings = db.session.execute(select(KpiWarning.id, KpiWarning.kpi, KpiWarning.kind, KpiWarning.value, KpiWarning.period,
                                         KpiWarning.opened_at, KpiWarning.state, Store.code, Store.name)
                                  .join(Store, Store.id == KpiWarning.store_id)
                                  .where(KpiWarning.state.in_(("open", "acknowledged")))
                                  .order_by(KpiWarning.opened_at, KpiWarning.id).limit(8)).all()
    # A franchise owner's (or a supervisor's) stores side by side; a store's own to-dos.
    side_by_side = None
    stores_in_scope = None if scope.is_network else sorted(scope.store_ids)
    if stores_in_scope and 1 < len(stores_in_scope) <= 40:
        rows = db.session.execute(select(StoreKpi, Store.code, Store.name).join(Store, Store.id == StoreKpi.store_id)
                                  .where(StoreKpi.period == shown).order_by(Store.code)).all()
        side_by_side = {
            "rows": rows,
            "chart": charts.bars(_("Satisfaction index by store, %(period)s", period=kpis.label(shown)),
                                 [f"{code} {name}" for _k, code, name in rows],
                                 {str(KPIS["csi"][0]): [k.csi for k, _c, _n in rows]}, horizontal=True,
                                 lower=0, upper=100) if rows else None,
        }
    todos = None
    if stores_in_scope and len(stores_in_scope) == 1:
        todos = _store_todos(stores_in_scope[0])
        todos["store"] = db.session.get(Store, stores_in_scope[0])
    return render_template(
        "kpis/dashboard.html", period=period, shown=shown, label=kpis.label, figures=now_figures, before=before,
        trend_csi=trend_csi, trend_rates=trend_rates, trend_customers=trend_customers, ranked=ranked, lowest=lowest,
        franchisees=franchisees, open_count=open_count, oldest_days=(utcnow() - oldest).days if oldest else None,
        warnings=warnings, side_by_side=side_by_side, todos=todos, kpis_=KPIS, thresholds=kpis.approved_thresholds(),
        periods=periods, all_figures=figures, now=utcnow(), today=today, week_ago=today - timedelta(days=7))
