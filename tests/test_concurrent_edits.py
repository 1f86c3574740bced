"""Two people editing one record from forms opened at the same version (issue 9, trial 4: the
second save wrote back every field of the form, including those only the colleague had changed).

Each user posts exactly what their page showed, with their own change: the fields one of them
changed are combined; only a field both changed to different values is asked about."""
import re

from sqlalchemy import select

from app.extensions import db
from app.models import Complaint, Customer, Store, User
from app.security.tenancy import unscoped
from tests.factories import make_complaint
from tests.pages import form_on


def _row(app, model, ident):
    with app.app_context(), unscoped():
        row = db.session.get(model, ident)
        db.session.expunge(row)
        return row


def _open_complaint(app, world):
    with app.app_context(), unscoped():
        complaint = make_complaint(db.session.get(Store, world.a_stores[0]), "原标题", contact_name="王女士")
        db.session.commit()
        return complaint.id


def test_edits_to_different_fields_are_both_kept(app, world, login_as):
    cid = _open_complaint(app, world)
    manager, owner = login_as("manager_a"), login_as("owner_a")
    url = f"/complaints/{cid}/edit"
    mine, theirs = form_on(manager.get(url).text), form_on(owner.get(url).text)
    assert owner.post_form(url, theirs | {"title": "老板改的标题"}).status_code == 302
    saved = manager.post_form(url, mine | {"contact_name": "王丽"}, follow_redirects=True)
    assert saved.status_code == 200 and "其他人保存了这条记录" in saved.text
    complaint = _row(app, Complaint, cid)
    assert (complaint.title, complaint.contact_name) == ("老板改的标题", "王丽")


def test_both_changing_one_field_is_asked_and_the_second_save_keeps_what_the_form_shows(app, world, login_as):
    cid = _open_complaint(app, world)
    manager, owner = login_as("manager_a"), login_as("owner_a")
    url = f"/complaints/{cid}/edit"
    mine, theirs = form_on(manager.get(url).text), form_on(owner.get(url).text)
    assert owner.post_form(url, theirs | {"title": "老板改的标题", "contact_name": "王丽"}).status_code == 302
    asked = manager.post_form(url, mine | {"title": "店长改的标题", "description": "店长补充的详情"})
    assert asked.status_code == 200 and "您编辑期间，其他人修改了这条记录" in asked.text
    assert "当前存档：老板改的标题" in asked.text  # said at the field both changed
    shown = form_on(asked.text)
    assert shown["title"] == "店长改的标题" and shown["description"] == "店长补充的详情"  # my input kept
    assert shown["contact_name"] == "王丽"  # the colleague's other change is filled in, not undone
    assert _row(app, Complaint, cid).title == "老板改的标题"  # nothing saved yet
    assert manager.post_form(url, shown).status_code == 302
    complaint = _row(app, Complaint, cid)
    assert (complaint.title, complaint.contact_name, complaint.description) == ("店长改的标题", "王丽", "店长补充的详情")


def test_a_page_without_fingerprints_is_still_a_conflict_not_an_overwrite(app, world, login_as):
    cid = _open_complaint(app, world)
    manager, owner = login_as("manager_a"), login_as("owner_a")
    url = f"/complaints/{cid}/edit"
    mine, theirs = form_on(manager.get(url).text), form_on(owner.get(url).text)
    assert owner.post_form(url, theirs | {"title": "老板改的标题"}).status_code == 302
    del mine["original"]
    asked = manager.post_form(url, mine | {"contact_name": "王丽"})
    assert asked.status_code == 200 and _row(app, Complaint, cid).contact_name == "王女士"


