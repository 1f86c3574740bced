"""Plain factory functions and the two-franchisee world every isolation test uses."""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from decimal import Decimal

from app.models import (
    CalendarDay, CareHoliday, Contact, Customer, CustomerImport, Franchisee, LostReason, MembershipTier, Purchase, Region,
    Store, StoreOwnership, User,
)
from app.services.customer_fields import name_key
from app.models.base import local_today

PASSWORD = "correct horse battery"
_hash_cache: dict[str, str] = {}


def password_hash(password: str = PASSWORD) -> str:
    # argon2 is slow on purpose; tests hash each distinct password once.
    from app.security.passwords import hash_password

    if password not in _hash_cache:
        _hash_cache[password] = hash_password(password)
    return _hash_cache[password]


def make_region(code: str, name: str) -> Region:
    region = Region(code=code, name=name)
    db.session.add(region)
    db.session.flush()
    return region


def make_franchisee(name: str, contract_no: str, **values) -> Franchisee:
    values = {
        "legal_entity": f"{name}有限公司",
        "contract_start": date(2020, 1, 1),
        "contract_end": date(2030, 12, 31),
        "owner_name": "负责人",
        "owner_phone": "13800000000",
        **values,
    }
    franchisee = Franchisee(name=name, contract_no=contract_no, **values)
    db.session.add(franchisee)
    db.session.flush()
    return franchisee


def make_store(code: str, name: str, franchisee: Franchisee, region: Region, opened_on=date(2021, 1, 1)) -> Store:
    store = Store(
        code=code, name=name, franchisee_id=franchisee.id, region_id=region.id,
        city="上海", address=f"{name}地址", opened_on=opened_on,
    )
    db.session.add(store)
    db.session.flush()
    db.session.add(StoreOwnership(store_id=store.id, franchisee_id=franchisee.id, start_on=opened_on))
    db.session.flush()
    return store


def make_user(username: str, role: str, *, franchisee=None, stores=(), regions=(), department=None, **values) -> User:
    user = User(
        username=username,
        display_name=values.pop("display_name", username),
        email=values.pop("email", f"{username}@example.cn"),
        role=role,
        password_hash=password_hash(values.pop("password", PASSWORD)),
        franchisee_id=franchisee.id if franchisee else None,
        stores=list(stores),
        regions=list(regions),
        department=department,
        **values,
    )
    db.session.add(user)
    db.session.flush()
    return user


@dataclass
class World:
    """Franchisee A (region East) and franchisee B (region North), two stores each, every role."""

    a: Franchisee
    b: Franchisee
    east: Region
    north: Region
    a_stores: list[Store]
    b_stores: list[Store]
    users: dict[str, User] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    complaints: dict = field(default_factory=dict)
    audits: dict = field(default_factory=dict)
    staff: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    surveys: dict = field(default_factory=dict)
    logistics: dict = field(default_factory=dict)
    reports: dict = field(default_factory=dict)
    loyalty: dict = field(default_factory=dict)
    governance: dict = field(default_factory=dict)

    @property
    def b_markers(self) -> list[str]:
        """Strings that only B's data contains: none may reach a user outside B's scope."""
        b_customer = self.customers["b"]
        return [self.b.name, self.b.legal_entity, self.b.contract_no, *(s.name for s in self.b_stores),
                *(s.code for s in self.b_stores), self.users["owner_b"].display_name,
                b_customer.name, b_customer.mobile, b_customer.email, "乙方秘密商品", "乙方秘密投诉",
                self.complaints["b"].reference, "乙方秘密稽核发现", self.audits["b"].reference,
                "乙方秘密员工", "乙方自办秘密课程", "乙方秘密培训讲师", "13900009999", "乙方秘密考核评语", "乙方秘密计划",
                "乙方秘密问卷建议", "乙方秘密回访记录", "乙方秘密整改措施",
                "乙方秘密评估意见", "乙方秘密配送备注", "BSECRET-TRACK-9",
                "乙方秘密积分调整", "乙方秘密兑换备注", "乙方秘密退货说明", "乙方秘密会员日优惠",
                "乙方秘密流失说明", "乙方秘密损失订单", "乙方秘密关系评估", "乙方秘密会员活动", "乙方秘密俱乐部",
                "乙方秘密活动反馈", "乙方秘密公告", "乙方秘密副本备注"]


