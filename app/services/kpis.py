"""KPIs per store and half-year (R47, R53), thresholds and warnings (R48, R49).

``refresh(period)`` computes every store's figures for a half-year from what the other modules
keep (survey store figures, complaint and purchase month roll-ups, audit quarter figures, the
team roll-up, the store's customer roll-up) and from the purchases of the period, in a handful
of grouped statements for the whole network, and stores them (``StoreKpi``). It runs as a job
(``flask kpis refresh``, nightly for the current half-year), never in a web request; pages read
the stored rows and say when they were computed. Figures that only exist as today's snapshot
(loyalty, lifetime value, training completion) are recorded for the current half-year and kept
when it is over; a half-year computed afterwards leaves them empty rather than back-dating
today's values.

``evaluate(period)`` then compares each store's figures with the approved thresholds and the
previous half-year and opens a warning for each breach (once per store, period, KPI and kind).
"""
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    AuditQuarterStats, ComplaintMonthStats, Customer, Purchase, Store, StoreOwnership, StoreStats,
    StoreTeamStats, User,
)
from app.models.base import local_today, utcnow
from app.models.kpi import KPIS, THRESHOLD_KPIS, WARNING_KINDS, KpiThreshold, KpiWarning, StoreKpi
from app.models.survey import Questionnaire, SurveyProject, SurveyQuestionStats, SurveyStoreStats
from app.security.tenancy import unscoped
from app.services import RuleError, notifications

CENT = Decimal("0.01")


def period_of(day: date) -> int:
    return day.year * 10 + (1 if day.month <= 6 else 2)


def bounds(period: int) -> tuple[date, date]:
    year, half = divmod(period, 10)
    return (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (date(year, 7, 1), date(year, 12, 31))


def previous(period: int) -> int:
    year, half = divmod(period, 10)
    return period - 9 if half == 1 else period - 1  # 20261 -> 20252, 20262 -> 20261


def label(period: int) -> str:
    year, half = divmod(period, 10)
    return f"{year}H{half}"


def _months(period: int) -> tuple[int, int]:
    first, last = bounds(period)
    return first.year * 100 + first.month, last.year * 100 + last.month


def ratio(part, whole, scale=100) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * scale / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_UP)


def _owners(day: date) -> dict[int, int]:
    rows = db.session.execute(select(StoreOwnership.store_id, StoreOwnership.franchisee_id).where(
        StoreOwnership.start_on <= day, or_(StoreOwnership.end_on.is_(None), StoreOwnership.end_on >= day)))
    return dict(rows.all())


