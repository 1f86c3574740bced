"""Mystery-shopper audits (issue 10; R29-R34): scores against hand-computed fixtures, the
default template, secrecy until publication, the whole life of an audit through the pages,
corrective actions and appeals, template versions, and bad input."""
import io
import re
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditAnswer, AuditTemplate, CorrectiveAction, Notification, Store, StoreAudit, TemplateItem, Touchpoint, User,
)
from app.models.base import local_today, utcnow
from app.security.tenancy import unscoped
from app.services.audits import alerts, scoring, templates, workflow
from tests.pages import form_on


# --- the score (R32), by hand -----------------------------------------------------------------

def _template(rule="cap", cap=60, scale_pass=4):
    """Two sections: A (yes/no w2, 0-5 w3, yes/no w1 n/a allowed, critical), B (0-5 w4)."""
    a = SimpleNamespace(id=1, items=[
        SimpleNamespace(id=11, weight=Decimal(2), scoring="yes_no", critical=False),
        SimpleNamespace(id=12, weight=Decimal(3), scoring="scale", critical=False),
        SimpleNamespace(id=13, weight=Decimal(1), scoring="yes_no", critical=True),
    ])
    b = SimpleNamespace(id=2, items=[SimpleNamespace(id=21, weight=Decimal(4), scoring="scale", critical=False)])
    return SimpleNamespace(sections=[a, b], critical_rule=rule, critical_cap=Decimal(cap), scale_pass=scale_pass)


def A(value=None, na=False):  # noqa: N802 (reads like the fixtures' tables)
    return scoring.Answer(value, na)


def test_score_is_the_weighted_share_of_what_was_met():
    # Earned: 2 (yes) + 3*4/5 = 2.4 + 1 (yes) + 4*3/5 = 2.4  ->  7.8 of 10 = 78.00
    result = scoring.score(_template(), {11: A(1), 12: A(4), 13: A(1), 21: A(3)})
    assert result.score == Decimal("78.00") and result.raw_score == Decimal("78.00")
    # Section A: 5.4 of 6 = 90.00; section B: 2.4 of 4 = 60.00
    assert result.sections == {1: Decimal("90.00"), 2: Decimal("60.00")}
    assert result.below_standard == [21] and result.critical_failures == 0 and result.answered == 4


def test_not_applicable_leaves_the_denominator():
    # Item 13 n/a: 2 + 2.4 + 2.4 = 6.8 of 9 = 75.555... -> 75.56 (half up)
    result = scoring.score(_template(), {11: A(1), 12: A(4), 13: A(na=True), 21: A(3)})
    assert result.score == Decimal("75.56") and result.sections[1] == Decimal("88.00")  # 4.4 of 5


def test_all_full_marks_is_100_and_all_zero_is_0():
    full = scoring.score(_template(), {11: A(1), 12: A(5), 13: A(1), 21: A(5)})
    zero = scoring.score(_template(), {11: A(0), 12: A(0), 13: A(0), 21: A(0)})
    assert (full.score, zero.score, zero.raw_score) == (Decimal("100.00"), Decimal("0.00"), Decimal("0.00"))
    assert zero.below_standard == [11, 12, 13, 21] and zero.critical_failures == 1


def test_a_failed_critical_item_caps_or_fails_the_audit():
    answers = {11: A(1), 12: A(5), 13: A(0), 21: A(5)}  # 9 of 10 = 90.00, critical 13 failed
    capped = scoring.score(_template(rule="cap", cap=60), answers)
    assert (capped.raw_score, capped.score, capped.critical_failures) == (Decimal("90.00"), Decimal("60.00"), 1)
    failed = scoring.score(_template(rule="fail"), answers)
    assert failed.score == Decimal("0.00") and failed.raw_score == Decimal("90.00")
    # A cap above the raw score changes nothing.
    assert scoring.score(_template(cap=95), answers).score == Decimal("90.00")


def test_scale_items_below_the_pass_mark_are_findings():
    result = scoring.score(_template(scale_pass=3), {11: A(1), 12: A(3), 13: A(1), 21: A(2)})
    assert result.below_standard == [21]  # 3 meets a pass mark of 3; 2 does not


def test_nothing_answered_has_no_score():
    result = scoring.score(_template(), {13: A(na=True)})
    assert result.score is None and result.sections == {1: None, 2: None}


# --- the default register and template (R29, R30) --------------------------------------------

def test_the_default_template_covers_the_purchase_journey_in_chinese(app, ctx):
    with unscoped():
        template = templates.install_defaults()
        assert templates.install_defaults().id == template.id  # installed once
        codes = [s.touchpoint.code for s in template.sections]
        assert len(codes) == 10 and {s.touchpoint.stage for s in template.sections} == {"before", "during", "after"}
        texts = [i.text_zh for i in template.items]
        assert "表示承担责任，并告知自己的姓名" in texts and "体谅顾客情感" in texts  # the three steps (seed 001)
        assert all(i.weight > 0 for i in template.items) and any(i.critical for i in template.items)
        assert all(t.next_review_on > local_today() for t in db.session.scalars(select(Touchpoint)))


# --- secrecy until published --------------------------------------------------------------------