def make_world() -> World:
    east, north = make_region("EAST", "华东区"), make_region("NORTH", "华北区")
    a = make_franchisee("甲方加盟商", "FR-A-001")
    b = make_franchisee("乙方秘密加盟商", "FR-B-SECRET")
    a_stores = [make_store("A01", "甲一店", a, east), make_store("A02", "甲二店", a, east)]
    b_stores = [make_store("B01", "乙一秘店", b, north), make_store("B02", "乙二秘店", b, north)]
    world = World(a, b, east, north, a_stores, b_stores)
    u = world.users
    u["admin"] = make_user("t-admin", "hq_admin")
    u["auditor"] = make_user("t-auditor", "hq_auditor")
    u["viewer"] = make_user("t-viewer", "hq_viewer")
    u["supervisor"] = make_user("t-supervisor", "hq_supervisor", regions=[east])
    u["dept"] = make_user("t-dept", "hq_department", department="customer_service")
    u["shopper"] = make_user("t-shopper", "mystery_shopper")
    u["owner_a"] = make_user("t-owner-a", "franchise_owner", franchisee=a)
    u["manager_a"] = make_user("t-manager-a", "store_manager", franchisee=a, stores=[a_stores[0]])
    u["staff_a"] = make_user("t-staff-a", "store_staff", franchisee=a, stores=[a_stores[0]])
    u["owner_b"] = make_user("t-owner-b", "franchise_owner", franchisee=b, display_name="乙方老板")
    u["manager_b"] = make_user("t-manager-b", "store_manager", franchisee=b, stores=[b_stores[0]])
    for rank, zh, en, spend, active in ((1, "普通会员", "Member", 0, 0), (2, "银卡会员", "Silver", 5000, 730),
                                        (3, "金卡会员", "Gold", 20000, 365)):
        db.session.add(MembershipTier(rank=rank, name_zh=zh, name_en=en, min_spend=Decimal(spend),
                                      active_within_days=active))
    db.session.add(CareHoliday(on=date(2030, 1, 1), name_zh="元旦", name_en="New Year's Day"))
    db.session.add(CalendarDay(on=date(2030, 10, 1), kind="closed", name="国庆节"))
    c = world.customers
    consented = {"consent": True, "consent_at": datetime(2026, 1, 5, 12), "consent_method": "paper",
                 "consent_purpose": "回访与会员活动"}
    c["a"] = make_customer(a_stores[0], "甲方顾客", mobile="13800000001", email="a-customer@example.cn", **consented)
    # A file from before consent was enforced: a mobile, no consent (R61: listed as "do not contact").
    c["a2"] = make_customer(a_stores[1], "甲二顾客", mobile="13800000002")
    c["b"] = make_customer(b_stores[0], "乙方秘密顾客", mobile="13911112222", email="b-secret@example.cn", **consented)
    b_purchase = make_purchase(c["b"], date(2024, 5, 1), "888.00", items="乙方秘密商品")
    db.session.add(Contact(customer_id=c["b"].id, store_id=c["b"].store_id, franchisee_id=c["b"].franchisee_id,
                           occurred_at=date(2024, 5, 3), method="phone", purpose="return_visit", outcome="乙方秘密商品回访"))
    db.session.add(CustomerImport(store_id=b_stores[0].id, franchisee_id=b.id, created_by_id=u["owner_b"].id,
                                  filename="b.csv", stored_as="b-missing.upload", file_kind="csv", size=10, state="ready"))
    db.session.flush()
    _world_complaints(world)
    _world_audits(world)
    _world_training(world)
    _world_surveys(world)
    _world_logistics(world, b_purchase)
    _world_reports(world)
    _world_loyalty(world, b_purchase)
    _world_governance(world)
    return world


