"""Demo customer files: 300 customers per store with three years of purchases and care.

Deterministic (one random generator per store code) and relative to today, so
churn warnings, birthdays and return visits are non-empty whenever it runs. A
store that already has customers is left alone, so running it twice adds nothing.
"""
import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from flask_babel import to_utc
from sqlalchemy import func, select

from app.extensions import db
from app.models import CareHoliday, Contact, Customer, CustomerSequence, MembershipTier, Purchase, Store, User
from app.models.base import utcnow, local_today
from app.services import customer_analytics as analytics
from app.services import customer_fields as fields
from app.services.customer_fields import name_key

PER_STORE = 300

TIERS = [
    # rank, zh, en, spend, purchases, points, kept while the last purchase is within (days)
    (1, "普通会员", "Member", 0, 0, 0, 0),
    (2, "银卡会员", "Silver", 5000, 4, 0, 730),
    (3, "金卡会员", "Gold", 20000, 10, 0, 365),
    (4, "钻石会员", "Diamond", 60000, 24, 0, 365),
]
FIXED_HOLIDAYS = [((1, 1), "元旦", "New Year's Day"), ((3, 8), "妇女节", "Women's Day"), ((5, 1), "劳动节", "Labour Day"),
                  ((10, 1), "国庆节", "National Day"), ((12, 25), "圣诞节", "Christmas")]
LUNAR_HOLIDAYS = [(date(2027, 2, 6), "春节", "Spring Festival"), (date(2028, 1, 26), "春节", "Spring Festival"),
                  (date(2027, 6, 9), "端午节", "Dragon Boat Festival"), (date(2027, 9, 15), "中秋节", "Mid-Autumn Festival"),
                  (date(2028, 10, 3), "中秋节", "Mid-Autumn Festival")]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌宇浩凯婷雪琳晨欣怡佳俊子轩梓涵一诺雨"
ITEMS = [("床上用品四件套", 300, 1200), ("乳胶枕", 150, 600), ("实木餐桌", 2500, 8000), ("布艺沙发", 3000, 12000),
         ("收纳柜", 600, 2500), ("厨房用品套装", 200, 900), ("客厅灯具", 400, 3000), ("手工地毯", 800, 4000),
         ("窗帘定制", 1000, 5000), ("独立弹簧床垫", 2000, 9000), ("装饰画", 200, 1500), ("儿童书桌", 800, 3000)]
# Each item's product line (models/customer.PRODUCT_TYPES).
ITEM_TYPES = {"床上用品四件套": "bedding", "乳胶枕": "bedding", "实木餐桌": "furniture", "布艺沙发": "furniture",
              "收纳柜": "furniture", "厨房用品套装": "kitchen", "客厅灯具": "lighting", "手工地毯": "decor",
              "窗帘定制": "custom", "独立弹簧床垫": "bedding", "装饰画": "decor", "儿童书桌": "furniture"}
STREETS = {"上海": "徐汇区漕溪北路", "杭州": "西湖区文三路", "苏州": "工业园区星海街", "南京": "秦淮区中山南路",
           "北京": "朝阳区建国路", "天津": "和平区南京路", "广州": "天河区天河路", "深圳": "福田区深南中路"}
POSTAL = {"上海": "200030", "杭州": "310012", "苏州": "215021", "南京": "210005", "北京": "100022", "天津": "300041",
          "广州": "510620", "深圳": "518033"}
MOBILE_PREFIXES = ["139", "138", "137", "136", "135", "150", "151", "152", "158", "159", "186", "187", "188",
                   "130", "131", "132", "155", "156", "185", "133", "153", "180", "181", "189", "177", "199"]
# Surnames and a character that sounds the same: what a pinyin input method slips into.
HOMOPHONES = {"张": "章", "王": "汪", "刘": "柳", "陈": "晨", "杨": "阳", "黄": "皇", "吴": "武", "周": "舟", "徐": "许",
              "许": "徐", "孙": "荪", "马": "玛", "朱": "诸", "胡": "湖", "林": "琳", "罗": "萝", "郑": "正", "梁": "良",
              "谢": "泄", "宋": "送", "唐": "汤", "韩": "寒", "冯": "逢", "邓": "登", "曹": "槽", "彭": "朋", "曾": "增",
              "肖": "萧", "田": "甜", "董": "懂", "袁": "元", "潘": "盼", "蒋": "江", "蔡": "菜", "余": "于", "杜": "度",
              "叶": "业", "程": "成", "苏": "酥", "魏": "卫", "吕": "旅", "丁": "钉", "任": "仁", "沈": "审", "姚": "遥",
              "卢": "芦", "李": "理", "赵": "照", "郭": "国", "何": "和", "高": "糕"}
