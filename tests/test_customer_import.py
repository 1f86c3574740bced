"""Customer import: encodings, headers, per-row errors, all-or-nothing, and files that are not spreadsheets."""
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Customer, CustomerImport

ZH_HEADER = "门店编码,客户编码,姓名,性别,生日,手机,邮箱,同意保存联系方式,同意日期,同意方式,同意用途\n"
# Consent with its date, method and purpose (R61): a row that keeps contact details needs all four.
OK = ",2026-10-01,纸质表格,回访与会员活动"
NO = ",,,"


@pytest.fixture
def owner(login_as, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path))
    return login_as("owner_a")


def _upload(client, world, content: bytes, filename="customers.csv", store=None):
    data = {"store_id": str(store or world.a_stores[0]), "file": (io.BytesIO(content), filename)}
    return client.post_form("/customers/imports", data, content_type="multipart/form-data")


def _job(app):
    """The latest upload of franchisee A (the world holds one of B's)."""
    from app.models import Franchisee
    from app.security.tenancy import unscoped

    with app.app_context(), unscoped():
        return db.session.scalar(
            select(CustomerImport).join(Franchisee, Franchisee.id == CustomerImport.franchisee_id)
            .where(Franchisee.contract_no == "FR-A-001").order_by(CustomerImport.id.desc()))


def _count(app, **where):
    from app.security.tenancy import unscoped

    with app.app_context(), unscoped():
        return db.session.scalar(select(func.count(Customer.id)).filter_by(**where))


def test_utf8_bom_csv_with_chinese_headers_is_checked_then_imported_on_confirmation(app, world, owner):
    before = _count(app)
    csv = ZH_HEADER + "A01,,王小明,男,1988/4/12,138 0013 8000,WANG@Example.com,是" + OK + "\nA02,,李 娜,女,19900517,+86 139-1000-2000,,是" + OK + "\n"
    response = _upload(owner, world, csv.encode("utf-8-sig"))
    assert response.status_code == 302
    job = _job(app)
    assert (job.state, job.total_rows, job.error_rows, job.encoding) == ("ready", 2, 0, "utf-8-sig")
    assert _count(app) == before  # checking writes nothing
    page = owner.get(f"/customers/imports/{job.id}")
    assert "全部 2 行均通过检查" in page.text
    owner.post_form(f"/customers/imports/{job.id}/commit")
    job = _job(app)
    assert (job.state, job.imported_rows) == ("done", 2), job.message
    from app.security.tenancy import unscoped

    with app.app_context(), unscoped():
        wang = db.session.scalar(select(Customer).where(Customer.name == "王小明"))
        li = db.session.scalar(select(Customer).where(Customer.name == "李 娜"))
        assert (wang.mobile, wang.email, str(wang.birthday), wang.gender, wang.consent) == (
            "13800138000", "WANG@example.com", "1988-04-12", "male", True)
        assert wang.code.startswith("A01-") and li.store_id == world.a_stores[1] and li.mobile == "13910002000"
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "customers.imported")).details["rows"] == 2


def test_gbk_csv_with_english_headers_and_semicolons(app, world, owner):
    csv = ("Name;Mobile;Birthday;Customer type;Consent;Consent date;Consent method;Consent purpose\n"
           "陈静;13700001111;1979-12-01;company;yes;2026-10-01;paper;member offers\n")
    _upload(owner, world, csv.encode("gbk"))
    job = _job(app)
    assert (job.state, job.encoding) == ("ready", "gb18030")


def test_xlsx_is_read_as_a_stream(app, world, owner):
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机", "生日", "积分", "同意", "同意日期", "同意方式", "同意用途"])
    sheet.append(["赵敏", 13600002222, "1985-03-03", 300, "是", "2026-10-01", "微信", "会员活动"])
    buffer = io.BytesIO()
    book.save(buffer)
    _upload(owner, world, buffer.getvalue(), filename="名单.xlsx")
    job = _job(app)
    assert (job.state, job.file_kind, job.total_rows) == ("ready", "xlsx", 1)
    owner.post_form(f"/customers/imports/{job.id}/commit")
    assert _count(app, name="赵敏", points=300, mobile="13600002222") == 1