def _world_governance(world: World) -> None:
    """Headquarters' manual with numbered copies held by A's owner and store manager and by B's
    owner (its register noting something only B may read), an announcement to every store and one
    to B's stores only."""
    from app.services.governance import announcements, manuals

    admin = world.users["admin"]
    manual = manuals.create_manual({"code": "FM-T", "title_zh": "测试手册", "title_en": "Test manual",
                                    "kind": "manual", "body_zh": "# 第一章\n手册正文", "body_en": None}, admin)
    manuals.publish(manuals.draft_of(manual), admin)
    a_copy = manuals.issue(manual, world.users["owner_a"], admin)
    manager_copy = manuals.issue(manual, world.users["manager_a"], admin)
    b_copy = manuals.issue(manual, world.users["owner_b"], admin, note="乙方秘密副本备注")
    every = announcements.save_draft(None, {"title": "全网通知", "body": "请各门店知悉", "audience": "all",
                                            "needs_ack": True, "ack_by": None}, [], admin)
    announcements.publish(every, admin)
    b_only = announcements.save_draft(None, {"title": "乙方秘密公告", "body": "只发给乙方门店", "audience": "stores",
                                             "needs_ack": True, "ack_by": None}, [s.id for s in world.b_stores], admin)
    announcements.publish(b_only, admin)
    # An improvement project opened from B's complaint (its source names B's complaint), with a
    # part for customer service (the department in the world) and one for logistics.
    from flask import current_app

    from app.services.governance import projects

    with current_app.test_request_context():
        project = projects.create({"title": "送货承诺改进", "goal": "准时率 95%", "department": "logistics",
                                   "impact": "high", "due_on": local_today() + timedelta(days=30)}, admin,
                                  projects.find_source("complaint", world.complaints["b"].id))
        db.session.flush()
        service_part = projects.add_part(project, "customer_service", "更新话术", local_today() + timedelta(days=20), admin)
        logistics_part = projects.add_part(project, "logistics", "核定时效", local_today() + timedelta(days=20), admin)
    db.session.flush()
    world.governance.update(manual=manual, a_copy=a_copy, manager_copy=manager_copy, b_copy=b_copy, every=every,
                            b_only=b_only, project=project, service_part=service_part, logistics_part=logistics_part)


def _world_loyalty(world: World, b_purchase: Purchase) -> None:
    """A reward in headquarters' catalogue; B's customer's points corrected by hand, a redemption
    and a return of B's purchase, each with a note only B may read."""
    from app.models import Reward
    from app.services.loyalty import redemption, returns

    reward = Reward(code="W-TOWEL", name_zh="毛巾礼盒", name_en="Towel box", kind="gift", points=300, stock=5)
    db.session.add(reward)
    db.session.flush()
    owner_b, customer = world.users["owner_b"], world.customers["b"]
    redemption.adjust(customer, 1000, "乙方秘密积分调整", owner_b)
    b_redemption = redemption.redeem(customer, reward, 1, "乙方秘密兑换备注", owner_b)
    b_return = returns.record_return(b_purchase, Decimal("88.00"), "quality", "乙方秘密退货说明", b_purchase.purchased_on,
                                     owner_b)
    from app.services.loyalty import offers

    # B's own offer for its first store (its title only B may read), issued to B's customer.
    b_offer = offers.save_offer(None, {
        "code": "B-SECRET-DAY", "title_zh": "乙方秘密会员日优惠", "title_en": "B member day", "kind": "percent",
        "value": Decimal("10"), "min_spend": Decimal("0"), "starts_on": local_today() - timedelta(days=1),
        "ends_on": local_today() + timedelta(days=30), "min_tier_rank": None, "description": None, "active": True},
        [world.b_stores[0]], world.b.id, owner_b)
    offers.issue(b_offer, select(Customer).where(Customer.id == customer.id), owner_b)
    from app.services.loyalty import relations

    # B's customer marked lost (stayed away since 2024), B's lost order, and a review of the relationship.
    relations.install_reasons()
    reason = db.session.scalar(select(LostReason).where(LostReason.code == "PRICE"))
    b_loss = relations.mark_lost(customer, reason, local_today() - timedelta(days=3), "乙方秘密流失说明", owner_b)
    b_order = relations.record_lost_order(world.b_stores[0], {
        "lost_on": local_today() - timedelta(days=2), "amount": Decimal("4500"), "items": "乙方秘密损失订单",
        "reason_id": reason.id, "competitor": None, "customer_id": None, "note": None}, owner_b)
    relations.record_review(customer, {"reviewed_on": local_today() - timedelta(days=1), "status": "stable", "quality": 4,
                                       "findings": "乙方秘密关系评估", "actions": None,
                                       "next_review_on": local_today() + timedelta(days=10)}, owner_b)
    from app.services.loyalty import events

    # B's club and member event, B's customer a member and a guest who came and said something.
    b_club = events.save_club(None, {"name": "乙方秘密俱乐部", "description": None, "store_id": world.b_stores[0].id,
                                     "active": True}, world.b.id, owner_b)
    only_b = select(Customer).where(Customer.id == customer.id)
    events.join(b_club, only_b, owner_b, local_today())
    b_event = events.save_event(None, {"title": "乙方秘密会员活动", "kind": "member_day", "theme": None,
                                       "starts_at": datetime(2026, 3, 1, 6), "place": None,
                                       "store_id": world.b_stores[0].id, "club_id": b_club.id, "description": None},
                                ["gift"], world.b.id, owner_b)
    events.invite(b_event, only_b, owner_b)
    guest = events.walk_in(b_event, customer, owner_b)
    events.feedback(guest, 5, "乙方秘密活动反馈", owner_b)
    world.loyalty.update(reward=reward, b_redemption=b_redemption, b_return=b_return, b_offer=b_offer, b_loss=b_loss,
                         b_order=b_order, b_club=b_club, b_event=b_event)