def compute(period: int, today: date | None = None) -> dict[int, dict]:
    """Every store's figures for ``period`` (store id -> column values), not yet stored."""
    today = today or local_today()
    first, last = bounds(period)
    current = first <= today <= last
    month_from, month_to = _months(period)
    stores = {s.id: s for s in db.session.scalars(select(Store).where(Store.opened_on <= last))}
    owners = _owners(min(last, today))
    rows: dict[int, dict] = {sid: {"franchisee_id": owners.get(sid, s.franchisee_id)} for sid, s in stores.items()}

    # Satisfaction: the store's index of the half-year's survey (one per questionnaire and
    # half-year), with the indicator sums behind it.
    project = db.session.scalar(select(SurveyProject).join(Questionnaire).where(
        SurveyProject.year == first.year, SurveyProject.half == (1 if first.month == 1 else 2),
        Questionnaire.kind == "index").order_by(SurveyProject.id.desc()).limit(1))
    if project is not None:
        code_of = {q.id: q.indicator.code for q in project.questionnaire.questions if q.indicator is not None}
        parts: dict[int, dict] = defaultdict(dict)
        for store_id, question_id, total, count in db.session.execute(select(
                SurveyQuestionStats.store_id, SurveyQuestionStats.question_id, func.sum(SurveyQuestionStats.total),
                func.sum(SurveyQuestionStats.answers)).where(SurveyQuestionStats.project_id == project.id)
                .group_by(SurveyQuestionStats.store_id, SurveyQuestionStats.question_id)):
            if question_id in code_of:
                pair = parts[store_id].setdefault(code_of[question_id], [0, 0])
                pair[0] += int(total or 0)
                pair[1] += int(count or 0)
        for store_id, responses in db.session.execute(select(SurveyStoreStats.store_id, func.sum(SurveyStoreStats.responses))
                                                      .where(SurveyStoreStats.project_id == project.id)
                                                      .group_by(SurveyStoreStats.store_id)):
            if store_id in rows and responses:
                rows[store_id].update(responses=responses, csi_parts=parts.get(store_id) or None,
                                      questionnaire_id=project.questionnaire_id,
                                      csi=pooled_index(project.questionnaire, [parts.get(store_id) or {}]))

    # Complaints received in the half-year and how many of them were resolved in time.
    for store_id, received, resolved, in_time in db.session.execute(select(
            ComplaintMonthStats.store_id, func.sum(ComplaintMonthStats.received), func.sum(ComplaintMonthStats.resolved),
            func.sum(ComplaintMonthStats.resolved_in_time))
            .where(ComplaintMonthStats.dimension == "total", ComplaintMonthStats.month >= month_from,
                   ComplaintMonthStats.month <= month_to).group_by(ComplaintMonthStats.store_id)):
        if store_id in rows:
            rows[store_id].update(complaints=received or 0, resolved=resolved or 0, resolved_in_time=in_time or 0)

    # Customers gained: whose first purchase fell in the half-year (the store of their file).
    for store_id, gained in db.session.execute(select(Customer.store_id, func.count()).where(
            Customer.first_purchase_day >= first.toordinal(), Customer.first_purchase_day <= last.toordinal(),
            Customer.merged_into_id.is_(None)).group_by(Customer.store_id).execution_options(owner_hint=False)):
        if store_id in rows:
            rows[store_id]["gained"] = gained

    # Buyers of the half-year and those who bought more than once (repeat-purchase rate).
    per_customer = (select(Purchase.store_id, Purchase.customer_id, func.count().label("n"))
                    .where(Purchase.purchased_on >= first, Purchase.purchased_on <= last)
                    .group_by(Purchase.store_id, Purchase.customer_id).subquery())
    for store_id, buyers, repeat, purchases in db.session.execute(select(
            per_customer.c.store_id, func.count(), func.sum(case((per_customer.c.n >= 2, 1), else_=0)),
            func.sum(per_customer.c.n)).group_by(per_customer.c.store_id)):
        if store_id in rows:
            rows[store_id].update(buyers=buyers, repeat_buyers=repeat or 0, purchases=purchases or 0)

    # Retention (R53): the previous half-year's buyers of each store who bought again this half-year.
    p_first, p_last = bounds(previous(period))
    before = (select(Purchase.store_id, Purchase.customer_id).where(
        Purchase.purchased_on >= p_first, Purchase.purchased_on <= p_last).distinct().subquery())
    again = (select(Purchase.customer_id).where(Purchase.purchased_on >= first, Purchase.purchased_on <= last)
             .distinct().subquery())
    for store_id, earlier, kept in db.session.execute(select(
            before.c.store_id, func.count(), func.count(again.c.customer_id))
            .select_from(before.outerjoin(again, again.c.customer_id == before.c.customer_id))
            .group_by(before.c.store_id)):
        if store_id in rows:
            rows[store_id].update(previous_buyers=earlier, retained=kept)

    # Mystery-shopper score: the published audits of the half-year's two quarters.
    quarters = (1, 2) if first.month == 1 else (3, 4)
    for store_id, audits, total in db.session.execute(select(
            AuditQuarterStats.store_id, func.sum(AuditQuarterStats.audits), func.sum(AuditQuarterStats.score_sum))
            .where(AuditQuarterStats.year == first.year, AuditQuarterStats.quarter.in_(quarters),
                   AuditQuarterStats.touchpoint_id == 0).group_by(AuditQuarterStats.store_id)):
        if store_id in rows and audits:
            rows[store_id]["mystery"] = (Decimal(total) / audits).quantize(CENT, rounding=ROUND_HALF_UP)

    if current:  # today's snapshot figures belong to the current half-year only
        for stats in db.session.scalars(select(StoreStats)):
            if stats.store_id in rows and stats.loyalty_customers:
                rows[stats.store_id]["loyalty"] = (Decimal(stats.loyalty_total) / stats.loyalty_customers).quantize(CENT)
        for store_id, clv in db.session.execute(select(Customer.store_id, func.avg(Customer.clv)).where(
                Customer.merged_into_id.is_(None), Customer.anonymised_at.is_(None), Customer.purchase_count > 0)
                .group_by(Customer.store_id).execution_options(owner_hint=False)):
            if store_id in rows and clv is not None:
                rows[store_id]["clv"] = Decimal(clv).quantize(CENT, rounding=ROUND_HALF_UP)
        for team in db.session.scalars(select(StoreTeamStats)):
            if team.store_id in rows and team.required:
                rows[team.store_id]["training"] = ratio(team.done, team.required)

    for values in rows.values():
        values["complaint_rate"] = ratio(values.get("complaints", 0), values.get("purchases", 0), 1000)
        values["on_time"] = ratio(values.get("resolved_in_time", 0), values.get("resolved", 0))
        values["repeat_rate"] = ratio(values.get("repeat_buyers", 0), values.get("buyers", 0))
        values["retention"] = ratio(values.get("retained", 0), values.get("previous_buyers", 0))
        if values.get("previous_buyers"):
            values["lost"] = values["previous_buyers"] - values.get("retained", 0)
        values.setdefault("gained", 0)
    return rows


