"""Governance (issue 15): the manual library with numbered copies (R5, R65), announcements with
acknowledgement, and the privacy policy (R61)."""
import subprocess
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Customer, Franchisee, Notification, Store, User
from app.models.base import local_today
from app.models.governance import (
    Announcement, AnnouncementReceipt, Manual, ManualCopy, ManualCopyEvent, ManualVersion, PrivacyPolicy,
)
from app.security.tenancy import unscoped
from app.services import RuleError
from app.services.governance import announcements, manuals, privacy
from tests.factories import make_customer


@pytest.fixture
def en(ctx):
    """Service calls in English, so that the messages they raise are matched in one language."""
    from app.i18n import force_locale

    with force_locale("en"):
        yield


@contextmanager
def _db(app):
    """Set-up and checks outside a request: every tenant's rows."""
    with app.app_context(), unscoped():
        yield


def _get(model, ident):
    return db.session.get(model, ident)


def _user(world, role) -> User:
    return db.session.get(User, world.users[role])


# --- the manual library ---------------------------------------------------------------------

def test_serial_numbers_are_sequential_unique_and_never_reused(en, world):
    manual = _get(Manual, world.governance["manual"])
    admin = _user(world, "admin")
    assert [c.serial for c in db.session.scalars(select(ManualCopy).order_by(ManualCopy.id))] == [
        "FM-T-0001", "FM-T-0002", "FM-T-0003"]
    lost = _get(ManualCopy, world.governance["a_copy"])
    manuals.close(lost, "stolen", "门店被盗", _user(world, "owner_a"))
    new = manuals.reissue(lost, admin)
    assert new.serial == "FM-T-0004" and new.replaces_id == lost.id and lost.replaced_by_id == new.id
    assert new.holder_user_id == lost.holder_user_id and new.status == "held"
    with pytest.raises(RuleError):
        manuals.reissue(lost, admin)  # once only
    # A returned copy frees nobody's number: the next is 0005.
    manuals.close(new, "returned", None, admin)
    again = manuals.issue(manual, _user(world, "owner_a"), admin)
    assert again.serial == "FM-T-0005"
    kinds = db.session.scalars(select(ManualCopyEvent.kind).where(ManualCopyEvent.copy_id == lost.id)
                               .order_by(ManualCopyEvent.id)).all()
    assert kinds == ["issued", "stolen", "reissued"]


def test_only_approved_people_of_an_active_franchisee_hold_a_copy(en, world):
    manual = _get(Manual, world.governance["manual"])
    admin = _user(world, "admin")
    with pytest.raises(RuleError, match="owner or a store manager"):
        manuals.issue(manual, _user(world, "staff_a"), admin)
    with pytest.raises(RuleError, match="already holds"):
        manuals.issue(manual, _user(world, "owner_a"), admin)
    with pytest.raises(RuleError):
        manuals.issue(manual, _user(world, "viewer"), admin)  # the committee reads, holds none
    manuals.issue(manual, _user(world, "auditor"), admin)  # headquarters' own copy
    _get(Franchisee, world.b).status = "terminated"
    with pytest.raises(RuleError, match="left the network"):
        manuals.issue(manual, _user(world, "manager_b"), admin)
    draftonly = manuals.create_manual({"code": "D", "title_zh": "草稿", "title_en": "Draft", "kind": "policy",
                                       "body_zh": "x"}, admin)
    with pytest.raises(RuleError, match="no version in force"):
        manuals.issue(draftonly, _user(world, "owner_a"), admin)


