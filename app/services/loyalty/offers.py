"""Coupons and time-limited offers: making an offer, issuing it to the customers a list's
filters chose, and using a coupon with a purchase. Nothing here commits.

Issuing is one INSERT ... SELECT over the chosen customers, so a franchisee's ten thousand
customers get their coupons in one statement; only customers who agreed to be contacted, are
members of the tiers the offer names and belong to a store it is valid in receive one, and
never two of the same offer. Using one is a conditional UPDATE from "issued" to "used": of two
counters using the same coupon at once, one succeeds.
"""
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.orm import contains_eager

from app.extensions import db
from app.models import Customer, MembershipTier, Purchase, Store
from app.models.base import local_today, utcnow
from app.models.offer import Coupon, Offer, offer_store
from app.security.tenancy import unscoped
from app.services import RuleError, audit
from app.services.loyalty import insert_for_customers

# One issue reaches at most this many customers (a narrower filter, or several issues, beyond).
ISSUE_CAP = 50_000
FIELDS = ("code", "title_zh", "title_en", "kind", "value", "min_spend", "starts_on", "ends_on", "min_tier_rank",
          "description", "active")


class OfferError(RuleError):
    pass


def save_offer(offer: Offer | None, data: dict, stores: list[Store], franchisee_id: int | None, actor) -> Offer:
    values = {k: data[k] for k in FIELDS}
    values["code"] = values["code"].strip().upper()
    values["min_tier_rank"] = values["min_tier_rank"] or None
    values["description"] = (values["description"] or "").strip() or None
    if values["kind"] == "gift":
        values["value"] = 0
    if values["ends_on"] < values["starts_on"]:
        raise OfferError(_l("The offer must end on or after the day it starts."))
    with unscoped():
        taken = db.session.scalar(select(Offer.id).where(
            Offer.code == values["code"], Offer.franchisee_id.is_(None) if franchisee_id is None
            else Offer.franchisee_id == franchisee_id, Offer.id != (offer.id if offer else 0)))
    if taken is not None:
        raise OfferError(_l("You already have an offer with this code."))
    if offer is None:
        offer = Offer(**values, franchisee_id=franchisee_id, created_by_id=actor.id)
        db.session.add(offer)
        offer.stores = stores
        db.session.flush()
        audit.record("offer.created", actor=actor, target=offer, details={"stores": len(stores)})
        return offer
    for key, value in values.items():
        setattr(offer, key, value)
    offer.stores = stores
    changed = audit.changes(offer)
    if changed:
        audit.record("offer.updated", actor=actor, target=offer, details={"fields": sorted(changed)})
    db.session.flush()
    return offer


def _eligible(offer: Offer, customers):
    """The customers of ``customers`` (a select of Customer in the caller's scope) who may
    receive the offer and do not hold it yet."""
    stmt = customers.where(Customer.consent.is_(True), Customer.anonymised_at.is_(None),
                           Customer.merged_into_id.is_(None),
                           ~select(Coupon.id).where(Coupon.offer_id == offer.id,
                                                    Coupon.customer_id == Customer.id).exists())
    if offer.stores:
        stmt = stmt.where(Customer.store_id.in_(select(offer_store.c.store_id)
                                                .where(offer_store.c.offer_id == offer.id)))
    elif offer.franchisee_id is not None:
        stmt = stmt.where(Customer.franchisee_id == offer.franchisee_id)
    if offer.min_tier_rank:
        stmt = stmt.where(Customer.tier_id.in_(select(MembershipTier.id)
                                               .where(MembershipTier.rank >= offer.min_tier_rank)))
    return stmt


def preview(offer: Offer, customers) -> tuple[int, int]:
    """(customers who would receive it, counted up to ISSUE_CAP + 1; customers chosen who did not
    agree to be contacted, up to the same cap): what the confirmation page says."""
    eligible = _eligible(offer, customers).with_only_columns(Customer.id).order_by(None).limit(ISSUE_CAP + 1)
    silent = (customers.where(Customer.consent.is_(False), Customer.anonymised_at.is_(None))
              .with_only_columns(Customer.id).order_by(None).limit(ISSUE_CAP + 1))
    count = lambda stmt: db.session.scalar(select(func.count()).select_from(stmt.subquery()))  # noqa: E731
    return count(eligible), count(silent)