def test_a_file_with_bad_rows_is_refused_whole_with_an_error_per_row(app, world, owner):
    before = _count(app)
    csv = (ZH_HEADER
           + "A01,,好顾客,女,1990-01-01,13800009999,,是" + OK + "\n"
           + "A01,,坏手机,女,1990-01-01,12345,,是" + OK + "\n"
           + "A01,,坏生日,男,2026-02-30,,,否" + NO + "\n"
           + "B01,,别家门店,男,,13800006666,,是" + OK + "\n"
           + "A01,,重复手机,男,,13800009999,,是" + OK + "\n"
           + "A01,,,男,,,,也许" + NO + "\n"
           + "A01,,未同意留手机,男,,13800005555,,否" + NO + "\n"
           + "A01,,同意无用途,男,,13800004444,,是,2026-10-01,纸质表格,\n")
    _upload(owner, world, csv.encode("utf-8"))
    job = _job(app)
    assert (job.state, job.total_rows, job.error_rows) == ("invalid", 8, 7)
    problems = {(row, column) for row, column, _ in job.errors}
    assert {(3, "手机"), (4, "生日"), (5, "门店编码"), (6, "手机"), (7, "姓名"), (7, "同意保存联系方式"),
            (8, "同意保存联系方式"), (9, "同意用途")} <= problems
    page = owner.get(f"/customers/imports/{job.id}")
    assert "不是有效的中国大陆手机号码" in page.text and "不是真实存在的日期" in page.text
    assert "B01" in page.text  # the user's own input is echoed back, not B's data
    # Confirming an invalid file does nothing.
    owner.post_form(f"/customers/imports/{job.id}/commit")
    assert _job(app).state == "invalid" and _count(app) == before
    with owner.get(f"/customers/imports/{job.id}/errors.csv") as report:  # closes the file it streams
        assert report.status_code == 200 and report.data.startswith(b"\xef\xbb\xbf")
        text = report.data.decode("utf-8-sig")
    assert "4,生日," in text and "坏生日" not in text  # names rows and columns, does not copy the data


def test_duplicate_codes_in_the_file_and_the_database_are_reported(app, world, owner):
    csv = "客户编码,姓名\nVIP-1,甲\nVIP-1,乙\nA01-甲方顾客,丙\n"
    _upload(owner, world, csv.encode("utf-8"))
    job = _job(app)
    assert job.state == "invalid" and [e[0] for e in job.errors] == [3, 4]


@pytest.mark.parametrize("content, filename, message", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", "旧版 Excel"),
    (b"%PDF-1.7\n\x00\x01\x02binary", "report.csv", "不是电子表格"),
    (b"PK\x03\x04not really a workbook", "fake.xlsx", "不是电子表格"),
    (b"", "empty.csv", "文件是空的"),
])
def test_files_that_are_not_spreadsheets_get_a_clear_message(app, world, owner, content, filename, message):
    response = _upload(owner, world, content, filename)
    assert response.status_code == 400 and message in response.text
    assert _job(app) is None or _job(app).filename != filename


def test_a_file_without_a_name_column_fails_with_a_reason(app, world, owner):
    _upload(owner, world, "phone,city\n13800001234,上海\n".encode())
    job = _job(app)
    assert job.state == "failed" and "姓名" in job.message


def test_an_oversize_upload_is_refused_with_a_message(app, world, owner, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 10_000)
    response = _upload(owner, world, b"x" * 20_000)
    assert response.status_code == 413 and "文件过大" in response.text


def test_an_import_cannot_target_another_franchisees_store(app, world, owner):
    response = _upload(owner, world, "姓名\n某人\n".encode(), store=world.b_stores[0])
    assert response.status_code == 400 and _job(app) is None


def test_the_downloadable_template_imports_as_it_is(app, world, owner):
    template = owner.get("/customers/imports/template.csv").data
    _upload(owner, world, template)
    job = _job(app)
    assert (job.state, job.total_rows, job.error_rows) == ("ready", 1, 0), job.errors


