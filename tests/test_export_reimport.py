"""Issue 8: an export imports again (same columns, real dates, inert formulas), and an import
may skip or update the customers already on file, saying what became of each row. Addresses
are written with their province, city and district from the national division table."""
import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Customer, CustomerImport, Store
from app.security.tenancy import unscoped
from app.services import addresses
from tests.factories import make_customer


@pytest.fixture
def owner(login_as, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path))
    return login_as("owner_a")


def _upload(client, world, content: bytes, existing="refuse", filename="customers.csv"):
    data = {"store_id": str(world.a_stores[0]), "existing": existing, "file": (io.BytesIO(content), filename)}
    response = client.post_form("/customers/imports", data, content_type="multipart/form-data")
    assert response.status_code == 302, response.text
    db.session.expire_all()
    with unscoped():
        return db.session.scalar(select(CustomerImport).order_by(CustomerImport.id.desc()))


def _commit(client, job):
    client.post_form(f"/customers/imports/{job.id}/commit")
    db.session.expire_all()
    with unscoped():
        return db.session.get(CustomerImport, job.id)


@pytest.fixture
def on_file(app, world):
    with app.app_context(), unscoped():
        store = db.session.get(Store, world.a_stores[0])
        make_customer(store, "导出顾客", code="EX-1", mobile="13600000001", birthday=date(1985, 3, 9),
                      address="浙江省杭州市西湖区文三路100号", occupation="教师", consent=True,
                      consent_at=datetime(2026, 5, 1, 4), consent_method="paper",
                      consent_purpose="回访")
        make_customer(store, '=HYPERLINK("http://x","y")', code="EX-2")
        db.session.commit()
    return world


def test_an_export_has_the_import_columns_real_dates_and_inert_formulas(app, on_file, owner):
    book = load_workbook(io.BytesIO(owner.get("/customers/export.xlsx").data))
    rows = list(book.active.iter_rows(values_only=True))
    header = rows[0]
    assert header[:5] == ("门店编码", "客户编码", "姓名", "性别", "生日")
    from app.services.customer_import import EXPORT_COLUMNS

    assert list(header[:len(EXPORT_COLUMNS)]) == [zh for _key, zh, _en in EXPORT_COLUMNS]
    by_code = {row[1]: dict(zip(header, row)) for row in rows[1:]}
    one = by_code["EX-1"]
    assert one["生日"].date() == date(1985, 3, 9)  # a spreadsheet date, not text
    assert one["职业"] == "教师" and one["同意保存联系方式"] == "是"
    assert one["地址"] == "浙江省杭州市西湖区文三路100号"
    formula = [c for c in book.active.iter_rows(min_row=2) if c[1].value == "EX-2"][0][2]
    assert formula.data_type == "s"  # typed as text, never evaluated
    owner.post_form("/language", {"lang": "en"})
    text = owner.get("/customers/export.csv").data.decode("utf-8-sig")
    header = text.splitlines()[0]
    assert header.startswith("store code,customer code,name,gender,birthday") and "Lifetime value" in header


def test_an_export_imports_again_updating_the_same_customers(app, on_file, owner, ctx):
    exported = owner.get("/customers/export.csv").data
    rows = len(exported.decode("utf-8-sig").splitlines()) - 1
    assert rows == 4  # the world's two customers of franchisee A and the two above
    # Refused by default: the codes are on file.
    job = _upload(owner, on_file, exported)
    assert job.state == "invalid" and job.error_rows == rows
    # Updated: nothing is new, the figures columns are ignored, no row has a problem.
    text = exported.decode("utf-8-sig").replace("教师", "工程师")
    with unscoped():  # points earned after the export are not undone by importing it again
        one = db.session.scalar(select(Customer).where(Customer.code == "EX-1"))
        one.points = 777
        consent_at = one.consent_at
        db.session.commit()
    job = _upload(owner, on_file, text.encode("utf-8-sig"), existing="update")
    assert (job.state, job.error_rows, job.updated_rows) == ("ready", 0, rows), job.errors
    with unscoped():
        before = db.session.scalar(select(func.count(Customer.id)))
        version = db.session.scalar(select(Customer.version).where(Customer.code == "EX-1"))
    job = _commit(owner, job)
    assert (job.state, job.imported_rows, job.updated_rows, job.skipped_rows) == ("done", 0, rows, 0), job.message
    db.session.expire_all()
    with unscoped():
        assert db.session.scalar(select(func.count(Customer.id))) == before
        one = db.session.scalar(select(Customer).where(Customer.code == "EX-1"))
        assert (one.occupation, one.mobile, one.birthday, one.consent) == ("工程师", "13600000001", date(1985, 3, 9), True)
        assert one.points == 777 and one.consent_at == consent_at
        assert one.version == version + 1  # an open edit form now reports the conflict
        assert db.session.scalar(select(Customer.name).where(Customer.code == "EX-2")) == '=HYPERLINK("http://x","y")'
        trail = db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == one.id,
                                                                    AuditEvent.target_type == "Customer")).all()
        assert "customer.updated" in trail
    report = owner.get(f"/customers/imports/{job.id}/rows.csv").data.decode("utf-8-sig")
    assert "EX-1,已更新" in report and "EX-2,已更新" in report