def test_an_unpublished_audit_does_not_exist_for_the_franchisee(app, world, login_as):
    hidden = world.audits["a_unpublished"]
    owner = login_as("owner_a")
    assert owner.get(f"/audits/{hidden}").status_code == 404
    listing = owner.get("/audits/?tab=all").text
    assert "甲方未发布的稽核发现" not in listing and _ref(app, hidden) not in listing
    assert _ref(app, world.audits["a"]) in listing  # the published one is there
    actions = owner.get("/audits/actions?tab=all").text
    assert "甲方未发布的稽核发现" not in actions
    with app.app_context(), unscoped():
        hidden_action = db.session.scalar(select(CorrectiveAction.id).where(CorrectiveAction.audit_id == hidden))
    assert owner.get(f"/audits/actions/{hidden_action}").status_code == 404
    # Headquarters sees it, marked as not published.
    page = login_as("auditor").get(f"/audits/{hidden}").text
    assert 'data-testid="unpublished"' in page and "甲方未发布的稽核发现" in page


def test_a_mystery_shopper_sees_only_their_audits_and_never_customer_files(app, world, login_as):
    shopper = login_as("shopper")
    mine = world.audits["a_unpublished"]
    assert shopper.get(f"/audits/{mine}").status_code == 200
    assert shopper.get(f"/audits/{world.audits['a']}").status_code == 404  # another auditor's
    listing = shopper.get("/audits/?tab=all").text
    assert _ref(app, mine) in listing and _ref(app, world.audits["a"]) not in listing
    assert shopper.get(f"/customers/{world.customers['a']}").status_code in (403, 404)
    assert shopper.get(f"/stores/{world.a_stores[0]}").status_code in (403, 404)


def _ref(app, audit_id) -> str:
    with app.app_context(), unscoped():
        return db.session.get(StoreAudit, audit_id).reference


# --- an audit's life through the pages ------------------------------------------------------------

def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


def _answers_page(client, audit_id):
    page = client.get(f"/audits/{audit_id}/conduct")
    assert page.status_code == 200
    return page.text, form_on(page.text)


def _items(app, audit_id):
    with app.app_context(), unscoped():
        audit = db.session.get(StoreAudit, audit_id)
        return [(i.id, i.scoring, i.text_zh, i.photo_on_fail, i.allow_na) for i in audit.template.items]


def test_plan_conduct_submit_publish_answer_and_verify(app, world, login_as):
    auditor, owner, manager = login_as("auditor"), login_as("owner_a"), login_as("manager_a")
    due = (local_today() + timedelta(days=10)).isoformat()
    new = auditor.get("/audits/new").text
    with app.app_context(), unscoped():
        template_id = db.session.scalar(select(AuditTemplate.id).where(AuditTemplate.status == "active"))
    planned = auditor.post_form("/audits/new", form_on(new) | {
        "store_id": str(world.a_stores[0]), "template_id": str(template_id),
        "auditor_id": str(world.users["auditor"]), "due_on": due})
    assert planned.status_code == 302
    audit_id = int(re.search(r"/audits/(\d+)", planned.headers["Location"]).group(1))
    assert owner.get(f"/audits/{audit_id}").status_code == 404  # planned: headquarters' business
    show = auditor.get(f"/audits/{audit_id}").text
    version = re.search(r'name="version" type="hidden" value="(\d+)"', show).group(1)
    assert auditor.post_form(f"/audits/{audit_id}/start", {"version": version}).status_code == 302
    text, form = _answers_page(auditor, audit_id)
    items = _items(app, audit_id)
    # A draft saved by the page itself (JSON), item by item.
    values = {}
    for item_id, kind, zh, photo, na in items:
        values[f"value-{item_id}"] = "1" if kind == "yes_no" else "5"
    failing = next(i for i in items if i[2] == "商品陈列整齐，价签清晰且与商品一致")  # critical, photo if failed
    values[f"value-{failing[0]}"] = "0"
    saved = auditor.post_form(f"/audits/{audit_id}/conduct", form | values | {"scenario": "购买餐桌"},
                              headers={"X-Autosave": "1"})
    assert saved.status_code == 200 and saved.json["ok"], saved.text
    # Submitting asks for the note and photo of the failed item first; nothing is lost.
    text, form = _answers_page(auditor, audit_id)
    refused = auditor.post_form(f"/audits/{audit_id}/conduct", form | {"submit": "1"}, follow_redirects=True)
    assert "价签" in refused.text and _audit(app, audit_id).status == "in_progress"
    assert form[f"value-{failing[0]}"] == "0"
    photo = auditor.post(f"/audits/{audit_id}/photos", data={
        "csrf_token": form["csrf_token"], "version": form["version"], "item_id": str(failing[0]),
        "photo": (io.BytesIO(_png()), "price.png")}, content_type="multipart/form-data")
    assert photo.status_code == 302
    text, form = _answers_page(auditor, audit_id)
    submitted = auditor.post_form(f"/audits/{audit_id}/conduct", form | {
        f"note-{failing[0]}": "两件商品价签与实价不符", "submit": "1"})
    assert submitted.status_code == 302
    audit = _audit(app, audit_id)
    # 20 items, total weight 39; the failed item weighs 2: 37/39 = 94.87, capped at 60 (critical).
    assert audit.status == "submitted" and audit.raw_score == Decimal("94.87") and audit.score == Decimal("60.00")
    assert owner.get(f"/audits/{audit_id}").status_code == 404  # still secret
    show = auditor.get(f"/audits/{audit_id}").text
    version = re.search(r'name="version" type="hidden" value="(\d+)"', show).group(1)
    published = auditor.post_form(f"/audits/{audit_id}/publish", {"version": version}, follow_redirects=True)
    assert "复查" in published.text or "re-check" in published.text  # 60 < 75: a re-check visit is planned
    with app.app_context(), unscoped():
        assert db.session.scalar(select(StoreAudit).where(StoreAudit.recheck_of_id == audit_id)).status == "planned"
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == world.users["owner_a"], Notification.kind == "audit_published")) >= 1
        action_id = db.session.scalar(select(CorrectiveAction.id).where(CorrectiveAction.audit_id == audit_id))
    page = owner.get(f"/audits/{audit_id}")
    assert page.status_code == 200 and "两件商品价签与实价不符" in page.text
    # The store manager answers; the auditor verifies.
    action_page = manager.get(f"/audits/actions/{action_id}").text
    respond = form_on(action_page.split('data-testid="respond-form"')[0] + action_page.split('data-testid="respond-form"')[1].split("</form>")[0])
    answered = manager.post_form(f"/audits/actions/{action_id}/respond", {
        "version": respond.get("version") or _action(app, action_id).version, "response": "已更换全部价签",
        "root_cause": "调价后未及时更换", "preventive_action": "每次调价当日核对"})
    assert answered.status_code == 302 and _action(app, action_id).status == "answered"
    verified = auditor.post_form(f"/audits/actions/{action_id}/verify", {
        "version": _action(app, action_id).version, "decision": "accept", "note": "已抽查"})
    assert verified.status_code == 302 and _action(app, action_id).status == "accepted"
    assert _audit(app, audit_id).status == "closed"


