"""Complaint handling (issue 9; R17-R28): intake, deadlines on business hours, the workflow and
its refusals, escalation and joint handling, department grants, the customer's churn flag."""
import re
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CalendarDay, Complaint, ComplaintEvent, ComplaintTask, Customer, Store
from app.models.customer import CHURN_COMPLAINT
from app.security.tenancy import unscoped
from app.services import customer_analytics as analytics
from app.services.complaints import settings, workflow
from tests.factories import make_complaint

# Monday 2 March 2026, 10:00 in Shanghai (02:00 UTC).
MONDAY_10 = datetime(2026, 3, 2, 2, 0)


def utc(local: datetime) -> datetime:
    """A Shanghai wall-clock time as the naive UTC the database keeps."""
    return local - timedelta(hours=8)


def _complaint(app, ident) -> Complaint:
    with app.app_context(), unscoped():
        complaint = db.session.get(Complaint, ident)
        db.session.expunge(complaint)
        return complaint


def _store(ctx_store_id) -> Store:
    return db.session.get(Store, ctx_store_id)


def _user(world, key):
    from app.models import User

    return db.session.get(User, world.users[key])


def _intake(store_id, channel="phone", category="quality", **values):
    settings.install_defaults()
    data = {
        "kind": "complaint", "store_id": store_id, "channel_id": settings.channel_by_code(channel).id,
        "category_id": next(c.id for c in settings.categories() if c.code == category), "severity": "general",
        "contact_name": "王女士", "contact_phone": "138 0013 8000", "title": "沙发坐垫塌陷",
        "description": "买了三个月的沙发坐垫塌陷，要求换货。", "received_at": "2026-03-02T10:00",
    }
    return data | values


# --- intake ---------------------------------------------------------------------------------------

def test_staff_record_a_complaint_linked_to_the_customer_and_are_told_the_promised_time(app, world, login_as):
    staff = login_as("staff_a")
    with app.app_context(), unscoped():
        data = _intake(world.a_stores[0], lookup="13800000001")
    response = staff.post_form("/complaints/new", data)
    assert response.status_code == 302, response.text
    page = staff.get(response.headers["Location"])
    assert "沙发坐垫塌陷" in page.text
    with app.app_context(), unscoped():
        complaint = db.session.scalar(select(Complaint).where(Complaint.title == "沙发坐垫塌陷"))
        assert complaint.customer_id == world.customers["a"]
        assert complaint.franchisee_id == world.a and complaint.status == "received"
        assert complaint.contact_phone == "13800138000"
        # General rule: 2 business hours to acknowledge, 22 to resolve; the store is open 10-21
        # every day, so 22 hours from Monday 10:00 are Monday's 11 and Tuesday's 11: Tuesday 21:00.
        assert complaint.acknowledge_due_at == utc(datetime(2026, 3, 2, 12, 0))
        assert complaint.resolve_due_at == utc(datetime(2026, 3, 3, 21, 0))
        assert complaint.reference.startswith("TS260302") and len(complaint.reference) == 13
        customer = db.session.get(Customer, world.customers["a"])
        assert customer.open_complaints == 2 and customer.churn_flags & CHURN_COMPLAINT  # R28 (the world has one)
    assert complaint.reference in page.text


def test_intake_refuses_a_store_outside_the_scope_and_keeps_what_was_typed(app, world, login_as):
    staff = login_as("staff_a")
    with app.app_context(), unscoped():
        data = _intake(world.b_stores[0], description="顾客说的每一个字都要留下")
    response = staff.post_form("/complaints/new", data)
    assert response.status_code == 200 and "顾客说的每一个字都要留下" in response.text
    with app.app_context(), unscoped():
        assert db.session.scalar(select(Complaint).where(Complaint.description.like("顾客说的每一个字%"))) is None


def test_an_unknown_customer_is_refused_unless_a_file_is_opened_with_consent(app, world, login_as):
    manager = login_as("manager_a")
    with app.app_context(), unscoped():
        data = _intake(world.a_stores[0], lookup="13700000000", contact_phone="13700000000")
    response = manager.post_form("/complaints/new", data)
    assert response.status_code == 200 and "13700000000" in response.text
    response = manager.post_form("/complaints/new", data | {"create_customer": "y"})
    assert response.status_code == 200  # no consent: the file is not opened behind the customer's back (R61)
    response = manager.post_form("/complaints/new", data | {"create_customer": "y", "consent": "y"})
    assert response.status_code == 302
    with app.app_context(), unscoped():
        customer = db.session.scalar(select(Customer).where(Customer.mobile == "13700000000"))
        assert customer.consent and customer.store_id == world.a_stores[0] and customer.open_complaints == 1
        complaint = db.session.scalar(select(Complaint).where(Complaint.customer_id == customer.id))
        assert complaint.contact_name == "王女士"


def test_replaying_the_intake_form_records_it_once(app, world, login_as):
    staff = login_as("staff_a")
    with app.app_context(), unscoped():
        data = _intake(world.a_stores[0], submission="ab" * 16)
    first = staff.post_form("/complaints/new", data)
    again = staff.post_form("/complaints/new", data)
    assert first.headers["Location"] == again.headers["Location"]
    with app.app_context(), unscoped():
        assert len(db.session.scalars(select(Complaint).where(Complaint.title == "沙发坐垫塌陷")).all()) == 1