def test_skip_imports_only_the_new_rows_and_reports_each(app, on_file, owner, ctx):
    content = ("客户编码,姓名,手机,同意保存联系方式\nEX-1,另一个名字,,否\n,新顾客,,否\n").encode("utf-8")
    job = _upload(owner, on_file, content, existing="skip")
    assert (job.state, job.skipped_rows) == ("ready", 1), job.errors
    job = _commit(owner, job)
    assert (job.imported_rows, job.skipped_rows) == (1, 1)
    with unscoped():
        assert db.session.scalar(select(Customer.name).where(Customer.code == "EX-1")) == "导出顾客"
        new_code = db.session.scalar(select(Customer.code).where(Customer.name == "新顾客"))
    report = list(csv.reader(io.StringIO(owner.get(f"/customers/imports/{job.id}/rows.csv").data.decode("utf-8-sig"))))
    assert report[1:] == [["2", "EX-1", "跳过：已在档案中"], ["3", new_code, "已新建客户"]]
    assert "1 条已更新" not in owner.get(f"/customers/imports/{job.id}").text


def test_an_update_row_may_not_take_another_customers_mobile_or_add_contacts_without_consent(app, on_file, owner, ctx):
    with unscoped():
        make_customer(db.session.get(Store, on_file.a_stores[0]), "别人", code="EX-3", mobile="13600000003")
        db.session.commit()
    content = "客户编码,姓名,手机,邮箱\nEX-1,,13600000003,\nEX-2,,,new@example.com\n".encode("utf-8")
    job = _upload(owner, on_file, content, existing="update")
    assert job.state == "invalid" and job.error_rows == 2
    problems = {row: message for row, _column, message in job.errors}
    assert "EX-3" in str(problems[2])  # the mobile belongs to EX-3
    assert 3 in problems  # EX-2 has no consent: a new e-mail needs it (R61)


def test_masked_contact_details_in_an_export_import_as_kept(app, on_file, login_as, owner):
    """An auditor's export masks mobiles (136****0001); updating from it keeps the real number.
    (No shared app context here: two signed-in clients would share its CSRF token.)"""
    exported = login_as("auditor").get("/customers/export.csv").data.decode("utf-8-sig")
    assert "136****0001" in exported and "13600000001" not in exported
    lines = exported.splitlines()
    exported = "\n".join([lines[0]] + [line for line in lines[1:] if ",EX-1," in line]) + "\n"
    with app.app_context():
        job = _upload(owner, on_file, exported.encode("utf-8-sig"), existing="update")
        assert job.state == "ready", job.errors
        _commit(owner, job)
        db.session.expire_all()
        with unscoped():
            assert db.session.scalar(select(Customer.mobile).where(Customer.code == "EX-1")) == "13600000001"


@pytest.mark.parametrize("typed, province, city, district, written", [
    ("上海徐汇区漕溪北路 88 号", "上海市", "上海市", "徐汇区", "上海市徐汇区漕溪北路88号"),
    ("浙江杭州西湖区文三路100号", "浙江省", "杭州市", "西湖区", "浙江省杭州市西湖区文三路100号"),
    ("徐汇区漕溪北路88号", "上海市", "上海市", "徐汇区", "上海市徐汇区漕溪北路88号"),  # the only 徐汇区
    ("吉林延边延吉市", "吉林省", "延边朝鲜族自治州", "延吉市", "吉林省延边朝鲜族自治州延吉市"),
    ("北京路12号", None, None, None, "北京路12号"),  # a street, not the city
    ("中山大道西 1 号", None, None, None, "中山大道西1号"),
    ("朝阳区建国路", None, None, None, "朝阳区建国路"),  # 朝阳区 of Beijing or of Changchun: left alone
    ("Room 1201, Tower B", None, None, None, "Room 1201, Tower B"),
])
def test_addresses_are_parsed_with_the_national_division_table(typed, province, city, district, written):
    parsed = addresses.parse(typed)
    assert (parsed.province, parsed.city, parsed.district) == (province, city, district)
    assert addresses.normalise(typed) == written