def _audit(app, audit_id) -> StoreAudit:
    with app.app_context(), unscoped():
        audit = db.session.get(StoreAudit, audit_id)
        db.session.expunge(audit)
        return audit


def _action(app, action_id) -> CorrectiveAction:
    with app.app_context(), unscoped():
        action = db.session.get(CorrectiveAction, action_id)
        db.session.expunge(action)
        return action


def test_an_appeal_re_scores_and_both_scores_stay_in_the_history(app, world, login_as):
    audit_id = world.audits["a"]
    before = _audit(app, audit_id).score
    with app.app_context(), unscoped():
        action_id = db.session.scalar(select(CorrectiveAction.id).where(CorrectiveAction.audit_id == audit_id))
    owner, manager, auditor, admin = login_as("owner_a"), login_as("manager_a"), login_as("auditor"), login_as("admin")
    assert manager.post_form(f"/audits/actions/{action_id}/appeal", {
        "version": _action(app, action_id).version, "reason": "店员当时正在接待其他顾客"}).status_code == 403
    assert owner.post_form(f"/audits/actions/{action_id}/appeal", {
        "version": _action(app, action_id).version, "reason": "店员当时正在接待其他顾客"}).status_code == 302
    assert _action(app, action_id).appeal_status == "pending"
    again = owner.post_form(f"/audits/actions/{action_id}/appeal", {
        "version": _action(app, action_id).version, "reason": "再次申诉"})
    assert again.status_code == 422  # one appeal per finding
    own = auditor.post_form(f"/audits/actions/{action_id}/decide", {
        "version": _action(app, action_id).version, "decision": "grant", "new_value": "4", "note": "我自己改判"})
    assert own.status_code == 422  # the auditor who made the finding does not judge its appeal
    decided = admin.post_form(f"/audits/actions/{action_id}/decide", {
        "version": _action(app, action_id).version, "decision": "grant", "new_value": "4",
        "note": "录像显示店员已示意"})
    assert decided.status_code == 302
    action, audit = _action(app, action_id), _audit(app, audit_id)
    assert action.appeal_status == "granted" and action.status == "withdrawn"
    assert audit.score > before and audit.status == "closed"
    page = owner.get(f"/audits/{audit_id}").text
    assert 'data-testid="score-history"' in page and f"{before:.2f}" in page and f"{audit.score:.2f}" in page


def test_the_person_who_made_the_fix_cannot_verify_it(app, world, ctx):
    with unscoped():
        audit = db.session.get(StoreAudit, world.audits["a"])
        action = audit.actions[0]
        admin = db.session.get(User, world.users["admin"])
        workflow.respond(action, admin, "已整改", "原因", "预防")
        with pytest.raises(workflow.AuditError):
            workflow.verify(action, admin, True, "自己验收")
        workflow.verify(action, db.session.get(User, world.users["auditor"]), False, "照片不清楚")
        assert action.status == "returned" and action.times_returned == 1
        assert [h["kind"] for h in action.history] == ["answered", "returned"]  # the first answer is kept


# --- bad input --------------------------------------------------------------------------------------

def _in_progress(app, world):
    with app.app_context(), unscoped():
        template = templates.install_defaults()
        auditor = db.session.get(User, world.users["auditor"])
        audit = workflow.plan(db.session.get(Store, world.a_stores[1]), template,
                              *workflow.quarter_of(local_today()), auditor, auditor=auditor)
        workflow.start(audit, auditor)
        db.session.commit()
        return audit.id