def test_a_major_complaint_goes_to_headquarters_with_its_own_clock(app, world, ctx):
    store = _store(world.a_stores[0])
    complaint = make_complaint(store, "重大：燃气灶漏气", severity="major", received_at=MONDAY_10)
    assert complaint.escalated and complaint.escalated_at == MONDAY_10
    # Headquarters' 24 business hours on office days (Mon-Fri 9-18): Monday 10:00 + 24 h =
    # Monday 8 h, Tuesday 9 h, Wednesday 7 h -> Wednesday 16:00.
    assert complaint.hq_due_at == utc(datetime(2026, 3, 4, 16, 0))
    # The store's clock for a major complaint: 55 hours of 10-21 -> Friday 21:00, after HQ's part.
    assert complaint.resolve_due_at == utc(datetime(2026, 3, 6, 21, 0))
    assert [e.kind for e in complaint.events] == ["created", "escalated"]


def test_suggestions_and_praise_take_no_category_or_escalation(app, world, ctx):
    store = _store(world.a_stores[0])
    praise = make_complaint(store, "店员很耐心", kind="praise", severity="major", multi_department=True)
    assert praise.category_id is None and praise.severity == "general" and not praise.escalated
    assert not workflow.allowed(praise, "resolve") and workflow.allowed(praise, "close_feedback")


# --- deadlines ------------------------------------------------------------------------------------

def test_deadlines_follow_the_store_hours_and_the_holiday_calendar(app, world, ctx):
    store = _store(world.a_stores[0])
    store.opens_at, store.closes_at, store.closed_weekdays = time(9), time(17), "6"  # closed on Sundays
    db.session.add(CalendarDay(on=date(2026, 3, 9), kind="closed", name="店休", stores_closed=True))
    db.session.add(CalendarDay(on=date(2026, 3, 10), kind="closed", name="只有总部休", stores_closed=False))
    db.session.flush()
    # Saturday 7 March 16:00 + 22 business hours: Saturday 1 h, Sunday closed, Monday closed
    # (stores closed), Tuesday 8 h (headquarters' holiday only), Wednesday 8 h, Thursday 5 h.
    complaint = make_complaint(store, "周末投诉", received_at=utc(datetime(2026, 3, 7, 16, 0)))
    assert complaint.resolve_due_at == utc(datetime(2026, 3, 12, 14, 0))


def test_waiting_on_the_customer_stops_the_clock_and_says_so(app, world, ctx):
    store = _store(world.a_stores[0])
    complaint = make_complaint(store, "需要顾客提供照片", received_at=MONDAY_10)
    actor = _user(world, "staff_a")
    due = complaint.resolve_due_at  # Tuesday 21:00
    workflow.acknowledge(complaint, actor, now=MONDAY_10 + timedelta(minutes=30))
    workflow.wait_on_customer(complaint, actor, "等顾客发照片", now=utc(datetime(2026, 3, 2, 15, 0)))
    assert not complaint.is_overdue(utc(datetime(2026, 3, 5, 12, 0)))  # paused: never late
    # The customer answers Tuesday 12:00: the pause lasted Monday 15-21 and Tuesday 10-12 = 8 h.
    workflow.resume(complaint, actor, now=utc(datetime(2026, 3, 3, 12, 0)))
    assert complaint.resolve_due_at == utc(datetime(2026, 3, 4, 18, 0)) and complaint.resolve_due_at > due
    assert complaint.events[-1].data == {"paused_hours": 8.0}


def test_the_store_and_headquarters_clocks_are_separate(app, world, ctx):
    store = _store(world.a_stores[0])
    complaint = make_complaint(store, "涉及多个部门", multi_department=True, received_at=MONDAY_10)
    actor = _user(world, "auditor")
    # HQ's part is due Wednesday 16:00; the store's 22 hours (Tuesday 21:00) were moved after it.
    assert complaint.resolve_due_at == utc(datetime(2026, 3, 4, 20, 0))
    late_for_hq = utc(datetime(2026, 3, 6, 15, 0))  # past both
    assert complaint.hq_overdue(late_for_hq) and complaint.is_overdue(late_for_hq)
    workflow.save_plan(complaint, actor, "客服与物流联合处理")
    workflow.add_task(complaint, actor, "logistics", "查物流", date(2026, 3, 4))
    workflow.add_task(complaint, actor, "customer_service", "回访顾客", date(2026, 3, 4))
    for task in complaint.tasks:
        workflow.complete_task(task, actor, "已完成", now=utc(datetime(2026, 3, 3, 11, 0)))
    workflow.finish_hq_part(complaint, actor, "总部部分完成", now=utc(datetime(2026, 3, 3, 12, 0)))
    assert not complaint.hq_overdue(late_for_hq)  # headquarters was in time...
    assert complaint.is_overdue(late_for_hq)  # ...the store, still not resolved, is not


# --- the workflow ---------------------------------------------------------------------------------

def _post(client, complaint_id, action, version, **data):
    return client.post_form(f"/complaints/{complaint_id}/{action}", {"version": version, **data})