def test_store_hours_and_closed_days_merge_with_a_renamed_store(app, world, login_as):
    admin, other = login_as("admin"), app.test_client()
    other.login("t-admin")
    url = f"/stores/{world.a_stores[0]}/edit"
    mine, theirs = form_on(admin.get(url).text), form_on(other.get(url).text)
    assert other.post_form(url, theirs | {"name": "改名后的门店"}).status_code == 302
    saved = admin.post_form(url, mine | {"opens_at": "09:00", "closed_weekdays": ["0", "6"]})
    assert saved.status_code == 302
    store = _row(app, Store, world.a_stores[0])
    assert (store.name, store.closed_weekdays, store.opens_at.hour) == ("改名后的门店", "06", 9)


def test_customer_notes_and_address_from_two_colleagues_are_both_kept(app, world, login_as):
    cid = world.customers["a"]
    manager, staff = login_as("manager_a"), login_as("staff_a")
    url = f"/customers/{cid}/edit"
    mine, theirs = form_on(manager.get(url).text), form_on(staff.get(url).text)
    assert staff.post_form(url, theirs | {"notes": "店员记的备注"}).status_code == 302
    assert manager.post_form(url, mine | {"address": "上海市黄浦区南京东路1号"}).status_code == 302
    customer = _row(app, Customer, cid)
    assert customer.notes == "店员记的备注" and "南京东路1号" in customer.address


def test_a_users_stores_changed_by_one_admin_survive_anothers_rename(app, world, login_as):
    admin, other = login_as("admin"), login_as("admin")  # two administrators, two sessions
    url = f"/admin/users/{world.users['staff_a']}/edit"
    mine, theirs = form_on(admin.get(url).text), form_on(other.get(url).text)
    assert other.post_form(url, theirs | {"store_ids": [str(s) for s in world.a_stores]}).status_code == 302
    assert admin.post_form(url, mine | {"display_name": "改名的店员"}).status_code == 302
    with app.app_context(), unscoped():
        user = db.session.get(User, world.users["staff_a"])
        assert user.display_name == "改名的店员" and {s.id for s in user.stores} == set(world.a_stores)


def test_the_fingerprint_is_not_the_values(app, world, login_as):
    """The hidden field carries hashes: a phone number is not repeated in the page source."""
    cid = world.customers["a"]
    page = login_as("manager_a").get(f"/customers/{cid}/edit").text
    original = re.search(r'name="original" type="hidden" value="([^"]*)"', page).group(1)
    assert "13800000001" not in original and "mobile" in original


def test_both_choosing_a_different_option_is_asked_with_the_options_name(app, world, login_as):
    """Trial 5: a clash on a drop-down, a tick box or a multiple choice answered 500."""
    cid = _open_complaint(app, world)
    manager, owner = login_as("manager_a"), login_as("owner_a")
    url = f"/complaints/{cid}/edit"
    mine, theirs = form_on(manager.get(url).text), form_on(owner.get(url).text)
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>',
                         manager.get(url).text.split('name="category_id"')[1].split("</select>")[0])
    (first, first_label), (second, _label) = [o for o in options if o[0] != "0" and o[0] != mine["category_id"]][:2]
    assert owner.post_form(url, theirs | {"category_id": first}).status_code == 302
    asked = manager.post_form(url, mine | {"category_id": second})
    assert asked.status_code == 200 and f"当前存档：{first_label}" in asked.text


def test_two_edits_valid_alone_but_not_together_are_not_saved(app, world, login_as):
    """Trial 5: "opens 13:00" by one admin and "closes 12:00" by another were saved as a store
    open from 13:00 to 12:00, and every complaint of that store then failed."""
    admin, other = login_as("admin"), login_as("admin")
    url = f"/stores/{world.a_stores[0]}/edit"
    mine, theirs = form_on(admin.get(url).text), form_on(other.get(url).text)
    assert other.post_form(url, theirs | {"opens_at": "13:00"}).status_code == 302
    refused = admin.post_form(url, mine | {"closes_at": "12:00"})
    assert refused.status_code == 200 and "闭店时间必须晚于开店时间" in refused.text
    store = _row(app, Store, world.a_stores[0])
    assert (store.opens_at.hour, store.closes_at) == (13, None)
    shown = form_on(refused.text)
    assert shown["opens_at"] == "13:00" and shown["closes_at"] == "12:00"  # theirs filled in, mine kept