@pytest.mark.parametrize("value", ["7", "-1", "1" * 25, "abc", "=1+1", "na", "²", "１"])
def test_a_score_outside_the_scale_is_refused_with_a_message_and_nothing_typed_is_lost(app, world, login_as, value):
    audit_id = _in_progress(app, world)
    auditor = login_as("auditor")
    _, form = _answers_page(auditor, audit_id)
    items = _items(app, audit_id)
    yes_no = next(i for i in items if i[1] == "yes_no" and not i[4])  # n/a not allowed
    other = next(i for i in items if i[1] == "scale")
    response = auditor.post_form(f"/audits/{audit_id}/conduct", form | {
        f"value-{yes_no[0]}": value, f"value-{other[0]}": "3", f"note-{other[0]}": "要保留的备注", "save": "1"})
    assert response.status_code == 422
    assert "要保留的备注" in response.text and 'value="3" checked' in response.text
    with app.app_context(), unscoped():
        assert db.session.scalar(select(func.count()).select_from(AuditAnswer).where(AuditAnswer.audit_id == audit_id)) == 0


def test_a_file_that_is_not_a_photo_is_refused(app, world, login_as):
    audit_id = _in_progress(app, world)
    auditor = login_as("auditor")
    _, form = _answers_page(auditor, audit_id)
    item_id = _items(app, audit_id)[0][0]
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    for data, message in ((b"%PDF-1.4 not a photo", "该文件不是可读取的照片"), (gif.getvalue(), "只能添加照片")):
        refused = auditor.post(f"/audits/{audit_id}/photos", data={
            "csrf_token": form["csrf_token"], "version": form["version"], "item_id": str(item_id),
            "photo": (io.BytesIO(data), "photo.jpg")}, content_type="multipart/form-data", follow_redirects=True)
        assert refused.status_code == 200 and message in refused.text
    with app.app_context(), unscoped():
        assert not db.session.get(StoreAudit, audit_id).photos


def test_a_submitted_audit_cannot_be_edited(app, world, login_as):
    audit_id = world.audits["a_unpublished"]
    shopper = login_as("shopper")
    response = shopper.get(f"/audits/{audit_id}/conduct")
    assert response.status_code == 302
    saved = shopper.post_form(f"/audits/{audit_id}/conduct", {"version": "1", "scenario": "改"},
                              headers={"X-Autosave": "1"})
    assert saved.status_code == 409 and not saved.json["ok"]


def test_two_devices_on_one_draft_keep_each_others_answers(app, world, login_as):
    audit_id = _in_progress(app, world)
    phone, laptop = login_as("auditor"), login_as("auditor")
    _, on_phone = _answers_page(phone, audit_id)
    _, on_laptop = _answers_page(laptop, audit_id)
    first, second, third = _items(app, audit_id)[:3]
    assert phone.post_form(f"/audits/{audit_id}/conduct", on_phone | {f"value-{first[0]}": "1"},
                           headers={"X-Autosave": "1"}).json["ok"]
    # The laptop, loaded before, changes another item and the same one differently.
    reply = laptop.post_form(f"/audits/{audit_id}/conduct", on_laptop | {f"value-{second[0]}": "1",
                                                                        f"value-{first[0]}": "0"},
                             headers={"X-Autosave": "1"}).json
    assert reply["ok"] and reply["conflicts"] == [first[0]]
    assert reply["on_file"] == {str(first[0]): {"value": "1", "note": ""}}  # the laptop shows the phone's answer
    with app.app_context(), unscoped():
        saved = {a.item_id: a.value for a in db.session.scalars(select(AuditAnswer).where(AuditAnswer.audit_id == audit_id))}
    assert saved == {first[0]: 1, second[0]: 1}  # the phone's answer stands; the laptop's other answer is kept


def test_weights_that_make_no_sense_are_refused(app, world, login_as):
    admin = login_as("admin")
    with app.app_context(), unscoped():
        active = db.session.scalar(select(AuditTemplate).where(AuditTemplate.status == "active"))
        active_id = active.id
    page = admin.get(f"/audits/templates/{active_id}").text
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    made = admin.post_form(f"/audits/templates/{active_id}/new-version", {"version": version})
    draft_id = int(re.search(r"/audits/templates/(\d+)", made.headers["Location"]).group(1))
    with app.app_context(), unscoped():
        section_id = db.session.get(AuditTemplate, draft_id).sections[0].id
    for weight in ("-1", "0", "NaN", "1e5", "101"):
        refused = admin.post_form(f"/audits/templates/{draft_id}/items", {
            "section_id": str(section_id), "text_zh": "新标准", "text_en": "New standard", "weight": weight,
            "scoring": "yes_no", "version": "1"})
        assert refused.status_code == 422, weight
    added = admin.post_form(f"/audits/templates/{draft_id}/items", {
        "section_id": str(section_id), "text_zh": "新标准", "text_en": "New standard", "weight": "1.5",
        "scoring": "scale", "version": "1"})
    assert added.status_code == 302
    with app.app_context(), unscoped():
        assert len(db.session.get(AuditTemplate, draft_id).items) == 21
        assert len(db.session.get(AuditTemplate, active_id).items) == 20  # the version in use is untouched


