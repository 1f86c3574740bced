"""Lost customers and lost orders (R69) and relationship reviews (R70). Nothing here commits.

A customer is marked lost only while a churn warning is in force (they stayed away, buy less
often, or have a complaint open); one loss is open at a time, and the next purchase closes it as
"won back". The analysis counts losses, wins back and lost orders by store and by reason for a
period, in the caller's scope. Important relationships (VIP and business customers) get an
owner at each level and a review date; the nightly job adds the customers that became important.
"""
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, literal, or_, select, update

from app.extensions import db
from app.models import Customer, Store
from app.models.base import local_today
from app.models.customer import BUSINESS_TYPES
from app.models.relationship import CustomerLoss, CustomerRelationship, LostOrder, LostReason, RelationshipReview
from app.security.tenancy import unscoped
from app.services import RuleError, audit

DEFAULT_REASONS = [
    # code, zh, en, kind
    ("PRICE", "价格更低的竞争对手", "A competitor's lower price", "both"),
    ("QUALITY", "产品质量问题", "Product quality", "both"),
    ("SERVICE", "对服务不满意", "Unhappy with the service", "both"),
    ("COMPLAINT", "投诉未得到解决", "Complaint not resolved", "customer"),
    ("MOVED", "搬迁或离开商圈", "Moved away", "customer"),
    ("NO-NEED", "不再需要", "No longer needed", "both"),
    ("UNREACHABLE", "长期联系不上", "Cannot be reached", "customer"),
    ("DELIVERY", "交期太长", "Delivery time too long", "order"),
    ("STOCK", "缺货或款式不符", "Out of stock or not the right model", "order"),
    ("OTHER", "其他", "Other", "both"),
]
REVIEW_LOOKAHEAD_DAYS = 30


class RelationError(RuleError):
    pass


def install_reasons() -> int:
    with unscoped():
        if db.session.scalar(select(LostReason.id).limit(1)) is not None:
            return 0
        for rank, (code, zh, en, kind) in enumerate(DEFAULT_REASONS):
            db.session.add(LostReason(code=code, name_zh=zh, name_en=en, kind=kind, rank=rank))
        db.session.flush()
    return len(DEFAULT_REASONS)


def reasons(kind: str, include_inactive: bool = False) -> list[LostReason]:
    install_reasons()
    stmt = select(LostReason).where(LostReason.kind.in_((kind, "both"))).order_by(LostReason.rank, LostReason.id)
    if not include_inactive:
        stmt = stmt.where(LostReason.active.is_(True))
    with unscoped():
        return list(db.session.scalars(stmt))


def all_reasons() -> list[LostReason]:
    install_reasons()
    with unscoped():
        return list(db.session.scalars(select(LostReason).order_by(LostReason.rank, LostReason.id)))


def open_loss(customer_id: int) -> CustomerLoss | None:
    return db.session.scalar(select(CustomerLoss).where(CustomerLoss.customer_id == customer_id,
                                                        CustomerLoss.won_back_on.is_(None)))


def mark_lost(customer: Customer, reason: LostReason, lost_on: date, note: str | None, actor) -> CustomerLoss:
    if customer.is_anonymised or customer.merged_into_id:
        raise RelationError(_l("An anonymised or merged customer cannot be marked lost."))
    if not customer.churn_flags:
        raise RelationError(_l("Only a customer with a churn warning can be marked lost."))
    if open_loss(customer.id) is not None:
        raise RelationError(_l("This customer is already marked lost."))
    if lost_on > local_today() or (customer.last_purchase_on and lost_on < customer.last_purchase_on):
        raise RelationError(_l("The date must lie between the last purchase and today."))
    loss = CustomerLoss(customer_id=customer.id, store_id=customer.store_id, franchisee_id=customer.franchisee_id,
                        lost_on=lost_on, reason_id=reason.id, note=note, created_by_id=actor.id)
    db.session.add(loss)
    db.session.flush()
    audit.record("customer.marked_lost", actor=actor, target=customer, details={"reason": reason.code})
    return loss


def won_back(customer_id: int, day: date) -> None:
    """A purchase: the customer's open loss, if any, is closed as won back."""
    with unscoped():
        db.session.execute(update(CustomerLoss).where(CustomerLoss.customer_id == customer_id,
                                                      CustomerLoss.won_back_on.is_(None), CustomerLoss.lost_on <= day)
                           .values(won_back_on=day).execution_options(synchronize_session=False))


def record_lost_order(store: Store, data: dict, actor) -> LostOrder:
    order = LostOrder(store_id=store.id, franchisee_id=store.franchisee_id, created_by_id=actor.id, **data)
    db.session.add(order)
    db.session.flush()
    audit.record("lost_order.created", actor=actor, target=order, details={"amount": str(order.amount)})
    return order


