"""The half-yearly evaluation (综合评估, R51, R52): each store's KPIs of a half-year scored against
the approved thresholds and weighted by the approved scheme into one score and grade, ranked
across the network, with headquarters' qualitative comment. Computed by the nightly job after the
KPIs (and on demand by ``flask kpis refresh``), stored per store and half-year; the staff
appraisal of the same half-year proposes the store's score (services/training/appraisals.py).

A KPI scores 100 at its green limit and 60 at its red limit, in a straight line between and
beyond, kept within 0-100. A weighted KPI without a figure is left out and named; the score
is then over the rest of the weight, provided at least half of it has figures."""
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.extensions import db
from app.models.base import utcnow
from app.models.kpi import KPIS, EvaluationScheme, KpiThreshold, StoreEvaluation, StoreKpi
from app.security.tenancy import unscoped
from app.services import RuleError

TWO = Decimal("0.01")
HUNDRED = Decimal(100)
# The default weights (R51: the quantitative score; the satisfaction index leads, as in seed 000).
DEFAULT_WEIGHTS = {"csi": 30, "complaint_rate": 10, "on_time": 10, "repeat_rate": 10, "retention": 10, "mystery": 20,
                   "training": 10}


def kpi_score(value, threshold: KpiThreshold) -> Decimal:
    """100 at the green limit, 60 at the red one, linear, kept within 0-100."""
    value, green, red = Decimal(value), Decimal(threshold.green), Decimal(threshold.red)
    if green == red:
        good = value >= green if threshold.higher_is_better else value <= green
        return HUNDRED if good else Decimal(0)
    score = Decimal(60) + (value - red) / (green - red) * 40
    return min(HUNDRED, max(Decimal(0), score)).quantize(TWO, rounding=ROUND_HALF_UP)


def grade_of(score: Decimal | None) -> str | None:
    if score is None:
        return None
    return "A" if score >= 90 else "B" if score >= 80 else "C" if score >= 60 else "D"


def weights_problem(weights: dict[str, Decimal], thresholds: dict[str, KpiThreshold]) -> str | None:
    total = sum((Decimal(w) for w in weights.values()), Decimal(0))
    if total != HUNDRED:
        return _("The weights add up to %(total)s %%, not 100 %%.", total=f"{total.normalize():f}")
    if any(Decimal(w) < 0 for w in weights.values()):
        return _("A weight is between 0 and 100.")
    unknown = [k for k in weights if k not in KPIS]
    if unknown:
        return _("Unknown KPI.")
    without = [str(KPIS[k][0]) for k, w in weights.items() if Decimal(w) and k not in thresholds]
    if without:
        return _("These KPIs have weight but no approved threshold to score them by: %(kpis)s.",
                 kpis="、".join(without))
    return None


def approved_scheme() -> EvaluationScheme | None:
    return db.session.scalar(select(EvaluationScheme).where(EvaluationScheme.status == "approved"))


def approve(scheme: EvaluationScheme, user, thresholds: dict[str, KpiThreshold]) -> None:
    if scheme.status != "draft":
        raise RuleError(_("Only a draft is approved; this one is “%(status)s”.", status=scheme.status_label))
    problem = weights_problem({k: Decimal(str(v)) for k, v in scheme.weights.items()}, thresholds)
    if problem:
        raise RuleError(problem)
    for older in db.session.scalars(select(EvaluationScheme).where(EvaluationScheme.status == "approved")):
        older.status = "retired"
    scheme.status, scheme.approved_at, scheme.approved_by_id = "approved", utcnow(), user.id


def draft(weights: dict[str, Decimal], user) -> EvaluationScheme:
    from app.services import approvals

    replaced = db.session.scalars(select(EvaluationScheme.id).where(EvaluationScheme.status == "draft")).all()
    approvals.close_for_gone("scheme", replaced, user)  # a request for the replaced draft is withdrawn
    db.session.execute(db.delete(EvaluationScheme).where(EvaluationScheme.id.in_(replaced)))
    edition = (db.session.scalar(select(func.max(EvaluationScheme.edition))) or 0) + 1
    scheme = EvaluationScheme(edition=edition, weights={k: f"{Decimal(v).normalize():f}" for k, v in weights.items()
                                                        if Decimal(v)},
                              created_by_id=getattr(user, "id", None))
    db.session.add(scheme)
    db.session.flush()
    return scheme


def score_store(row: StoreKpi, weights: dict[str, Decimal], thresholds: dict[str, KpiThreshold]):
    """(score, {kpi: [value, score, weight]}, [missing kpis]) of one store's KPIs."""
    parts, missing = {}, []
    for code, weight in weights.items():
        value = row.value(code)
        if value is None or code not in thresholds:
            missing.append(code)
            continue
        parts[code] = [str(value), str(kpi_score(value, thresholds[code])), str(weight)]
    covered = sum((Decimal(p[2]) for p in parts.values()), Decimal(0))
    if covered * 2 < sum(weights.values(), Decimal(0)) or not covered:
        return None, parts, missing
    total = sum((Decimal(p[1]) * Decimal(p[2]) for p in parts.values()), Decimal(0)) / covered
    return total.quantize(TWO, rounding=ROUND_HALF_UP), parts, missing


def evaluate(period: int) -> int:
    """Score, grade and rank every store's KPIs of ``period`` (comments are kept); returns how
    many stores have a score."""
    from app.services.kpis import approved_thresholds

    with unscoped():
        scheme = approved_scheme()
        if scheme is None:
            return 0
        thresholds = approved_thresholds()
        weights = {k: Decimal(str(v)) for k, v in scheme.weights.items()}
        kept = {e.store_id: e for e in db.session.scalars(select(StoreEvaluation).where(StoreEvaluation.period == period))}
        results = []
        now = utcnow()
        for row in db.session.scalars(select(StoreKpi).where(StoreKpi.period == period)):
            score, parts, missing = score_store(row, weights, thresholds)
            evaluation = kept.get(row.store_id) or StoreEvaluation(store_id=row.store_id, period=period)
            evaluation.franchisee_id = row.franchisee_id
            evaluation.scheme_id, evaluation.score, evaluation.grade = scheme.id, score, grade_of(score)
            evaluation.scores, evaluation.missing, evaluation.computed_at = parts, missing, now
            if evaluation.id is None:
                db.session.add(evaluation)
            results.append(evaluation)
        ranked = sorted((e for e in results if e.score is not None), key=lambda e: (-e.score, e.store_id))
        for position, evaluation in enumerate(ranked, start=1):
            evaluation.rank = position
        for evaluation in results:
            if evaluation.score is None:
                evaluation.rank = len(ranked) + 1
        db.session.flush()
        return len(ranked)


def store_score(store_id: int, period: int) -> StoreEvaluation | None:
    with unscoped():
        return db.session.scalar(select(StoreEvaluation).where(StoreEvaluation.store_id == store_id,
                                                               StoreEvaluation.period == period))
