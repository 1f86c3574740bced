"""Redemption at the counter (积分兑换, R71) and points adjusted by hand.

A redemption takes the reward's stock and the customer's points in one transaction, each by a
conditional UPDATE: of two counters redeeming the last gift at the same moment exactly one
succeeds, and the other is told the gift is gone, with nothing changed. Nothing here commits.
"""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.extensions import db
from app.models import Customer, MembershipTier, PointsEntry, Redemption, Reward
from app.models.base import local_today, utcnow
from app.security.tenancy import unscoped
from app.services import audit, customer_analytics
from app.services.loyalty import ledger
from app.services.loyalty.ledger import PointsError

MAX_QUANTITY = 99


def _usable(customer: Customer) -> None:
    if customer.is_anonymised or customer.merged_into_id:
        raise PointsError(_l("Points cannot be used or changed for an anonymised or merged customer."))


def catalogue(customer: Customer | None = None, include_inactive: bool = False) -> list[Reward]:
    stmt = select(Reward).order_by(Reward.points, Reward.code)
    if not include_inactive:
        stmt = stmt.where(Reward.active.is_(True))
    with unscoped():
        return list(db.session.scalars(stmt))


def tier_rank(customer: Customer) -> int | None:
    if customer.tier_id is None:
        return None
    with unscoped():
        return db.session.scalar(select(MembershipTier.rank).where(MembershipTier.id == customer.tier_id))


def redeem(customer: Customer, reward: Reward, quantity: int, note: str | None, actor) -> Redemption:
    _usable(customer)
    if not 1 <= quantity <= MAX_QUANTITY:
        raise PointsError(_l("Enter a quantity from 1 to %(max)s.", max=MAX_QUANTITY))
    if not reward.active:
        raise PointsError(_l("%(reward)s is no longer offered.", reward=reward.name_zh))
    if reward.min_tier_rank and (tier_rank(customer) or 0) < reward.min_tier_rank:
        raise PointsError(_l("This reward is for members of a higher tier."))
    points = reward.points * quantity
    with unscoped():
        taken = db.session.execute(
            update(Reward).where(Reward.id == reward.id, Reward.active.is_(True),
                                 (Reward.stock.is_(None)) | (Reward.stock >= quantity))
            .values(stock=Reward.stock - quantity, redeemed=Reward.redeemed + quantity)
            .execution_options(synchronize_session=False)
        ).rowcount
    if not taken:
        db.session.refresh(reward)
        from app.i18n import current_locale

        raise PointsError(_l("Not enough in stock: %(left)s left of %(reward)s.", left=reward.stock or 0,
                             reward=reward.label(current_locale())))
    redemption = Redemption(customer_id=customer.id, store_id=customer.store_id, franchisee_id=customer.franchisee_id,
                            reward_id=reward.id, quantity=quantity, points=points, note=note, created_by_id=actor.id)
    db.session.add(redemption)
    db.session.flush()
    ledger.post(customer, "redeem", -points, actor, reason=f"{reward.code} × {quantity}", redemption_id=redemption.id)
    audit.record("points.redeemed", actor=actor, target=customer,
                 details={"reward": reward.code, "quantity": quantity, "points": points})
    return redemption


def cancel(redemption: Redemption, reason: str, actor) -> None:
    """The gift came back or was never handed over: the points and the stock return."""
    if redemption.state != "done":
        raise PointsError(_l("This redemption was already cancelled."))
    done = db.session.execute(
        update(Redemption).where(Redemption.id == redemption.id, Redemption.state == "done")
        .values(state="cancelled", cancelled_at=utcnow(), cancelled_by_id=actor.id, cancel_reason=reason)
        .execution_options(synchronize_session=False)).rowcount
    if not done:
        raise PointsError(_l("This redemption was already cancelled."))
    with unscoped():
        db.session.execute(
            update(Reward).where(Reward.id == redemption.reward_id)
            .values(stock=Reward.stock + redemption.quantity, redeemed=Reward.redeemed - redemption.quantity)
            .execution_options(synchronize_session=False))
    customer = redemption.customer
    # Each lot's points come back with that lot's date (a date past: they lapse tonight).
    entry = db.session.scalar(select(PointsEntry).where(PointsEntry.redemption_id == redemption.id,
                                                        PointsEntry.kind == "redeem"))
    parts = ledger.spent_lots(entry.id) if entry is not None else []
    back = redemption.points - sum(points for _day, points in parts)
    if back > 0:  # spent from a balance without lots (a debt repaid): no date
        parts.append((None, back))
    for day, points in parts:
        if points > 0:
            ledger.post(customer, "reversal", points, actor, reason=reason, redemption_id=redemption.id,
                        expires_on=day)
    db.session.refresh(redemption)
    audit.record("points.redemption_cancelled", actor=actor, target=customer,
                 details={"redemption": redemption.id, "points": redemption.points})


# A store's correction by hand stays below this; a larger one is headquarters' to make.
STORE_ADJUST_LIMIT = 50_000


def adjust(customer: Customer, points: int, reason: str, actor) -> None:
    """A correction by hand (a purchase recorded without its points, a goodwill gesture)."""
    _usable(customer)
    if not reason.strip():
        raise PointsError(_l("Say why the points are adjusted."))
    if actor.franchisee_id is not None and abs(points) > STORE_ADJUST_LIMIT:
        raise PointsError(_l("A correction of more than %(limit)s points is made by headquarters.",
                             limit=f"{STORE_ADJUST_LIMIT:,}"))
    if points < 0 and customer.points < -points:
        raise PointsError(_l("At most %(balance)s points can be taken away: that is the balance.",
                             balance=f"{max(customer.points, 0):,}"))
    expires_on = ledger.expiry_for(local_today(), customer_analytics.get_rules()) if points > 0 else None
    ledger.post(customer, "adjust", points, actor, reason=reason.strip(), expires_on=expires_on)
    audit.record("points.adjusted", actor=actor, target=customer, details={"points": points})