def test_a_published_version_is_never_edited_and_holders_acknowledge_each_version(en, world):
    manual = _get(Manual, world.governance["manual"])
    admin, owner = _user(world, "admin"), _user(world, "owner_a")
    v1 = manuals.in_force(manual)
    with pytest.raises(RuleError, match="never changed"):
        manuals.edit_draft(v1, {"body_zh": "改"})
    copy = _get(ManualCopy, world.governance["a_copy"])
    with pytest.raises(RuleError, match="Only the holder"):
        manuals.acknowledge(copy, _user(world, "admin"))
    with pytest.raises(RuleError, match="Only the holder"):
        manuals.acknowledge(_get(ManualCopy, world.governance["manager_copy"]), owner)  # not for someone else
    assert manuals.acknowledge(copy, owner) == 1 and copy.received_at is not None
    with pytest.raises(RuleError, match="already acknowledged"):
        manuals.acknowledge(copy, owner)
    draft = manuals.new_draft(manual, admin)
    with pytest.raises(RuleError, match="already has a draft"):
        manuals.new_draft(manual, admin)
    manuals.edit_draft(draft, {"summary": "第二版", "body_zh": "# 第一章\n新正文"})
    assert manuals.publish(draft, admin) == 3  # three copies held
    db.session.refresh(v1)
    assert (v1.status, draft.status, manual.current_number) == ("superseded", "published", 2)
    assert manuals.acknowledge(copy, owner) == 2
    with pytest.raises(RuleError, match="Only a draft"):
        manuals.publish(draft, admin)


def test_loss_needs_a_word_returns_are_headquarters_and_a_leaving_franchisee_returns_all(en, world):
    admin = _user(world, "admin")
    copy = _get(ManualCopy, world.governance["a_copy"])
    with pytest.raises(RuleError, match="Say what happened"):
        manuals.close(copy, "lost", "", _user(world, "owner_a"))
    with pytest.raises(RuleError, match="Headquarters records"):
        manuals.close(copy, "returned", None, _user(world, "owner_a"))
    franchisee = _get(Franchisee, world.a)
    franchisee.status = "terminated"
    assert [(f.id, n) for f, n in manuals.left_with_copies()] == [(world.a, 2)]
    assert manuals.return_all(franchisee, None, admin) == 2
    assert manuals.left_with_copies() == []
    with pytest.raises(RuleError, match="no longer held"):
        manuals.close(copy, "lost", "丢了", admin)


def test_the_register_pages_show_each_holder_their_own(world, login_as):
    owner_a, manager, owner_b = login_as("owner_a"), login_as("manager_a"), login_as("owner_b")
    page = owner_a.get("/governance/copies").text
    assert "FM-T-0001" in page and "FM-T-0002" in page and "FM-T-0003" not in page
    page = manager.get("/governance/copies").text
    assert "FM-T-0002" in page and "FM-T-0001" not in page
    a_copy = world.governance["a_copy"]
    assert manager.get(f"/governance/copies/{a_copy}").status_code == 404  # the owner's copy
    assert owner_b.get(f"/governance/copies/{a_copy}").status_code == 404
    assert owner_b.get(f"/governance/copies/{a_copy}/pdf").status_code == 404
    assert login_as("staff_a").get("/governance/copies").status_code == 403
    assert owner_a.get("/governance/manuals").status_code == 403  # the library itself: headquarters


