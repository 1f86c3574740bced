"""Demo complaints: every state of the workflow in every store, relative to now.

Each complaint is driven through the real workflow (services/complaints/workflow.py) with the
time of each step given, so its timeline, clocks and the customer's churn flag are what the
portal itself would have recorded. Some are overdue or about to be, some wait on the customer,
the major ones are handled jointly by headquarters' departments. One generator per store code:
the same demo every run; a store that already has complaints is left alone.
"""
import random
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Complaint, Customer, Store, User
from app.models.base import utcnow
from app.services.complaints import settings, workflow

# (category code, subject, what the customer says, resolution, remedies)
CASES = [
    ("quality", "沙发坐垫塌陷", "三个月前买的布艺沙发，坐垫已经明显塌陷，要求换货。", "更换同款坐垫，赠送沙发护理套装",
     ["replace", "compensation"]),
    ("quality", "餐桌桌面开裂", "实木餐桌使用半年桌面出现裂缝。", "上门维修并补漆，延长保修一年", ["repair"]),
    ("service", "店员态度冷淡", "周末到店咨询，店员一直看手机，问了三遍才回答。", "店长当面致歉，对当班店员进行服务规范培训",
     ["apology", "staff_education"]),
    ("service", "承诺回电未兑现", "说好第二天回电确认安装时间，等了三天没人联系。", "当日致电致歉并重新预约安装",
     ["apology", "staff_education"]),
    ("logistics", "送货延误两天", "约好周六送货，周一才送到，请了两天假白等。", "与承运商核实延误原因，补偿运费并致歉",
     ["carrier", "compensation", "apology"]),
    ("logistics", "床垫运输中破损", "床垫外包装破损，床垫侧面有污渍。", "换新床垫，承运商承担损失", ["carrier", "replace"]),
    ("price", "活动后降价", "买完一周就降价三百元，要求补差价。", "按价保政策退还差价", ["price_adjustment"]),
    ("returns", "退货手续繁琐", "申请退货要跑三次门店，流程说不清楚。", "当场办理退货，退款三个工作日到账", ["refund"]),
]
SUGGESTIONS = [("suggestion", "建议延长周末营业时间"), ("suggestion", "希望提供线上预约量尺"), ("praise", "安装师傅非常专业")]
NAMES = ["王女士", "李先生", "张女士", "刘先生", "陈女士", "杨先生", "赵女士", "黄先生"]
DEPARTMENT_TASKS = [("logistics", "核查承运商送货记录"), ("customer_service", "致电顾客说明处理进展"),
                    ("rnd", "分析同批次产品质量"), ("marketing", "回应社交媒体上的帖子")]


def _at(now: datetime, days: float, hours: float = 0) -> datetime:
    return now - timedelta(days=days, hours=hours)


def seed_complaints(stores: list[Store], now: datetime | None = None) -> int:
    now = (now or utcnow()).replace(microsecond=0)
    settings.install_defaults()
    hq = db.session.scalar(select(User).where(User.role == "hq_auditor").order_by(User.id))
    created = 0
    for store in stores:
        if db.session.scalar(select(func.count()).select_from(Complaint).where(Complaint.store_id == store.id)):
            continue
        rng = random.Random(f"complaints-{store.code}")
        staff = db.session.scalars(select(User).where(User.franchisee_id == store.franchisee_id,
                                                      User.role.in_(["store_manager", "store_staff", "franchise_owner"]))
                                   .order_by(User.id)).all() or [hq]
        customers = db.session.scalars(select(Customer).where(Customer.store_id == store.id, Customer.consent.is_(True),
                                                              Customer.mobile.is_not(None)).order_by(Customer.id).limit(40)).all()
        created += _seed_store(store, staff, hq, customers, rng, now)
    db.session.flush()
    return created


def _open(store, rng, staff, customers, case, received, severity="general", channel="phone", kind="complaint"):
    code, title, text = case[0], case[1], case[2]
    customer = rng.choice(customers) if customers and kind == "complaint" else None
    category = next(c for c in settings.categories() if c.code == code) if kind == "complaint" else None
    channel_option = settings.channel_by_code(channel)
    data = {"kind": kind, "channel_id": channel_option.id, "category_id": category.id if category else None,
            "severity": severity, "contact_name": customer.name if customer else rng.choice(NAMES),
            "contact_phone": customer.mobile if customer else f"139{rng.randrange(10**8):08d}",
            "title": title, "description": text, "received_at": received,
            "social_url": "https://weibo.com/u/demo-post" if channel == "social" else None}
    return workflow.open_complaint(store, data, rng.choice(staff), customer=customer, now=received)