def _world_reports(world: World) -> None:
    """B's printed store report (2026H1, as B's owner printed it) and B's finished batch of both
    its stores' reports: their titles and file names name B's stores; nobody outside B may reach
    them. The PDF is one small real document rendered once per test process (the world is built
    for every test: rendering B's full reports each time cost a second a test)."""
    from app.models.base import utcnow
    from app.models.report import ReportBatch, ReportBatchItem
    from app.services import pdf, reports

    if "pdf" not in _B_PDF:
        _B_PDF["pdf"] = pdf.render("<html><body><h1>门店评估报告</h1><p>B01 乙一秘店 乙方秘密评估意见</p></body></html>")
    data, pages = _B_PDF["pdf"]
    owner_b, period = world.users["owner_b"], 20261
    batch = ReportBatch(period=period, language="zh_Hans", franchisee_id=world.b.id, status="done", runner="inline",
                        total=2, done=2, created_by_id=owner_b.id, started_at=utcnow(), finished_at=utcnow())
    db.session.add(batch)
    db.session.flush()
    made = []
    for store in world.b_stores:
        owners = {"store_id": store.id, "franchisee_id": world.b.id}
        made.append(reports._keep("store", period, "zh_Hans", f"门店评估报告 · {store.code} {store.name} · 2026H1",
                                  owners, data, pages, 0, owner_b, batch.id))
        db.session.add(ReportBatchItem(batch_id=batch.id, status="done", report_id=made[-1].id, **owners))
    db.session.flush()
    world.reports.update(b_report=made[0], b_batch=batch)


_B_PDF: dict = {}


def _world_logistics(world: World, b_purchase: Purchase) -> None:
    """A carrier headquarters lists; the delivery of B's purchase (damaged, with a tracking number
    and note only B may read), and B's complaint about it. (A's deliveries are made by the tests
    that need them: a purchase more for A's customers would change the customer tests' counts.)"""
    from app.models.logistics import LogisticsPartner
    from app.services import logistics

    partner = LogisticsPartner(code="SF", name="顺丰速运", active=True)
    db.session.add(partner)
    db.session.flush()
    # Left an hour ago (whatever the hour in Shanghai), promised for today.
    from app.models.base import utcnow

    moment = utcnow().replace(microsecond=0) - timedelta(hours=1)
    b_shipment = logistics.record_shipment(b_purchase, {
        "partner_id": partner.id, "dispatched_at": moment, "promised_on": local_today(),
        "tracking_no": "BSECRET-TRACK-9", "note": "乙方秘密配送备注"}, world.users["owner_b"])
    b_shipment.state, b_shipment.delivered_at, b_shipment.on_time, b_shipment.damaged = "delivered", moment, True, True
    world.complaints["b"].shipment_id = b_shipment.id
    db.session.flush()
    logistics.rebuild()
    world.logistics.update(partner=partner, b_shipment=b_shipment)