def _pages_text(data: bytes, tmp_path) -> list[str]:
    path = tmp_path / "copy.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    return [page for page in text.split("\f") if page.strip()]


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_a_downloaded_copy_carries_its_serial_and_holder_on_every_page(app, world, login_as, tmp_path, language):
    with _db(app):
        manual = _get(Manual, world.governance["manual"])
        draft = manuals.new_draft(manual, _user(world, "admin"))
        long = "\n\n".join(f"# 第{i}章\n" + "顾客满意是评价我们工作的唯一标准。" * 40 for i in range(1, 9))
        manuals.edit_draft(draft, {"body_zh": long, "body_en": long.replace("章", " chapter")})
        manuals.publish(draft, _user(world, "admin"))
        db.session.commit()
    client = login_as("owner_a")
    client.post_form("/language", {"lang": language, "next": "/"})
    response = client.get(f"/governance/copies/{world.governance['a_copy']}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "FM-T-0001-v2.pdf" in response.headers["Content-Disposition"]
    pages = _pages_text(response.data, tmp_path)
    assert len(pages) >= 3
    with _db(app):
        name = _get(User, world.users["owner_a"]).display_name
        downloads = db.session.scalar(select(func.count()).select_from(ManualCopyEvent).where(
            ManualCopyEvent.copy_id == world.governance["a_copy"], ManualCopyEvent.kind == "downloaded"))
    for page in pages:
        assert "FM-T-0001" in page and name in page
    assert downloads == 1
    # The store manager may not download the owner's copy, nor the owner a copy no longer held.
    assert login_as("manager_a").get(f"/governance/copies/{world.governance['a_copy']}/pdf").status_code == 404


def test_the_pages_refuse_editing_an_in_force_version(app, world, login_as):
    client = login_as("admin")
    with _db(app):
        version_id = db.session.scalar(select(ManualVersion.id).where(
            ManualVersion.manual_id == world.governance["manual"]))
    response = client.post_form(f"/governance/versions/{version_id}", {"body_zh": "偷改", "version": "1"},
                                follow_redirects=True)
    assert response.status_code == 200
    with _db(app):
        assert db.session.get(ManualVersion, version_id).body_zh == "# 第一章\n手册正文"


def test_issuing_from_the_page_gives_the_next_number_once(app, world, login_as):
    client = login_as("admin")
    manual_id = world.governance["manual"]
    page = client.get(f"/governance/manuals/{manual_id}?franchisee={world.b}")
    assert page.status_code == 200 and "t-manager-b" in page.text and "t-staff-a" not in page.text
    data = {"franchisee": str(world.b), "holder_id": str(world.users["manager_b"]), "note": "",
            "submission": "a" * 32}
    first = client.post_form(f"/governance/manuals/{manual_id}/issue", data)
    again = client.post_form(f"/governance/manuals/{manual_id}/issue", data)  # Back then Save
    assert first.status_code == 302 and again.status_code == 302
    with _db(app):
        serials = db.session.scalars(select(ManualCopy.serial).where(
            ManualCopy.holder_user_id == world.users["manager_b"])).all()
    assert serials == ["FM-T-0004"]
    refused = client.post_form(f"/governance/manuals/{manual_id}/issue", {
        "franchisee": str(world.a), "holder_id": str(world.users["staff_a"]), "submission": "b" * 32},
        follow_redirects=True)
    assert refused.status_code == 200  # a staff member is not among the choices: nothing issued
    with _db(app):
        assert db.session.scalar(select(func.count()).select_from(ManualCopy)) == 4


# --- announcements --------------------------------------------------------------------------

def test_publishing_addresses_each_open_store_once_with_stored_figures(en, world):
    every = _get(Announcement, world.governance["every"])
    b_only = _get(Announcement, world.governance["b_only"])
    assert (every.stores_count, b_only.stores_count) == (4, 2)
    admin = _user(world, "admin")
    _get(Store, world.a_stores[1]).status = "closed"
    region = announcements.save_draft(None, {"title": "区域", "body": "x", "audience": "region",
                                             "region_id": world.east, "needs_ack": False}, [], admin)
    assert announcements.publish(region, admin) == 1  # A's open store in the east
    with pytest.raises(RuleError, match="already published"):
        announcements.publish(region, admin)
    with pytest.raises(RuleError, match="not changed"):
        announcements.save_draft(region, {"title": "改", "body": "x", "audience": "all"}, [], admin)
    with pytest.raises(RuleError, match="past"):
        announcements.save_draft(None, {"title": "t", "body": "x", "audience": "all", "needs_ack": True,
                                        "ack_by": local_today() - timedelta(days=1)}, [], admin)
    with pytest.raises(RuleError, match="at least one store"):
        announcements.save_draft(None, {"title": "t", "body": "x", "audience": "stores"}, [], admin)


def test_stores_read_and_acknowledge_only_for_themselves(world, login_as, app):
    every, b_only = world.governance["every"], world.governance["b_only"]
    manager = login_as("manager_a")
    assert manager.get(f"/governance/announcements/{b_only}").status_code == 404
    assert manager.post_form(f"/governance/announcements/{b_only}/acknowledge").status_code == 404
    assert "全网通知" in manager.get(f"/governance/announcements/{every}").text  # read now
    response = manager.post_form(f"/governance/announcements/{every}/acknowledge", follow_redirects=True)
    assert response.status_code == 200
    owner = login_as("owner_a")
    owner.post_form(f"/governance/announcements/{every}/acknowledge")  # the other A store
    again = owner.post_form(f"/governance/announcements/{every}/acknowledge", follow_redirects=True)
    assert "already acknowledged" in again.text or "已确认" in again.text
    assert login_as("staff_a").post_form(f"/governance/announcements/{every}/acknowledge").status_code == 403
    with _db(app):
        a = db.session.get(Announcement, every)
        assert (a.read_count, a.ack_count, a.stores_count) == (2, 2, 4)
        rows = db.session.execute(select(AnnouncementReceipt.store_id, AnnouncementReceipt.acknowledged_by_id)
                                  .where(AnnouncementReceipt.announcement_id == every)).all()
    acked = {store: by for store, by in rows}
    assert acked[world.a_stores[0]] == world.users["manager_a"]
    assert acked[world.a_stores[1]] == world.users["owner_a"]
    assert acked[world.b_stores[0]] is None and acked[world.b_stores[1]] is None
    # Headquarters sees who has not.
    page = login_as("admin").get(f"/governance/announcements/{every}?waiting=1").text
    assert "乙一秘店" in page and "甲一店" not in page


def test_the_periodic_job_tells_the_stores_once_and_reminds_only_those_waiting(en, world):
    every = _get(Announcement, world.governance["every"])
    owner_a, owner_b = world.users["owner_a"], world.users["owner_b"]

    def told(user_id, kind):
        return db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.kind == kind))

    announcements.tick()
    announcements.tick()
    # Each announcement once: owner-b's stores received both.
    assert (told(owner_a, "announcement_published"), told(owner_b, "announcement_published")) == (1, 2)
    assert told(world.users["manager_a"], "announcement_published") == 1
    assert told(world.users["staff_a"], "announcement_published") == 0
    from app.security.scope import build_scope
    from app.security.tenancy import SCOPE_KEY, activate

    previous = db.session.info.get(SCOPE_KEY)
    activate(build_scope(_get(User, owner_a)))
    announcements.acknowledge(every, _get(User, owner_a))
    activate(previous)
    announcements.request_reminder(every, _user(world, "admin"))
    with pytest.raises(RuleError, match="already on its way"):
        announcements.request_reminder(every, _user(world, "admin"))
    announcements.tick()
    assert told(owner_a, "announcement_reminder") == 0 and told(owner_b, "announcement_reminder") == 1
    assert told(world.users["manager_a"], "announcement_reminder") == 0
    assert every.remind_requested_at is None