def test_a_japanese_shift_jis_file_is_refused_naming_its_encoding(app, world, owner):
    """Issue 8: 山田太郎 in Shift-JIS was read as GBK and stored as 嶳揷懢榊."""
    csv = "氏名,性\n山田太郎,男\n佐藤花子,女\n鈴木一郎,男\n".encode("shift_jis")
    response = _upload(owner, world, csv)
    assert response.status_code == 400 and "Shift-JIS" in response.text and "乱码" in response.text
    assert _count(app, name="嶳揷懢榊") == 0


def test_gbk_names_with_a_rare_character_still_import(app, world, owner):
    csv = ("姓名\n王喆\n李堃\n张玥\n").encode("gbk")  # 3 of 8 characters outside GB2312
    _upload(owner, world, csv)
    assert (_job(app).state, _job(app).encoding) == ("ready", "gb18030")


def test_utf16_unicode_text_from_excel_imports(app, world, owner):
    """Excel's "Unicode text" is tab-separated UTF-16 with a byte-order mark (it was "not a spreadsheet")."""
    text = "姓名\t性别\n赵敏\t女\n"
    _upload(owner, world, text.encode("utf-16"), filename="名单.txt")
    job = _job(app)
    assert (job.state, job.encoding, job.total_rows) == ("ready", "utf-16", 1), job.message
    owner.post_form(f"/customers/imports/{job.id}/commit")
    assert _count(app, name="赵敏") == 1


def test_a_file_without_line_breaks_names_the_cell_size_limit(app, world, owner):
    _upload(owner, world, ("姓名\n" + "x" * 140_000 + "\n").encode("utf-8"))  # one cell past the limit
    job = _job(app)
    assert job.state == "failed" and "131,072" in job.message and "意外" not in job.message


def test_problems_are_shown_in_the_readers_language_not_the_uploaders(app, world, owner, login_as):
    """Issue 8: a file checked for a Chinese-reading owner showed Chinese problems to everyone."""
    _upload(owner, world, (ZH_HEADER + "A01,,坏生日,男,1990-02-30,,,否" + NO + "\n").encode("utf-8"))
    job = _job(app)
    assert job.state == "invalid"
    assert "不是真实存在的日期" in owner.get(f"/customers/imports/{job.id}").text
    admin = login_as("admin")
    admin.post_form("/language", {"lang": "en"})
    assert "1990-02-30 is not a real calendar date." in admin.get(f"/customers/imports/{job.id}").text
    with admin.get(f"/customers/imports/{job.id}/errors.csv") as report:
        text = report.data.decode("utf-8-sig")
    assert text.startswith("Row,Column,Problem") and "is not a real calendar date" in text
    with owner.get(f"/customers/imports/{job.id}/errors.csv") as report:
        assert "不是真实存在的日期" in report.data.decode("utf-8-sig")


def test_why_an_import_failed_is_shown_in_the_readers_language(app, world, owner, login_as):
    _upload(owner, world, "phone,city\n13800001234,上海\n".encode())
    job = _job(app)
    assert job.state == "failed" and "未找到姓名列" in owner.get(f"/customers/imports/{job.id}").text
    admin = login_as("admin")
    admin.post_form("/language", {"lang": "en"})
    assert "No name column found" in admin.get(f"/customers/imports/{job.id}").text


