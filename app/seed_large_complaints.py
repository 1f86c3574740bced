"""The large network's complaints (issue 9): ``seed large`` adds one complaint per five customers
(200,000 for the default 1,000,000) after the customers are loaded.

Spread over the stores in proportion to their customers and over the last two years; a fifth
name a customer file of their store. The older ones are mostly closed (a few reopened once or
never followed up), the recent ones in every open state: some overdue, some waiting on the
customer, about 3 % major and escalated to headquarters. Each has the timeline lines of the steps
it went through. Due times run on the default store hours (10:00 to 21:00, every day) with the
default deadline rules, as the portal would have set them. A generator of its own
(``random.Random(seed + 9)``): the customers and purchases of a seed do not change.

Written with Core inserts in batches; the store-month roll-up, the customers' open complaints
and churn flags are computed afterwards (``finish``).
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update

from app.extensions import db
from app.models import Complaint, ComplaintEvent, Customer, Store
from app.models.base import utcnow
from app.services.business_time import EVERY_DAY_10_TO_21, BusinessCalendar
from app.services.complaints import settings

PER_CUSTOMERS = 5
HISTORY_DAYS = 730
BATCH = 20_000
TITLES = {
    "quality": ["沙发坐垫塌陷", "餐桌桌面开裂", "床垫有异味", "灯具不亮", "柜门关不严", "地毯掉色", "窗帘尺寸不对"],
    "service": ["店员态度冷淡", "承诺回电未兑现", "导购夸大宣传", "安装师傅迟到", "电话无人接听"],
    "logistics": ["送货延误", "运输中破损", "送错商品", "未按约定时间送货"],
    "price": ["活动后降价", "价格标签与结算不符", "优惠券无法使用"],
    "returns": ["退货手续繁琐", "退款迟迟未到账", "换货需要多次到店"],
    "other": ["停车不便", "门店卫生差", "会员积分未到账"],
}
REMEDIES = {"quality": "replace", "service": "apology", "logistics": "carrier", "price": "price_adjustment",
            "returns": "refund", "other": "explanation"}
CHANNELS = ["phone"] * 35 + ["in_store"] * 30 + ["online"] * 12 + ["email"] * 8 + ["web_form"] * 8 + ["social"] * 5 + \
    ["other"] * 2
CATEGORY_WEIGHTS = ["quality"] * 34 + ["service"] * 24 + ["logistics"] * 18 + ["price"] * 10 + ["returns"] * 9 + \
    ["other"] * 5
CALENDAR = BusinessCalendar(hours=EVERY_DAY_10_TO_21)


def load(seed: int, customers: int, progress, end_transaction, now: datetime | None = None,
         total: int | None = None) -> int:
    """Write ``total`` complaints (one per five ``customers`` by default) and their timelines."""
    now = (now or utcnow()).replace(microsecond=0)
    settings.install_defaults()
    total = max(0, customers // PER_CUSTOMERS if total is None else total)
    if not total:
        return 0
    rng = random.Random(seed + 9)
    categories = {o.code: o.id for o in settings.categories(active_only=False)}
    channels = {o.code: o.id for o in settings.channels(active_only=False)}
    rules = {severity: settings.allowance(severity, None) for severity in ("general", "major")}
    stores = db.session.execute(select(Store.id, Store.franchisee_id).order_by(Store.id)).all()
    weights = dict(db.session.execute(select(Customer.store_id, func.count()).group_by(Customer.store_id)).all())
    store_ids = [s.id for s in stores]
    owner = {s.id: s.franchisee_id for s in stores}
    chosen = rng.choices(store_ids, weights=[weights.get(i, 1) for i in store_ids], k=total)
    # A fifth name a customer file: a sample of each store's customers (every 16th id).
    known: dict[int, list] = {}
    for cid, store_id, name, mobile in db.session.execute(
            select(Customer.id, Customer.store_id, Customer.name, Customer.mobile)
            .where(Customer.id % 16 == 3, Customer.mobile.is_not(None))).all():
        known.setdefault(store_id, []).append((cid, name, mobile))
    next_complaint = (db.session.scalar(select(func.max(Complaint.id))) or 0) + 1
    next_event = (db.session.scalar(select(func.max(ComplaintEvent.id))) or 0) + 1
    used_refs = set(db.session.scalars(select(Complaint.reference)).all())
    complaints, events, written = [], [], 0
    for n, store_id in enumerate(chosen):
        row, lines = _complaint(rng, next_complaint + n, store_id, owner[store_id], known.get(store_id), categories,
                                channels, rules, now, used_refs)
        complaints.append(row)
        for line in lines:
            events.append(line | {"id": next_event, "complaint_id": row["id"], "store_id": store_id,
                                  "franchisee_id": owner[store_id]})
            next_event += 1
        if len(complaints) >= BATCH:
            written += _flush(complaints, events)
            end_transaction()
            progress(f"complaints: {written:,}")
            complaints, events = [], []
    if complaints:
        written += _flush(complaints, events)
        end_transaction()
    return written


def _flush(complaints: list, events: list) -> int:
    db.session.execute(insert(Complaint.__table__), complaints)
    db.session.execute(insert(ComplaintEvent.__table__), events)
    return len(complaints)


def _hours(value) -> timedelta:
    return timedelta(seconds=int(value * 3600))


def _reference(rng, day, used: set) -> str:
    while True:
        reference = f"TS{day:%y%m%d}{rng.randrange(100000):05d}"
        if reference not in used:
            used.add(reference)
            return reference


def _complaint(rng, ident, store_id, franchisee_id, people, categories, channels, rules, now, used_refs):
    age_days = rng.triangular(0, HISTORY_DAYS, 0) if rng.random() < 0.9 else rng.uniform(0, 10)
    received = (now - timedelta(days=age_days)).replace(microsecond=0)
    # Keep inside opening hours, as most complaints are (10:00-21:00 Shanghai = 02:00-13:00 UTC).
    received = received.replace(hour=2 + rng.randrange(11), minute=rng.randrange(60), second=0)
    if received > now:
        received -= timedelta(days=1)
    kind = "complaint" if rng.random() < 0.9 else rng.choice(["suggestion", "praise"])
    code = rng.choice(CATEGORY_WEIGHTS)
    severity = "major" if kind == "complaint" and rng.random() < 0.03 else "general"
    rule = rules[severity]
    channel = rng.choice(CHANNELS)
    person = rng.choice(people) if people and kind == "complaint" and rng.random() < 0.2 else None
    row = {
        "id": ident, "store_id": store_id, "franchisee_id": franchisee_id,
        "reference": _reference(rng, received, used_refs), "kind": kind, "channel_id": channels[channel],
        "category_id": categories[code] if kind == "complaint" else None, "severity": severity,
        "multi_department": False, "customer_id": person[0] if person else None,
        "contact_name": person[1] if person else rng.choice("王李张刘陈杨黄赵吴周") + rng.choice(["女士", "先生"]),
        "contact_phone": person[2] if person else f"1{rng.choice('35789')}{rng.randrange(10**9):09d}",
        "contact_email": None, "social_url": "https://weibo.com/u/post" if channel == "social" else None,
        "title": rng.choice(TITLES[code]) if kind == "complaint" else ("建议增加周末服务" if kind == "suggestion" else "店员服务周到"),
        "description": "顾客反映：" + (rng.choice(TITLES[code]) if kind == "complaint" else "谢谢门店的服务"),
        "received_at": received, "received_by_id": None, "handler_id": None, "public": channel == "web_form",
        "status": "received", "is_open": True,
        "acknowledge_due_at": CALENDAR.add(received, _hours(rule.acknowledge)),
        "resolve_due_at": CALENDAR.add(received, _hours(rule.resolve)),
        "acknowledged_at": None, "resolved_at": None, "closed_at": None, "waiting_since": None,
        "waiting_reason": None, "resolved_in_time": None, "acknowledged_in_time": None, "reopen_count": 0,
        "ack_alert_level": 0, "alert_level": 0, "hq_alerted_at": None,
        "escalated": severity == "major", "escalated_at": received if severity == "major" else None,
        "escalation_reason": None, "hq_due_at": None, "hq_plan": None, "hq_done_at": None, "checklist": 0,
        "resolution": None, "remedies": None, "compensation": None, "carrier": None, "carrier_part": None,
        "root_cause": None, "corrective_action": None, "preventive_action": None, "capa_owner": None,
        "capa_due_on": None, "capa_verified_at": None, "capa_verified_by_id": None, "capa_verification": None,
        "follow_up_score": None, "follow_up_note": None, "followed_up_at": None, "privacy_consent_at": None,
        "progress_token_hash": None, "public_submission": None, "created_at": received, "updated_at": received,
        "version": 1,
        # Suggestions and praise wait for headquarters' classification (issue 15).
        "feedback_state": None if kind == "complaint" else "new", "sentiment": None, "impact": None,
        "classified_at": None, "classified_by_id": None,
    }
    if severity == "major":
        row["hq_due_at"] = CALENDAR.add(received, _hours(rule.hq))
    lines = [{"at": received, "actor_id": None, "kind": "created", "from_status": None, "to_status": "received",
              "method": None, "note": None, "public": True, "data": None}]

    def step(status, at, note=None, data=None):
        lines.append({"at": at, "actor_id": None, "kind": "status", "from_status": row["status"], "to_status": status,
                      "method": None, "note": note, "public": True, "data": data})
        row["status"] = status
        row["updated_at"] = at

    # How far it got: older complaints got further.
    progress_draw = rng.random()
    late = rng.random() < 0.12
    ack_at = received + timedelta(minutes=rng.randrange(10, 60 * (6 if late else 2)))
    if ack_at > now:
        return row, lines
    row["acknowledged_at"], row["acknowledged_in_time"] = ack_at, ack_at <= row["acknowledge_due_at"]
    if kind != "complaint":
        step("closed", ack_at, "已致谢")
        row.update(is_open=False, closed_at=ack_at)
        return row, lines
    step("acknowledged", ack_at)
    if age_days < 3 and progress_draw < 0.5:
        if rng.random() < 0.2:
            row["waiting_since"], row["waiting_reason"] = ack_at + timedelta(hours=1), "等顾客提供照片"
        return row, lines
    took = timedelta(hours=rng.uniform(2, 40 if late else 20))
    resolved_at = received + took
    if resolved_at > now:
        return row, lines
    step("resolved", resolved_at, "已处理", {"remedies": [REMEDIES[code]], "compensation": None})
    row.update(is_open=False, resolved_at=resolved_at, resolved_in_time=resolved_at <= row["resolve_due_at"],
               resolution="已处理：" + REMEDIES[code], remedies=REMEDIES[code])
    if severity == "major":
        row.update(hq_plan="联合处理方案", hq_done_at=resolved_at - timedelta(hours=1), root_cause="批次问题",
                   corrective_action="更换批次", preventive_action="来料抽检", capa_owner="质量部",
                   capa_due_on=(resolved_at + timedelta(days=30)).date(), capa_verified_at=resolved_at)
    follow_at = resolved_at + timedelta(days=1)
    if follow_at > now or rng.random() < 0.04:
        return row, lines  # the follow-up call is still owed
    score = rng.choices([1, 2, 3, 4, 5], weights=[3, 5, 12, 40, 40])[0]
    row.update(follow_up_score=score, followed_up_at=follow_at)
    if score <= 2:
        row["reopen_count"] = 1
        step("reopened", follow_at, None, {"score": score})
        again = follow_at + timedelta(hours=rng.uniform(3, 30))
        if again > now:
            row.update(is_open=True, resolved_at=None, resolved_in_time=None)
            return row, lines
        step("resolved", again, "再次处理", {"remedies": ["compensation"], "compensation": None})
        row.update(resolved_at=again, remedies=f"{REMEDIES[code]},compensation",
                   resolved_in_time=again <= row["resolve_due_at"])
        follow_at = again + timedelta(days=1)
        if follow_at > now:
            return row, lines
        row.update(follow_up_score=4, followed_up_at=follow_at)
    step("follow_up", follow_at)
    closed_at = follow_at + timedelta(hours=1)
    if closed_at <= now:
        step("closed", closed_at)
        row["closed_at"] = closed_at
    return row, lines


def finish(progress) -> None:
    """The customers' unresolved complaints, from the complaints just loaded (the churn flags
    follow in the nightly job that ``rebuild_all`` runs)."""
    counts = db.session.execute(
        select(Complaint.customer_id, func.count()).where(Complaint.customer_id.is_not(None),
                                                          Complaint.kind == "complaint", Complaint.is_open.is_(True))
        .group_by(Complaint.customer_id)).all()
    for customer_id, count in counts:
        db.session.execute(update(Customer).where(Customer.id == customer_id).values(open_complaints=count)
                           .execution_options(synchronize_session=False))
    progress(f"customers with unresolved complaints: {len(counts):,}")