def test_unknown_store_codes_are_named_and_nothing_is_saved(world, login_as, app):
    client = login_as("admin")
    response = client.post_form("/governance/announcements/new", {
        "version": "1", "title": "选店", "body": "x", "audience": "stores", "store_codes": "A01, NOPE-9 ZZ",
        "region_id": "0", "needs_ack": "y", "submission": "c" * 32})
    assert response.status_code == 422 and "NOPE-9" in response.text
    with _db(app):
        assert db.session.scalar(select(func.count()).select_from(Announcement).where(Announcement.title == "选店")) == 0


# --- the privacy policy ---------------------------------------------------------------------

def test_the_policy_is_public_versioned_and_named_by_each_consent(en, world):
    admin = _user(world, "admin")
    assert privacy.number_in_force() is None
    draft = privacy.new_draft(admin)
    with pytest.raises(RuleError, match="both Chinese and English"):
        privacy.publish(draft, admin)
    privacy.edit(draft, {"body_zh": "# 隐私政策\n正文", "body_en": "# Privacy\nText"})
    privacy.publish(draft, admin)
    with pytest.raises(RuleError, match="never changed"):
        privacy.edit(draft, {"body_zh": "改", "body_en": "x"})
    from app.services import customers

    store = _get(Store, world.a_stores[0])
    customer = make_customer(store, "同意者")
    customers.record_consent(customer, "paper", "会员活动", customer.created_at, admin)
    assert customer.consent_policy_number == 1
    second = privacy.new_draft(admin)
    privacy.edit(second, {"body_zh": "# 隐私政策\n第二版", "body_en": "# Privacy\nSecond"})
    privacy.publish(second, admin)
    assert db.session.get(PrivacyPolicy, draft.id).status == "superseded"
    later = make_customer(store, "后来者")
    customers.record_consent(later, "paper", "会员活动", later.created_at, admin)
    assert later.consent_policy_number == 2 and customer.consent_policy_number == 1