def test_a_general_complaint_from_acknowledgement_to_closing_with_a_reopening(app, world, login_as):
    cid = world.complaints["a"]
    staff = login_as("staff_a")
    version = _complaint(app, cid).version
    assert _post(staff, cid, "acknowledge", version, note="已致电顾客").status_code == 302
    c = _complaint(app, cid)
    assert c.status == "acknowledged" and c.acknowledged_at is not None
    assert _post(staff, cid, "start", c.version).status_code == 302
    c = _complaint(app, cid)
    assert _post(staff, cid, "checklist", c.version, items=["willing", "empathy", "gave_name"]).status_code == 302
    c = _complaint(app, cid)
    assert c.checked("gave_name") and not c.checked("suggested")
    # Escalated (by the world): the open task comes first.
    response = _post(staff, cid, "resolve", c.version, resolution="更换坐垫", remedies=["replace"])
    assert response.status_code == 422 and "更换坐垫" in response.text
    with app.app_context(), unscoped():
        for task in db.session.scalars(select(ComplaintTask).where(ComplaintTask.complaint_id == cid)):
            workflow.complete_task(task, _user(world, "dept"), "已致歉")
        db.session.commit()
    c = _complaint(app, cid)
    response = _post(staff, cid, "resolve", c.version, resolution="更换坐垫")
    assert response.status_code == 422  # no remedy chosen
    assert _post(staff, cid, "resolve", c.version, resolution="更换坐垫", remedies=["replace"],
                 compensation="200").status_code == 302
    c = _complaint(app, cid)
    assert c.status == "resolved" and c.remedy_codes == ["replace"] and not c.is_open
    with app.app_context(), unscoped():
        customer = db.session.get(Customer, world.customers["a"])
        assert customer.open_complaints == 0 and not customer.churn_flags & CHURN_COMPLAINT
    # R25: "dissatisfied" reopens it, with a new promise.
    assert _post(staff, cid, "follow_up", c.version, score="2", method="phone", note="坐垫颜色不对").status_code == 302
    c = _complaint(app, cid)
    assert c.status == "reopened" and c.reopen_count == 1 and c.is_open and c.resolved_at is None
    with app.app_context(), unscoped():
        assert db.session.get(Customer, world.customers["a"]).open_complaints == 1
    assert _post(staff, cid, "resolve", c.version, resolution="换成同色坐垫", remedies=["replace"]).status_code == 302
    c = _complaint(app, cid)
    assert _post(staff, cid, "follow_up", c.version, score="5", method="phone").status_code == 302
    c = _complaint(app, cid)
    # Escalated, so the root cause and verified actions are needed to close (R24).
    response = _post(staff, cid, "close", c.version)
    assert response.status_code == 422 and _complaint(app, cid).status == "follow_up"
    assert _post(staff, cid, "capa", c.version, root_cause="供应商批次问题", corrective_action="更换该批次",
                 preventive_action="来料抽检", capa_owner="采购部", capa_due_on="2026-04-01").status_code == 302
    c = _complaint(app, cid)
    assert _post(staff, cid, "verify_capa", c.version, note="已核实").status_code == 403  # headquarters verifies
    assert _post(login_as("auditor"), cid, "verify_capa", c.version, note="已核实抽检记录").status_code == 302
    c = _complaint(app, cid)
    assert _post(staff, cid, "close", c.version).status_code == 302
    c = _complaint(app, cid)
    assert c.status == "closed" and c.closed_at is not None
    with app.app_context(), unscoped():
        kinds = db.session.scalars(select(ComplaintEvent.to_status).where(
            ComplaintEvent.complaint_id == cid, ComplaintEvent.kind == "status").order_by(ComplaintEvent.id)).all()
    assert kinds == ["acknowledged", "in_progress", "resolved", "reopened", "resolved", "follow_up", "closed"]
    # A follow-up is one timeline line with how the customer was reached, their words and score
    # (trial 4: it wrote two, the step and a bare "follow-up" line).
    page = staff.get(f"/complaints/{cid}").text
    assert page.count('data-testid="event-follow_up"') == 0
    assert "坐垫颜色不对" in page and "顾客对处理结果不满意（2 分" in page and "顾客对处理结果满意（5 分" in page


def test_a_step_the_state_does_not_allow_is_refused_and_changes_nothing(app, world, login_as):
    cid = world.complaints["a"]
    staff = login_as("staff_a")
    before = _complaint(app, cid)
    response = _post(staff, cid, "close", before.version)
    assert response.status_code == 422
    response = _post(staff, cid, "follow_up", before.version, score="5", method="phone")
    assert response.status_code == 422
    after = _complaint(app, cid)
    assert (after.status, after.version) == (before.status, before.version)
    assert _post(staff, cid, "no-such-step", before.version).status_code == 302


def test_two_people_acting_at_once_the_second_is_told_and_keeps_their_text(app, world, login_as):
    cid = world.complaints["a"]
    version = _complaint(app, cid).version
    first, second = login_as("staff_a"), login_as("manager_a")
    assert _post(first, cid, "start", version, note="我来处理").status_code == 302
    response = _post(second, cid, "wait", version, reason="等顾客寄回坐垫样品")
    assert response.status_code == 409 and "等顾客寄回坐垫样品" in response.text
    assert _complaint(app, cid).waiting_since is None


def test_read_only_roles_and_other_franchisees_cannot_act(app, world, login_as):
    cid = world.complaints["a"]
    version = _complaint(app, cid).version
    assert _post(login_as("viewer"), cid, "acknowledge", version).status_code == 403
    assert _post(login_as("supervisor"), cid, "acknowledge", version).status_code == 403
    assert _post(login_as("owner_b"), cid, "acknowledge", version).status_code == 404
    assert _complaint(app, cid).status == "received"


