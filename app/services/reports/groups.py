"""What a franchisee's report and the network summary say for one half-year (R54): the group's
KPIs (rates from the added-up counts, the index from the pooled answers), its stores side by
side and ranked, the distribution of scores, the weakest points, and current state, problems
and suggestions drawn from them. Read from the stored rows (StoreKpi, StoreEvaluation, the
complaint and audit roll-ups): a handful of grouped statements whatever the number of stores."""
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _

from app.text import list_text
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditQuarterStats, ComplaintCategory, ComplaintMonthStats, Franchisee, KpiWarning, Store, StoreEvaluation,
    StoreKpi, Touchpoint,
)
from app.models.kpi import GRADES, KPIS
from app.services import kpis as kpi_service
from app.services.reports import periods
from app.services.reports.store import SUGGESTIONS, KpiLine, _fmt

CENT = Decimal("0.01")
# The columns of the stores' comparison table.
COMPARED = ("csi", "complaint_rate", "on_time", "repeat_rate", "retention", "mystery", "training")
# Stores listed at each end of the network's ranking (the whole ranking of 1,000 stores would be
# twenty pages nobody reads; the portal's evaluation page has it all).
RANK_ENDS = 15


@dataclass
class GroupFigures:
    period: int
    has_data: bool
    stores: int = 0
    kpis: list[KpiLine] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)  # per store, best first
    franchisees: list[dict] = field(default_factory=list)  # network: per franchisee, best first
    grades: list[tuple] = field(default_factory=list)  # (label, count)
    red_counts: list[tuple] = field(default_factory=list)  # (KPI label, stores red, stores amber)
    weakest: list[tuple] = field(default_factory=list)  # (touchpoint, average, audits)
    categories: list[tuple] = field(default_factory=list)  # (category, complaints)
    complaints: int = 0
    open_warnings: int = 0
    average_score: Decimal | None = None
    state: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)


def figures(period: int, thresholds: dict, locale: str, franchisee_id: int | None) -> GroupFigures:
    """A franchisee's figures (``franchisee_id``) or the network's (None)."""
    def mine(stmt, model):
        return stmt.where(model.franchisee_id == franchisee_id) if franchisee_id is not None else stmt

    half = periods.half_of(period)  # a quarter's KPIs and evaluation are its half-year's (R51)
    rows = db.session.scalars(mine(select(StoreKpi).where(StoreKpi.period == half), StoreKpi)).all()
    previous = db.session.scalars(mine(select(StoreKpi).where(StoreKpi.period == kpi_service.previous(half)),
                                       StoreKpi)).all()
    evaluations = {e.store_id: e for e in db.session.scalars(mine(select(StoreEvaluation).where(
        StoreEvaluation.period == half), StoreEvaluation))}
    store_ids = {r.store_id for r in rows} | set(evaluations)
    stores = {s.id: s for s in db.session.scalars(select(Store).where(Store.id.in_(store_ids)))} if store_ids else {}
    g = GroupFigures(period, has_data=bool(rows and any(r.purchases or r.responses or r.complaints or r.mystery is not None
                                                        for r in rows)), stores=len(store_ids))
    questionnaires: dict = {}
    now, before = kpi_service.group_figures(rows, questionnaires), kpi_service.group_figures(previous, questionnaires)
    for code, (label, unit, higher) in KPIS.items():
        t = thresholds.get(code)
        value = now.get(code)
        g.kpis.append(KpiLine(code, str(label), unit, value, before.get(code), t.green if t else None,
                              t.red if t else None, t.colour(value) if t and value is not None else None, higher))
    by_store = {r.store_id: r for r in rows}
    for sid in store_ids:
        r, e, s = by_store.get(sid), evaluations.get(sid), stores.get(sid)
        values = {code: getattr(r, code) if r is not None else None for code in COMPARED}
        colours = {code: thresholds[code].colour(v) if code in thresholds and v is not None else None
                   for code, v in values.items()}
        g.rows.append(dict(store_id=sid, code=s.code if s else "—", name=s.name if s else "—",
                           franchisee_id=s.franchisee_id if s else None,
                           score=e.score if e else None, grade=e.grade if e else None,
                           grade_label=str(GRADES.get(e.grade or "", "—")) if e else "—",
                           rank=e.rank if e and e.score is not None else None, values=values, colours=colours))
    g.rows.sort(key=lambda row: (row["rank"] is None, row["rank"] or 0, row["code"]))
    scored = [row["score"] for row in g.rows if row["score"] is not None]
    g.average_score = (sum(scored, Decimal(0)) / len(scored)).quantize(CENT) if scored else None
    counted = Counter(row["grade"] for row in g.rows if row["grade"])
    g.grades = [(str(GRADES[k]), counted.get(k, 0)) for k in GRADES]
    reds, ambers = Counter(), Counter()
    for row in g.rows:
        for code, colour in row["colours"].items():
            if colour == "red":
                reds[code] += 1
            elif colour == "amber":
                ambers[code] += 1
    g.red_counts = sorted(((str(KPIS[c][0]), reds[c], ambers[c], c) for c in COMPARED if reds[c] or ambers[c]),
                          key=lambda t: (-t[1], -t[2]))
    if franchisee_id is None:
        _franchisees(g, rows, questionnaires)
    _weak_points(g, period, locale, franchisee_id)
    g.open_warnings = db.session.scalar(mine(select(func.count(KpiWarning.id)).where(
        KpiWarning.period == half, KpiWarning.state != "closed"), KpiWarning)) or 0
    _conclusions(g, franchisee_id is None)
    return g