def test_the_public_page_and_the_sign_in_page_link_the_policy(world, client, app):
    with _db(app):
        admin = db.session.get(User, world.users["admin"])
        policy = privacy.new_draft(admin)
        privacy.edit(policy, {"body_zh": "# 我们收集什么\n- 姓名", "body_en": "# What we collect\n- Name"})
        privacy.publish(policy, admin)
        db.session.commit()
    login = client.get("/login").text
    assert 'href="/privacy"' in login
    page = client.get("/privacy")
    assert page.status_code == 200 and "我们收集什么" in page.text and "<li>姓名</li>" in page.text
    assert client.get("/privacy?v=9").status_code == 404
    # A customer's complaint on the public page names the version they were shown.
    with _db(app):
        key = db.session.get(Store, world.a_stores[0]).public_key
    assert 'href="/privacy"' in client.get(f"/feedback/{key}").text


def test_a_document_carries_no_markup(ctx):
    from app.services.governance.documents import blocks

    parts = blocks("# 标题\n<script>alert(1)</script>\n\n- 一\n- 二\n正文")
    assert [b.kind for b in parts] == ["h1", "p", "ul", "p"]
    assert parts[1].lines == ("<script>alert(1)</script>",)  # escaped by the template, never parsed


def test_lists_cost_the_same_for_more_rows(world, login_as, app, count_queries):
    client = login_as("admin")
    client.get("/governance/copies")
    with count_queries() as few:
        assert client.get("/governance/copies").status_code == 200
    with _db(app):
        manual = db.session.get(Manual, world.governance["manual"])
        admin = db.session.get(User, world.users["admin"])
        for role in ("manager_b", "supervisor", "auditor"):
            manuals.issue(manual, db.session.get(User, world.users[role]), admin)
        db.session.commit()
    with count_queries() as more:
        assert client.get("/governance/copies").status_code == 200
    assert len(more) == len(few)
    with count_queries() as listed:
        assert client.get("/governance/announcements").status_code == 200
    assert len(listed) <= 8


# --- the feedback channels offered to customers (R73) ---------------------------------------

def test_a_publicised_channel_is_checked_periodically_and_a_failure_keeps_it_due(en, world):
    from app.models import ComplaintChannel
    from app.services.complaints import settings
    from app.services.governance import channels

    settings.install_defaults()
    auditor = _user(world, "auditor")
    phone = db.session.scalar(select(ComplaintChannel).where(ComplaintChannel.code == "phone"))
    with pytest.raises(RuleError, match="Say where customers reach"):
        channels.save_settings(phone, {"contact": "", "publicised": True, "check_every_days": 30}, auditor)
    channels.save_settings(phone, {"contact": "400-820-8820", "publicised": True, "check_every_days": 30}, auditor)
    today = local_today()
    assert phone.check_due_on == today  # never checked: due now
    with pytest.raises(RuleError, match="future"):
        channels.record_check(phone, True, None, today + timedelta(days=1), auditor)
    with pytest.raises(RuleError, match="did not work"):
        channels.record_check(phone, False, "", today, auditor)
    channels.record_check(phone, False, "占线，无人接听", today - timedelta(days=2), auditor)
    assert phone.check_due_on == today - timedelta(days=2)  # failed: due until a check passes
    assert channels.remind(today) == 1 and channels.remind(today) == 0  # told once per due date
    with pytest.raises(RuleError, match="later check"):
        channels.record_check(phone, True, None, today - timedelta(days=5), auditor)
    channels.record_check(phone, True, None, today, auditor)
    assert phone.check_due_on == today + timedelta(days=30)
    assert [c.id for c in channels.due(today)] == []


