"""Headquarters administers franchisees, stores and users through the portal."""
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Franchisee, Region, Store, StoreOwnership, User
from app.security.tenancy import unscoped

FRANCHISEE = {
    "name": "西湖新加盟商", "legal_entity": "杭州西湖商贸有限公司", "contract_no": "FR-2026-100",
    "contract_start": "2026-01-01", "contract_end": "2031-12-31", "owner_name": "钱多多",
    "owner_phone": "13700001111", "owner_email": "", "status": "active", "version": "1",
}


def _one(app, stmt):
    with app.app_context(), unscoped():
        return db.session.scalar(stmt)


def test_admin_creates_a_franchisee_and_a_store(app, world, login_as):
    admin = login_as("admin")
    response = admin.post_form("/franchisees/new", FRANCHISEE)
    assert response.status_code == 302
    fid = _one(app, select(Franchisee.id).where(Franchisee.contract_no == "FR-2026-100"))
    store = {"code": "hz009", "name": "杭州滨江店", "region_id": str(world.east), "city": "杭州",
             "address": "滨江区江南大道1号", "opened_on": "2026-03-01", "franchisee_id": str(fid), "version": "1"}
    assert admin.post_form("/stores/new", store).status_code == 302
    sid = _one(app, select(Store.id).where(Store.code == "HZ009"))
    assert _one(app, select(func.count(StoreOwnership.id)).where(StoreOwnership.store_id == sid)) == 1
    assert _one(app, select(func.count(AuditEvent.id)).where(AuditEvent.action.in_(["franchisee.created", "store.created"]))) == 2


def test_bad_franchisee_input_is_explained_and_nothing_is_saved(app, world, login_as):
    admin = login_as("admin")
    bad = dict(FRANCHISEE, name="名" * 101, contract_no="FR-A-001", contract_end="2025-01-01", owner_phone="abc", contract_start="2026-02-30")
    response = admin.post_form("/franchisees/new", bad)
    assert response.status_code == 200
    for message in ("最多 100 个字符", "该合同编号已被使用", "请输入有效的电话号码"):
        assert message in response.text
    assert "名" * 101 in response.text  # what the user typed is kept
    assert _one(app, select(func.count(Franchisee.id))) == 2


def test_concurrent_edits_do_not_overwrite_each_other_silently(app, world, login_as):
    first, second = login_as("admin"), app.test_client()
    second.login("t-admin")
    url = f"/franchisees/{world.a}/edit"
    base = dict(FRANCHISEE, name="甲方加盟商", contract_no="FR-A-001", legal_entity="甲方加盟商有限公司",
                contract_start="2020-01-01", contract_end="2030-12-31")
    assert first.post_form(url, dict(base, owner_name="张三", version="1")).status_code == 302
    response = second.post_form(url, dict(base, owner_name="李四", version="1"))
    assert response.status_code == 200 and "其他人修改了这条记录" in response.text
    assert "李四" in response.text  # the second editor's input is not lost
    assert _one(app, select(Franchisee.owner_name).where(Franchisee.id == world.a)) == "张三"


def test_transfer_keeps_history_and_moves_scope(app, world, login_as):
    admin = login_as("admin")
    store = world.a_stores[1]
    response = admin.post_form(f"/stores/{store}/transfer", {"franchisee_id": str(world.b), "effective_on": "2025-06-01", "note": "整店转让"})
    assert response.status_code == 302
    history = admin.get(f"/stores/{store}").text
    assert "甲方加盟商" in history and "乙方秘密加盟商" in history
    assert login_as("owner_a").get(f"/stores/{store}").status_code == 404
    assert login_as("owner_b").get(f"/stores/{store}").status_code == 200


def test_transfer_rules_are_explained(app, world, login_as):
    admin = login_as("admin")
    response = admin.post_form(f"/stores/{world.a_stores[0]}/transfer", {"franchisee_id": str(world.b), "effective_on": "2020-01-01"}, follow_redirects=True)
    assert "转让日期必须晚于当前加盟商的接手日期" in response.text