def test_a_new_version_never_rewrites_completed_audits(app, world, login_as):
    admin = login_as("admin")
    completed = _audit(app, world.audits["a"])
    with app.app_context(), unscoped():
        old = db.session.get(AuditTemplate, completed.template_id)
        admin_user = db.session.get(User, world.users["admin"])
        draft = templates.new_version(old, admin_user)
        item = draft.items[0]
        item.weight = Decimal(10)
        draft.sections[0].items.remove(draft.items[1])
        planned = workflow.plan(db.session.get(Store, world.a_stores[1]), old, *workflow.quarter_of(local_today()),
                                admin_user)
        moved = templates.activate(draft, admin_user)
        db.session.commit()
        assert moved == 1 and db.session.get(StoreAudit, planned.id).template_id == draft.id
        assert db.session.get(AuditTemplate, old.id).status == "retired"
        with pytest.raises(templates.TemplateError):
            templates.require_draft(old)
    after = _audit(app, world.audits["a"])
    assert (after.template_id, after.score) == (completed.template_id, completed.score)
    page = admin.get(f"/audits/{after.id}").text
    assert "未主动问候顾客" in page


# --- overdue actions, rankings ----------------------------------------------------------------------

def test_overdue_actions_remind_the_owner_then_the_supervisor(app, world, ctx):
    with unscoped():
        action = db.session.get(StoreAudit, world.audits["a"]).actions[0]
        action.due_on = local_today() - timedelta(days=1)
        db.session.commit()
        first = alerts.tick(utcnow())
        assert first["actions_reminded"] == 1
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == world.users["owner_a"], Notification.kind == "audit_action_overdue")) == 1
        action.due_on = local_today() - timedelta(days=8)
        db.session.commit()
        assert alerts.tick(utcnow())["actions_escalated"] == 1
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == world.users["supervisor"], Notification.kind == "audit_action_escalated")) == 1
        assert alerts.tick(utcnow())["actions_escalated"] == 0  # once


def test_rankings_read_the_stored_figures_and_a_franchisee_sees_its_own_stores(app, world, login_as, count_queries):
    year, quarter = workflow.quarter_of(local_today())
    hq = login_as("auditor").get(f"/audits/rankings?period={year}-{quarter}").text
    assert "甲一店" in hq and "乙一秘店" in hq and 'data-testid="weakest"' in hq
    own = login_as("owner_a").get(f"/audits/rankings?period={year}-{quarter}").text
    assert "甲一店" in own and "乙一秘店" not in own
    client = login_as("auditor")
    with count_queries() as counted:
        client.get(f"/audits/rankings?period={year}-{quarter}")
    assert len(counted) <= 12, counted


def test_an_auditor_who_scores_far_from_the_network_stands_out(app, world, login_as):
    with app.app_context(), unscoped():
        db.session.get(StoreAudit, world.audits["a_unpublished"]).score = Decimal("70.00")  # the shopper's only audit
        db.session.commit()
    page = login_as("auditor").get("/audits/quality").text
    rows = page.split('data-testid="auditor-table"')[1].split("</table>")[0].split("<tr")
    shopper_row = next(r for r in rows if "t-shopper" in r)
    auditor_row = next(r for r in rows if "t-auditor" in r)
    assert 'data-testid="outlier"' in shopper_row and 'data-testid="outlier"' not in auditor_row
    assert login_as("owner_a").get("/audits/quality").status_code == 403


def test_an_audit_page_costs_the_same_few_statements_however_many_findings(app, world, login_as, count_queries):
    """No statement per item, answer, action, photo or history line (the scale issue's rule)."""
    owner = login_as("owner_a")
    audit_id = world.audits["a"]
    owner.get(f"/audits/{audit_id}")
    with count_queries() as few:
        assert owner.get(f"/audits/{audit_id}").status_code == 200
    with app.app_context(), unscoped():
        audit = db.session.get(StoreAudit, audit_id)
        for item in audit.template.items[:6]:  # six more findings, each with an action and a photo
            db.session.add(CorrectiveAction(audit_id=audit.id, item_id=item.id, store_id=audit.store_id,
                                            franchisee_id=audit.franchisee_id, finding="又一项", due_on=local_today()))
        db.session.commit()
    with count_queries() as more:
        assert owner.get(f"/audits/{audit_id}").status_code == 200
    assert len(more) == len(few) and len(few) <= 16, "\n".join(q.split("\nWHERE")[0][-160:] for q in few)