def test_the_form_and_the_import_store_province_city_and_district(app, world, owner, login_as):
    from tests.test_customers import CONSENTED, VALID

    manager = login_as("manager_a")
    cid = world.customers["a"]
    data = VALID | CONSENTED | {"name": "甲方顾客", "mobile": "13800000001", "version": "1",
                                "address": "江苏苏州工业园区星海街9号"}
    response = manager.post_form(f"/customers/{cid}/edit", data)
    assert response.status_code == 302, response.text
    with app.app_context(), unscoped():
        customer = db.session.get(Customer, cid)
        assert (customer.province, customer.city) == ("江苏省", "苏州市")
        assert customer.address == "江苏省苏州市工业园区星海街9号"
    with app.app_context():
        job = _upload(owner, world, "姓名,地址,同意保存联系方式,同意日期,同意方式,同意用途\n"
                      "李雷,广州天河区天河路1号,是,2026-10-01,纸质表格,回访\n".encode("utf-8"))
        _commit(owner, job)
    with app.app_context(), unscoped():
        li = db.session.scalar(select(Customer).where(Customer.name == "李雷"))
        assert (li.province, li.city, li.district, li.address) == ("广东省", "广州市", "天河区", "广东省广州市天河区天河路1号")


def test_a_purchase_history_import_gives_migrated_customers_their_real_figures(app, on_file, owner, ctx):
    """Issue 8: without it a migrated customer base is all "potential / C"."""
    from app.models import Purchase
    from app.models.base import local_today

    today = local_today()
    rows = [f",EX-1,,{(today.replace(day=1) - __import__('datetime').timedelta(days=40 * i)).isoformat()},3000,布艺沙发,"
            f"{kind},门店," for i, kind in enumerate(["家具", "床品家纺", "灯具照明", "家具", "Furniture", "bedding",
                                                      "家具", "家具", "家具"])]
    content = "门店编码,客户编码,手机,消费日期,金额,商品,产品类型,渠道,积分\n" + "\n".join(rows) + "\n"
    content += f",,13600000001,{today.isoformat()},99.50,乳胶枕,,微信,500\n"  # found by mobile; points given
    data = {"store_id": str(on_file.a_stores[0]), "kind": "purchases", "existing": "refuse",
            "file": (io.BytesIO(content.encode("utf-8")), "history.csv")}
    assert owner.post_form("/customers/imports", data, content_type="multipart/form-data").status_code == 302
    db.session.expire_all()
    with unscoped():
        job = db.session.scalar(select(CustomerImport).order_by(CustomerImport.id.desc()))
        one = db.session.scalar(select(Customer).where(Customer.code == "EX-1"))
        assert (job.kind, job.state, job.total_rows) == ("purchases", "ready", 10), job.errors
        assert one.purchase_count == 0 and one.category == "potential"
    job = _commit(owner, job)
    assert (job.state, job.imported_rows) == ("done", 10), job.message
    db.session.expire_all()
    with unscoped():
        one = db.session.scalar(select(Customer).where(Customer.code == "EX-1"))
        assert one.purchase_count == 10 and one.total_spend == Decimal("27099.50")
        assert one.product_types == 3 and one.category == "vip"  # 10 purchases within a year, 3 product lines
        assert one.points == 9 * 3000 + 500 and one.grade == "A"
        purchases = db.session.scalars(select(Purchase).where(Purchase.customer_id == one.id)).all()
        assert {p.channel for p in purchases} == {"in_store", "wechat"}
        # Issue 14: each imported purchase earned its points as a ledger entry.
        from app.models import PointsEntry
        from app.services.loyalty import ledger

        assert ledger.check() == []
        assert db.session.scalar(select(func.count()).where(
            PointsEntry.customer_id == one.id, PointsEntry.kind == "earn")) == 10
    page = owner.get(f"/customers/imports/{job.id}").text
    assert "10 笔消费已导入" in page
    report = owner.get(f"/customers/imports/{job.id}/rows.csv").data.decode("utf-8-sig")
    assert "EX-1,已添加到消费历史" in report


def test_a_purchase_import_refuses_unknown_customers_future_dates_and_other_franchisees(app, on_file, owner, ctx):
    content = ("客户编码,手机,消费日期,金额,商品\n"
               "NOPE-1,,2025-01-01,100,床垫\n"
               ",13911112222,2025-01-01,100,床垫\n"  # franchisee B's customer
               "EX-1,,2099-01-01,100,床垫\n"
               "EX-1,,2025-01-01,0,床垫\n"
               "EX-1,,2025-01-01,100,\n")
    data = {"store_id": str(on_file.a_stores[0]), "kind": "purchases", "existing": "refuse",
            "file": (io.BytesIO(content.encode("utf-8")), "history.csv")}
    owner.post_form("/customers/imports", data, content_type="multipart/form-data")
    db.session.expire_all()
    with unscoped():
        job = db.session.scalar(select(CustomerImport).order_by(CustomerImport.id.desc()))
    assert (job.state, job.error_rows) == ("invalid", 5)
    problems = {row: str(message) for row, _column, message in job.errors}
    assert "NOPE-1" in problems[2] and "13911112222" in problems[3]
    page = owner.get(f"/customers/imports/{job.id}").text
    assert "消费日期不能晚于今天" in page and "0.01" in page