OUTCOMES = ["顾客对商品满意，提醒了保养方法", "顾客反映安装师傅准时，服务周到", "介绍了会员日活动，顾客表示有兴趣",
            "顾客询问配套商品，已发送图册", "未接通，已发送短信问候", "顾客建议延长营业时间，已记录"]


def _store_time(day: date, hour: int, minute: int) -> datetime:
    """A time of day in the portal's zone (business hours), stored in UTC like every timestamp."""
    return to_utc(datetime.combine(day, time(hour, minute)))


def seed_rules(today: date) -> int:
    created = 0
    analytics.get_rules()
    if not db.session.scalar(select(func.count(MembershipTier.id))):
        for rank, zh, en, spend, orders, points, active in TIERS:
            db.session.add(MembershipTier(rank=rank, name_zh=zh, name_en=en, min_spend=Decimal(spend),
                                          min_orders=orders, min_points=points, active_within_days=active))
            created += 1
    wanted = [(date(y, m, d), zh, en) for y in (today.year, today.year + 1) for (m, d), zh, en in FIXED_HOLIDAYS]
    wanted += LUNAR_HOLIDAYS
    # A member day inside the care window, so the demo's holiday list is never empty.
    wanted.append((today + timedelta(days=5), "门店会员日", "Store member day"))
    for day, zh, en in wanted:
        if day >= today and not db.session.scalar(select(CareHoliday.id).where(CareHoliday.on == day)):
            db.session.add(CareHoliday(on=day, name_zh=zh, name_en=en))
            created += 1
    db.session.flush()
    return created


class _People:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used_mobiles: set[str] = set()

    def name(self) -> str:
        given = self.rng.choice(GIVEN) + (self.rng.choice(GIVEN) if self.rng.random() < 0.7 else "")
        return self.rng.choice(SURNAMES) + given

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.used_mobiles:
                self.used_mobiles.add(number)
                return number


def _purchase_days(rng: random.Random, persona: str, today: date) -> list[date]:
    """Purchase dates for a persona, oldest first."""
    if persona == "potential":
        return []
    if persona == "occasional":
        return sorted(today - timedelta(days=rng.randrange(5, 1000)) for _ in range(rng.randint(1, 3)))
    interval = {"regular": (45, 110), "vip": (15, 35), "lapsed": (30, 70), "slowing": (20, 40)}[persona]
    start = today - timedelta(days=rng.randrange(500, 1000))
    stop = {"lapsed": today - timedelta(days=rng.randrange(200, 400)), "slowing": today - timedelta(days=200)}.get(persona, today)
    days, day = [], start
    while day <= stop:
        days.append(day)
        day += timedelta(days=rng.randint(*interval))
    if persona == "slowing":
        days.append(today - timedelta(days=rng.randrange(30, 150)))
    elif persona in ("regular", "vip") and days and (today - days[-1]).days > interval[1]:
        days.append(today - timedelta(days=rng.randrange(1, interval[0])))
    return days


def _persona(rng: random.Random) -> str:
    return rng.choices(["potential", "occasional", "regular", "vip", "lapsed", "slowing"], [14, 40, 26, 8, 7, 5])[0]