def make_audit(store: Store, auditor: User, planner: User, *, finding: str = "未主动问候顾客", publish: bool = True,
               minutes: int = 45, failing_value: int = 2):
    """An audit as the portal conducts one: planned for this quarter, visited, every item
    answered (full marks but one 0-5 item, "主动问候", scored ``failing_value`` with the
    note ``finding``), submitted and, if ``publish``, published."""
    from datetime import timedelta

    from app.models.base import utcnow
    from app.services.audits import templates, workflow

    template = templates.install_defaults()
    audit = workflow.plan(store, template, *workflow.quarter_of(local_today()), planner, auditor=auditor)
    start = utcnow() - timedelta(hours=2)
    workflow.start(audit, auditor, now=start)
    values = {}
    for item in template.items:
        if item.text_zh == "主动问候，表达乐于服务的意愿":
            values[item.id] = {"value": failing_value, "note": finding}
        else:
            values[item.id] = {"value": 1 if item.scoring == "yes_no" else 5}
    workflow.save_answers(audit, auditor, values, scenario="购买沙发，询问送货时间")
    workflow.submit(audit, auditor, now=start + timedelta(minutes=minutes))
    if publish:
        workflow.publish(audit, planner)
    db.session.flush()
    return audit


def _world_audits(world: World) -> None:
    """A published audit of A's first store (by the HQ auditor), an unpublished one of A's second
    (by the mystery shopper: A's people must not see it), and a published one of B's with a
    photo (nothing of it may reach anyone outside B)."""
    from app.models import AuditPhoto

    u = world.users
    world.audits["a"] = make_audit(world.a_stores[0], u["auditor"], u["auditor"])
    world.audits["a_unpublished"] = make_audit(world.a_stores[1], u["shopper"], u["auditor"],
                                               finding="甲方未发布的稽核发现", publish=False)
    world.audits["b"] = make_audit(world.b_stores[0], u["auditor"], u["auditor"], finding="乙方秘密稽核发现")
    world.audits["b_unpublished"] = make_audit(world.b_stores[1], u["auditor"], u["auditor"],
                                               finding="乙方秘密稽核发现：未发布", publish=False)
    b = world.audits["b"]
    db.session.add(AuditPhoto(audit_id=b.id, item_id=b.actions[0].item_id, store_id=b.store_id,
                              franchisee_id=b.franchisee_id, stored_as="b-secret-photo-missing.jpg",
                              content_type="image/jpeg", size=10))
    db.session.flush()


