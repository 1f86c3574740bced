"""Headquarters' redemption catalogue and the tiers' privileges. Nothing here commits.

The stock is never set from a form: counters take from it while the form is open, so a save of
the number the form showed would undo their redemptions. Headquarters adds or writes off a
quantity instead, by a conditional UPDATE that cannot take the stock below zero.
"""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import MembershipTier, Redemption, Reward
from app.security.tenancy import unscoped
from app.services import RuleError, audit

REWARD_FIELDS = ("code", "name_zh", "name_en", "kind", "points", "min_tier_rank", "description", "active")
PRIVILEGE_FIELDS = ("discount_pct", "points_multiplier", "free_delivery", "priority_service", "birthday_gift",
                    "extra_zh", "extra_en")


def _clean(data: dict) -> dict:
    values = {k: data[k] for k in REWARD_FIELDS}
    values["code"] = values["code"].strip().upper()
    values["min_tier_rank"] = values["min_tier_rank"] or None
    values["description"] = (values["description"] or "").strip() or None
    return values


def create_reward(data: dict, stock: int | None, actor) -> Reward:
    reward = Reward(**_clean(data), stock=stock)
    db.session.add(reward)
    db.session.flush()
    audit.record("reward.created", actor=actor, target=reward, details={"points": reward.points, "stock": stock})
    return reward


def update_reward(reward: Reward, data: dict, actor) -> None:
    for key, value in _clean(data).items():
        setattr(reward, key, value)
    changed = audit.changes(reward)
    if changed:
        audit.record("reward.updated", actor=actor, target=reward, details={"fields": sorted(changed)})
    db.session.flush()


def restock(reward: Reward, change: int, uncounted: bool, actor) -> None:
    with unscoped():
        if uncounted:
            db.session.execute(update(Reward).where(Reward.id == reward.id).values(stock=None)
                               .execution_options(synchronize_session=False))
        elif reward.stock is None and change < 0:
            raise RuleError(_l("This reward's stock is not counted: there is nothing to write off. Add a "
                               "quantity to start counting it."))
        else:
            moved = db.session.execute(
                update(Reward).where(Reward.id == reward.id, func.coalesce(Reward.stock, 0) + change >= 0)
                .values(stock=func.coalesce(Reward.stock, 0) + change)
                .execution_options(synchronize_session=False)).rowcount
            if not moved:
                db.session.refresh(reward)
                raise RuleError(_l("The stock cannot go below zero: %(left)s left.", left=reward.stock or 0))
    db.session.refresh(reward)
    audit.record("reward.restocked", actor=actor, target=reward,
                 details={"change": None if uncounted else change, "stock": reward.stock})


def results() -> dict[int, tuple[int, int]]:
    """{reward id: (redemptions, points spent)} of redemptions not cancelled, in the caller's scope."""
    return {rid: (int(n), int(points)) for rid, n, points in db.session.execute(
        select(Redemption.reward_id, func.coalesce(func.sum(Redemption.quantity), 0),
               func.coalesce(func.sum(Redemption.points), 0))
        .where(Redemption.state == "done").group_by(Redemption.reward_id))}


def save_privileges(tier: MembershipTier, data: dict, actor) -> None:
    for key in PRIVILEGE_FIELDS:
        value = data[key]
        setattr(tier, key, value.strip() or None if isinstance(value, str) else value)
    changed = audit.changes(tier)
    if changed:
        audit.record("membership_tier.privileges", actor=actor, target=tier, details={"fields": sorted(changed)})
    db.session.flush()


def _plain(value) -> str:
    """12.0 as "12", 1.5 as "1.5"."""
    return f"{Decimal(value).normalize():f}"


def privileges_of(tier, locale: str) -> list[str]:
    """What a tier's members get, as short phrases in the reader's language."""
    if tier is None:
        return []
    out = []
    if tier.discount_pct:
        out.append(str(_l("%(pct)s%% off", pct=_plain(tier.discount_pct))))
    if tier.points_multiplier and tier.points_multiplier != 1:
        out.append(str(_l("%(times)s× points", times=_plain(tier.points_multiplier))))
    if tier.free_delivery:
        out.append(str(_l("Free delivery")))
    if tier.priority_service:
        out.append(str(_l("Priority service")))
    if tier.birthday_gift:
        out.append(str(_l("Birthday gift")))
    extra = tier.extra_en if locale == "en" else tier.extra_zh
    if extra:
        out.append(extra)
    return out