def test_seventh_trial_findings_stay_fixed(app, world, login_as):
    """Trial 7: calendar months out of range answered 500; a shopper's name and visit times
    were shown to the store; a draft's section could not be removed nor a draft thrown away; a
    touchpoint could get a review date in the past; a correction's photos stopped once answered."""
    auditor, owner, manager = login_as("auditor"), login_as("owner_a"), login_as("manager_a")
    for month in ("1-1", "9999-12", "2026-13", "x"):
        assert auditor.get(f"/audits/calendar?month={month}").status_code == 200
    hidden = world.audits["a_unpublished"]
    with app.app_context(), unscoped():
        workflow.publish(db.session.get(StoreAudit, hidden), db.session.get(User, world.users["auditor"]))
        db.session.commit()
    page = owner.get(f"/audits/{hidden}").text
    assert "t-shopper" not in page and "神秘顾客" in page and not re.search(r"\(\d+ 分钟\)", page)
    hq_page = auditor.get(f"/audits/{hidden}").text
    assert "t-shopper" in hq_page and re.search(r"\(45 分钟\)", hq_page)
    # Templates: a draft's section goes, a draft goes.
    with app.app_context(), unscoped():
        active = db.session.scalar(select(AuditTemplate).where(AuditTemplate.status == "active"))
        draft = templates.new_version(active, db.session.get(User, world.users["auditor"]))
        db.session.commit()
        draft_id, section_id, active_section = draft.id, draft.sections[-1].id, active.sections[-1].id
    step = {"version": "1"}
    assert auditor.post_form(f"/audits/templates/{active.id}/sections/{active_section}/delete", step).status_code == 302
    assert auditor.post_form(f"/audits/templates/{draft_id}/sections/{section_id}/delete", step).status_code == 302
    with app.app_context(), unscoped():
        assert len(db.session.get(AuditTemplate, draft_id).sections) == 9
        assert len(db.session.get(AuditTemplate, active.id).sections) == 10  # the version in use is untouched
    assert auditor.post_form(f"/audits/templates/{draft_id}/discard", step).status_code == 302
    with app.app_context(), unscoped():
        assert db.session.get(AuditTemplate, draft_id) is None
    # A new touchpoint's next review is after today.
    new = auditor.get("/audits/touchpoints/new").text
    refused = auditor.post_form("/audits/touchpoints/new", form_on(new) | {
        "code": "TP99", "stage": "after", "name_zh": "安装", "name_en": "Installation", "department": "logistics",
        "standard": "按约定时间上门安装", "criteria": "记录上门时间", "next_review_on": "2020-01-01"})
    assert refused.status_code == 200 and "下次评审日期必须晚于今天" in refused.text
    # Photos of a correction until it is verified.
    with app.app_context(), unscoped():
        action = db.session.get(StoreAudit, world.audits["a"]).actions[0]
        workflow.respond(action, db.session.get(User, world.users["manager_a"]), "已整改", "原因", "预防")
        db.session.commit()
        action_id, version = action.id, action.version
    added = manager.post(f"/audits/actions/{action_id}/photos", data={
        "csrf_token": manager.csrf_token(), "version": str(version), "photo": (io.BytesIO(_png()), "fix.png")},
        content_type="multipart/form-data", follow_redirects=True)
    assert added.status_code == 200 and "照片已添加" in added.text


def test_eighth_trial_findings_stay_fixed(app, world, login_as):
    """Trial 8: a second tab emptied the scenario and summary with its autosave; the shopper's
    visit time showed in the score history; English readers saw the standards in Chinese."""
    audit_id = _in_progress(app, world)
    tab_a, tab_b = login_as("auditor"), login_as("auditor")
    _, on_a = _answers_page(tab_a, audit_id)
    _, on_b = _answers_page(tab_b, audit_id)
    item = _items(app, audit_id)[0][0]
    assert tab_a.post_form(f"/audits/{audit_id}/conduct", on_a | {"scenario": "购买沙发", "summary": "整体良好"},
                           headers={"X-Autosave": "1"}).json["ok"]
    reply = tab_b.post_form(f"/audits/{audit_id}/conduct", on_b | {f"value-{item}": "1"}, headers={"X-Autosave": "1"}).json
    assert reply["ok"] and reply["conflicts"] == []
    both = _audit(app, audit_id)
    assert (both.scenario, both.summary) == ("购买沙发", "整体良好")  # tab B did not touch them
    clash = tab_b.post_form(f"/audits/{audit_id}/conduct", on_b | {"summary": "另一个总结"},
                            headers={"X-Autosave": "1"}).json
    assert clash["conflicts"] == ["summary"] and clash["clashed_texts"] == ["summary"]
    # Both texts come back as saved: the summary clashed, the scenario was only stale on tab B.
    assert clash["on_file_texts"] == {"scenario": "购买沙发", "summary": "整体良好"}
    assert _audit(app, audit_id).summary == "整体良好"
    # English standards and template name.
    auditor = login_as("auditor")
    auditor.post_form("/language", {"lang": "en", "next": "/"})
    page = auditor.get(f"/audits/{audit_id}/conduct").text
    assert "Eye contact or a smile within 5 seconds" in page and "Standard store audit" in auditor.get(f"/audits/{audit_id}").text
    # A franchisee sees the date of a shopper's submission, not its time.
    hidden = world.audits["a_unpublished"]
    with app.app_context(), unscoped():
        audit = db.session.get(StoreAudit, hidden)
        workflow.publish(audit, db.session.get(User, world.users["auditor"]))
        workflow.appeal(audit.actions[0], db.session.get(User, world.users["owner_a"]), "当时在接待其他顾客")
        workflow.decide_appeal(audit.actions[0], db.session.get(User, world.users["admin"]), True, "认可")
        db.session.commit()
    history = login_as("owner_a").get(f"/audits/{hidden}").text.split('data-testid="score-history"')[1]
    lines = history.split("</ul>")[0].split("<li>")[1:]
    assert len(lines) == 2 and not re.search(r"\d{1,2}:\d{2}", lines[0])  # the submission: a date only
    assert re.search(r"\d{1,2}:\d{2}", lines[1])  # headquarters' re-score keeps its time


