"""Demo deliveries (issue 12, the Amazon case): the carriers headquarters lists, each with its own
habits (one punctual, one that breaks things, the company's own fleet, one no longer used), and a
delivery for about a third of the last two years' purchases - most arrived, some late, a few
damaged or not delivered, the newest still on their way (some past their promised day). The demo
complaints about deliveries name one of their customer's deliveries. The same demo every run;
nothing is added when a partner exists."""
import random
from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Complaint, ComplaintCategory, Purchase
from app.models.base import local_date, local_today, utcnow
from app.models.logistics import LogisticsPartner, Shipment
from app.security.tenancy import unscoped
from app.services import logistics

# code, name, contact, phone, area, in use, (late, damaged, not delivered) probabilities
PARTNERS = [
    ("SF", "顺丰速运", "陈经理", "95338", "全国", True, (0.03, 0.004, 0.005)),
    ("JD", "京东物流", "刘主管", "950616", "全国（偏远地区除外）", True, (0.06, 0.012, 0.01)),
    ("DB", "德邦快递", "王经理", "95353", "华东、华北、华南大件", True, (0.14, 0.045, 0.02)),
    ("OWN", "自有配送车队", "赵队长", "021-64001234", "门店周边30公里", True, (0.08, 0.01, 0.003)),
    ("ZT", "中通快运", "孙经理", "95311", "全国", False, (0.2, 0.05, 0.04)),
]
SHARE = 0.35
MONTHS_BACK = 24
CHINA = timedelta(hours=8)


def outcome(rng: random.Random, purchase_day, today, habits) -> dict:
    """A delivery's columns: left the day of the purchase or the next, promised two to four days
    later; arrived on time, late (the partner's ``late`` share), damaged, or not at all; the newest
    still on their way, a few past their promised day."""
    late, damaged, failed = habits
    day = min(purchase_day + timedelta(days=rng.choice((0, 0, 1))), today)
    now = utcnow()
    left = datetime.combine(day, time(rng.randint(9, 17), rng.choice((0, 15, 30, 45)))) - CHINA  # stored in UTC
    # Today's deliveries have left already (but not before the day began where the stores are).
    left = max(min(left, now - timedelta(minutes=30)), datetime.combine(day, time(0)) - CHINA)
    promised = day + timedelta(days=rng.randint(2, 4))
    row = {"dispatched_at": left, "month": day.year * 100 + day.month, "promised_on": promised,
           "state": "in_transit", "delivered_at": None, "on_time": None, "damaged": False, "damage_note": None,
           "failure_reason": None, "called_ahead": None}
    arrival_day = promised - timedelta(days=rng.randint(0, 1))
    if rng.random() < late:
        arrival_day = promised + timedelta(days=rng.randint(1, 3))
    if (arrival_day >= today and rng.random() < 0.8) or (promised >= today - timedelta(days=1) and rng.random() < 0.3):
        return row  # still on its way
    if rng.random() < failed:
        row.update(state="failed", failure_reason=rng.choice(["refused", "returned", "lost", "cancelled"]))
        return row
    arrival_day = min(arrival_day, today)
    arrived = datetime.combine(arrival_day, time(rng.randint(9, 20), rng.choice((0, 20, 40)))) - CHINA
    arrived = min(max(arrived, left + timedelta(hours=2)), now - timedelta(minutes=5))
    if arrived < left + timedelta(hours=1):
        return row  # left too recently to have arrived: still on its way
    row.update(state="delivered", delivered_at=arrived, on_time=local_date(arrived) <= promised,
               called_ahead=rng.random() < 0.85)
    if rng.random() < damaged:
        row.update(damaged=True, damage_note=rng.choice(["外包装破损，产品侧面划痕", "床垫包装破损有污渍", "柜门磕碰变形",
                                                          "玻璃台面裂纹"]))
    return row


def install_partners() -> list[tuple[LogisticsPartner, tuple]]:
    """The demo's carriers (those missing), each with its habits."""
    out = []
    for code, name, contact, phone, area, active, habits in PARTNERS:
        partner = db.session.scalar(select(LogisticsPartner).where(LogisticsPartner.code == code))
        if partner is None:
            partner = LogisticsPartner(code=code, name=name, contact_name=contact, contact_phone=phone,
                                       service_area=area, active=active)
            db.session.add(partner)
        out.append((partner, habits))
    db.session.flush()
    return out


def seed_logistics() -> int:
    today = local_today()
    rng = random.Random(12)
    with unscoped():
        if db.session.scalar(select(func.count(LogisticsPartner.id))):
            return 0
        partners = install_partners()
        since = today - timedelta(days=30 * MONTHS_BACK)
        purchases = db.session.scalars(select(Purchase).where(Purchase.purchased_on >= since)
                                       .order_by(Purchase.id)).all()
        made = 0
        for purchase in purchases:
            if rng.random() > SHARE:
                continue
            # The retired partner carried only the older deliveries.
            pool = [p for p in partners if p[0].active or purchase.purchased_on < today - timedelta(days=300)]
            partner, habits = rng.choice(pool)
            s = Shipment(purchase_id=purchase.id, customer_id=purchase.customer_id, store_id=purchase.store_id,
                         franchisee_id=purchase.franchisee_id, partner_id=partner.id,
                         tracking_no=f"{partner.code}{purchase.id:010d}", created_by_id=purchase.created_by_id,
                         **outcome(rng, purchase.purchased_on, today, habits))
            db.session.add(s)
            made += 1
        db.session.flush()
        # The demo's delivery complaints: each names one of its customer's deliveries.
        logistics_category = db.session.scalar(select(ComplaintCategory.id).where(ComplaintCategory.code == "logistics"))
        if logistics_category is not None:
            for complaint in db.session.scalars(select(Complaint).where(
                    Complaint.category_id == logistics_category, Complaint.customer_id.is_not(None))):
                shipment = db.session.scalar(select(Shipment).where(Shipment.customer_id == complaint.customer_id)
                                             .order_by(Shipment.dispatched_at.desc()).limit(1))
                if shipment is not None:
                    complaint.shipment_id = shipment.id
        db.session.flush()
        logistics.rebuild()
        return made + len(partners)