def test_closing_a_store_keeps_it(app, world, login_as):
    admin = login_as("admin")
    admin.post_form(f"/stores/{world.a_stores[0]}/close", {"closed_on": "2026-01-31"})
    assert _one(app, select(Store.status).where(Store.id == world.a_stores[0])) == "closed"
    assert "已关闭" in login_as("owner_a").get("/stores").text


def test_terminating_a_franchisee_signs_out_and_blocks_its_people(app, world, login_as):
    owner = login_as("owner_a")
    admin = login_as("admin")
    data = dict(FRANCHISEE, name="甲方加盟商", contract_no="FR-A-001", legal_entity="甲方加盟商有限公司",
                contract_start="2020-01-01", contract_end="2030-12-31", status="terminated", version="1")
    assert admin.post_form(f"/franchisees/{world.a}/edit", data).status_code == 302
    assert owner.get("/").status_code == 302
    assert app.test_client().login("t-owner-a").status_code == 403


def test_user_admin_validates_scope_fields(app, world, login_as):
    admin = login_as("admin")
    user = {"username": "new-manager", "display_name": "新店长", "email": "", "role": "store_manager",
            "franchisee_id": str(world.a), "store_ids": [str(world.b_stores[0])], "region_ids": [],
            "department": "", "locale": "zh_Hans", "password": "a long enough pass", "version": "1"}
    response = admin.post_form("/admin/users/new", user)
    assert "所选门店必须都属于所选加盟商" in response.text
    assert admin.post_form("/admin/users/new", dict(user, store_ids=[str(world.a_stores[1])])).status_code == 302
    with app.app_context(), unscoped():
        created = db.session.scalar(select(User).where(User.username == "new-manager"))
        assert [s.id for s in created.stores] == [world.a_stores[1]] and created.must_change_password


def test_narrowing_a_role_ends_the_users_sessions(app, world, login_as):
    victim = login_as("owner_a")
    admin = login_as("admin")
    user = {"username": "t-owner-a", "display_name": "t-owner-a", "email": "t-owner-a@example.cn", "role": "store_staff",
            "franchisee_id": str(world.a), "store_ids": [str(world.a_stores[0])], "region_ids": [],
            "department": "", "locale": "zh_Hans", "version": "1"}
    assert admin.post_form(f"/admin/users/{world.users['owner_a']}/edit", user).status_code == 302
    assert victim.get("/").status_code == 302


def test_store_list_query_count_does_not_grow_with_stores(app, world, login_as, count_queries):
    from tests.factories import make_store

    client = login_as("admin")
    with count_queries() as few:
        client.get("/stores")
    with app.app_context(), unscoped():
        a = db.session.get(Franchisee, world.a)
        east = db.session.get(Region, world.east)
        for i in range(15):
            make_store(f"X{i:02d}", f"加测店{i}", a, east)
        db.session.commit()
    with count_queries() as many:
        client.get("/stores")
    assert len(many) == len(few)


def test_posted_ids_outside_the_offered_choices_are_refused(app, world, login_as):
    admin = login_as("admin")
    user = {"username": "odd-ids", "display_name": "x", "email": "", "role": "hq_supervisor",
            "franchisee_id": "0", "store_ids": [], "region_ids": ["99999"], "department": "",
            "locale": "zh_Hans", "password": "a long enough pass", "version": "1"}
    response = admin.post_form("/admin/users/new", user)
    assert response.status_code == 200 and "不是有效的选项" in response.text
    assert _one(app, select(func.count(User.id)).where(User.username == "odd-ids")) == 0


def test_a_transfer_needs_an_explicit_receiving_franchisee(app, world, login_as):
    admin = login_as("admin")
    page = admin.get(f"/stores/{world.a_stores[0]}/transfer").text
    select_html = re.search(r'<select[^>]*name="franchisee_id"[^>]*>(.*?)</select>', page, re.S).group(1)
    # The browser shows the first option: the placeholder, never some franchisee.
    assert re.match(r'\s*<option[^>]*value="0">请选择</option>', select_html)
    response = admin.post_form(f"/stores/{world.a_stores[0]}/transfer", {"franchisee_id": "0", "effective_on": "2026-01-05"})
    assert response.status_code == 200 and "请选择接手门店的加盟商" in response.text
    assert _one(app, select(Store.franchisee_id).where(Store.id == world.a_stores[0])) == world.a