def _world_training(world: World) -> None:
    """Headquarters' defaults; a team member in A's first store (with the manager's login) and in
    B's; B's own course and session, with its employee's passed result and certificate."""
    from app.models import Course, Employee, TrainingSession
    from app.services.training import defaults, records, sessions

    positions = defaults.install(date(2026, 1, 1))
    u = world.users
    a = Employee(name="甲方店员", store_id=world.a_stores[0].id, position_id=positions["SALES"].id,
                 hire_date=date(2026, 1, 10), phone="13800001111")
    manager = Employee(name="甲方店长", store_id=world.a_stores[0].id, position_id=positions["MGR"].id,
                       hire_date=date(2025, 6, 1), user_id=u["manager_a"].id)
    b = Employee(name="乙方秘密员工", store_id=world.b_stores[0].id, position_id=positions["SALES"].id,
                 hire_date=date(2026, 1, 10), phone="13900009999")
    for employee in (a, manager, b):
        records.create(employee, None)
    course = Course(code="B-OWN-1", title="乙方自办秘密课程", topic="product", kind="internal", hours=Decimal("2"),
                    pass_mark=60, validity_months=12, franchisee_id=world.b.id)
    db.session.add(course)
    db.session.flush()
    session = TrainingSession(course_id=course.id, held_on=date(2026, 3, 1), trainer="乙方秘密培训讲师",
                              place="乙一秘店", franchisee_id=world.b.id)
    db.session.add(session)
    db.session.flush()
    session.reference = sessions.reference_of(session)
    sessions.invite(session, [world.b_stores[0].id])
    errors, _ = sessions.record(session, [sessions.Entry(b.id, True, "88")], u["owner_b"], today=date(2026, 3, 2))
    assert not errors, errors
    from app.models import AppraisalPeriod
    from app.services.training import appraisals

    period = AppraisalPeriod(kind="half", starts_on=date(2026, 1, 1), ends_on=date(2026, 6, 30))
    db.session.add(period)
    db.session.flush()
    appraisals.save(b, period, {i.id: Decimal(80) for i in appraisals.indicators()}, "乙方秘密考核评语", u["owner_b"])
    from app.models import PlanEntry, TrainingPlan

    plan = TrainingPlan(franchisee_id=world.b.id, year=2026)
    db.session.add(plan)
    db.session.flush()
    db.session.add(PlanEntry(plan_id=plan.id, course_id=course.id, month=5, kind="internal", note="乙方秘密计划"))
    world.training.update(period=period, b_plan=plan)
    world.staff.update(a=a, manager=manager, b=b)
    world.training.update(b_course=course, b_session=session)
    db.session.flush()


def make_complaint(store: Store, title: str, *, actor=None, customer=None, received_at=None, **values):
    """A complaint recorded as the intake form records one (deadlines, timeline, escalation)."""
    from app.services.complaints import settings, workflow

    settings.install_defaults()
    channel = settings.channel_by_code(values.pop("channel", "phone"))
    category = next(c for c in settings.categories() if c.code == values.pop("category", "quality"))
    data = {"kind": "complaint", "channel_id": channel.id, "category_id": category.id, "severity": "general",
            "contact_name": "顾客", "contact_phone": "13800000009", "title": title, "description": title + "：详情",
            "received_at": received_at or datetime(2026, 3, 2, 2, 0)} | values
    return workflow.open_complaint(store, data, actor, customer=customer,
                                   now=max(data["received_at"], datetime(2026, 3, 2, 2, 0)))


def _world_complaints(world: World) -> None:
    """A's complaint has a task for customer service (the world's department member); B's, a
    major one, only for logistics: the department member must see A's and nothing of B's."""
    from app.services.complaints import workflow

    u = world.users
    a = make_complaint(world.a_stores[0], "甲方投诉：沙发开裂", actor=u["staff_a"], customer=world.customers["a"])
    workflow.escalate(a, u["manager_a"], "涉及物流与客服", now=datetime(2026, 3, 2, 3, 0))
    workflow.add_task(a, u["auditor"], "customer_service", "致电顾客致歉", date(2026, 3, 5))
    b = make_complaint(world.b_stores[0], "乙方秘密投诉", actor=u["manager_b"], customer=world.customers["b"],
                       severity="major", contact_name="乙方秘密顾客", contact_phone="13911112222")
    workflow.add_task(b, u["auditor"], "logistics", "乙方秘密投诉：查物流", date(2026, 3, 5))
    workflow.communicate(b, u["manager_b"], "phone", "乙方秘密投诉回电", now=datetime(2026, 3, 2, 3, 0))
    from app.models import ComplaintAttachment

    db.session.add(ComplaintAttachment(complaint_id=b.id, store_id=b.store_id, franchisee_id=b.franchisee_id,
                                       filename="乙方秘密投诉.pdf", stored_as="b-secret-missing.pdf",
                                       content_type="application/pdf", size=10))
    world.complaints.update(a=a, b=b)
    db.session.flush()


def make_customer(store: Store, name: str, **values) -> Customer:
    customer = Customer(store_id=store.id, franchisee_id=store.franchisee_id, code=values.pop("code", None) or f"{store.code}-{name}",
                        name=name, name_key=name_key(name), **values)
    if customer.birthday:
        customer.birthday_md = customer.birthday.month * 100 + customer.birthday.day
    db.session.add(customer)
    db.session.flush()
    # As the portal does on every insert: the new record is checked for duplicates at once.
    from app.services import customer_duplicates

    customer_duplicates.refresh_for([customer.id])
    return customer


