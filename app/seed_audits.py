"""Demo audits: four quarters per store, driven through the real workflow with the time of each
step given, so scores, findings, corrective actions, appeals and the quarter figures are what the
portal itself would have recorded. Earlier quarters are published (most actions answered and
accepted, some overdue, an appeal granted and one pending); this quarter has visits planned,
one being conducted, one submitted and not yet published. One generator per store code: the same
demo every run; a store that already has audits is left alone."""
import io
import random
from datetime import datetime, timedelta

from PIL import Image, ImageDraw
from sqlalchemy import func, select

from app.extensions import db
from app.models import CorrectiveAction, Store, StoreAudit, User
from app.models.base import local_date, utcnow
from app.services.audits import templates, workflow

FINDINGS = {
    "yes_no": ["当班店员未做到", "稽核时未观察到", "两次到店均未做到"],
    "scale": ["做得不够主动", "介绍不完整，需顾客追问", "回答含糊"],
}
RESPONSES = [("已召开班前会重申服务规范，并逐一演练", "新员工未经完整培训即上岗", "新员工上岗前须通过服务规范考核"),
             ("已更换全部价签并复核", "调价后未及时更换价签", "每次调价当日由店长核对价签"),
             ("已整理门店并明确每日清洁分工", "清洁分工不明确", "每日开店前按清单检查")]


def _photo(text: str) -> bytes:
    image = Image.new("RGB", (320, 240), (236, 230, 220))
    ImageDraw.Draw(image).text((12, 110), text, fill=(90, 60, 40))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _quarter_back(year: int, quarter: int, n: int) -> tuple[int, int]:
    index = year * 4 + quarter - 1 - n
    return index // 4, index % 4 + 1


def seed_audits(stores: list[Store], now: datetime | None = None) -> int:
    now = (now or utcnow()).replace(microsecond=0)
    template = templates.install_defaults()
    hq = db.session.scalar(select(User).where(User.role == "hq_auditor").order_by(User.id))
    # Appeals are decided by someone other than the auditor who made the finding.
    admin = db.session.scalar(select(User).where(User.role == "hq_admin").order_by(User.id)) or hq
    shopper = db.session.scalar(select(User).where(User.role == "mystery_shopper").order_by(User.id))
    if hq is None:
        return 0
    auditors = [u for u in (hq, shopper) if u is not None]
    created = 0
    year, quarter = workflow.quarter_of(local_date(now))
    for position, store in enumerate(stores):
        if store.status != "open" or db.session.scalar(
                select(func.count()).select_from(StoreAudit).where(StoreAudit.store_id == store.id)):
            continue
        rng = random.Random(f"audits-{store.code}")
        quality = 0.72 + rng.random() * 0.25  # how well this store keeps its standards
        managers = db.session.scalars(select(User).where(User.franchisee_id == store.franchisee_id, User.role.in_(
            ("store_manager", "franchise_owner"))).order_by(User.role.desc(), User.id)).all()
        owner = next((u for u in managers if u.role == "franchise_owner"), None)
        for back in (3, 2, 1):
            y, q = _quarter_back(year, quarter, back)
            visit = now - timedelta(days=91 * back - rng.randint(0, 40))
            audit = _conducted(store, template, hq, auditors[(position + back) % len(auditors)], y, q, visit,
                               quality, rng)
            recheck = workflow.publish(audit, hq, now=visit + timedelta(days=2))
            created += 1
            if recheck is not None and back > 1:  # earlier quarters' re-checks were done, and went better
                _conduct(recheck, template, recheck.auditor or hq, visit + timedelta(days=25), min(quality + 0.15, 0.97), rng)
                workflow.publish(recheck, hq, now=visit + timedelta(days=27))
                _answer_actions(recheck, managers, owner, hq, visit + timedelta(days=25), rng, last=False, appeal=False,
                                judge=admin)
                created += 1
            _answer_actions(audit, managers, owner, hq, visit, rng, last=back == 1, appeal=position % 3 == back % 3,
                            judge=admin)
        # This quarter: the state depends on the store, so every state is in the demo.
        state = position % 4
        if state == 0:
            audit = _conducted(store, template, hq, shopper or hq, year, quarter, now - timedelta(days=3), quality, rng)
            created += 1  # submitted, waiting for headquarters to publish it
        elif state == 1 and shopper is not None:
            audit = workflow.plan(store, template, year, quarter, hq, auditor=shopper)
            workflow.start(audit, shopper, now=now - timedelta(hours=1))
            workflow.save_answers(audit, shopper, {item.id: {"value": 1 if item.scoring == "yes_no" else 4}
                                                   for item in template.items[:8]}, scenario="咨询儿童房家具")
            created += 1
        else:
            workflow.plan(store, template, year, quarter, hq, auditor=auditors[position % len(auditors)],
                          due_on=local_date(now) + timedelta(days=7 + position * 3))
            created += 1
    db.session.flush()
    return created