def seed_store_customers(store: Store, staff: list[User], today: date) -> int:
    from app.models import Employee

    # The salespeople are the store's team (issue 11), with or without a login.
    sellers = db.session.scalars(select(Employee.id).where(Employee.store_id == store.id, Employee.status != "left")
                                 .order_by(Employee.id)).all()
    if db.session.scalar(select(Customer.id).where(Customer.store_id == store.id).limit(1)):
        return 0
    rng = random.Random(f"customers-{store.code}")
    people = _People(rng)
    now = utcnow()
    customers, histories = [], []
    for n in range(1, PER_STORE + 1):
        persona = _persona(rng)
        name = people.name()
        birthday = date(rng.randint(1955, 2003), 1, 1) + timedelta(days=rng.randrange(365))
        consent = rng.random() < 0.85
        ctype = rng.choices(["individual", "manufacturer", "intermediary"], [92, 5, 3])[0]
        customer = Customer(
            store_id=store.id, franchisee_id=store.franchisee_id, code=f"{store.code}-{n:06d}", name=name,
            name_key=name_key(name), gender=rng.choice(["female", "male", "female", "unknown"]), birthday=birthday,
            birthday_md=birthday.month * 100 + birthday.day, mobile=people.mobile(),
            email=f"{rng.choice(['wang', 'li', 'zhang', 'chen', 'liu', 'yang'])}{rng.randrange(1000, 99999)}@{rng.choice(['qq.com', '163.com', '126.com', 'sina.com'])}" if rng.random() < 0.5 else None,
            address=f"{store.city}市{STREETS.get(store.city, '')}{rng.randint(1, 800)}号{rng.randint(1, 30)}-{rng.randint(101, 2802)}室",
            postal_code=POSTAL.get(store.city), customer_type=ctype,
            source=rng.choice(["walk_in", "walk_in", "referral", "online", "event", "social", "phone"]),
            relationship_type=rng.choice(["basic", "reactive", "accountable", "proactive"] + (["partnership"] if ctype != "individual" else [])),
            salesperson_id=rng.choice(sellers) if sellers and rng.random() < 0.6 else None,
            consent=consent, consent_at=now - timedelta(days=rng.randrange(30, 900)) if consent else None,
            consent_method=rng.choice(["paper", "online", "wechat"]) if consent else None,
            consent_purpose="回访、会员活动与节日问候" if consent else None,
            tags=rng.choice([None, None, "新房装修", "老客户", "团购", "价格敏感", "设计师推荐"]),
            created_at=now - timedelta(days=rng.randrange(1, 1000)),
        )
        if ctype != "individual":
            customer.name = f"{store.city}{rng.choice(['安居', '美宅', '嘉园', '华府'])}{rng.choice(['装饰工程', '酒店管理', '物业服务'])}有限公司"
            customer.name_key = name_key(customer.name)
            customer.tax_no = f"91{rng.randrange(10**15):015d}X"[:18]
            customer.sales_limit = Decimal(rng.choice([20000, 50000, 100000]))
            customer.credit_record = rng.choice(["按时付款", "偶有延迟，已结清", "月结30天"])
            customer.delivery_address = customer.address
            customer.invoice_address = customer.address
        customers.append(customer)
        histories.append(_purchase_days(rng, persona, today) if persona != "vip" or ctype == "individual" else _purchase_days(rng, "regular", today))
    # Deliberate duplicates for the cleaning page: a re-registered phone and a homophone name.
    twin = customers[10]
    customers[11].mobile = twin.mobile
    people_only = [c for c in customers[12:] if c.customer_type == "individual"]
    original, typo = people_only[0], people_only[1]
    surname = original.name[0]
    typo.name = HOMOPHONES.get(surname, "章") + original.name[1:]  # the same sound, typed with another character
    typo.birthday, typo.birthday_md = original.birthday, original.birthday_md
    typo.name_key = name_key(typo.name)
    for customer in customers:  # as the form saves an address: full names, divisions parsed
        customer.address = fields.normalise_address(customer.address)
        customer.province, customer.city, customer.district = fields.address_divisions(customer.address).values()
        if customer.is_business:
            customer.delivery_address = customer.invoice_address = customer.address
    db.session.add_all(customers)
    db.session.flush()
    purchases = []
    for customer, days in zip(customers, histories):
        for day in days:
            item, low, high = rng.choice(ITEMS)
            amount = Decimal(rng.randrange(low, high)).quantize(Decimal("1")) + Decimal(rng.choice(["0", "0.5", "0.8"]))
            if customer.customer_type != "individual":
                amount *= 4
            purchases.append(Purchase(
                customer_id=customer.id, store_id=store.id, franchisee_id=store.franchisee_id, purchased_on=day,
                amount=amount, items=item, product_type=ITEM_TYPES[item], channel=rng.choice(["in_store", "in_store", "in_store", "online", "wechat", "phone"]),
                points_earned=int(amount), created_at=_store_time(day, rng.randint(10, 20), rng.randrange(60)),
                over_limit=bool(customer.sales_limit and amount > customer.sales_limit),
            ))
    db.session.add_all(purchases)
    db.session.flush()
    contacts = []
    for purchase in purchases:
        age = (today - purchase.purchased_on).days
        if age > 20 and rng.random() < 0.55:
            when = _store_time(purchase.purchased_on + timedelta(days=rng.randint(2, 5)), rng.randint(10, 18), rng.randrange(60))
            contacts.append(Contact(
                customer_id=purchase.customer_id, store_id=store.id, franchisee_id=store.franchisee_id, occurred_at=when,
                method=rng.choice(["phone", "phone", "wechat", "sms"]), purpose="return_visit", purchase_id=purchase.id,
                outcome=rng.choice(OUTCOMES), staff_id=rng.choice(staff).id if staff else None,
                place="门店" if rng.random() < 0.2 else None,
            ))
    for customer in customers[::9]:
        contacts.append(Contact(
            customer_id=customer.id, store_id=store.id, franchisee_id=store.franchisee_id,
            occurred_at=_store_time(today - timedelta(days=rng.randrange(20, 300)), 15, 0),
            method="visit", purpose="routine", place=f"{store.city}客户家中", cost=Decimal(rng.choice([50, 80, 120])),
            concession=rng.choice(["满1000减100优惠券", "免费上门保养一次", None]), outcome="上门回访，了解使用情况并赠送保养套装",
            staff_id=rng.choice(staff).id if staff else None,
        ))
    db.session.add_all(contacts)
    # A generator of its own, so the rest of the demo stays as it was.
    _seed_file_notes(store, staff, customers, today, random.Random(f"file-{store.code}"))
    points, last = defaultdict(int), {}
    for p in purchases:
        points[p.customer_id] += p.points_earned
        last[p.customer_id] = max(last.get(p.customer_id, p.purchased_on), p.purchased_on)
    for customer in customers:
        customer.points = points[customer.id]
        customer.last_activity_on = last.get(customer.id) or customer.created_at.date()
    seq = db.session.scalar(select(CustomerSequence).where(CustomerSequence.store_id == store.id))
    if seq is None:
        db.session.add(CustomerSequence(store_id=store.id, last=PER_STORE))
    db.session.flush()
    ids = [c.id for c in customers]
    analytics.refresh(ids)
    return len(customers) + len(purchases) + len(contacts)


