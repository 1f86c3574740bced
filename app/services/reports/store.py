"""What a store's evaluation report (门店评估报告, R54) says for one half-year, read from the
stored figures every module keeps (StoreKpi, StoreEvaluation, the complaint and audit roll-ups,
the team roll-up, open warnings and actions): a fixed handful of indexed statements per store,
whatever the store's size. The result holds plain values and lazy texts only, so the template
never touches the database, and the same figures serve a franchisee's comparison."""
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from flask_babel import gettext as _

from app.text import list_text
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    AuditQuarterStats, Complaint, ComplaintCategory, ComplaintMonthStats, CorrectiveAction, KpiWarning, Store,
    StoreAudit, StoreEvaluation, StoreKpi, StoreTeamStats, Touchpoint,
)
from app.models.kpi import GRADES, KPIS
from app.models.mystery import ACTION_STATUSES, OPEN_ACTION_STATUSES
from app.models.survey import Questionnaire
from app.services import kpis as kpi_service
from app.services.reports import periods
from app.services.surveys.index import mean, percent

CENT = Decimal("0.01")


@dataclass
class KpiLine:
    code: str
    label: str
    unit: str
    value: Decimal | None
    previous: Decimal | None
    green: Decimal | None = None
    red: Decimal | None = None
    colour: str | None = None
    higher_is_better: bool = True

    @property
    def change(self) -> Decimal | None:
        if self.value is None or self.previous is None:
            return None
        return Decimal(self.value) - Decimal(self.previous)


@dataclass
class StoreFigures:
    store_id: int
    code: str
    name: str
    region: str
    city: str
    franchisee: str
    period: int
    has_data: bool
    kpis: list[KpiLine] = field(default_factory=list)
    score: Decimal | None = None
    grade: str | None = None
    grade_label: str = "—"
    rank: int | None = None
    ranked: int | None = None
    parts: list[tuple] = field(default_factory=list)  # (label, value, score, weight)
    missing: list[str] = field(default_factory=list)
    comment: str | None = None
    csi: Decimal | None = None
    csi_previous: Decimal | None = None
    responses: int = 0
    indicators: list[tuple] = field(default_factory=list)  # (code, name, weight, mean 1-5, 0-100)
    indicators_previous: dict = field(default_factory=dict)  # code: 0-100 in the previous half-year
    complaints: dict = field(default_factory=dict)
    categories: list[tuple] = field(default_factory=list)  # (name, received)
    causes: list[tuple] = field(default_factory=list)  # (reference, category, root cause)
    open_capa: list[tuple] = field(default_factory=list)  # (reference, action, owner, due)
    audits: dict = field(default_factory=dict)
    weakest: list[tuple] = field(default_factory=list)  # (touchpoint, average, audits)
    open_findings: list[tuple] = field(default_factory=list)  # (reference, finding, due, status)
    open_findings_count: int = 0
    team: dict = field(default_factory=dict)
    warnings: list[tuple] = field(default_factory=list)  # (kpi label, kind label, value, limit, state)
    state: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)


def kpi_lines(row: StoreKpi | None, previous: StoreKpi | None, thresholds: dict) -> list[KpiLine]:
    lines = []
    for code, (label, unit, higher) in KPIS.items():
        value = getattr(row, code) if row is not None else None
        before = getattr(previous, code) if previous is not None else None
        t = thresholds.get(code)
        lines.append(KpiLine(code, str(label), unit, value, before, t.green if t else None, t.red if t else None,
                             t.colour(value) if t else None, higher))
    return lines


