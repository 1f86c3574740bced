"""The service team's appraisal (服务团队绩效考核, R37, R38, R52): each employee is scored per
indicator for a period; the data of the period proposes a score where it exists (complaints the
employee handled, with the handler's checklist; the follow-up satisfaction of those complaints;
the store's mystery-shopper audits), the appraiser decides. The total is the weighted sum, the
rating its band; rewards and penalties are recorded with it."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from app.extensions import db
from app.models import (
    Appraisal, AppraisalIndicator, AppraisalPeriod, AuditQuarterStats, Complaint, Employee, Incentive, User,
)
from app.models.complaint import CHECKLIST
from app.security.tenancy import unscoped
from app.services.training.records import TrainingError

# Ratings by total (seed 002: appraisal leads to reward or penalty; results fed back to staff).
BANDS = ((Decimal(90), "A"), (Decimal(80), "B"), (Decimal(60), "C"), (Decimal(0), "D"))
# The complaints indicator: answered within the deadline counts 70 %, the handler's checklist 30 %.
ON_TIME_SHARE, CHECKLIST_SHARE = Decimal("0.7"), Decimal("0.3")
TWO = Decimal("0.01")


@dataclass
class Proposal:
    """What the data of the period says for one indicator: a score (None: no data) and why."""

    score: Decimal | None
    basis: str


def indicators() -> list[AppraisalIndicator]:
    with unscoped():
        return db.session.scalars(select(AppraisalIndicator).where(AppraisalIndicator.active.is_(True))
                                  .order_by(AppraisalIndicator.position, AppraisalIndicator.id)).all()


def check_weights(weights: dict[int, int]) -> None:
    """The weights of the indicators in use add up to 100."""
    total = sum(weights.values())
    if total != 100:
        raise TrainingError(str(_l("The weights of the indicators in use add up to %(total)d; they must add up to "
                                   "100.", total=total)))


def rating_of(total: Decimal | None) -> str | None:
    if total is None:
        return None
    return next(rating for floor, rating in BANDS if total >= floor)


def total_of(scores: dict[str, Decimal], weights: dict[int, int]) -> Decimal | None:
    """The weighted total, once every indicator has a score."""
    if any(str(i) not in scores for i in weights):
        return None
    raw = sum(Decimal(scores[str(i)]) * weight for i, weight in weights.items()) / Decimal(100)
    return raw.quantize(TWO, rounding=ROUND_HALF_UP)


def _bounds(period: AppraisalPeriod) -> tuple[datetime, datetime]:
    return datetime.combine(period.starts_on, time()), datetime.combine(period.ends_on + timedelta(days=1), time())


def propose(employee: Employee, period: AppraisalPeriod) -> dict[int, Proposal]:
    """The score each data-fed indicator proposes for this employee and period."""
    result = {}
    start, end = _bounds(period)
    handled = []
    if employee.user_id:
        with unscoped():
            handled = db.session.execute(select(Complaint.resolved_at, Complaint.resolve_due_at, Complaint.checklist,
                                                Complaint.follow_up_score).where(
                Complaint.handler_id == employee.user_id, Complaint.resolved_at >= start, Complaint.resolved_at < end,
                Complaint.kind == "complaint")).all()
    for indicator in indicators():
        if indicator.source == "complaints":
            if not employee.user_id:
                result[indicator.id] = Proposal(None, str(_l("No data: this employee has no portal login that "
                                                              "handles complaints.")))
            elif not handled:
                result[indicator.id] = Proposal(None, str(_l("No complaint resolved by this employee in the period.")))
            else:
                on_time = sum(1 for r in handled if r.resolve_due_at is None or r.resolved_at <= r.resolve_due_at)
                ticks = sum(bin(r.checklist or 0).count("1") for r in handled)
                share = Decimal(on_time) / len(handled)
                checklist = Decimal(ticks) / (len(handled) * len(CHECKLIST))
                score = ((share * ON_TIME_SHARE + checklist * CHECKLIST_SHARE) * 100).quantize(TWO)
                result[indicator.id] = Proposal(score, str(_l(
                    "%(n)d complaints resolved: %(on_time)d within the deadline; the handler's checklist %(ticks)s %% "
                    "complete (deadline 70 %%, checklist 30 %%).", n=len(handled), on_time=on_time,
                    ticks=(checklist * 100).quantize(Decimal(1)))))
        elif indicator.source == "follow_up":
            scores = [r.follow_up_score for r in handled if r.follow_up_score]
            if not scores:
                result[indicator.id] = Proposal(None, str(_l("No follow-up of a complaint this employee handled in "
                                                              "the period.")))
            else:
                mean = Decimal(sum(scores)) / len(scores)
                result[indicator.id] = Proposal((mean * 20).quantize(TWO), str(_l(
                    "Follow-up satisfaction %(mean)s of 5 over %(n)d complaints (× 20).",
                    mean=mean.quantize(TWO), n=len(scores))))
        elif indicator.source == "audits":
            quarters = _quarters(period.starts_on, period.ends_on)
            with unscoped():
                row = db.session.execute(select(func.sum(AuditQuarterStats.score_sum), func.sum(AuditQuarterStats.audits))
                                         .where(AuditQuarterStats.store_id == employee.store_id,
                                                AuditQuarterStats.touchpoint_id == 0,
                                                or_(*(and_(AuditQuarterStats.year == y, AuditQuarterStats.quarter == q)
                                                      for y, q in quarters)))).one()
            if not row[1]:
                result[indicator.id] = Proposal(None, str(_l("No published audit of the store in the period.")))
            else:
                mean = (Decimal(row[0]) / row[1]).quantize(TWO)
                result[indicator.id] = Proposal(mean, str(_l("The store's average audit score over %(n)d audits.",
                                                             n=row[1])))
        elif indicator.source == "evaluation":
            # R52: the store's half-yearly evaluation of the half-year the period ends in.
            from app.services import evaluation, kpis

            half = kpis.period_of(period.ends_on)
            found = evaluation.store_score(employee.store_id, half)
            if found is None or found.score is None:
                result[indicator.id] = Proposal(None, str(_l("The store has no evaluation score for %(period)s yet.",
                                                              period=kpis.label(half))))
            else:
                result[indicator.id] = Proposal(found.score, str(_l(
                    "The store's half-yearly evaluation of %(period)s: %(score)s, grade %(grade)s, rank %(rank)d.",
                    period=kpis.label(half), score=found.score, grade=found.grade, rank=found.rank)))
    return result


def _quarters(start: date, end: date) -> list[tuple[int, int]]:
    """The (year, quarter) pairs a period touches."""
    first, last = start.year * 4 + (start.month - 1) // 3, end.year * 4 + (end.month - 1) // 3
    return [(n // 4, n % 4 + 1) for n in range(first, last + 1)]


def save(employee: Employee, period: AppraisalPeriod, scores: dict[int, Decimal | None], comment: str | None,
         actor: User, appraisal: Appraisal | None = None) -> Appraisal:
    """Record (or change) the appraisal. A closed period takes none; nobody appraises themselves."""
    if period.closed:
        raise TrainingError(str(_l("This period is closed: its appraisals can no longer be entered or changed.")))
    if employee.user_id is not None and employee.user_id == actor.id:
        raise TrainingError(str(_l("Nobody appraises themselves: the franchise owner or headquarters does.")))
    if employee.status == "left" and (employee.left_on or period.starts_on) < period.starts_on:
        raise TrainingError(str(_l("This employee had left before the period.")))
    if employee.hire_date > period.ends_on:
        raise TrainingError(str(_l("This employee was hired after the period.")))
    weights = {i.id: i.weight for i in indicators()}
    proposals = propose(employee, period)
    if appraisal is None:
        appraisal = Appraisal(employee_id=employee.id, period_id=period.id, store_id=employee.store_id,
                              franchisee_id=employee.franchisee_id)
        db.session.add(appraisal)
    given = {str(i): str(score) for i, score in scores.items() if score is not None and i in weights}
    appraisal.scores = given
    appraisal.evidence = {str(i): {"score": None if p.score is None else str(p.score), "basis": p.basis}
                          for i, p in proposals.items()}
    appraisal.total = total_of({k: Decimal(v) for k, v in given.items()}, weights)
    appraisal.rating = rating_of(appraisal.total)
    appraisal.comment = (comment or "").strip() or None
    appraisal.appraiser_id = actor.id
    db.session.flush()
    return appraisal


def add_incentive(employee: Employee, kind: str, type_: str, description: str, amount: Decimal | None,
                  awarded_on: date, actor: User, appraisal: Appraisal | None = None) -> Incentive:
    """A reward or a penalty (R37, R38), material or non-material."""
    if not (description or "").strip():
        raise TrainingError(str(_l("Say what it is and why.")))
    if type_ == "non_material" and amount:
        raise TrainingError(str(_l("A non-material incentive has no amount.")))
    incentive = Incentive(employee_id=employee.id, store_id=employee.store_id, franchisee_id=employee.franchisee_id,
                          appraisal_id=appraisal.id if appraisal else None, kind=kind, type=type_,
                          description=description.strip(), amount=amount, awarded_on=awarded_on,
                          created_by_id=actor.id)
    db.session.add(incentive)
    db.session.flush()
    return incentive