def _conducted(store, template, hq, auditor, year, quarter, visit, quality, rng) -> StoreAudit:
    """An audit planned, visited at ``visit`` and submitted, with answers drawn for the store."""
    audit = workflow.plan(store, template, *workflow.quarter_of(local_date(utcnow())), hq, auditor=auditor)
    audit.year, audit.quarter = year, quarter
    audit.due_on = workflow.quarter_end(year, quarter)
    return _conduct(audit, template, auditor, visit, quality, rng)


def _conduct(audit, template, auditor, visit, quality, rng) -> StoreAudit:
    store = audit.store
    workflow.start(audit, auditor, now=visit)
    values = {}
    for item in template.items:
        if item.allow_na and rng.random() < 0.25:
            values[item.id] = {"na": True}
            continue
        good = rng.random() < quality
        if item.scoring == "yes_no":
            values[item.id] = {"value": 1 if good else 0}
        else:
            values[item.id] = {"value": rng.choice((4, 5, 5)) if good else rng.choice((2, 3))}
        if not good:
            values[item.id]["note"] = rng.choice(FINDINGS[item.scoring])
    workflow.save_answers(audit, auditor, values, scenario=rng.choice(
        ["购买沙发，询问送货与安装", "为新房挑选餐桌椅，对价格表示犹豫", "退换一件有瑕疵的台灯", "咨询床垫并对等候时间表示不满"]))
    for item in template.items:
        given = values.get(item.id, {})
        if item.photo_on_fail and given.get("note"):
            workflow.add_photo(audit, auditor, _photo(f"{store.code} {item.id}"), item=item)
    workflow.submit(audit, auditor, now=visit + timedelta(minutes=rng.choice((12, 35, 48, 55, 70))))
    return audit


def _answer_actions(audit, managers, owner, hq, visit, rng, last: bool, appeal: bool, judge) -> None:
    """Earlier quarters' actions answered and accepted; the last quarter's partly open (some
    overdue), one sent back, and an appeal."""
    actions = db.session.scalars(select(CorrectiveAction).where(CorrectiveAction.audit_id == audit.id)
                                 .order_by(CorrectiveAction.id)).all()
    for n, action in enumerate(actions):
        responder = managers[n % len(managers)] if managers else None
        if responder is None:
            return
        if appeal and n == 0 and owner is not None:
            workflow.appeal(action, owner, "到访当天为促销日，客流远超平日，店员已尽力接待", now=visit + timedelta(days=4))
            if not last:
                workflow.decide_appeal(action, judge if judge.id != audit.auditor_id else hq, True, "核对当日客流记录后认可申诉，按 4 分计", new_value=None
                                       if action.item.scoring == "yes_no" else 4, now=visit + timedelta(days=6))
            continue
        if last and n % 3 == 2:
            continue  # still open; overdue once its due date passes
        text, cause, prevent = rng.choice(RESPONSES)
        workflow.respond(action, responder, text, cause, prevent, now=visit + timedelta(days=5))
        if last and n % 3 == 1:
            if n == 1:
                workflow.verify(action, hq, False, "照片未显示整改后的情况，请补充", now=visit + timedelta(days=7))
            continue  # answered, waiting to be verified
        workflow.verify(action, hq, True, "抽查确认已整改", now=visit + timedelta(days=8))
