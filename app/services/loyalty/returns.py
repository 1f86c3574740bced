"""Returns of purchases (seed 004: orders keep their return records).

A return refunds part or all of a purchase: the amount comes off the customer's spend (their
figures, grade and tier are recomputed at once) and off the store's, and the points the
purchase earned are taken back in proportion, all of them when it is returned in full. Two
returns of the same purchase at once cannot together exceed it: the refunded total moves by a
conditional UPDATE. Nothing here commits.
"""
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Customer, PointsEntry, Purchase, PurchaseReturn
from app.models.base import local_today
from app.services import RuleError, audit, rollups
from app.services import customer_analytics as analytics
from app.services.loyalty import ledger


class ReturnError(RuleError):
    pass


def returnable(purchase: Purchase) -> Decimal:
    return purchase.amount - (purchase.returned_amount or Decimal("0"))


def points_to_reverse(purchase: Purchase, returned_total: Decimal, lapsed: int = 0) -> int:
    """How many of the purchase's points a refunded total takes back: in proportion, rounded
    down, and all of them when nothing is left; points of it that already lapsed unused are not
    taken back a second time."""
    earned = max(purchase.points_earned - lapsed, 0)
    if returned_total >= purchase.amount:
        return earned
    return int((Decimal(earned) * returned_total / purchase.amount).to_integral_value(ROUND_FLOOR))


def record_return(purchase: Purchase, amount: Decimal, reason: str, note: str | None, returned_on: date,
                  actor) -> PurchaseReturn:
    if amount <= 0:
        raise ReturnError(_l("Enter an amount above 0."))
    left = returnable(purchase)
    if amount > left:
        raise ReturnError(_l("A return cannot exceed what is left of the purchase: %(left)s.", left=f"{left:,.2f}"))
    if returned_on < purchase.purchased_on or returned_on > local_today():
        raise ReturnError(_l("The return date must be between the purchase date and today."))
    moved = db.session.execute(
        update(Purchase).where(Purchase.id == purchase.id, Purchase.returned_amount + amount <= Purchase.amount)
        .values(returned_amount=Purchase.returned_amount + amount).execution_options(synchronize_session=False)
    ).rowcount
    if not moved:  # another return of it was saved in between
        raise ReturnError(_l("Someone recorded another return of this purchase meanwhile; "
                             "open it again to see what is left."))
    db.session.refresh(purchase)
    lapsed = db.session.scalar(select(func.coalesce(func.sum(PointsEntry.lapsed), 0)).where(
        PointsEntry.purchase_id == purchase.id, PointsEntry.kind == "earn")) or 0
    reverse = max(points_to_reverse(purchase, purchase.returned_amount, int(lapsed)) - purchase.points_reversed, 0)
    record = PurchaseReturn(purchase_id=purchase.id, customer_id=purchase.customer_id, store_id=purchase.store_id,
                            franchisee_id=purchase.franchisee_id, returned_on=returned_on, amount=amount,
                            reason=reason, note=note, points_reversed=max(reverse, 0), created_by_id=actor.id)
    db.session.add(record)
    db.session.flush()
    customer = db.session.get(Customer, purchase.customer_id)
    if reverse > 0:
        db.session.execute(update(Purchase).where(Purchase.id == purchase.id)
                           .values(points_reversed=Purchase.points_reversed + reverse)
                           .execution_options(synchronize_session=False))
        # The points may already be spent: the balance can go below zero (the next purchase repays it).
        ledger.post(customer, "reversal", -reverse, actor, allow_negative=True, reason=(note or None) and note[:200],
                    purchase_id=purchase.id, return_id=record.id)
    if purchase.returned_amount >= purchase.amount:
        # Wholly returned: the coupon used with it was not used after all; it goes back to the
        # customer (usable again within its dates) and leaves the offer's results (trial 22).
        from app.models.offer import Coupon

        db.session.execute(update(Coupon).where(Coupon.purchase_id == purchase.id, Coupon.state == "used").values(
            state="issued", used_at=None, used_store_id=None, purchase_id=None).execution_options(
            synchronize_session=False))
    analytics.refresh([customer.id])
    rollups.touch(purchase.store_id, purchase.purchased_on)
    audit.record("purchase.returned", actor=actor, target=customer,
                 details={"purchase": purchase.id, "amount": str(amount), "points": reverse})
    db.session.refresh(purchase)
    return record