def _seed_store(store, staff, hq, customers, rng, now) -> int:
    count = 0
    cases = CASES[:]
    rng.shuffle(cases)
    handler = staff[0]
    # Closed, from months ago: acknowledged, resolved in time, followed up, closed.
    for n, case in enumerate(cases[:4]):
        received = _at(now, 30 + 35 * n, rng.randrange(1, 6))
        c = _open(store, rng, staff, customers, case, received, channel=rng.choice(["phone", "in_store", "email", "online"]))
        workflow.acknowledge(c, handler, "已致电顾客，确认问题", now=received + timedelta(hours=1))
        workflow.start(c, handler, now=received + timedelta(hours=2))
        workflow.set_checklist(c, handler, ["willing", "empathy", "responsible", "gave_name", "understood"][: 3 + n % 3])
        workflow.communicate(c, handler, "phone", "告知处理方案，顾客同意", now=received + timedelta(hours=3))
        workflow.resolve(c, handler, {"resolution": case[3], "remedies": case[4]}, now=received + timedelta(hours=20 + 10 * n))
        workflow.record_follow_up(c, handler, 4 + n % 2, "顾客对处理结果满意", "phone", now=received + timedelta(days=3))
        workflow.close(c, handler, now=received + timedelta(days=3, hours=1))
        count += 1
    # A reopened one: the customer was not satisfied with the first answer.
    case = cases[4]
    received = _at(now, 2, 3)
    c = _open(store, rng, staff, customers, case, received)
    workflow.start(c, handler, now=received + timedelta(hours=1))
    workflow.resolve(c, handler, {"resolution": "先行致歉并解释原因", "remedies": ["apology"]}, now=received + timedelta(hours=5))
    workflow.record_follow_up(c, handler, 2, "顾客认为只道歉不够，要求实际解决", "phone", now=received + timedelta(hours=30))
    count += 1
    # Resolved, waiting for the follow-up call.
    case = cases[5]
    received = _at(now, 3)
    c = _open(store, rng, staff, customers, case, received, channel="in_store")
    workflow.acknowledge(c, handler, now=received + timedelta(minutes=40))
    workflow.resolve(c, handler, {"resolution": case[3], "remedies": case[4]}, now=received + timedelta(hours=26))
    count += 1
    # Open: one overdue (received days ago), one waiting on the customer, one due soon, one new.
    case = cases[6]
    c = _open(store, rng, staff, customers, case, _at(now, 4, 2), channel="phone")
    workflow.acknowledge(c, handler, "已受理，等待仓库核查", now=_at(now, 4, 1))
    count += 1
    case = cases[7]
    c = _open(store, rng, staff, customers, case, _at(now, 1, 4), channel="online")
    workflow.start(c, handler, now=_at(now, 1, 3))
    workflow.wait_on_customer(c, handler, "等顾客发送商品照片和购物小票", now=_at(now, 1, 2))
    count += 1
    case = cases[0]
    c = _open(store, rng, staff, customers, case, _at(now, 0, 20), channel="social")
    count += 1
    # Major, escalated to headquarters: a joint group of two departments, one task done.
    case = cases[1]
    received = _at(now, 2, 6)
    c = _open(store, rng, staff, customers, (case[0], "重大：" + case[1], case[2] + "顾客表示将向消费者协会投诉。"),
              received, severity="major")
    workflow.acknowledge(c, handler, "店长已致电致歉，说明已上报总部", now=received + timedelta(minutes=30))
    if hq is not None:
        planned = received + timedelta(hours=2)
        workflow.save_plan(c, hq, "一、客服部当日回访顾客；二、相关部门三日内查明原因；三、门店配合整改。", now=planned)
        first, second = rng.sample(DEPARTMENT_TASKS, 2)
        if store.code.startswith(("SH", "BJ")):  # the demo's customer-service member has a task
            first = ("customer_service", "致电顾客说明处理进展")
            second = next(t for t in DEPARTMENT_TASKS if t[0] != "customer_service")
        done = workflow.add_task(c, hq, first[0], first[1], (received + timedelta(days=3)).date(), now=planned)
        workflow.add_task(c, hq, second[0], second[1], (received + timedelta(days=4)).date(), now=planned)
        workflow.complete_task(done, hq, "已完成", now=received + timedelta(days=1))
    count += 1
    # The photo the customer sent of the damage, and the delivery note (both generated here).
    _attach_demo_files(store, c, hq or handler, rng)
    # Suggestions and praise.
    for kind, title in SUGGESTIONS[: 1 + rng.randrange(len(SUGGESTIONS))]:
        received = _at(now, rng.randrange(5, 60))
        c = _open(store, rng, staff, customers, ("other", title, title + "。"), received, kind=kind,
                  channel=rng.choice(["web_form", "in_store"]))
        workflow.close_feedback(c, handler, "已致谢，转交店长", now=received + timedelta(hours=2))
        count += 1
    return count


def _attach_demo_files(store, complaint, actor, rng) -> None:
    """A photo (drawn with Pillow, as a phone would send it) and a one-page PDF delivery note,
    stored through the same service as an upload, so the demo shows attachments."""
    import io

    from PIL import Image, ImageDraw

    from app.services.complaints import attachments

    image = Image.new("RGB", (640, 480), (226, 214, 196))
    draw = ImageDraw.Draw(image)
    draw.rectangle((80, 120, 560, 400), fill=(150, 110, 70))
    for _ in range(6):  # the crack
        x, y = rng.randrange(200, 440), rng.randrange(160, 360)
        draw.line((x, y, x + rng.randrange(-60, 60), y + rng.randrange(-40, 40)), fill=(40, 30, 20), width=4)
    photo = io.BytesIO()
    image.save(photo, format="JPEG", quality=85)
    pdf = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
           b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    attachments.add(complaint, "damage-photo.jpg", photo.getvalue(), actor)
    attachments.add(complaint, "delivery-note.pdf", pdf, actor)