def test_a_change_to_a_users_stores_alone_is_not_lost(app, world, login_as):
    """Trial 5: a change of stores only did not change the record's version, so an older form
    saved over it without a word."""
    admin, other = login_as("admin"), login_as("admin")
    url = f"/admin/users/{world.users['staff_a']}/edit"
    mine, theirs = form_on(admin.get(url).text), form_on(other.get(url).text)
    assert admin.post_form(url, mine | {"store_ids": [str(s) for s in world.a_stores]}).status_code == 302
    saved = other.post_form(url, theirs | {"display_name": "另一位管理员改的名字"}, follow_redirects=True)
    assert "其他人保存了这条记录" in saved.text
    with app.app_context(), unscoped():
        user = db.session.get(User, world.users["staff_a"])
        assert user.display_name == "另一位管理员改的名字" and {s.id for s in user.stores} == set(world.a_stores)


def test_corrections_typed_while_a_colleague_resolved_the_complaint_stay_on_the_page(app, world, login_as):
    cid = _open_complaint(app, world)
    staff = login_as("staff_a")
    url = f"/complaints/{cid}/edit"
    mine = form_on(staff.get(url).text)
    with app.app_context(), unscoped():
        complaint = db.session.get(Complaint, cid)
        complaint.status, complaint.is_open = "resolved", False
        db.session.commit()
    kept = staff.post_form(url, mine | {"description": "店员补充的详细经过"})
    assert kept.status_code == 409 and "店员补充的详细经过" in kept.text and "期间该投诉已被解决或关闭" in kept.text


def test_edit_forms_show_the_record_after_back_and_create_forms_keep_their_token(app, world, login_as):
    """Trial 6: after Back, Chromium put back the drop-downs and tick boxes of the page left over
    the current values, and Save undid a colleague's merged change. Edit forms ask the browser
    not to restore; create forms must not (their one-time token relies on it)."""
    admin = login_as("admin")
    edit = admin.get(f"/stores/{world.a_stores[0]}/edit").text
    assert re.search(r'<form method="post"[^>]*autocomplete="off"', edit)
    new = admin.get("/stores/new").text
    assert not re.search(r'<form method="post"[^>]*autocomplete="off"', new) and "data-submission" in new


def test_a_users_e_mail_must_be_deliverable(app, world, login_as):
    admin = login_as("admin")
    url = f"/admin/users/{world.users['staff_a']}/edit"
    form = form_on(admin.get(url).text)
    refused = admin.post_form(url, form | {"email": "😀@example.com"})
    assert refused.status_code == 200 and "请输入有效的邮箱地址" in refused.text
    assert admin.post_form(url, form | {"email": "Staff.A@Example.CN"}).status_code == 302
    with app.app_context(), unscoped():
        assert db.session.get(User, world.users["staff_a"]).email == "staff.a@example.cn"


def test_the_audit_trail_keeps_a_users_stores_before_and_after(app, world, login_as):
    """Trial 8: adding a store to [1] was logged as [] -> [2, 1]; saving a user with no language
    chosen logged a change of language nobody made."""
    from app.models import AuditEvent

    admin = login_as("admin")
    url = f"/admin/users/{world.users['staff_a']}/edit"
    form = form_on(admin.get(url).text)
    assert admin.post_form(url, form | {"store_ids": [str(s) for s in world.a_stores]}).status_code == 302
    with app.app_context(), unscoped():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.updated")
                                  .order_by(AuditEvent.id.desc()))
        assert event.details["stores"][0] == [world.a_stores[0]] and sorted(event.details["stores"][1]) == world.a_stores
        assert "locale" not in event.details