def test_ninth_trial_findings_stay_fixed(app, world, login_as):
    """Trial 9: a mystery shopper could not submit an audit with a finding (the scope refused the
    corrective action: 404, the audit stuck); a stale tab wrote its old answers back; an answered
    action counted as overdue; nobody heard of a submission, an answer or an appeal."""
    with app.app_context(), unscoped():
        template = templates.install_defaults()
        shopper = db.session.get(User, world.users["shopper"])
        audit = workflow.plan(db.session.get(Store, world.a_stores[0]), template, *workflow.quarter_of(local_today()),
                              db.session.get(User, world.users["auditor"]), auditor=shopper)
        workflow.start(audit, shopper)
        db.session.commit()
        audit_id = audit.id
    phone, laptop = login_as("shopper"), login_as("shopper")
    _, on_phone = _answers_page(phone, audit_id)
    _, on_laptop = _answers_page(laptop, audit_id)
    items = _items(app, audit_id)
    values = {f"value-{i}": ("1" if kind == "yes_no" else "5") for i, kind, *_ in items}
    scale = next(i for i in items if i[1] == "scale" and not i[3])
    values |= {f"value-{scale[0]}": "2", f"note-{scale[0]}": "未主动介绍", "scenario": "购买衣柜"}
    assert phone.post_form(f"/audits/{audit_id}/conduct", on_phone | values, headers={"X-Autosave": "1"}).json["ok"]
    # The laptop, loaded before, changes nothing of these: its next save catches up instead of
    # writing its empty answers back.
    reply = laptop.post_form(f"/audits/{audit_id}/conduct", on_laptop, headers={"X-Autosave": "1"}).json
    assert reply["ok"] and reply["conflicts"] == [] and reply["on_file"][str(scale[0])]["value"] == "2"
    assert _audit(app, audit_id).answered == len(items)
    _, on_phone = _answers_page(phone, audit_id)
    submitted = phone.post_form(f"/audits/{audit_id}/conduct", on_phone | {"submit": "1"})
    assert submitted.status_code == 302 and _audit(app, audit_id).status == "submitted"
    with app.app_context(), unscoped():
        action = db.session.scalar(select(CorrectiveAction).where(CorrectiveAction.audit_id == audit_id))
        assert action is not None
        told = lambda kind: db.session.scalar(select(func.count()).select_from(Notification).where(  # noqa: E731
            Notification.kind == kind))
        assert told("audit_submitted") >= 1
        workflow.publish(db.session.get(StoreAudit, audit_id), db.session.get(User, world.users["auditor"]))
        action.due_on = local_today() - timedelta(days=1)
        workflow.respond(action, db.session.get(User, world.users["manager_a"]), "已整改", "原因", "预防")
        db.session.commit()
        assert told("audit_action_answered") >= 1
        assert alerts.tick(utcnow())["actions_reminded"] == 0  # answered: headquarters' turn, not overdue
        action_id = action.id
    assert "整改截止" in login_as("owner_a").get("/audits/actions?tab=overdue").text
    assert f"/audits/actions/{action_id}" not in login_as("owner_a").get("/audits/actions?tab=overdue").text


def test_two_people_editing_one_template_item_are_merged(app, world, login_as):
    """Trial 9: the later save of a draft's item won silently."""
    with app.app_context(), unscoped():
        active = db.session.scalar(select(AuditTemplate).where(AuditTemplate.status == "active"))
        draft = templates.new_version(active, db.session.get(User, world.users["admin"]))
        db.session.commit()
        draft_id, item_id = draft.id, draft.items[0].id
    one, two = login_as("admin"), login_as("auditor")
    url = f"/audits/templates/{draft_id}/items/{item_id}"
    first, second = form_on(one.get(url).text), form_on(two.get(url).text)
    assert one.post_form(url, first | {"weight": "4"}).status_code == 302
    assert two.post_form(url, second | {"text_en": "Store spotless inside and out"}).status_code == 302
    with app.app_context(), unscoped():
        item = db.session.get(TemplateItem, item_id)
        assert (item.weight, item.text_en) == (Decimal("4"), "Store spotless inside and out")
    # The add form on the template page carries its version too.
    assert 'name="version" type="hidden" value="1"' in one.get(f"/audits/templates/{draft_id}").text.split(
        'data-testid="item-form"')[1].split("</form>")[0]