SNAPSHOT = ("loyalty", "clv", "training")


def pooled_index(questionnaire, parts_list) -> Decimal | None:
    """The index of a group of stores: the questionnaire's formula over the indicator means of
    their pooled answers (R40)."""
    from app.services.surveys.index import mean, satisfaction_index

    if questionnaire is None or not questionnaire.has_index:
        return None
    pooled: dict[str, list[int]] = {}
    for parts in parts_list:
        for code, (total, count) in (parts or {}).items():
            pair = pooled.setdefault(code, [0, 0])
            pair[0] += total
            pair[1] += count
    if not pooled:
        return None
    return satisfaction_index({code: mean(t, n) for code, (t, n) in pooled.items()},
                              {i.code: i.weight for i in questionnaire.indicators})


def group_index(rows, questionnaires: dict | None = None) -> Decimal | None:
    """``pooled_index`` of stored store rows (one questionnaire per half-year). ``questionnaires``
    keeps the questionnaires loaded across calls (a page adds up many groups: 150 franchisees
    loaded it, and its indicators, 150 times)."""
    rows = [r for r in rows if r.csi_parts]
    if not rows:
        return None
    cache = questionnaires if questionnaires is not None else {}
    qid = rows[0].questionnaire_id
    if qid not in cache:
        cache[qid] = db.session.scalar(select(Questionnaire).where(Questionnaire.id == qid)
                                       .options(selectinload(Questionnaire.indicators)))
    return pooled_index(cache[qid], [r.csi_parts for r in rows if r.questionnaire_id == qid])


def refresh(period: int, today: date | None = None) -> int:
    """Compute and store every store's figures for ``period``; returns how many stores."""
    today = today or local_today()
    current = bounds(period)[0] <= today <= bounds(period)[1]
    with unscoped():
        rows = compute(period, today)
        kept = {k.store_id: k for k in db.session.scalars(select(StoreKpi).where(StoreKpi.period == period))}
        now = utcnow()
        for store_id, values in rows.items():
            row = kept.get(store_id) or StoreKpi(store_id=store_id, period=period)
            for column in ("franchisee_id", "csi", "csi_parts", "questionnaire_id", "responses", "purchases", "buyers", "repeat_buyers",
                           "previous_buyers", "retained", "complaints", "resolved", "resolved_in_time",
                           "complaint_rate", "on_time", "repeat_rate", "retention", "gained", "lost", "mystery"):
                default = 0 if column in ("responses", "purchases", "buyers", "repeat_buyers", "previous_buyers",
                                          "retained", "complaints", "resolved", "resolved_in_time") else None
                setattr(row, column, values.get(column, default))
            if current:
                for column in SNAPSHOT:
                    setattr(row, column, values.get(column))
            row.computed_at = now
            if row.id is None:
                db.session.add(row)
        db.session.flush()
        return len(rows)


