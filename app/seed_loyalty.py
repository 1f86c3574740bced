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
    return created + _counter_activity() + _offers() + _relations() + _events()


def _events() -> int:
    """Per franchisee: a club of its VIPs, last month's member day with guests who came and their
    feedback, a coming holiday event, and a product design session (R75)."""
    from datetime import datetime, time

    from app.models.event import EventGuest, MemberEvent
    from app.services.loyalty import events

    today = local_today()
    if db.session.scalar(select(MemberEvent.id).limit(1)) is not None:
        return 0
    made = 0
    owners = db.session.scalars(select(User).where(User.role == "franchise_owner").order_by(User.id)).all()
    for owner in owners:
        store = db.session.scalar(select(Store).where(Store.franchisee_id == owner.franchisee_id).order_by(Store.code))
        if store is None:
            continue
        club = events.save_club(None, {"name": f"{store.name}家居生活俱乐部", "description": "VIP 会员的长期交流圈：新品品鉴、家居课堂",
                                       "store_id": store.id, "active": True}, owner.franchisee_id, owner)
        vips = select(Customer).where(Customer.store_id == store.id, Customer.category == "vip")
        made += events.join(club, vips, owner, today)
        plans = [("会员日：秋季家纺焕新", "member_day", "秋季家纺", "lottery,gift", today - timedelta(days=24), None),
                 ("元旦新品发布会", "launch", "新年新家", "talk,lottery,gift", today + timedelta(days=20), None),
                 ("沙发舒适度共创会", "design", "下一代布艺沙发", "talk", today - timedelta(days=10), club.id)]
        for title, kind, theme, activities, day, club_id in plans:
            event = events.save_event(None, {"title": title, "kind": kind, "theme": theme,
                                             "starts_at": datetime.combine(day, time(6, 0)), "place": None,
                                             "store_id": store.id, "club_id": club_id,
                                             "description": "门店会员活动"}, activities.split(","),
                                      owner.franchisee_id, owner)
            made += events.invite(event, vips if club_id else select(Customer).where(
                Customer.store_id == store.id, Customer.category.in_(("vip", "regular"))).limit(40), owner)
            if day < today:
                guests = db.session.scalars(select(EventGuest).where(EventGuest.event_id == event.id)
                                            .order_by(EventGuest.id)).all()
                events.sign_in(event, {g.id for g in guests}, {g.id for g in guests[::2]}, owner)
                for i, guest in enumerate(guests[::2][:6]):
                    events.feedback(guest, (5, 4, 4, 3, 5, 4)[i], ("很喜欢抽奖环节", "希望多些新品介绍", None,
                                                                   "时间有点短", None, "服务热情")[i], owner)
                event.review = "到场率约五成，抽奖环节反响最好；下次提前一周短信提醒，并增加新品讲解时间。"
    db.session.flush()
    return made


LOST_ORDERS = [("布艺沙发三人位", 6800, "PRICE", "宜家"), ("定制窗帘全屋", 4200, "DELIVERY", None),
               ("实木餐桌", 5200, "STOCK", None), ("独立弹簧床垫", 3900, "PRICE", "某电商平台")]
REVIEWS = [("stable", 4, "合作稳定，顾客对送装服务满意，计划下季度更换客厅灯具。", "邀请参加新品品鉴会"),
           ("weakening", 3, "近半年到店次数减少，反映售后响应偏慢。", "店长亲自回访，安排优先服务")]