def figures(store: Store, period: int, thresholds: dict, locale: str, *, network_rank: bool) -> StoreFigures:
    """Every figure of one store's report; ``network_rank`` adds how many stores were ranked
    (headquarters' figure; a franchisee sees its rank alone, as on the evaluation page)."""
    half = periods.half_of(period)  # a quarter's KPIs and evaluation are its half-year's (R51)
    row = db.session.scalar(select(StoreKpi).where(StoreKpi.store_id == store.id, StoreKpi.period == half))
    prev = db.session.scalar(select(StoreKpi).where(StoreKpi.store_id == store.id,
                                                    StoreKpi.period == kpi_service.previous(half)))
    ev = db.session.scalar(select(StoreEvaluation).where(StoreEvaluation.store_id == store.id,
                                                         StoreEvaluation.period == half))
    f = StoreFigures(store.id, store.code, store.name, store.region.name, store.city, store.franchisee.name, period,
                     has_data=False)
    f.kpis = kpi_lines(row, prev, thresholds)
    if ev is not None:
        f.score, f.grade, f.grade_label, f.comment = ev.score, ev.grade, str(GRADES.get(ev.grade or "", "—")), ev.comment
        f.rank = ev.rank if ev.score is not None else None
        f.parts = [(str(KPIS[c][0]), p[0], p[1], p[2]) for c, p in ev.scores.items() if c in KPIS]
        f.missing = [str(KPIS[c][0]) for c in ev.missing if c in KPIS]
        if network_rank and f.rank:
            f.ranked = db.session.scalar(select(func.count(StoreEvaluation.id)).where(
                StoreEvaluation.period == half, StoreEvaluation.score.is_not(None)))
    if row is not None:
        f.csi, f.responses = row.csi, row.responses
        f.csi_previous = prev.csi if prev is not None else None
        if row.csi_parts and row.questionnaire_id:
            q = db.session.get(Questionnaire, row.questionnaire_id)
            for ind in sorted(q.indicators, key=lambda i: i.code) if q else []:
                total, count = row.csi_parts.get(ind.code, (0, 0))
                m = mean(total, count)
                f.indicators.append((ind.code, ind.label(locale), ind.weight,
                                     m.quantize(CENT) if m is not None else None,
                                     percent(m) if m is not None else None))
            if prev is not None and prev.csi_parts and prev.questionnaire_id == row.questionnaire_id:
                for code, (total, count) in prev.csi_parts.items():
                    m = mean(total, count)
                    f.indicators_previous[code] = percent(m) if m is not None else None
    _complaints(f, store, period, locale)
    _audits(f, store, period, locale)
    _team(f, store)
    f.warnings = [(str(KPIS.get(w.kpi, (w.kpi,))[0]), str(w.kind_label),
                   w.value if w.kind != "change" or w.previous is None else f"{_fmt(w.previous)} → {_fmt(w.value)}",
                   w.limit if w.kind != "change" else f"± {_fmt(w.limit)} %", str(w.state_label))
                  for w in db.session.scalars(select(KpiWarning).where(
                      KpiWarning.store_id == store.id, KpiWarning.period == half, KpiWarning.state != "closed")
                      .order_by(KpiWarning.opened_at.desc()).limit(20))]
    f.has_data = bool(row is not None and (row.purchases or row.responses or row.complaints or row.mystery is not None)
                      or f.complaints.get("received") or f.audits.get("audits"))
    _conclusions(f)
    return f