def test_tenth_trial_findings_stay_fixed(app, world, login_as):
    """Trial 10: a clash on an item was not named; a second tab's answer to an action answered
    meanwhile vanished; an appeal of the HQ auditor's finding reached nobody; a visit's due date
    could be moved out of its quarter or into the past; a late send-back was chased at once."""
    audit_id = _in_progress(app, world)
    phone, laptop = login_as("auditor"), login_as("auditor")
    _, on_phone = _answers_page(phone, audit_id)
    _, on_laptop = _answers_page(laptop, audit_id)
    item = _items(app, audit_id)[0]
    assert phone.post_form(f"/audits/{audit_id}/conduct", on_phone | {f"value-{item[0]}": "1"},
                           headers={"X-Autosave": "1"}).json["ok"]
    reply = laptop.post_form(f"/audits/{audit_id}/conduct", on_laptop | {f"value-{item[0]}": "0",
                                                                        f"note-{item[0]}": "笔记本上的备注"},
                             headers={"X-Autosave": "1"}).json
    assert reply["conflict_items"] == {str(item[0]): item[2]}
    # The "still to do" list follows each automatic save (it kept items answered meanwhile).
    before = reply["missing"]
    _, on_phone = _answers_page(phone, audit_id)
    second = _items(app, audit_id)[1]
    after = phone.post_form(f"/audits/{audit_id}/conduct", on_phone | {f"value-{second[0]}": "1"},
                            headers={"X-Autosave": "1"}).json
    assert any(second[2] in m for m in before[:8]) and not any(second[2] in m for m in after["missing"])
    assert after["missing_title"].startswith("提交前还需完成：")
    # An action answered in another tab: the second tab's text stays on the page.
    owner = login_as("owner_a")
    with app.app_context(), unscoped():
        action = db.session.get(StoreAudit, world.audits["a"]).actions[0]
        action_id, version = action.id, action.version
    first = owner.post_form(f"/audits/actions/{action_id}/respond", {
        "version": version, "response": "甲标签页的回复", "root_cause": "原因", "preventive_action": "预防"})
    assert first.status_code == 302
    second = owner.post_form(f"/audits/actions/{action_id}/respond", {
        "version": version, "response": "乙标签页的回复", "root_cause": "原因乙", "preventive_action": "预防乙"})
    assert second.status_code == 409 and "乙标签页的回复" in second.text and 'data-testid="kept-text"' in second.text
    # An appeal reaches whoever can decide it: the administrators when the only auditor made the finding.
    with app.app_context(), unscoped():
        audit = db.session.get(StoreAudit, world.audits["b"])
        workflow.appeal(audit.actions[0], db.session.get(User, world.users["owner_b"]), "理由")
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == world.users["admin"], Notification.kind == "audit_appeal")) == 1
        # A send-back after the due date gives the store a week again.
        answered = db.session.get(CorrectiveAction, action_id)
        answered.due_on = local_today() - timedelta(days=30)
        workflow.verify(answered, db.session.get(User, world.users["admin"]), False, "照片不清楚")
        assert answered.due_on == local_today() + timedelta(days=workflow.RETURN_DAYS)
        db.session.commit()
    # A planned visit's due date stays within its quarter.
    with app.app_context(), unscoped():
        template = templates.install_defaults()
        auditor = db.session.get(User, world.users["auditor"])
        planned = workflow.plan(db.session.get(Store, world.a_stores[1]), template,
                                *workflow.quarter_of(local_today()), auditor, auditor=auditor)
        db.session.commit()
        with pytest.raises(workflow.AuditError):
            workflow.reassign(planned, auditor, local_today() + timedelta(days=400))
        with pytest.raises(workflow.AuditError):
            workflow.reassign(planned, auditor, local_today() - timedelta(days=1))


def test_eleventh_trial_findings_stay_fixed(app, world, login_as):
    """Trial 11: a note with line breaks that fit its box was refused as too long, and the page
    did not say which; a refused new due date reloaded the stored one; a second tab's different
    root cause was called "already done"; a re-check could be moved to 2099."""
    audit_id = _in_progress(app, world)
    auditor = login_as("auditor")
    _, form = _answers_page(auditor, audit_id)
    item = _items(app, audit_id)[0]
    fits = "\r\n".join(["甲" * 9] * 100)[:1099]  # 1,000 characters as the browser counts them (CR LF as one)
    assert len(fits.replace("\r\n", "\n")) <= 1000 < len(fits)
    saved = auditor.post_form(f"/audits/{audit_id}/conduct", form | {f"note-{item[0]}": fits},
                              headers={"X-Autosave": "1"})
    assert saved.status_code == 200 and saved.json["ok"], saved.text
    _, form = _answers_page(auditor, audit_id)
    refused = auditor.post_form(f"/audits/{audit_id}/conduct", form | {f"note-{item[0]}": "乙" * 1001},
                                headers={"X-Autosave": "1"})
    assert refused.status_code == 422 and item[2] in refused.json["message"]
    assert refused.json["errors"] == {str(item[0]): "最多 1000 个字符。"}
    # A planned visit: a date out of its quarter comes back with the reason and the typed date.
    with app.app_context(), unscoped():
        template = templates.install_defaults()
        hq = db.session.get(User, world.users["auditor"])
        planned = workflow.plan(db.session.get(Store, world.a_stores[0]), template,
                                *workflow.quarter_of(local_today()), hq, auditor=hq)
        db.session.commit()
        planned_id, version = planned.id, planned.version
    far = (local_today() + timedelta(days=200)).isoformat()
    page = auditor.post_form(f"/audits/{planned_id}/reassign", {
        "version": version, "auditor_id": str(world.users["auditor"]), "due_on": far})
    assert page.status_code == 422 and f'value="{far}"' in page.text and "<details class=\"mb-3\" open>" in page.text
    # Two answers with the same "what was done" but another root cause: the second is kept, not "done".
    owner = login_as("owner_a")
    with app.app_context(), unscoped():
        action = db.session.get(StoreAudit, world.audits["a"]).actions[0]
        action_id, version = action.id, action.version
    assert owner.post_form(f"/audits/actions/{action_id}/respond", {
        "version": version, "response": "已整改", "root_cause": "甲的原因", "preventive_action": "甲"}).status_code == 302
    second = owner.post_form(f"/audits/actions/{action_id}/respond", {
        "version": version, "response": "已整改", "root_cause": "乙的原因", "preventive_action": "乙"})
    assert second.status_code == 409 and "乙的原因" in second.text
    # A re-check is due within months, not years.
    with app.app_context(), unscoped():
        recheck = db.session.get(StoreAudit, planned_id)
        recheck.recheck_of_id = world.audits["a"]
        with pytest.raises(workflow.AuditError):
            workflow.reassign(recheck, None, local_today() + timedelta(days=workflow.RECHECK_MAX_DAYS + 1))
        db.session.rollback()