ANALYSIS_EXAMPLES = {
    "attitude": ["对门店服务评价很高，愿意推荐给亲友", "认为送货安装速度一般，希望提前预约"],
    "demand": ["新房明年交付，计划整屋软装", "关注环保材料，预算中等偏上"],
    "competitors": ["同时在宜家和本地家具城比价", "曾在竞品购买床垫，对售后不满意"],
    "friction": ["上次送货延误两天，经回访后已谅解"],
    "contract": ["团购合同按期履行，尾款已结清"],
}
CREDIT_EXAMPLES = [("good", "按期付款，无逾期记录"), ("fair", "月结偶有延迟，催收后结清"), ("poor", "两笔货款逾期超过30天")]


def _seed_file_notes(store, staff, customers, today: date, rng) -> None:
    """Analysis notes (with a dated credit history for businesses) and loyalty assessments for
    some customers, so the demo shows the master file's second part and the loyalty score."""
    from app.models import CustomerAnalysis, LoyaltyAssessment
    from app.models.customer_file import OBSERVED_MEASURES

    author = staff[0] if staff else None
    for i, customer in enumerate(customers[::6]):
        topic = list(ANALYSIS_EXAMPLES)[i % len(ANALYSIS_EXAMPLES)]
        notes = [(topic, rng.choice(ANALYSIS_EXAMPLES[topic]), None)]
        if customer.customer_type != "individual":
            notes += [("credit", text, rating) for rating, text in rng.sample(CREDIT_EXAMPLES, 2)]
        for k, (kind, text, rating) in enumerate(notes):
            db.session.add(CustomerAnalysis(
                customer_id=customer.id, store_id=store.id, franchisee_id=store.franchisee_id, topic=kind,
                noted_on=today - timedelta(days=30 + 120 * k + rng.randrange(30)), credit_rating=rating,
                source=rng.choice(["observation", "survey"]), text=text, created_by=author))
        levels = {name: rng.choice([2, 3, 3, 4, 4, 5]) for name in OBSERVED_MEASURES}
        on = today - timedelta(days=rng.randrange(10, 200))
        db.session.add(LoyaltyAssessment(customer_id=customer.id, store_id=store.id, franchisee_id=store.franchisee_id,
                                         assessed_on=on, created_by=author, **levels))
        customer.loyalty_observed, customer.loyalty_assessed_on = sum(levels.values()), on


def seed_customers(stores: list[Store], today: date | None = None) -> int:
    today = today or local_today()
    created = seed_rules(today)
    for store in stores:
        staff = db.session.scalars(
            select(User).where(User.franchisee_id == store.franchisee_id, User.role.in_(["store_manager", "store_staff"]))
        ).all()
        staff = [u for u in staff if store in u.stores] or []
        created += seed_store_customers(store, staff, today)
    return created