# --- thresholds (R48, R49) and warnings ---

def approved_thresholds() -> dict[str, KpiThreshold]:
    return {t.kpi: t for t in db.session.scalars(select(KpiThreshold).where(KpiThreshold.status == "approved"))}


# The values a KPI can take, by unit: limits outside them could never be met or breached.
UNIT_RANGES = {"index": (20, 100), "score": (0, 100), "percent": (0, 100), "per_mille": (0, 1000),
               "money": (0, 100_000_000)}
# Counts grow with the store's size: a network-wide limit on them would flag the big stores.
NO_THRESHOLD = ("gained", "lost")


def threshold_problem(kpi: str, green: Decimal, red: Decimal, change_percent: Decimal | None) -> str | None:
    """Why these limits make no sense, or None."""
    if kpi not in THRESHOLD_KPIS or kpi in NO_THRESHOLD:
        return _("Customers gained and lost are counts that grow with the store: they have no threshold.") \
            if kpi in NO_THRESHOLD else _("Unknown KPI.")
    low, high = UNIT_RANGES[THRESHOLD_KPIS[kpi][1]]
    if not (low <= green <= high and low <= red <= high):
        return _("This KPI runs from %(low)s to %(high)s: both limits must lie within it.", low=f"{low:,}",
                 high=f"{high:,}")
    higher = THRESHOLD_KPIS[kpi][2]
    if higher and red > green:
        return _("For this KPI higher is better: the red limit must not be above the green one.")
    if not higher and red < green:
        return _("For this KPI lower is better: the red limit must not be below the green one.")
    if change_percent is not None and not Decimal(0) < change_percent <= (Decimal(100) if higher else Decimal(1000)):
        return _("The abnormal change is a percentage above 0 and at most %(max)d (a figure can fall by 100 %% at "
                 "most).", max=100 if higher else 1000)
    return None


def approve_threshold(threshold: KpiThreshold, user) -> None:
    if threshold.status != "draft":
        raise RuleError(_("Only a draft is approved; this one is “%(status)s”.", status=threshold.status_label))
    problem = threshold_problem(threshold.kpi, threshold.green, threshold.red, threshold.change_percent)
    if problem:
        raise RuleError(problem)
    for older in db.session.scalars(select(KpiThreshold).where(KpiThreshold.kpi == threshold.kpi,
                                                               KpiThreshold.status == "approved")):
        older.status = "retired"
    threshold.status, threshold.approved_at, threshold.approved_by_id = "approved", utcnow(), user.id


def evaluate(period: int) -> list[KpiWarning]:
    """Open a warning for each breach of an approved threshold in ``period``; returns the new ones."""
    made = []
    with unscoped():
        thresholds = approved_thresholds()
        if not thresholds:
            return made
        rows = db.session.scalars(select(StoreKpi).where(StoreKpi.period == period)).all()
        earlier = {k.store_id: k for k in db.session.scalars(select(StoreKpi).where(
            StoreKpi.period == previous(period)))}
        existing = {(w.store_id, w.kpi, w.kind) for w in db.session.scalars(select(KpiWarning).where(
            KpiWarning.period == period))}
        for row in rows:
            for kpi, threshold in thresholds.items():
                if kpi not in KPIS:
                    continue  # a partner's delivery KPI: appraised on the partner pages
                value = row.value(kpi)
                if value is None:
                    continue
                value = Decimal(value)
                if threshold.colour(value) == "red" and (row.store_id, kpi, "level") not in existing:
                    made.append(KpiWarning(store_id=row.store_id, franchisee_id=row.franchisee_id, period=period,
                                           kpi=kpi, kind="level", value=value, limit=threshold.red,
                                           threshold_id=threshold.id))
                before = earlier.get(row.store_id)
                old = before.value(kpi) if before is not None else None
                if threshold.change_percent and old not in (None, 0):
                    change = (value - Decimal(old)) / abs(Decimal(old)) * 100
                    worse = -change if threshold.higher_is_better else change
                    if worse > threshold.change_percent and (row.store_id, kpi, "change") not in existing:
                        made.append(KpiWarning(store_id=row.store_id, franchisee_id=row.franchisee_id, period=period,
                                               kpi=kpi, kind="change", value=value, limit=threshold.change_percent,
                                               previous=Decimal(old), threshold_id=threshold.id))
        db.session.add_all(made)
        db.session.flush()
    return made