def test_the_channel_pages_are_headquarters(world, login_as, app):
    client = login_as("auditor")
    assert client.get("/governance/channels").status_code == 200
    with _db(app):
        from app.models import ComplaintChannel
        from app.services.complaints import settings

        settings.install_defaults()
        db.session.commit()
        channel_id = db.session.scalar(select(ComplaintChannel.id).where(ComplaintChannel.code == "email"))
    saved = client.post_form(f"/governance/channels/{channel_id}/settings",
                             {"s-contact": "service@example.cn", "s-publicised": "y", "s-check_every_days": "25"},
                             follow_redirects=True)
    assert saved.status_code == 200 and "service@example.cn" in saved.text
    listed = client.get("/governance/channels").text  # publicised, never checked: due today
    assert 'data-testid="checks-due"' in listed and "电子邮件" in listed.split('data-testid="checks-due"')[1][:200]
    refused = client.post_form(f"/governance/channels/{channel_id}/settings",
                               {"s-contact": "x", "s-check_every_days": "1" * 25}, follow_redirects=True)
    assert "0 至 366" in refused.text or "0 to 366" in refused.text
    checked = client.post_form(f"/governance/channels/{channel_id}/check",
                               {"c-result": "ok", "c-checked_on": local_today().isoformat(), "c-note": "已发测试邮件"},
                               follow_redirects=True)
    assert "已发测试邮件" in checked.text
    assert login_as("owner_a").get("/governance/channels").status_code == 403
    assert login_as("viewer").post_form(f"/governance/channels/{channel_id}/check", {"c-result": "ok"}).status_code == 403


def test_trial_23_wording_codes_and_forms(world, login_as, app):
    """Trial 23: shared words took other modules' Chinese (持有中, 已确认, 操作人); lower-case store
    codes were refused; a loss reported without a note folded the form and lost the choice; the
    dashboard did not say what waits for acknowledgement."""
    owner = login_as("owner_a")
    copy_page = owner.get(f"/governance/copies/{world.governance['a_copy']}").text
    assert "持有中" in copy_page and "实施情况" not in copy_page
    refused = owner.post_form(f"/governance/copies/{world.governance['a_copy']}/close", {"state": "lost", "note": ""})
    assert refused.status_code == 422
    assert 'data-testid="close-copy" open' in refused.text and 'selected value="lost"' in refused.text
    dashboard = owner.get("/").text
    assert 'data-testid="waiting-for-you"' in dashboard and "全网通知" in dashboard and "FM-T-0001" in dashboard
    admin = login_as("admin")
    made = admin.post_form("/governance/announcements/new", {
        "version": "1", "title": "小写编号", "body": "x", "audience": "stores", "store_codes": "a01，a02",
        "region_id": "0", "needs_ack": "y", "submission": "d" * 32})
    assert made.status_code == 302
    far = admin.post_form("/governance/announcements/new", {
        "version": "1", "title": "遥远", "body": "x", "audience": "all", "region_id": "0", "needs_ack": "y",
        "ack_by": "9999-12-31", "submission": "e" * 32})
    assert far.status_code == 422 and "不能晚于一年以后" in far.text


def test_the_customer_page_names_the_policy_a_consent_was_given_under(app, world, login_as):
    with _db(app):
        from app.services import customers

        admin = _user(world, "admin")
        policy = privacy.new_draft(admin)
        privacy.edit(policy, {"body_zh": "# 隐私政策\n正文", "body_en": "# Privacy\nText"})
        privacy.publish(policy, admin)
        customer = db.session.get(Customer, world.customers["a2"])
        customers.record_consent(customer, "paper", "会员活动", customer.created_at, admin)
        db.session.commit()
    page = login_as("owner_a").get(f"/customers/{world.customers['a2']}").text
    assert 'href="/privacy?v=1"' in page and "依据隐私政策第 1 版" in page