def test_a_workbook_that_unpacks_too_big_is_refused_before_it_is_read(app, world, owner, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_UNPACKED_MB", 0)  # any workbook is "too big" here
    book = Workbook()
    book.active.append(["姓名"])
    buffer = io.BytesIO()
    book.save(buffer)
    response = _upload(owner, world, buffer.getvalue(), filename="大.xlsx")
    assert response.status_code == 400 and "解压后" in response.text


def test_blank_rows_count_against_the_row_limit(app, world, owner, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 5)
    _upload(owner, world, ("姓名\n" + ",\n" * 10 + "王五\n").encode("utf-8"))
    job = _job(app)
    assert job.state == "failed" and "more than %(max)d rows" in job.message


def test_an_import_whose_process_died_can_be_started_again(app, world, owner, tmp_path):
    from datetime import timedelta

    from app.models.base import utcnow
    from app.security.tenancy import unscoped

    (tmp_path / "died.csv").write_text("姓名\n孙七\n", encoding="utf-8")
    with app.app_context(), unscoped():
        job = CustomerImport(store_id=world.a_stores[0], franchisee_id=world.a, created_by_id=world.users["owner_a"],
                             filename="died.csv", stored_as="died.csv", file_kind="csv", size=12, encoding="utf-8",
                             state="validating", created_at=utcnow() - timedelta(minutes=30))
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    page = owner.get(f"/customers/imports/{job_id}").text
    assert 'data-testid="import-stalled"' in page and 'http-equiv="refresh"' not in page
    owner.post_form(f"/customers/imports/{job_id}/retry")
    assert _job(app).state == "ready"  # checked again (inline in the tests, a new process in production)
    # A job that is moving is not restarted.
    assert 'data-testid="import-stalled"' not in owner.get(f"/customers/imports/{job_id}").text


def test_imports_beyond_the_running_limit_wait_in_line_visibly(app, world, owner, monkeypatch):
    """Issue 8: four small uploads ran four processes at once; now IMPORT_MAX_RUNNING do."""
    monkeypatch.setitem(app.config, "IMPORT_MAX_RUNNING", 0)  # every place taken
    _upload(owner, world, "姓名\n排队一\n".encode())
    first = _job(app)
    _upload(owner, world, "姓名\n排队二\n".encode())
    second = _job(app)
    assert first.queued_at is not None and second.queued_at is not None and second.state == "validating"
    page = owner.get(f"/customers/imports/{second.id}").text
    assert 'data-testid="import-queued"' in page and "排队等候" in page and "前面还有 1 个" in page
    assert "排队等候" in owner.get("/customers/imports").text
    monkeypatch.setitem(app.config, "IMPORT_MAX_RUNNING", 2)  # places free up: the line moves
    from app.services import customer_import

    with app.test_request_context():
        customer_import.start_next()
    from app.security.tenancy import unscoped

    with app.app_context(), unscoped():
        states = {j.id: (j.state, j.queued_at) for j in db.session.scalars(select(CustomerImport))}
    assert states[first.id] == ("ready", None) and states[second.id] == ("ready", None)


def test_imported_customers_carry_the_figures_the_rules_give_them(app, world, owner):
    """The import writes category, grade, CLV and tier with each row (no UPDATE of every new row
    afterwards): they must equal what the rules compute in SQL."""
    from app.security.tenancy import unscoped
    from app.services import customer_analytics as analytics

    _upload(owner, world, (ZH_HEADER.rstrip("\n") + ",积分\n" + "A01,,积分多,男,,,,否,,,,30000\n"
                           + "A01,,积分少,女,,,,否,,,,10\n").encode("utf-8"))
    owner.post_form(f"/customers/imports/{_job(app).id}/commit")
    assert _job(app).state == "done", _job(app).message
    with app.app_context(), unscoped():
        rows = lambda: {c.name: (c.category, c.grade, c.clv, c.tier_id)  # noqa: E731
                        for c in db.session.scalars(select(Customer).where(Customer.name.in_(["积分多", "积分少"])))}
        written = rows()
        analytics.apply_rules(where=Customer.name.in_(["积分多", "积分少"]))
        db.session.flush()
        db.session.expire_all()
        assert rows() == written and len(written) == 2
        # Issue 14: the points on file open each new customer's ledger.
        from app.models import PointsEntry
        from app.services.loyalty import ledger

        assert ledger.check() == []
        assert sorted(db.session.scalars(select(PointsEntry.points).join(Customer, Customer.id == PointsEntry.customer_id)
                                         .where(Customer.name.in_(["积分多", "积分少"])))) == [10, 30000]