# --- department grants ----------------------------------------------------------------------------

def test_a_department_member_sees_only_the_complaints_their_tasks_reach(app, world, login_as):
    dept = login_as("dept")  # customer service: a task on A's complaint, none on B's
    queue = dept.get("/complaints/?tab=all")
    assert "甲方投诉" in queue.text and "乙方秘密投诉" not in queue.text
    page = dept.get(f"/complaints/{world.complaints['a']}")
    assert page.status_code == 200 and "致电顾客致歉" in page.text
    assert "13800000001" not in page.text  # the customer's phone stays masked for headquarters readers
    assert dept.get(f"/complaints/{world.complaints['b']}").status_code == 404
    tasks = dept.get("/complaints/tasks")
    assert "致电顾客致歉" in tasks.text and "乙方秘密" not in tasks.text
    with app.app_context(), unscoped():
        task = db.session.scalar(select(ComplaintTask).where(ComplaintTask.complaint_id == world.complaints["a"]))
        b_task = db.session.scalar(select(ComplaintTask).where(ComplaintTask.complaint_id == world.complaints["b"]))
        task_id, b_task_id = task.id, b_task.id
    assert dept.post_form(f"/complaints/tasks/{b_task_id}/done", {"outcome": "x"}).status_code == 404
    assert dept.post_form(f"/complaints/tasks/{task_id}/done", {"outcome": "已致电致歉"}).status_code == 302
    with app.app_context(), unscoped():
        task = db.session.get(ComplaintTask, task_id)
        assert task.done_at is not None and task.outcome == "已致电致歉"
        assert db.session.scalar(select(ComplaintEvent).where(ComplaintEvent.complaint_id == world.complaints["a"],
                                                              ComplaintEvent.kind == "task_done")) is not None
    # Nothing else of any tenant: no customers, no stores beyond the complaint's.
    assert dept.get("/customers/").status_code == 403


def test_joint_handling_needs_two_departments_and_a_plan(app, world, ctx):
    complaint = db.session.get(Complaint, world.complaints["a"])
    actor = _user(world, "auditor")
    for task in complaint.tasks:
        workflow.complete_task(task, actor, "done")
    with pytest.raises(workflow.ComplaintError):
        workflow.finish_hq_part(complaint, actor, "")  # no plan
    workflow.save_plan(complaint, actor, "联合处理方案")
    with pytest.raises(workflow.ComplaintError):
        workflow.finish_hq_part(complaint, actor, "")  # one department only (R21)
    task = workflow.add_task(complaint, actor, "logistics", "核查配送", date(2030, 1, 1))
    workflow.complete_task(task, actor, "配送无误")
    workflow.finish_hq_part(complaint, actor, "")
    assert complaint.hq_done_at is not None


# --- churn (R28) ----------------------------------------------------------------------------------

def test_the_nightly_churn_update_keeps_the_complaint_warning(app, world, ctx):
    analytics.update_churn(date(2026, 3, 10))
    customer = db.session.get(Customer, world.customers["a"])
    db.session.refresh(customer)
    assert customer.churn_flags & CHURN_COMPLAINT
    warnings = [w.reason for w in analytics.churn_warnings(customer)]
    assert "complaint" in warnings
    listed = db.session.scalars(select(Customer.id).where(
        analytics.churn_filter(analytics.get_rules(), date(2026, 3, 10), "complaint"))).all()
    assert world.customers["a"] in listed and world.customers["a2"] not in listed


def test_the_queue_lists_overdue_complaints_first_in_one_index_range(app, world, login_as, count_queries):
    owner = login_as("owner_a")
    owner.get("/complaints/")
    with count_queries() as statements:
        page = owner.get("/complaints/?tab=overdue")
    assert page.status_code == 200 and "甲方投诉" in page.text  # due in March 2026: late now
    assert len(statements) <= 12, statements


# --- the customer file (R28, R61) -----------------------------------------------------------------

def test_merging_customers_moves_their_complaints_and_counts(app, world, ctx):
    from app.services import customers as customer_files

    keep = db.session.get(Customer, world.customers["a2"])
    other = db.session.get(Customer, world.customers["a"])
    keep.store_id = other.store_id  # the same store, as duplicates usually are
    db.session.flush()
    customer_files.merge(keep, other, _user(world, "owner_a"))
    complaint = db.session.get(Complaint, world.complaints["a"])
    db.session.refresh(keep)
    db.session.refresh(other)
    assert complaint.customer_id == keep.id
    assert keep.open_complaints == 1 and keep.churn_flags & CHURN_COMPLAINT
    assert other.open_complaints == 0


def test_anonymising_a_customer_scrubs_their_complaints(app, world, ctx):
    from app.services import customers as customer_files

    customer = db.session.get(Customer, world.customers["a"])
    complaint = db.session.get(Complaint, world.complaints["a"])
    workflow.communicate(complaint, _user(world, "staff_a"), "phone", "顾客王女士说住在漕溪北路88号")
    db.session.flush()
    customer_files.anonymise(customer, "deletion", _user(world, "owner_a"))
    db.session.expire_all()
    complaint = db.session.get(Complaint, world.complaints["a"])
    assert complaint.contact_phone is None and complaint.description == "—" and complaint.title == "—"
    notes = db.session.scalars(select(ComplaintEvent.note).where(ComplaintEvent.complaint_id == complaint.id,
                                                                 ComplaintEvent.kind == "communication")).all()
    assert notes == [None]
    assert complaint.category_id is not None and complaint.received_at is not None  # the statistics keep