def _complaints(f: StoreFigures, store: Store, period: int, locale: str) -> None:
    months = periods.months(period)
    s = ComplaintMonthStats
    totals = db.session.execute(select(
        func.coalesce(func.sum(s.received), 0), func.coalesce(func.sum(s.major), 0),
        func.coalesce(func.sum(s.escalated), 0), func.coalesce(func.sum(s.resolved), 0),
        func.coalesce(func.sum(s.resolved_in_time), 0), func.coalesce(func.sum(s.resolution_seconds), 0),
        func.coalesce(func.sum(s.reopened), 0), func.coalesce(func.sum(s.followed_up), 0),
        func.coalesce(func.sum(s.follow_up_score), 0), func.coalesce(func.sum(s.suggestions), 0),
        func.coalesce(func.sum(s.praise), 0),
    ).where(s.store_id == store.id, s.dimension == "total", s.month.in_(months))).one()
    received, major, escalated, resolved, in_time, seconds, reopened, followed, score, suggestions, praise = totals
    f.complaints = dict(
        received=received, major=major, escalated=escalated, resolved=resolved, reopened=reopened,
        suggestions=suggestions, praise=praise,
        on_time=kpi_service.ratio(in_time, resolved),
        hours=(Decimal(seconds) / resolved / 3600).quantize(Decimal("0.1")) if resolved else None,
        follow_up=(Decimal(score) / followed).quantize(CENT) if followed else None,
        open_now=db.session.scalar(select(func.count(Complaint.id)).where(
            Complaint.store_id == store.id, Complaint.is_open.is_(True), Complaint.kind == "complaint")) or 0,
    )
    by_category = db.session.execute(
        select(s.value_id, func.sum(s.received)).where(s.store_id == store.id, s.dimension == "category",
                                                       s.month.in_(months))
        .group_by(s.value_id).order_by(func.sum(s.received).desc())).all()
    names = {c.id: c.label(locale) for c in db.session.scalars(select(ComplaintCategory))}
    f.categories = [(names.get(vid, _("No category")), n) for vid, n in by_category if n]
    first, last = periods.bounds(period)
    window = (Complaint.store_id == store.id, Complaint.received_at >= datetime.combine(first, time()),
              Complaint.received_at < datetime.combine(last + timedelta(days=1), time()))
    f.causes = [(c.reference, names.get(c.category_id, "—"), c.root_cause) for c in db.session.scalars(
        select(Complaint).where(*window, Complaint.root_cause.is_not(None))
        .order_by(Complaint.received_at.desc(), Complaint.id.desc()).limit(6))]
    f.open_capa = [(c.reference, c.corrective_action, c.capa_owner, c.capa_due_on) for c in db.session.scalars(
        select(Complaint).where(Complaint.store_id == store.id, Complaint.corrective_action.is_not(None),
                                Complaint.capa_verified_at.is_(None))
        .order_by(Complaint.capa_due_on, Complaint.id).limit(10))]


def _audits(f: StoreFigures, store: Store, period: int, locale: str) -> None:
    year, quarters = periods.quarters(period)
    a = AuditQuarterStats
    rows = db.session.scalars(select(a).where(a.store_id == store.id, a.year == year, a.quarter.in_(quarters))).all()
    overall = [r for r in rows if r.touchpoint_id == 0]
    count = sum(r.audits for r in overall)
    f.audits = dict(audits=count, average=(sum((r.score_sum for r in overall), Decimal(0)) / count).quantize(CENT)
                    if count else None,
                    latest=max(overall, key=lambda r: r.quarter).latest_score if overall else None)
    per_touchpoint: dict[int, list] = {}
    for r in rows:
        if r.touchpoint_id:
            pair = per_touchpoint.setdefault(r.touchpoint_id, [Decimal(0), 0])
            pair[0] += r.score_sum
            pair[1] += r.audits
    names = {t.id: t.label(locale) for t in db.session.scalars(select(Touchpoint).where(
        Touchpoint.id.in_(list(per_touchpoint))))} if per_touchpoint else {}
    averages = sorted(((names.get(tid, "—"), (total / n).quantize(CENT), n) for tid, (total, n) in per_touchpoint.items()
                       if n), key=lambda t: t[1])
    f.weakest = averages[:5]
    # Published audits' findings only, whoever prints: the file is kept where the store's people
    # read it, and they never see an audit before headquarters publishes it (trial 19).
    audits = StoreAudit.__table__  # Core columns: the scope's own published-audit criterion stays as it is
    published = select(audits.c.id).where(audits.c.store_id == store.id, audits.c.published_at.is_not(None))
    base = select(CorrectiveAction).where(CorrectiveAction.store_id == store.id,
                                          CorrectiveAction.status.in_(OPEN_ACTION_STATUSES),
                                          CorrectiveAction.audit_id.in_(published))
    f.open_findings_count = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    f.open_findings = [(a_.audit.reference if a_.audit else "—", a_.finding, a_.due_on, str(ACTION_STATUSES.get(a_.status, a_.status)))
                       for a_ in db.session.scalars(base.order_by(CorrectiveAction.due_on, CorrectiveAction.id).limit(10)
                                         .options(selectinload(CorrectiveAction.audit)))]