def make_purchase(customer: Customer, day: date, amount: str, items: str = "商品") -> Purchase:
    """A purchase with the customer's figures refreshed, as the portal records one."""
    from app.services import customer_analytics

    purchase = Purchase(customer_id=customer.id, store_id=customer.store_id, franchisee_id=customer.franchisee_id,
                        purchased_on=day, amount=Decimal(amount), items=items, points_earned=int(Decimal(amount)))
    db.session.add(purchase)
    db.session.flush()
    customer_analytics.refresh([customer.id])
    from app.services import customer_care, rollups

    customer_care.add_after_sale_tasks(purchase, customer_analytics.get_rules(), local_today())
    rollups.touch(customer.store_id, day)
    return purchase


def _world_surveys(world: World) -> None:
    """Seed 004's questionnaire approved by the committee; a 2026H1 survey collecting responses;
    one response about A's first store and one about B's (a very low answer, followed up, with a
    suggestion only B may read), and an unused invitation for B's customer."""
    from app.models.survey import SurveyInvitation
    from app.services.surveys import defaults, projects, responses

    questionnaire = defaults.install()
    projects.approve(questionnaire, world.users["viewer"])
    project = projects.create(name="2026上半年满意度调查", questionnaire=questionnaire, year=2026, half=1,
                              schedule_from=date(2026, 5, 15), purpose=None, created_by=world.users["auditor"])
    project.status = "fieldwork"
    questions = questionnaire.questions

    def answers(score, suggestion):
        raw = {q.id: str(score) for q in questions if q.kind == "scale"}
        raw[questions[7].id] = "yes"
        raw[questions[9].id] = suggestion
        return raw

    a_response = responses.record(project, world.a_stores[0], answers(4, "甲方问卷建议"), source="paper",
                                  answered_on=date(2026, 3, 1), entered_by=world.users["owner_a"])
    b_response = responses.record(project, world.b_stores[0], answers(1, "乙方秘密问卷建议"), source="paper",
                                  answered_on=date(2026, 3, 2), customer_id=world.customers["b"].id,
                                  entered_by=world.users["owner_b"])
    b_response.follow_up, b_response.follow_up_note = "done", "乙方秘密回访记录"
    invitation = SurveyInvitation(project_id=project.id, store_id=world.b_stores[0].id, franchisee_id=world.b.id,
                                  customer_id=world.customers["b"].id, token_hash="0" * 64, segment="current")
    db.session.add(invitation)
    db.session.flush()
    world.surveys.update(questionnaire=questionnaire, project=project, a_response=a_response, b_response=b_response,
                         b_invitation=invitation)
    # A satisfaction threshold the committee approved, 2026H1's figures and the warnings they raise
    # (B's store: index 20; its owner's action names a secret).
    from app.models.kpi import KpiThreshold
    from app.services import kpis

    threshold = KpiThreshold(kpi="csi", green=Decimal(85), red=Decimal(75), change_percent=Decimal(5))
    db.session.add(threshold)
    db.session.flush()
    kpis.approve_threshold(threshold, world.users["viewer"])
    kpis.refresh(20261, today=date(2026, 6, 30))
    made = kpis.evaluate(20261)
    b_warning = next(w for w in made if w.store_id == world.b_stores[0].id)
    b_warning.state, b_warning.action = "answered", "乙方秘密整改措施"
    db.session.flush()
    from app.services import evaluation

    scheme = evaluation.draft({"csi": Decimal(100)}, None)
    evaluation.approve(scheme, world.users["viewer"], kpis.approved_thresholds())
    evaluation.evaluate(20261)
    from sqlalchemy import select

    from app.models.kpi import StoreEvaluation

    b_evaluation = db.session.scalar(select(StoreEvaluation).where(StoreEvaluation.store_id == world.b_stores[0].id))
    b_evaluation.comment = "乙方秘密评估意见"
    db.session.flush()
    world.surveys.update(threshold=threshold, b_warning=b_warning, scheme=scheme, b_evaluation=b_evaluation)