def test_transfer_rule_messages_show_dates_in_the_users_language(app, world, login_as):
    admin = login_as("admin")
    response = admin.post_form(f"/stores/{world.a_stores[0]}/transfer", {"franchisee_id": str(world.b), "effective_on": "2020-01-01"}, follow_redirects=True)
    assert "2021年1月1日" in response.text


def test_a_new_store_needs_its_region_and_franchisee_chosen(app, world, login_as):
    admin = login_as("admin")
    store = {"code": "NEW1", "name": "新店", "region_id": "0", "city": "杭州", "address": "某路1号",
             "opened_on": "2026-03-01", "franchisee_id": "0", "version": "1"}
    response = admin.post_form("/stores/new", store)
    assert "请选择区域" in response.text and "请选择加盟商" in response.text
    assert _one(app, select(func.count(Store.id)).where(Store.code == "NEW1")) == 0


def test_customers_follow_a_transferred_store_to_its_new_owner(app, world, login_as):
    """Issue 8: a record's current owner is its store's owner; a purchase keeps the franchisee
    of its day. The moved customer is compared with the new owner's customers for duplicates."""
    from datetime import date

    from app.models import Customer, DuplicateCandidate, Purchase
    from tests.factories import make_customer, make_purchase

    store = world.a_stores[1]
    with app.app_context(), unscoped():
        moved = db.session.get(Customer, world.customers["a2"])
        make_purchase(moved, date(2024, 3, 1), "100.00")
        twin = make_customer(db.session.get(Store, world.b_stores[0]), "乙方同号顾客", mobile=moved.mobile)
        db.session.commit()
        twin_id = twin.id
    admin = login_as("admin")
    response = admin.post_form(f"/stores/{store}/transfer", {"franchisee_id": str(world.b), "effective_on": "2025-06-01"})
    assert response.status_code == 302
    assert _one(app, select(Customer.franchisee_id).where(Customer.id == world.customers["a2"])) == world.b
    assert _one(app, select(Purchase.franchisee_id).where(Purchase.customer_id == world.customers["a2"])) == world.a
    pair = {world.customers["a2"], twin_id}
    assert _one(app, select(func.count()).select_from(DuplicateCandidate).where(
        DuplicateCandidate.customer_id.in_(pair), DuplicateCandidate.other_id.in_(pair),
        DuplicateCandidate.franchisee_id == world.b)) == 1
    # The new owner finds the customer in the list (the scope filters on the franchisee too) ...
    assert "甲二顾客" in login_as("owner_b").get("/customers/").text
    assert "甲二顾客" in login_as("owner_b").get("/customers/?sort=spend").text
    # ... and the old owner no longer does.
    assert "甲二顾客" not in login_as("owner_a").get("/customers/").text


def test_store_opening_hours_are_set_on_the_store_and_checked(app, world, login_as):
    from datetime import time

    from app.models import Store
    from app.security.tenancy import unscoped
    from app.extensions import db

    admin = login_as("admin")
    with app.app_context(), unscoped():
        store = db.session.get(Store, world.a_stores[0])
        form = {"version": store.version, "code": store.code, "name": store.name, "region_id": store.region_id,
                "city": store.city, "address": store.address, "opened_on": store.opened_on.isoformat()}
    bad = admin.post_form(f"/stores/{world.a_stores[0]}/edit", form | {"opens_at": "21:00", "closes_at": "09:00"})
    assert bad.status_code == 200 and "闭店时间必须晚于开店时间" in bad.text
    ok = admin.post_form(f"/stores/{world.a_stores[0]}/edit", form | {"opens_at": "09:30", "closes_at": "20:00",
                                                                         "closed_weekdays": ["6"]})
    assert ok.status_code == 302
    with app.app_context(), unscoped():
        store = db.session.get(Store, world.a_stores[0])
        assert (store.opens_at, store.closes_at, store.closed_weekdays) == (time(9, 30), time(20), "6")
