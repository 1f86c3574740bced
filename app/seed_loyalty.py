"""Demo loyalty programme (issue 14): the tiers' privileges, headquarters' reward catalogue, the
points ledger of every demo customer, and a few redemptions, returns and corrections made
through the services, as staff make them. Idempotent: what exists is left alone."""
import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import Customer, MembershipTier, Purchase, Redemption, Reward, Store, User
from app.models.base import local_today
from app.services import customer_analytics as analytics
from app.services.loyalty import ledger, redemption, returns

# rank: discount %, points ×, free delivery, priority service, birthday gift, other (zh, en) — seed 003:
# few tiers, clearly different; discounts, privileged service and exclusive events rising with the tier.
PRIVILEGES = {
    1: (0, 1, False, False, False, "会员日专享活动", "Member-day events"),
    2: (5, 1, False, False, True, "会员日专享活动", "Member-day events"),
    3: (8, Decimal("1.5"), True, False, True, "免费上门测量", "Free measuring at home"),
    4: (12, 2, True, True, True, "专属顾问、新品优先体验", "Personal adviser, first look at new ranges"),
}
REWARDS = [
    # code, zh, en, kind, points, stock, min tier rank, description
    ("GIFT-PILLOW", "乳胶枕一只", "Latex pillow", "gift", 1500, 40, None, "天然乳胶，含枕套"),
    ("GIFT-TOWEL", "纯棉毛巾礼盒", "Cotton towel gift box", "gift", 600, 80, None, "三条装"),
    ("GIFT-MUG", "品牌马克杯", "Brand mug", "gift", 300, 3, None, "限量款，售完即止"),
    ("CPN-50", "50元代金券", "50-yuan voucher", "coupon", 800, None, None, "满300元可用，有效期3个月"),
    ("CPN-200", "200元代金券", "200-yuan voucher", "coupon", 2800, None, 2, "满1000元可用，银卡及以上"),
    ("SVC-CLEAN", "沙发深度清洁一次", "Sofa deep clean", "service", 2000, None, 3, "上门服务，金卡及以上"),
    ("GIFT-LAMP", "床头台灯", "Bedside lamp", "gift", 3500, 0, None, "已兑完，待补货"),
]


def seed_loyalty() -> int:
    created = 0
    for rank, (discount, multiplier, delivery, priority, gift, zh, en) in PRIVILEGES.items():
        tier = db.session.scalar(select(MembershipTier).where(MembershipTier.rank == rank))
        if tier is not None and not tier.discount_pct and not tier.extra_zh:
            tier.discount_pct, tier.points_multiplier = Decimal(discount), Decimal(multiplier)
            tier.free_delivery, tier.priority_service, tier.birthday_gift = delivery, priority, gift
            tier.extra_zh, tier.extra_en = zh, en
    for code, zh, en, kind, points, stock, rank, description in REWARDS:
        if db.session.scalar(select(Reward.id).where(Reward.code == code)) is None:
            db.session.add(Reward(code=code, name_zh=zh, name_en=en, kind=kind, points=points, stock=stock,
                                  min_tier_rank=rank, description=description, active=True))
            created += 1
    db.session.flush()
    created += ledger.backfill(analytics.get_rules())
    if db.session.scalar(select(func.count(Redemption.id))):
        return created
    return created + _counter_activity()


def _counter_activity() -> int:
    """Per store: three redemptions (one cancelled), a return and a correction by hand."""
    made = 0
    today = local_today()
    rewards = {r.code: r for r in db.session.scalars(select(Reward))}
    for store in db.session.scalars(select(Store).order_by(Store.code)):
        rng = random.Random(f"loyalty-{store.code}")
        actor = db.session.scalar(select(User).where(User.franchisee_id == store.franchisee_id,
                                                     User.role.in_(["store_manager", "franchise_owner"]))
                                  .order_by(User.role.desc(), User.id).limit(1))
        if actor is None:
            continue
        rich = db.session.scalars(
            select(Customer).where(Customer.store_id == store.id, Customer.points >= 3000,
                                   Customer.anonymised_at.is_(None), Customer.merged_into_id.is_(None))
            .order_by(Customer.id).limit(6)).all()
        for i, customer in enumerate(rich[:3]):
            reward = rewards[("GIFT-TOWEL", "CPN-50", "GIFT-PILLOW")[i]]
            done = redemption.redeem(customer, reward, 1, "会员日兑换" if i == 0 else None, actor)
            made += 1
            if i == 2:
                redemption.cancel(done, "顾客改选其他礼品", actor)
        if len(rich) > 3:
            redemption.adjust(rich[3], 200, "开业周年补发积分", actor)
            made += 1
        recent = db.session.scalar(
            select(Purchase).join(Customer, Customer.id == Purchase.customer_id)
            .where(Purchase.store_id == store.id, Purchase.purchased_on >= today - timedelta(days=60),
                   Purchase.amount >= 500, Customer.anonymised_at.is_(None), Customer.merged_into_id.is_(None))
            .order_by(Purchase.id).limit(1))
        if recent is not None:
            part = (recent.amount * Decimal(rng.choice(("0.3", "0.5", "1")))).quantize(Decimal("0.01"))
            returns.record_return(recent, part, rng.choice(("quality", "wrong_item", "changed_mind")),
                                  "顾客退回部分商品", max(recent.purchased_on, today - timedelta(days=3)), actor)
            made += 1
    db.session.flush()
    return made