def issue(offer: Offer, customers, actor) -> int:
    """Give the offer to the eligible customers of ``customers``; returns how many got it."""
    if not offer.active or offer.ends_on < local_today():
        raise OfferError(_l("This offer has ended or was withdrawn; it cannot be issued."))
    eligible, _silent = preview(offer, customers)
    if eligible > ISSUE_CAP:
        raise OfferError(_l("More than %(cap)s customers: narrow the list with its filters, e.g. by store.",
                            cap=f"{ISSUE_CAP:,}"))
    made = insert_for_customers(
        Coupon.__table__, ["store_id", "franchisee_id", "offer_id", "customer_id", "state", "issued_at", "issued_by_id"],
        (Customer.store_id, Customer.franchisee_id, literal(offer.id), Customer.id, literal("issued"),
         literal(utcnow()), literal(actor.id)), _eligible(offer, customers), ISSUE_CAP)
    audit.record("offer.issued", actor=actor, target=offer, details={"customers": made})
    return made


def usable(customer: Customer, store_id: int, day: date | None = None) -> list[Coupon]:
    """The customer's coupons that can be used today in this store."""
    day = day or local_today()
    with unscoped():
        coupons = db.session.scalars(
            select(Coupon).join(Offer, Offer.id == Coupon.offer_id)
            .options(contains_eager(Coupon.offer).selectinload(Offer.stores))
            .where(Coupon.customer_id == customer.id, Coupon.state == "issued", Offer.active.is_(True),
                   Offer.starts_on <= day, Offer.ends_on >= day)
            .order_by(Offer.ends_on, Coupon.id)).all()
    return [c for c in coupons if c.offer.valid_in(store_id)]


def held(customer_id: int) -> list[Coupon]:
    """Every coupon of the customer, the unused first (the customer's page)."""
    with unscoped():
        return list(db.session.scalars(
            select(Coupon).join(Offer, Offer.id == Coupon.offer_id).options(contains_eager(Coupon.offer))
            .where(Coupon.customer_id == customer_id)
            .order_by(case((Coupon.state == "issued", 0), else_=1), Offer.ends_on.desc(), Coupon.id).limit(20)))


def check_use(coupon: Coupon, customer: Customer, store_id: int, day: date, amount) -> None:
    """Why this coupon cannot go with this purchase, as an OfferError; nothing if it can."""
    offer = coupon.offer
    if coupon.customer_id != customer.id:
        raise OfferError(_l("This coupon belongs to another customer."))
    if coupon.state != "issued":
        raise OfferError(_l("This coupon was already used or withdrawn."))
    if not offer.valid_on(day):
        raise OfferError(_l("This coupon is valid from %(start)s to %(end)s.", start=offer.starts_on.isoformat(),
                            end=offer.ends_on.isoformat()))
    if not offer.valid_in(store_id):
        raise OfferError(_l("This coupon is not valid in this store."))
    if amount < offer.min_spend:
        raise OfferError(_l("This coupon needs a purchase of at least %(spend)s.", spend=f"{offer.min_spend:,.2f}"))


def use(coupon: Coupon, purchase: Purchase, actor) -> None:
    """Mark the coupon used with the purchase; refused if someone used it meanwhile."""
    done = db.session.execute(
        update(Coupon).where(Coupon.id == coupon.id, Coupon.state == "issued")
        .values(state="used", used_at=utcnow(), used_store_id=purchase.store_id, purchase_id=purchase.id)
        .execution_options(synchronize_session=False)).rowcount
    if not done:
        raise OfferError(_l("This coupon was already used or withdrawn."))


def results(offer_ids) -> dict[int, tuple[int, int, object]]:
    """{offer id: (coupons issued, used, spend of the purchases they went with)} in the caller's scope."""
    ids = list(offer_ids)
    if not ids:
        return {}
    counts = {oid: (int(n), int(used)) for oid, n, used in db.session.execute(
        select(Coupon.offer_id, func.count(), func.sum(case((Coupon.state == "used", 1), else_=0)))
        .where(Coupon.offer_id.in_(ids)).group_by(Coupon.offer_id))}
    spend = dict(db.session.execute(
        select(Coupon.offer_id, func.sum(Purchase.amount - Purchase.returned_amount))
        .join(Purchase, Purchase.id == Coupon.purchase_id)
        .where(Coupon.offer_id.in_(ids), Coupon.state == "used").group_by(Coupon.offer_id)).all())
    return {oid: (*counts.get(oid, (0, 0)), spend.get(oid) or 0) for oid in ids}


def offers_for(franchisee_id: int | None):
    """Offers a user may issue: headquarters' and, for a franchisee's people, their own."""
    stmt = select(Offer).where(or_(Offer.franchisee_id.is_(None), Offer.franchisee_id == franchisee_id)
                               if franchisee_id else Offer.franchisee_id.is_(None))
    return stmt.where(and_(Offer.active.is_(True), Offer.ends_on >= local_today())).order_by(Offer.ends_on)
