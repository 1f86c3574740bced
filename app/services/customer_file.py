"""The master file's analysis notes and loyalty assessments (seed 001; R7, R16)."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Customer, CustomerAnalysis, LoyaltyAssessment, User
from app.models.customer_file import OBSERVED_MEASURES
from app.services import audit, rollups
from app.services import customer_analytics as analytics
from app.services.customers import CustomerError

# Notes per topic shown on the customer's page; the analysis page has them all.
LATEST_PER_TOPIC = 1


def _writable(customer: Customer) -> None:
    if customer.is_anonymised or customer.merged_into_id:
        raise CustomerError(_l("This customer has been anonymised or merged; their file is closed."))


def add_analysis(customer: Customer, data: dict, actor: User) -> CustomerAnalysis:
    """Add a dated note to the analysis section; a credit note carries a rating (R14)."""
    _writable(customer)
    note = CustomerAnalysis(customer_id=customer.id, store_id=customer.store_id, franchisee_id=customer.franchisee_id,
                            created_by=actor, **data)
    if note.topic != "credit":
        note.credit_rating = None
    db.session.add(note)
    db.session.flush()
    audit.record("customer.analysis_added", actor=actor, target=customer,
                 details={"topic": note.topic, "on": note.noted_on.isoformat()})
    return note


def analysis_history(customer_id: int, limit: int | None = None) -> list[CustomerAnalysis]:
    stmt = (select(CustomerAnalysis).where(CustomerAnalysis.customer_id == customer_id)
            .options(joinedload(CustomerAnalysis.created_by))  # the page names who noted each
            .order_by(CustomerAnalysis.noted_on.desc(), CustomerAnalysis.id.desc()))
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def latest_by_topic(notes) -> dict[str, CustomerAnalysis]:
    latest: dict[str, CustomerAnalysis] = {}
    for note in notes:  # newest first
        latest.setdefault(note.topic, note)
    return latest


def assess_loyalty(customer: Customer, data: dict, actor: User) -> LoyaltyAssessment:
    """Record the six observed loyalty measures; the customer's score follows the latest one."""
    _writable(customer)
    assessment = LoyaltyAssessment(customer_id=customer.id, store_id=customer.store_id,
                                   franchisee_id=customer.franchisee_id, created_by=actor, **data)
    db.session.add(assessment)
    db.session.flush()
    _use_latest(customer.id)
    rollups.refresh_stores([customer.store_id])
    audit.record("customer.loyalty_assessed", actor=actor, target=customer,
                 details={"on": assessment.assessed_on.isoformat(),
                          **{name: getattr(assessment, name) for name in OBSERVED_MEASURES}})
    return assessment


def _use_latest(customer_id: int) -> None:
    """Store the latest assessment's measures on the customer and recompute the score (an
    assessment entered late for an earlier day does not replace a newer one)."""
    latest = db.session.scalar(
        select(LoyaltyAssessment).where(LoyaltyAssessment.customer_id == customer_id)
        .order_by(LoyaltyAssessment.assessed_on.desc(), LoyaltyAssessment.id.desc()).limit(1))
    observed, on = (latest.observed_total, latest.assessed_on) if latest else (None, None)
    # Not a change of the master record: no version bump (a colleague's edit stays valid).
    db.session.execute(update(Customer).where(Customer.id == customer_id)
                       .values(loyalty_observed=observed, loyalty_assessed_on=on)
                       .execution_options(synchronize_session=False))
    analytics.apply_rules([customer_id])
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Customer) and obj.id == customer_id:
            db.session.expire(obj)


def assessments(customer_id: int) -> list[LoyaltyAssessment]:
    return list(db.session.scalars(
        select(LoyaltyAssessment).where(LoyaltyAssessment.customer_id == customer_id)
        .options(joinedload(LoyaltyAssessment.created_by))
        .order_by(LoyaltyAssessment.assessed_on.desc(), LoyaltyAssessment.id.desc())))


def measures_of(customer: Customer, assessment: LoyaltyAssessment | None) -> list[tuple[str, int | None]]:
    """The seven measures (R16) as (name, score 1-5): repeat purchases counted, six observed."""
    values = [("repeat_purchases", analytics.repeat_score(customer.purchase_count))]
    values += [(name, getattr(assessment, name) if assessment else None) for name in OBSERVED_MEASURES]
    return values


def moved_with_customer(keep: Customer, other_id: int) -> dict[str, int]:
    """On a merge: the duplicate's notes and assessments join the kept file (and its store)."""
    moved = {}
    for model in (CustomerAnalysis, LoyaltyAssessment):
        result = db.session.execute(
            update(model).where(model.customer_id == other_id)
            .values(customer_id=keep.id, store_id=keep.store_id, franchisee_id=keep.franchisee_id)
            .execution_options(synchronize_session=False))
        moved[model.__tablename__] = result.rowcount
    _use_latest(keep.id)
    return moved


def erase_text(customer_id: int) -> None:
    """On anonymisation: the notes' free text may describe the person; topics and dates stay."""
    db.session.execute(update(CustomerAnalysis).where(CustomerAnalysis.customer_id == customer_id)
                       .values(text=None).execution_options(synchronize_session=False))
    db.session.execute(update(LoyaltyAssessment).where(LoyaltyAssessment.customer_id == customer_id)
                       .values(note=None).execution_options(synchronize_session=False))