def analysis(first: date, last: date, by: str) -> dict:
    """Losses, wins back and lost orders of the period in the caller's scope, grouped ``by`` store
    or reason: {key: {"lost": n, "won_back": n, "orders": n, "amount": Decimal}}."""
    loss_key = CustomerLoss.store_id if by == "store" else CustomerLoss.reason_id
    order_key = LostOrder.store_id if by == "store" else LostOrder.reason_id
    rows: dict = {}

    def add(key, **values):
        row = rows.setdefault(key, {"lost": 0, "won_back": 0, "orders": 0, "amount": 0})
        for name, value in values.items():
            row[name] += value or 0

    for key, lost, back in db.session.execute(
            select(loss_key, func.count(), func.count(CustomerLoss.won_back_on))
            .where(CustomerLoss.lost_on >= first, CustomerLoss.lost_on <= last).group_by(loss_key)):
        add(key, lost=lost, won_back=back)
    for key, orders, amount in db.session.execute(
            select(order_key, func.count(), func.sum(LostOrder.amount))
            .where(LostOrder.lost_on >= first, LostOrder.lost_on <= last).group_by(order_key)):
        add(key, orders=orders, amount=amount)
    return rows


# --- relationship reviews (R70) ------------------------------------------------------------------

def important(stmt):
    """VIP and business customers, who get a relationship owner and reviews."""
    return stmt.where(or_(Customer.category == "vip", Customer.customer_type.in_(sorted(BUSINESS_TYPES))),
                      Customer.anonymised_at.is_(None), Customer.merged_into_id.is_(None))


def add_important(today: date, where=None) -> int:
    """Give every important customer without one a relationship record, due for review today."""
    with unscoped():
        stmt = important(select(Customer.store_id, Customer.franchisee_id, Customer.id, literal(180), literal(today),
                                literal(1))).where(
            ~select(CustomerRelationship.id).where(CustomerRelationship.customer_id == Customer.id).exists())
        if where is not None:
            stmt = stmt.where(where)
        return db.session.execute(insert(CustomerRelationship.__table__).from_select(
            ["store_id", "franchisee_id", "customer_id", "review_every_days", "next_review_on", "version"], stmt).execution_options(preserve_rowcount=True)
        ).rowcount or 0


def relationship_of(customer: Customer, create: bool = False) -> CustomerRelationship | None:
    found = db.session.scalar(select(CustomerRelationship).where(CustomerRelationship.customer_id == customer.id))
    if found is None and create:
        found = CustomerRelationship(customer_id=customer.id, store_id=customer.store_id,
                                     franchisee_id=customer.franchisee_id, next_review_on=local_today())
        db.session.add(found)
        db.session.flush()
    return found


def save_owners(relation: CustomerRelationship, data: dict, actor) -> None:
    for key in ("sales_id", "technician_id", "manager_id", "hq_manager_id", "review_every_days"):
        setattr(relation, key, data[key] or None if key != "review_every_days" else data[key])
    changed = audit.changes(relation)
    if changed:
        audit.record("relationship.owners", actor=actor, target=relation.customer, details={"fields": sorted(changed)})
    db.session.flush()


def record_review(customer: Customer, data: dict, actor) -> RelationshipReview:
    relation = relationship_of(customer, create=True)
    if data["next_review_on"] <= data["reviewed_on"]:
        raise RelationError(_l("The next review must come after this one."))
    day = data["reviewed_on"]
    if data["next_review_on"] > day.replace(year=day.year + 3, day=28 if (day.month, day.day) == (2, 29) else day.day):
        raise RelationError(_l("The next review must come within three years."))
    review = RelationshipReview(customer_id=customer.id, store_id=customer.store_id,
                                franchisee_id=customer.franchisee_id, reviewer_id=actor.id, **data)
    db.session.add(review)
    # A review entered late (dated before the last one) joins the history; the latest one sets
    # the relationship's status and its next date.
    if relation.last_review_on is None or data["reviewed_on"] >= relation.last_review_on:
        relation.last_review_on = data["reviewed_on"]
        relation.next_review_on = data["next_review_on"]
        relation.status, relation.quality = data["status"], data["quality"]
    db.session.flush()
    audit.record("relationship.reviewed", actor=actor, target=customer,
                 details={"status": review.status, "quality": review.quality})
    return review


def due_reviews(today: date):
    """Relationships due for review within the look-ahead (overdue first), in the caller's scope."""
    return select(CustomerRelationship).where(
        CustomerRelationship.next_review_on <= today + timedelta(days=REVIEW_LOOKAHEAD_DAYS))


def erase_for_customer(customer_id: int) -> None:
    """Anonymisation: free text typed about the person goes; dates, reasons and scores stay."""
    with unscoped():
        for model, columns in ((CustomerLoss, {"note": None}), (RelationshipReview, {"findings": "", "actions": None})):
            db.session.execute(update(model).where(model.customer_id == customer_id).values(**columns)
                               .execution_options(synchronize_session=False))
        db.session.execute(update(LostOrder).where(LostOrder.customer_id == customer_id).values(note=None)
                           .execution_options(synchronize_session=False))

