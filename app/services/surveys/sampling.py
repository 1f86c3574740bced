"""Sampling respondents from the customer file (R44): by segment - current, past (churned) and
potential customers - narrowed by region, franchisee, franchisee size (how many stores it runs),
store, store size and grade, with a sample
size per segment; only customers who agreed to be contacted and can be reached, each invited at
most once per survey.

The sample is drawn without reading the whole file: the candidates are taken in primary-key order
from several random starting points (with wrap-around), each an index range, so a draw from a
million customers costs what a draw from a thousand does."""
import random
from datetime import timedelta
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import exists, func, insert, or_, select

from app.extensions import db
from app.models import Customer, Store
from app.models.customer import CHURN_ABSENT
from app.models.survey import SurveyInvitation, SurveyProject
from app.services import RuleError
from app.services.surveys.public import token_for, token_hash

MAX_SAMPLE = 5000
STARTS = 16


@dataclass(frozen=True)
class Criteria:
    segment: str
    size: int
    region_id: int | None = None
    franchisee_id: int | None = None
    store_id: int | None = None
    store_size: str | None = None
    grade: str | None = None
    franchisee_size: str | None = None


# Franchisees by how many open stores they run (R44: sampling by franchisee size).
FRANCHISEE_SIZES = {"single": (1, 1), "small": (2, 5), "large": (6, None)}


def franchisees_of_size(band: str):
    """The ids of franchisees running a number of open stores within ``band`` (a subquery)."""
    low, high = FRANCHISEE_SIZES[band]
    count = func.count(Store.id)
    stmt = select(Store.franchisee_id).where(Store.status == "open").group_by(Store.franchisee_id).having(count >= low)
    return stmt.having(count <= high) if high is not None else stmt


def candidates(project: SurveyProject, c: Criteria):
    """The customers the criteria admit (scoped as usual), not yet invited to this survey."""
    stmt = (select(Customer.id, Customer.store_id, Customer.franchisee_id)
            .join(Store, Store.id == Customer.store_id)
            .where(Customer.consent.is_(True), Customer.anonymised_at.is_(None), Customer.merged_into_id.is_(None),
                   or_(Customer.mobile.is_not(None), Customer.email.is_not(None)), Store.status == "open",
                   ~exists().where(SurveyInvitation.customer_id == Customer.id,
                                   SurveyInvitation.project_id == project.id)))
    if c.segment == "current":
        stmt = stmt.where(Customer.purchase_count > 0, Customer.churn_flags.op("&")(CHURN_ABSENT) == 0)
    elif c.segment == "past":
        stmt = stmt.where(Customer.churn_flags.op("&")(CHURN_ABSENT) != 0)
    elif c.segment == "potential":
        stmt = stmt.where(Customer.purchase_count == 0)
    else:
        raise RuleError("segment")
    if c.region_id:
        stmt = stmt.where(Store.region_id == c.region_id)
    if c.franchisee_id:
        stmt = stmt.where(Customer.franchisee_id == c.franchisee_id)
    if c.store_id:
        stmt = stmt.where(Customer.store_id == c.store_id)
    if c.store_size:
        stmt = stmt.where(Store.size == c.store_size)
    if c.grade:
        stmt = stmt.where(Customer.grade == c.grade)
    if c.franchisee_size:
        if c.franchisee_size not in FRANCHISEE_SIZES:
            raise RuleError("franchisee_size")
        stmt = stmt.where(Customer.franchisee_id.in_(franchisees_of_size(c.franchisee_size)))
    return stmt.execution_options(owner_hint=False)


def draw(project: SurveyProject, c: Criteria, rng: random.Random | None = None) -> list:
    """Up to ``c.size`` candidate rows, from random starting points in the file."""
    rng = rng or random.SystemRandom()
    stmt = candidates(project, c)
    low, high = db.session.execute(select(func.min(Customer.id), func.max(Customer.id))).one()
    if low is None:
        return []
    picked: dict[int, tuple] = {}
    starts = sorted(rng.randint(low, high) for _ in range(min(STARTS, c.size)))
    per_start = -(-c.size // len(starts))
    for start in starts:
        for row in db.session.execute(stmt.where(Customer.id >= start).order_by(Customer.id).limit(per_start)):
            picked.setdefault(row.id, row)
    if len(picked) < c.size:  # wrap around: from the first customer
        for row in db.session.execute(stmt.where(Customer.id.not_in(list(picked) or [0]))
                                      .order_by(Customer.id).limit(c.size - len(picked))):
            picked.setdefault(row.id, row)
    rows = list(picked.values())
    rng.shuffle(rows)
    return rows[:c.size]


def invite(project: SurveyProject, c: Criteria, user) -> int:
    """Invite a sample (in the caller's transaction); returns how many were invited."""
    if project.status == "closed":
        raise RuleError("closed")
    if not 1 <= c.size <= MAX_SAMPLE:
        raise RuleError("size")
    rows = draw(project, c)
    if not rows:
        return 0
    secret = current_app.config["SECRET_KEY"]
    db.session.execute(insert(SurveyInvitation), [
        {"project_id": project.id, "store_id": row.store_id, "franchisee_id": row.franchisee_id, "customer_id": row.id,
         "segment": c.segment, "created_by_id": getattr(user, "id", None),
         "token_hash": token_hash(token_for(secret, project.id, row.id))} for row in rows])
    from app.services.surveys import email

    email.queue(project.id, [row.id for row in rows])  # with a mail server: e-mailed off the request path
    return len(rows)


def after_purchase(customer, purchase) -> SurveyInvitation | None:
    """R46 (the Amazon case): a purchase by a customer who agreed to be contacted invites them to
    the four-question post-purchase survey collecting answers now, at most once per survey (a
    half-year); the store sends the link with the others. None when there is no such survey."""
    from app.models.base import local_today
    from app.models.survey import Questionnaire

    if not customer.consent or customer.is_anonymised or not (customer.mobile or customer.email):
        return None
    today = local_today()
    project_id = db.session.scalar(
        select(SurveyProject.id).join(Questionnaire, Questionnaire.id == SurveyProject.questionnaire_id)
        .where(SurveyProject.status == "fieldwork", SurveyProject.starts_on <= today, SurveyProject.ends_on >= today,
               Questionnaire.kind == "post_purchase", Questionnaire.status.in_(("approved", "retired")))
        .order_by(SurveyProject.id.desc()).limit(1))
    if project_id is None or purchase.purchased_on < today - timedelta(days=30):
        return None  # no survey running, or a purchase entered long after the fact
    if db.session.scalar(select(SurveyInvitation.id).where(SurveyInvitation.project_id == project_id,
                                                           SurveyInvitation.customer_id == customer.id)):
        return None
    invitation = SurveyInvitation(
        project_id=project_id, store_id=customer.store_id, franchisee_id=customer.franchisee_id,
        customer_id=customer.id, segment="post_purchase",
        token_hash=token_hash(token_for(current_app.config["SECRET_KEY"], project_id, customer.id)))
    db.session.add(invitation)
    db.session.flush()
    from app.services.surveys import email

    email.queue(project_id, [customer.id])
    return invitation