def test_complaints_show_on_the_customer_history_and_count_as_activity(app, world, login_as):
    with app.app_context(), unscoped():
        customer = db.session.get(Customer, world.customers["a"])
        customer.last_activity_on = date(2024, 1, 1)
        db.session.commit()
        make_complaint(db.session.get(Store, world.a_stores[0]), "又来投诉", customer=customer)
        db.session.commit()
        assert db.session.get(Customer, world.customers["a"]).last_activity_on > date(2024, 1, 1)
    page = login_as("manager_a").get(f"/customers/{world.customers['a']}")
    assert 'data-testid="timeline-complaint"' in page.text and "又来投诉" in page.text


def test_contact_details_of_public_complaints_are_erased_after_the_stated_days(app, world, ctx):
    from app.services.complaints import customers as complaint_files

    store = db.session.get(Store, world.a_stores[0])
    complaint = make_complaint(store, "网上投诉", public=True, contact_email="zhou@example.cn")
    complaint.status, complaint.is_open, complaint.closed_at = "closed", False, datetime(2026, 1, 1)
    db.session.flush()
    assert complaint_files.erase_closed_public(datetime(2026, 3, 1), 90) == 0  # 59 days: kept
    assert complaint_files.erase_closed_public(datetime(2026, 4, 2), 90) == 1
    db.session.refresh(complaint)
    assert complaint.contact_phone is None and complaint.contact_email is None


def test_the_follow_up_call_is_on_the_care_list_until_it_is_recorded(app, world, login_as):
    cid = world.complaints["a"]
    with app.app_context(), unscoped():
        complaint = db.session.get(Complaint, cid)
        for task in complaint.tasks:
            workflow.complete_task(task, _user(world, "auditor"), "已办")
        workflow.start(complaint, _user(world, "staff_a"))
        workflow.resolve(complaint, _user(world, "staff_a"), {"resolution": "换货", "remedies": ["replace"]})
        db.session.commit()
    manager = login_as("manager_a")
    care = manager.get("/customers/care?tab=complaint")
    assert f"/complaints/{cid}" in care.text and _complaint(app, cid).reference in care.text
    with app.app_context(), unscoped():
        complaint = db.session.get(Complaint, cid)
        workflow.record_follow_up(complaint, _user(world, "staff_a"), 4, "满意", "phone")
        db.session.commit()
    assert f"/complaints/{cid}" not in manager.get("/customers/care?tab=complaint").text


# --- defects found by trying it as a new user (issue 9 trial) -------------------------------------

def test_after_a_conflict_sending_the_kept_text_once_more_saves_it(app, world, login_as):
    cid = world.complaints["a"]
    version = _complaint(app, cid).version
    first, second = login_as("staff_a"), login_as("manager_a")
    assert _post(first, cid, "acknowledge", version).status_code == 302
    response = _post(second, cid, "communicate", version, method="phone", note="已告知顾客处理进度")
    assert response.status_code == 409
    kept_version = re.search(r'name="version" type="hidden" value="(\d+)"', response.text.split('action-communicate')[1])
    assert int(kept_version.group(1)) == _complaint(app, cid).version
    assert _post(second, cid, "communicate", int(kept_version.group(1)), method="phone",
                 note="已告知顾客处理进度").status_code == 302


@pytest.mark.parametrize("value", ["sNaN", "NaN", "Infinity", "1e5", "12.345", "abc", "-1", "1" * 25])
def test_odd_numbers_are_refused_with_a_message_not_an_error(app, world, login_as, value):
    cid = world.complaints["a"]
    with app.app_context(), unscoped():
        complaint = db.session.get(Complaint, cid)
        for task in complaint.tasks:
            workflow.complete_task(task, _user(world, "auditor"), "已办")
        db.session.commit()
    staff = login_as("staff_a")
    version = _complaint(app, cid).version
    _post(staff, cid, "start", version)
    response = _post(staff, cid, "resolve", _complaint(app, cid).version, resolution="换货", remedies=["replace"],
                     compensation=value)
    assert response.status_code == 422, value
    admin = login_as("admin")
    response = admin.post_form("/complaints/settings/rules", {"severity": "general", "category_id": "0",
                                                              "acknowledge_hours": value, "resolve_hours": "22",
                                                              "hq_hours": "24"})
    assert response.status_code == 422, value


@pytest.mark.parametrize("when", ["0001-01-01T00:00", "1900-01-01T10:00", "2999-01-01T10:00"])
def test_a_received_time_far_in_the_past_or_future_is_refused(app, world, login_as, when):
    staff = login_as("staff_a")
    with app.app_context(), unscoped():
        data = _intake(world.a_stores[0], received_at=when)
    response = staff.post_form("/complaints/new", data)
    assert response.status_code == 200 and "沙发坐垫塌陷" in response.text