def _team(f: StoreFigures, store: Store) -> None:
    t = db.session.scalar(select(StoreTeamStats).where(StoreTeamStats.store_id == store.id))
    if t is None:
        f.team = {}
        return
    f.team = dict(staff=t.staff, shortfall=t.shortfall, required=t.required, done=t.done, due=t.due,
                  overdue=t.overdue, expiring=t.expiring,
                  completion=kpi_service.ratio(t.done, t.required))


# What a red (or amber) KPI suggests the store do: the report's "suggestions" (R54), drawn from
# the documents' own remedies (seed 000's improvement cycle, seed 001's service standards).
SUGGESTIONS = {
    "csi": lambda: _("Go through the weakest satisfaction indicators with the team and set one measurable "
                     "improvement for each before the next survey."),
    "loyalty": lambda: _("Follow up lapsed regular customers with care visits and member offers."),
    "complaint_rate": lambda: _("Find the most frequent complaint category and train the team on its service "
                                "standard; check the corrective actions of the major complaints."),
    "on_time": lambda: _("Answer every complaint within its promised time: check the open complaints daily and "
                         "hand overdue ones to the store manager."),
    "repeat_rate": lambda: _("Invite recent buyers back with care calls and tier privileges."),
    "retention": lambda: _("Contact customers who bought last half-year but not this one, ask why and record it."),
    "clv": lambda: _("Develop the A-grade customers with personal service and the B-grade ones with offers."),
    "mystery": lambda: _("Rehearse the weakest touchpoints of the mystery-shopper checklist and close the open "
                         "findings before their due dates."),
    "training": lambda: _("Book the staff who lack required courses onto the next training sessions."),
}


def _conclusions(f: StoreFigures) -> None:
    """The report's current state, problems and suggestions (R54), from the figures alone."""
    if not f.has_data:
        f.state.append(_("No figures were recorded for this store in this half-year."))
        return
    if f.score is not None:
        f.state.append(_("Evaluation score %(score)s, grade %(grade)s.", score=f"{f.score:.2f}", grade=f.grade_label))
        if f.rank:
            f.state.append(_("Rank %(rank)d of %(total)d in the network.", rank=f.rank, total=f.ranked) if f.ranked
                           else _("Rank %(rank)d in the network.", rank=f.rank))
    greens = [k.label for k in f.kpis if k.colour == "green"]
    if greens:
        f.state.append(_("Within the green limit: %(kpis)s.", kpis=list_text(greens)))
    for k in f.kpis:
        if k.colour in ("red", "amber"):
            f.problems.append(_("%(kpi)s is %(colour)s: %(value)s against the green limit %(green)s.",
                                kpi=k.label, colour=_("red") if k.colour == "red" else _("amber"),
                                value=_fmt(k.value), green=_fmt(k.green)))
            if k.code in SUGGESTIONS:
                f.suggestions.append(SUGGESTIONS[k.code]())
    if f.weakest and f.weakest[0][1] < 80:
        f.problems.append(_("Weakest mystery-shopper touchpoint: %(name)s, %(score)s on average.",
                            name=f.weakest[0][0], score=f.weakest[0][1]))
    if f.open_findings_count:
        f.problems.append(_("%(count)d mystery-shopper findings are still open.", count=f.open_findings_count))
    if f.complaints.get("open_now"):
        f.problems.append(_("%(count)d complaints are open.", count=f.complaints["open_now"]))
    if f.team.get("overdue"):
        f.problems.append(_("%(count)d required courses are overdue.", count=f.team["overdue"]))
        if "training" not in [k.code for k in f.kpis if k.colour in ("red", "amber")]:
            f.suggestions.append(SUGGESTIONS["training"]())
    if not f.problems:
        f.problems.append(_("No KPI is outside its green limit."))
    if not f.suggestions:
        f.suggestions.append(_("Keep the present standard and share what works with the other stores."))


def _fmt(value) -> str:
    return "—" if value is None else f"{Decimal(value):.2f}".rstrip("0").rstrip(".")