def _relations() -> int:
    """Per store: churned customers marked lost, lost orders, and reviewed VIP relationships."""
    from app.models import LostReason
    from app.services.loyalty import relations

    made = relations.install_reasons()
    today = local_today()
    made += relations.add_important(today)
    reasons = {r.code: r for r in db.session.scalars(select(LostReason))}
    for store in db.session.scalars(select(Store).order_by(Store.code)):
        actor = db.session.scalar(select(User).where(User.franchisee_id == store.franchisee_id,
                                                     User.role.in_(["store_manager", "franchise_owner"]))
                                  .order_by(User.role.desc(), User.id).limit(1))
        if actor is None:
            continue
        churned = db.session.scalars(select(Customer).where(
            Customer.store_id == store.id, Customer.churn_flags > 0, Customer.anonymised_at.is_(None),
            Customer.merged_into_id.is_(None)).order_by(Customer.id).limit(3)).all()
        for customer, code in zip(churned, ("PRICE", "SERVICE", "MOVED")):
            relations.mark_lost(customer, reasons[code], max(customer.last_purchase_on or today, today - timedelta(days=20)),
                                "电话回访确认" if code == "SERVICE" else None, actor)
            made += 1
        for i, (items, amount, code, competitor) in enumerate(LOST_ORDERS[:2 + len(store.code) % 3]):
            relations.record_lost_order(store, {"lost_on": today - timedelta(days=5 + 17 * i), "amount": Decimal(amount),
                                                "items": items, "reason_id": reasons[code].id,
                                                "competitor": competitor, "customer_id": None, "note": None}, actor)
            made += 1
        vips = db.session.scalars(select(Customer).where(
            Customer.store_id == store.id, Customer.category == "vip", Customer.anonymised_at.is_(None),
            Customer.merged_into_id.is_(None)).order_by(Customer.total_spend.desc()).limit(2)).all()
        for customer, (status, quality, findings, actions) in zip(vips, REVIEWS):
            relation = relations.relationship_of(customer, create=True)
            relation.manager_id = actor.id
            relations.record_review(customer, {"reviewed_on": today - timedelta(days=150), "status": status,
                                               "quality": quality, "findings": findings, "actions": actions,
                                               "next_review_on": today + timedelta(days=30 if status == "stable" else -3)},
                                    actor)
            made += 1
    db.session.flush()
    return made


def _offers() -> int:
    """Headquarters' spring offer issued to every consenting silver-and-above member, a franchisee's
    member-day offer for one of its stores, and the coupons used with purchases since the start."""
    from app.models.offer import Coupon, Offer
    from app.services.loyalty import offers

    today = local_today()
    admin = db.session.scalar(select(User).where(User.role == "hq_admin").order_by(User.id).limit(1))
    if admin is None or db.session.scalar(select(Offer.id).limit(1)) is not None:
        return 0
    made = 0
    spring = offers.save_offer(None, {
        "code": "SPRING-100", "title_zh": "春季焕新 满1000减100", "title_en": "Spring refresh: 100 off 1,000",
        "kind": "amount", "value": Decimal("100"), "min_spend": Decimal("1000"), "starts_on": today - timedelta(days=30),
        "ends_on": today + timedelta(days=30), "min_tier_rank": 2, "description": "每位会员限用一次，不与其他优惠同享",
        "active": True}, [], None, admin)
    made += offers.issue(spring, select(Customer), admin)
    owner = db.session.scalar(select(User).where(User.role == "franchise_owner").order_by(User.id).limit(1))
    if owner is not None:
        store = db.session.scalar(select(Store).where(Store.franchisee_id == owner.franchisee_id).order_by(Store.code))
        member_day = offers.save_offer(None, {
            "code": "MEMBER-DAY-9", "title_zh": "会员日九折", "title_en": "Member day: 10% off", "kind": "percent",
            "value": Decimal("10"), "min_spend": Decimal("0"), "starts_on": today - timedelta(days=7),
            "ends_on": today + timedelta(days=60), "min_tier_rank": None, "description": "每月第一个周六",
            "active": True}, [store], owner.franchisee_id, owner)
        made += offers.issue(member_day, select(Customer).where(Customer.store_id == store.id), owner)
    # Coupons used with purchases made since the offer began, as the counters record them.
    for coupon in db.session.scalars(
            select(Coupon).where(Coupon.offer_id == spring.id).order_by(Coupon.id).limit(400)).all()[::7]:
        purchase = db.session.scalar(
            select(Purchase).where(Purchase.customer_id == coupon.customer_id, Purchase.amount >= 1000,
                                   Purchase.purchased_on >= spring.starts_on).order_by(Purchase.id).limit(1))
        if purchase is not None:
            offers.use(coupon, purchase, admin)
    db.session.flush()
    return made


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