# KPIs a group's figure is the mean of its stores' figures (the rest are recomputed from counts).
AVERAGED = ("loyalty", "clv", "mystery", "training")


def group_figures(rows, questionnaires: dict | None = None) -> dict:
    """The figures of a group of stores (a franchisee, the network): rates from the added-up
    counts, the index from the pooled answers (the survey's formula); loyalty, lifetime value,
    audit score and training completion as the mean over the stores with one."""
    figures = network_totals(rows)
    figures["csi"] = group_index(rows, questionnaires)
    for code in AVERAGED:
        values = [getattr(r, code) for r in rows if getattr(r, code) is not None]
        figures[code] = (sum(Decimal(v) for v in values) / len(values)).quantize(CENT) if values else None
    return figures


def network_totals(rows) -> dict:
    """KPIs of a group of stores from their stored counts (rates recomputed from the counts, not
    averaged): what a franchisee's or the network's row shows."""
    t = defaultdict(int)
    for r in rows:
        for column in ("purchases", "buyers", "repeat_buyers", "previous_buyers", "retained", "complaints",
                       "resolved", "resolved_in_time", "responses"):
            t[column] += getattr(r, column) or 0
    return {
        "complaint_rate": ratio(t["complaints"], t["purchases"], 1000),
        "on_time": ratio(t["resolved_in_time"], t["resolved"]),
        "repeat_rate": ratio(t["repeat_buyers"], t["buyers"]),
        "retention": ratio(t["retained"], t["previous_buyers"]),
        "gained": sum((r.gained or 0) for r in rows) if any(r.gained is not None for r in rows) else None,
        "lost": sum((r.lost or 0) for r in rows) if any(r.lost is not None for r in rows) else None,
        **t,
    }


@notifications.message("kpi_warning")
def _warning_text(d):
    return (_l("KPI warning for %(store)s: %(kpi)s", store=d["store"], kpi=KPIS[d["kpi"]][0]),
            _l("%(kpi)s of %(period)s is %(value)s (%(kind)s). Please acknowledge the warning and say what you "
               "will do.", kpi=KPIS[d["kpi"]][0], period=d["period"], value=d["value"],
               kind=WARNING_KINDS[d["kind"]]))


def notify_owners(warnings: list[KpiWarning]) -> int:
    """Tell each warned store's franchise owner (R48: the owner sees and answers the warning)."""
    told = 0
    with unscoped():
        for warning in warnings:
            store = db.session.get(Store, warning.store_id)
            owners = db.session.scalars(select(User).where(User.franchisee_id == warning.franchisee_id,
                                                           User.role == "franchise_owner", User.active.is_(True))).all()
            # The store's managers answer warnings too (kpis.respond).
            from app.models.user import user_store

            owners += db.session.scalars(select(User).join(user_store, user_store.c.user_id == User.id).where(
                user_store.c.store_id == warning.store_id, User.role == "store_manager",
                User.active.is_(True))).all()
            told += notifications.notify(owners, "kpi_warning", {
                "store": f"{store.code} {store.name}", "kpi": warning.kpi, "kind": warning.kind,
                "period": label(warning.period), "value": str(warning.value)},
                url=f"/kpis/warnings/{warning.id}")
    return told