def test_a_social_media_complaint_needs_the_link_to_the_post(app, world, login_as):
    staff = login_as("staff_a")
    with app.app_context(), unscoped():
        data = _intake(world.a_stores[0], channel="social")
    assert staff.post_form("/complaints/new", data).status_code == 200
    assert staff.post_form("/complaints/new", data | {"social_url": "javascript:alert(1)"}).status_code == 200
    assert staff.post_form("/complaints/new", data | {"social_url": "https://weibo.com/1234/abc"}).status_code == 302


def test_a_second_resolution_keeps_what_was_already_given(app, world, ctx):
    from decimal import Decimal

    store = db.session.get(Store, world.a_stores[0])
    complaint = make_complaint(store, "两次处理", received_at=MONDAY_10)
    staff = _user(world, "staff_a")
    workflow.start(complaint, staff, now=MONDAY_10)
    workflow.resolve(complaint, staff, {"resolution": "换货", "remedies": ["replace"], "compensation": Decimal("50")},
                     now=MONDAY_10 + timedelta(hours=2))
    workflow.record_follow_up(complaint, staff, 2, "不满意", "phone", now=MONDAY_10 + timedelta(hours=3))
    workflow.resolve(complaint, staff, {"resolution": "再补偿", "remedies": ["compensation"],
                                        "compensation": Decimal("100")}, now=MONDAY_10 + timedelta(hours=5))
    assert complaint.remedy_codes == ["replace", "compensation"] and complaint.compensation == Decimal("150")


def test_a_missed_first_answer_counts_as_overdue(app, world, login_as):
    with app.app_context(), unscoped():
        store = db.session.get(Store, world.a_stores[0])
        from app.models.base import utcnow

        complaint = make_complaint(store, "无人答复", received_at=utcnow() - timedelta(days=2))  # 2 h to answer
        complaint.resolve_due_at = utcnow() + timedelta(days=5)  # the resolution is not late yet
        db.session.commit()
    page = login_as("owner_a").get("/complaints/?tab=overdue")
    assert "无人答复" in page.text


def test_headquarters_part_done_is_not_offered_twice_and_empty_capa_is_refused(app, world, ctx):
    complaint = db.session.get(Complaint, world.complaints["a"])
    auditor = _user(world, "auditor")
    workflow.save_plan(complaint, auditor, "方案")
    workflow.add_task(complaint, auditor, "logistics", "核查", date(2030, 1, 1))
    for task in complaint.tasks:
        workflow.complete_task(task, auditor, "完成")
    workflow.finish_hq_part(complaint, auditor, "")
    assert not workflow.allowed(complaint, "hq_done") and not workflow.allowed(complaint, "task")
    with pytest.raises(workflow.ComplaintError):
        workflow.save_capa(complaint, auditor, {})
    events = len(complaint.events)
    workflow.save_capa(complaint, auditor, {"root_cause": "批次问题"})
    workflow.save_capa(complaint, auditor, {"root_cause": "批次问题"})  # unchanged: no second line
    assert len(complaint.events) == events + 1


def test_the_portal_s_own_words_follow_the_reader_s_language(app, world, login_as):
    cid = world.complaints["a"]
    with app.app_context(), unscoped():
        complaint = db.session.get(Complaint, cid)
        staff = _user(world, "staff_a")
        workflow.wait_on_customer(complaint, staff, "等照片", now=MONDAY_10 + timedelta(hours=1))
        workflow.resume(complaint, staff, now=MONDAY_10 + timedelta(hours=3))
        db.session.commit()
    reader = login_as("manager_a")
    assert "计时暂停了 2 个工作小时" in reader.get(f"/complaints/{cid}").text
    reader.post_form("/language", {"lang": "en", "next": "/"})
    english = reader.get(f"/complaints/{cid}").text
    assert "The clock stood still for 2 business hours." in english and "计时暂停" not in english


def test_hq_settings_refuse_bad_codes_duplicates_and_far_dates_and_keep_the_input(app, world, login_as):
    admin = login_as("admin")
    admin.get("/complaints/settings")
    new = {"code": "quality", "name_zh": "重复的类别", "name_en": "Duplicate", "remedy_kind": "other", "position": "1",
           "active": "y"}
    response = admin.post_form("/complaints/settings/categories", new)
    assert response.status_code == 422 and "重复的类别" in response.text
    response = admin.post_form("/complaints/settings/categories", new | {"code": "a b/<x>"})
    assert response.status_code == 422
    response = admin.post_form("/complaints/settings/calendar", {"on": "1999-01-01", "kind": "closed", "name": "旧"})
    assert response.status_code == 422
    assert admin.post_form("/complaints/settings/categories", new | {"code": "install"}).status_code == 302
    with app.app_context(), unscoped():
        from app.models import ComplaintCategory

        installed = db.session.scalar(select(ComplaintCategory).where(ComplaintCategory.code == "install"))
        ident = installed.id
    renamed = new | {"code": "hacked", "name_zh": "安装服务", "active": ""}
    assert admin.post_form(f"/complaints/settings/categories/{ident}", renamed).status_code == 302
    with app.app_context(), unscoped():
        installed = db.session.get(ComplaintCategory, ident)
        assert (installed.code, installed.name_zh, installed.active) == ("install", "安装服务", False)


# --- statistics (R26) -----------------------------------------------------------------------------