def _franchisees(g: GroupFigures, rows, questionnaires) -> None:
    grouped = defaultdict(list)
    for r in rows:
        grouped[r.franchisee_id].append(r)
    names = dict(db.session.execute(select(Franchisee.id, Franchisee.name).where(
        Franchisee.id.in_(list(grouped) or [0]))).all())
    scores = defaultdict(list)
    for row in g.rows:
        if row["score"] is not None:
            scores[row["franchisee_id"]].append(row["score"])
    for fid, members in grouped.items():
        figures_ = kpi_service.group_figures(members, questionnaires)
        own = scores.get(fid, [])
        g.franchisees.append(dict(name=names.get(fid, "—"), stores=len(members),
                                  score=(sum(own, Decimal(0)) / len(own)).quantize(CENT) if own else None,
                                  csi=figures_.get("csi"), complaint_rate=figures_.get("complaint_rate"),
                                  on_time=figures_.get("on_time"), mystery=figures_.get("mystery")))
    g.franchisees.sort(key=lambda f: (f["score"] is None, -(f["score"] or 0), f["name"]))


def _weak_points(g: GroupFigures, period: int, locale: str, franchisee_id: int | None) -> None:
    year, quarters = periods.quarters(period)
    a = AuditQuarterStats
    stmt = (select(a.touchpoint_id, func.sum(a.score_sum), func.sum(a.audits))
            .where(a.year == year, a.quarter.in_(quarters), a.touchpoint_id != 0).group_by(a.touchpoint_id))
    if franchisee_id is not None:
        stmt = stmt.where(a.franchisee_id == franchisee_id)
    sums = [(tid, total, n) for tid, total, n in db.session.execute(stmt) if n]
    names = {t.id: t.label(locale) for t in db.session.scalars(select(Touchpoint).where(
        Touchpoint.id.in_([tid for tid, *_ in sums] or [0])))}
    g.weakest = sorted(((names.get(tid, "—"), (Decimal(total) / n).quantize(CENT), n) for tid, total, n in sums),
                       key=lambda t: t[1])[:5]
    c = ComplaintMonthStats
    stmt = (select(c.value_id, func.sum(c.received)).where(c.dimension == "category", c.month.in_(periods.months(period)))
            .group_by(c.value_id).order_by(func.sum(c.received).desc()))
    total = select(func.coalesce(func.sum(c.received), 0)).where(c.dimension == "total",
                                                                 c.month.in_(periods.months(period)))
    if franchisee_id is not None:
        stmt, total = stmt.where(c.franchisee_id == franchisee_id), total.where(c.franchisee_id == franchisee_id)
    category_names = {k.id: k.label(locale) for k in db.session.scalars(select(ComplaintCategory))}
    g.categories = [(category_names.get(vid, _("No category")), n) for vid, n in db.session.execute(stmt) if n][:8]
    g.complaints = db.session.scalar(total) or 0


def _conclusions(g: GroupFigures, network: bool) -> None:
    if not g.has_data:
        g.state.append(_("No figures were recorded for these stores in this half-year."))
        return
    if g.average_score is not None:
        g.state.append(_("%(n)d stores evaluated, average score %(score)s.", n=sum(1 for r in g.rows if r["score"] is not None),
                         score=f"{g.average_score:.2f}"))
    greens = [k.label for k in g.kpis if k.colour == "green"]
    if greens:
        g.state.append(_("Within the green limit: %(kpis)s.", kpis=list_text(greens)))
    for label, red, amber, code in g.red_counts:
        g.problems.append(_("%(kpi)s: red in %(red)d stores, amber in %(amber)d.", kpi=label, red=red, amber=amber))
        if code in SUGGESTIONS:
            g.suggestions.append(SUGGESTIONS[code]())
    weakest = [r for r in g.rows if r["score"] is not None][-3:]
    if len(g.rows) > 3 and weakest:
        g.problems.append(_("Lowest scores: %(stores)s.", stores=list_text(
            f"{r['code']} {r['name']} ({_fmt(r['score'])})" for r in reversed(weakest))))
    if g.weakest and g.weakest[0][1] < 80:
        g.problems.append(_("Weakest mystery-shopper touchpoint: %(name)s, %(score)s on average.",
                            name=g.weakest[0][0], score=g.weakest[0][1]))
    if g.open_warnings:
        g.problems.append(_("Open warnings of the half-year: %(count)d.", count=g.open_warnings))
    if network and g.franchisees and len(g.franchisees) > 1:
        g.suggestions.append(_("Pair the franchisees at the bottom of the ranking with those at the top to share "
                               "their practice."))
    if not g.problems:
        g.problems.append(_("No KPI is outside its green limit."))
    if not g.suggestions:
        g.suggestions.append(_("Keep the present standard and share what works with the other stores."))