def _purchase_job(owner, world, content: str):
    data = {"store_id": str(world.a_stores[0]), "kind": "purchases", "existing": "refuse",
            "file": (io.BytesIO(content.encode("utf-8")), "history.csv")}
    owner.post_form("/customers/imports", data, content_type="multipart/form-data")
    db.session.expire_all()
    with unscoped():
        return db.session.scalar(select(CustomerImport).order_by(CustomerImport.id.desc()))


def test_a_purchase_goes_to_no_guessed_customer(app, on_file, owner, ctx):
    """Trial 2: a mobile shared by two files, or a code and a mobile of two customers, is refused."""
    with unscoped():
        store = db.session.get(Store, on_file.a_stores[0])
        make_customer(store, "重复甲", code="DUP-1", mobile="13700000009")
        make_customer(store, "重复乙", code="DUP-2", mobile="13700000009")
        db.session.commit()
    job = _purchase_job(owner, on_file, "客户编码,手机,消费日期,金额,商品\n"
                                        ",13700000009,2025-01-01,100,床垫\n"
                                        "EX-1,13700000009,2025-01-01,100,床垫\n"
                                        "EX-1,,2025-01-01,100.555,床垫\n"
                                        "EX-1,,2025-01-01,100,床垫,\n")
    assert (job.state, job.error_rows) == ("invalid", 3)
    problems = {row: str(message) for row, _column, message in job.errors}
    assert "DUP-1, DUP-2" in problems[2] and "13700000009" in problems[3]
    assert "at most two decimals" in problems[4]


def test_an_export_of_duplicates_sharing_a_phone_updates_as_it_is(app, on_file, owner, ctx):
    with unscoped():
        store = db.session.get(Store, on_file.a_stores[0])
        make_customer(store, "重复甲", code="DUP-1", mobile="13700000009")
        make_customer(store, "重复乙", code="DUP-2", mobile="13700000009")
        db.session.commit()
    exported = owner.get("/customers/export.csv").data
    job = _upload(owner, on_file, exported, existing="update")
    assert (job.state, job.error_rows) == ("ready", 0), job.errors


def test_a_store_manager_sees_only_the_imports_they_uploaded(app, world, login_as, tmp_path, monkeypatch):
    """Trial 2: a file the owner imported for another store listed that store's customers."""
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path))
    owner = login_as("owner_a")
    with app.app_context():
        job = _upload(owner, world, "姓名,同意保存联系方式\n老板导入,否\n".encode("utf-8"))
    manager = login_as("manager_a")
    assert manager.get(f"/customers/imports/{job.id}").status_code == 404
    assert manager.get(f"/customers/imports/{job.id}/errors.csv").status_code == 404
    assert "老板导入" not in manager.get("/customers/imports").text and job.filename not in manager.get("/customers/imports").text
    assert owner.get(f"/customers/imports/{job.id}").status_code == 200


def test_import_pages_say_what_happens_in_the_readers_language(app, on_file, owner):
    """(No shared app context: it would keep the first request's language.)"""
    owner.post_form("/language", {"lang": "en"})
    with app.app_context():
        job = _upload(owner, on_file, "Name,Mobile,Consent\nA,123,no\n".encode("utf-8"))
    page = owner.get(f"/customers/imports/{job.id}").text
    assert ">mobile<" in page and "手机" not in page  # the column as the reader knows it
    with app.app_context():
        job = _upload(owner, on_file, "客户编码,姓名,同意保存联系方式\nEX-1,x,否\n".encode("utf-8"), existing="skip")
    page = owner.get(f"/customers/imports/{job.id}").text
    assert 'data-testid="import-nothing"' in page and "/commit" not in page
    with app.app_context():
        job = _upload(owner, on_file, "姓名,同意保存联系方式\n新人,否\n".encode("utf-8"))
        _commit(owner, job)
    again = owner.post_form(f"/customers/imports/{job.id}/commit", follow_redirects=True).text
    assert "already being imported (or was imported)" in again


def test_a_new_customer_gets_not_stated_gender_and_the_entry_tier(app, world, login_as):
    from tests.test_customers import VALID

    manager = login_as("manager_a")
    form = manager.get("/customers/new").text
    assert 'value="unknown" selected' in form or 'selected value="unknown"' in form
    response = manager.post_form("/customers/new", {k: v for k, v in VALID.items() if k != "gender"}
                                 | {"store_id": str(world.a_stores[0]), "name": "新建档顾客", "version": "1"})
    assert response.status_code == 302
    with app.app_context(), unscoped():
        customer = db.session.scalar(select(Customer).where(Customer.name == "新建档顾客"))
        assert customer.tier is not None and customer.tier.rank == 1