def test_the_statistics_roll_up_equals_a_count_from_scratch(app, world, ctx):
    from app.services.complaints import stats

    store = db.session.get(Store, world.a_stores[0])
    staff = _user(world, "staff_a")
    done = make_complaint(store, "按时解决", received_at=MONDAY_10)
    workflow.acknowledge(done, staff, now=MONDAY_10 + timedelta(hours=1))
    workflow.resolve(done, staff, {"resolution": "换货", "remedies": ["replace"]}, now=MONDAY_10 + timedelta(hours=5))
    workflow.record_follow_up(done, staff, 2, "", "phone", now=MONDAY_10 + timedelta(hours=6))  # reopened
    make_complaint(store, "表扬", kind="praise", received_at=MONDAY_10)
    make_complaint(db.session.get(Store, world.b_stores[0]), "乙方", received_at=datetime(2026, 4, 1, 3))
    db.session.commit()
    from app.models import ComplaintMonthStats

    stored = {(r.store_id, r.month, r.franchisee_id, r.dimension, r.value_id):
              {m: getattr(r, m) for m in stats.COLUMNS_OUT} for r in db.session.scalars(select(ComplaintMonthStats))}
    assert stored == dict(stats.from_scratch())
    march_a = [v for k, v in stored.items() if k[0] == world.a_stores[0] and k[1] == 202603 and k[3] == "total"]
    # By hand: the world's complaint and the three above; two complaints of store A01 in March.
    assert sum(v["received"] for v in march_a) == 2
    assert sum(v["acknowledged"] for v in march_a) == 1 and sum(v["first_response_seconds"] for v in march_a) == 3600
    assert sum(v["reopened"] for v in march_a) == 1 and sum(v["follow_up_score"] for v in march_a) == 2
    assert sum(v["praise"] for v in march_a) == 1
    by_category = [v["received"] for k, v in stored.items() if k[0] == world.a_stores[0] and k[1] == 202603
                   and k[3] == "category"]
    assert sum(by_category) == 2  # the same complaints, split by category
    stats.rebuild(progress=lambda *_: None)
    again = {(r.store_id, r.month, r.franchisee_id, r.dimension, r.value_id):
             {m: getattr(r, m) for m in stats.COLUMNS_OUT} for r in db.session.scalars(select(ComplaintMonthStats))}
    assert again == stored


def test_the_statistics_page_shows_each_role_its_own_scope(app, world, login_as):
    owner = login_as("owner_a")
    page = owner.get("/complaints/statistics?from=2026-01&to=2026-12&group=store")
    assert page.status_code == 200 and "甲一店" in page.text and "乙一秘店" not in page.text
    hq = login_as("auditor").get("/complaints/statistics?from=2026-01&to=2026-12&group=franchisee")
    assert "乙方秘密加盟商" in hq.text and "甲方加盟商" in hq.text
    for group in ("category", "channel", "month"):
        assert owner.get(f"/complaints/statistics?from=2026-01&to=2026-12&group={group}").status_code == 200
    assert owner.get("/complaints/statistics?from=garbage&to=9999-99&group=nope").status_code == 200
    assert login_as("staff_a").get("/complaints/statistics").status_code == 403


def test_details_are_corrected_with_a_version_check_and_a_major_one_goes_to_headquarters(app, world, login_as):
    with app.app_context(), unscoped():
        store = db.session.get(Store, world.a_stores[0])
        complaint = make_complaint(store, "网上投诉未分类", public=True)
        complaint.category_id = None
        db.session.commit()
        cid, version = complaint.id, complaint.version
        quality = next(c.id for c in settings.categories() if c.code == "quality")
    manager = login_as("manager_a")
    form = {"version": version, "category_id": quality, "severity": "major", "channel_id": _complaint(app, cid).channel_id,
            "contact_name": "顾客", "contact_phone": "13800000009", "title": "燃气灶漏气", "description": "详情"}
    assert manager.post_form(f"/complaints/{cid}/edit", form).status_code == 302
    c = _complaint(app, cid)
    assert c.category_id == quality and c.severity == "major" and c.escalated and c.title == "燃气灶漏气"
    page = manager.get(f"/complaints/{cid}")
    assert 'data-testid="event-edited"' in page.text and "严重程度" in page.text
    stale = manager.post_form(f"/complaints/{cid}/edit", form | {"title": "另一个标题"})
    assert stale.status_code == 200 and "另一个标题" in stale.text  # the colleague's change is not overwritten
    assert _complaint(app, cid).title == "燃气灶漏气"
    assert login_as("owner_b").get(f"/complaints/{cid}/edit").status_code == 404


def test_second_trial_findings_stay_fixed(app, world, login_as):
    """Issue 9, second trial: the department's dashboard counts its tasks; settings refuse a
    second category of the same name and a make-up working day on a weekday, and keep a refused
    escalation value; the care tab names complaints by their reference."""
    dept = login_as("dept")
    # Its complaint task and its part of the world's improvement project (issue 15: the same queue).
    assert "2 项未完成任务" in dept.get("/").text
    admin = login_as("admin")
    admin.get("/complaints/settings")
    twin = {"code": "quality2", "name_zh": "产品质量", "name_en": "Quality (2)", "remedy_kind": "quality",
            "position": "1", "active": "y"}
    assert admin.post_form("/complaints/settings/categories", twin).status_code == 422
    weekday = admin.post_form("/complaints/settings/calendar", {"on": "2026-11-25", "kind": "workday", "name": "调休"})
    assert weekday.status_code == 422
    assert admin.post_form("/complaints/settings/calendar", {"on": "2026-11-28", "kind": "workday",
                                                             "name": "调休"}).status_code == 302
    with app.app_context(), unscoped():
        from app.models import EscalationLevel

        level = db.session.scalar(select(EscalationLevel).where(EscalationLevel.stage == "resolve",
                                                                EscalationLevel.level == 3))
    refused = admin.post_form(f"/complaints/settings/escalation/{level.id}", {"after_hours": "4"})
    assert refused.status_code == 422 and 'value="4"' in refused.text


def test_third_trial_findings_stay_fixed(app, world, login_as):
    """Issue 9, third trial: an edit conflict can be saved on the second try and shows what is on
    file; a store cannot be given an opening after its (default) closing; a threshold is added in
    use; a decimal comma is refused; only https links."""
    with app.app_context(), unscoped():
        store = db.session.get(Store, world.a_stores[0])
        complaint = make_complaint(store, "原标题", public=True)
        db.session.commit()
        cid, version = complaint.id, complaint.version
    first, second = login_as("manager_a"), login_as("owner_a")
    base = {"version": version, "category_id": _complaint(app, cid).category_id, "severity": "general",
            "channel_id": _complaint(app, cid).channel_id, "contact_name": "顾客", "contact_phone": "13800000009",
            "title": "原标题", "description": "详情"}
    assert first.post_form(f"/complaints/{cid}/edit", base | {"title": "甲改的标题"}).status_code == 302
    stale = second.post_form(f"/complaints/{cid}/edit", base | {"title": "乙改的标题"})
    assert stale.status_code == 200 and "乙改的标题" in stale.text and "甲改的标题" in stale.text  # on file now
    carried = int(re.search(r'name="version" type="hidden" value="(\d+)"', stale.text).group(1))
    assert second.post_form(f"/complaints/{cid}/edit", base | {"version": carried, "title": "乙改的标题"}).status_code == 302
    assert _complaint(app, cid).title == "乙改的标题"
    admin = login_as("admin")
    with app.app_context(), unscoped():
        s = db.session.get(Store, world.a_stores[1])
        store_form = {"version": s.version, "code": s.code, "name": s.name, "region_id": s.region_id, "city": s.city,
                      "address": s.address, "opened_on": s.opened_on.isoformat()}
    assert admin.post_form(f"/stores/{world.a_stores[1]}/edit", store_form | {"opens_at": "22:00"}).status_code == 200
    admin.get("/complaints/settings")
    assert admin.post_form("/complaints/settings/thresholds", {"count": "1", "months": "1", "active": "y"}).status_code == 302
    with app.app_context(), unscoped():
        from app.models import ComplaintThreshold

        assert db.session.scalar(select(ComplaintThreshold).where(ComplaintThreshold.months == 1)).active
    rule = {"severity": "general", "category_id": "0", "acknowledge_hours": "1,5", "resolve_hours": "22", "hq_hours": "24"}
    assert admin.post_form("/complaints/settings/rules", rule).status_code == 422
    assert admin.post_form("/complaints/settings/rules", rule | {"acknowledge_hours": "1.50"}).status_code == 302
    staff = login_as("staff_a")
    with app.app_context(), unscoped():
        data = _intake(world.a_stores[0], channel="social")
    assert staff.post_form("/complaints/new", data | {"social_url": "http://weibo.com/1"}).status_code == 200
    assert staff.post_form("/complaints/new", data | {"social_url": "https://weibo.com/1 2"}).status_code == 200


def test_fourth_trial_findings_stay_fixed(app, world, login_as):
    """A refused step's address answers a reload or a language switch with the complaint (it was
    405); acknowledging a complaint filed online makes the acknowledger its handler."""
    cid = world.complaints["a"]
    staff = login_as("staff_a")
    reloaded = staff.get(f"/complaints/{cid}/wait")
    assert reloaded.status_code == 302 and reloaded.headers["Location"].endswith(f"/complaints/{cid}")
    assert login_as("owner_b").get(f"/complaints/{cid}/wait").status_code == 404
    with app.app_context(), unscoped():
        store = db.session.get(Store, world.a_stores[0])
        online = make_complaint(store, "网上来的", public=True)
        db.session.commit()
        oid, version = online.id, online.version
    assert _post(staff, oid, "acknowledge", version).status_code == 302
    assert _complaint(app, oid).handler_id == world.users["staff_a"]


def test_fourth_trial_wording(app, world, login_as):
    """English counts read "1 complaint in 1 month", not "1 complaints in 1 months"; a link with
    a space says why it is refused."""
    admin = login_as("admin")
    admin.post_form("/language", {"lang": "en", "next": "/complaints/settings"})
    assert admin.post_form("/complaints/settings/thresholds", {"count": "1", "months": "1", "active": "y"}).status_code == 302
    page = admin.get("/complaints/settings").text
    assert "1 complaint in 1 month" in page and "1 complaints" not in page
    staff = login_as("staff_a")
    with app.app_context(), unscoped():
        data = _intake(world.a_stores[0], channel="social")
    refused = staff.post_form("/complaints/new", data | {"social_url": "https://weibo.com/1 2"})
    assert refused.status_code == 200 and "链接中不能有空格" in refused.text
