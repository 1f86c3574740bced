"""Issue 8: what anonymisation and time leave behind, and an audit trail people can read."""
import io
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Customer, CustomerImport
from app.models.base import utcnow
from app.security.tenancy import unscoped


def test_anonymising_scrubs_the_name_from_the_trail_and_keeps_the_events(app, world, login_as):
    b = world.customers["b"]
    with app.app_context(), unscoped():
        customer = db.session.get(Customer, b)
        assert str(customer) == customer.code  # no model puts a customer's name in its label
        code = customer.code
        # What the trail held before this change: the code and the name.
        db.session.add(AuditEvent(action="customer.viewed", target_type="Customer", target_id=b,
                                  target_label=f"{code} 乙方秘密顾客", actor_name="t-owner-b"))
        db.session.commit()
    owner = login_as("owner_b")
    owner.get(f"/customers/{b}")
    assert owner.post_form(f"/customers/{b}/anonymise", {"reason": "withdrawn", "confirm": "y"}).status_code == 302
    with app.app_context(), unscoped():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.target_type == "Customer",
                                                             AuditEvent.target_id == b)).all()
    assert len(events) >= 3  # the old view, this view and the anonymisation stay
    assert {e.target_label for e in events} == {code}
    trail = login_as("admin").get("/admin/audit/").text
    assert f"{code} 乙方秘密顾客" not in trail


def _old_import(app, world, tmp_path, state="invalid", days=31):
    with app.app_context(), unscoped():
        job = CustomerImport(store_id=world.a_stores[0], franchisee_id=world.a, created_by_id=world.users["owner_a"],
                             filename="名单.csv", stored_as="old-upload.csv", file_kind="csv", size=10, state=state,
                             total_rows=2, error_rows=1, errors=[[2, "手机", "12345 不是有效的中国大陆手机号码"]],
                             created_at=utcnow() - timedelta(days=days))
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    for name in ("old-upload.csv", "old-upload.csv.errors.jsonl", "old-upload.csv.progress"):
        (Path(tmp_path) / name).write_text("王小明,12345")
    return job_id


def test_import_files_are_deleted_after_the_retention_period_hq_sets(app, world, login_as, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path))
    job_id = _old_import(app, world, tmp_path)
    recent = _old_import(app, world, tmp_path, days=3)  # shares the files; runs second, below
    from app.services import customer_import

    with app.app_context():
        assert customer_import.delete_old_files() == 1
    assert not any(Path(tmp_path).iterdir())  # upload, progress file and error report
    with app.app_context(), unscoped():
        job = db.session.get(CustomerImport, job_id)
        assert job.files_deleted_at is not None and job.errors is None and job.error_rows == 1
        assert db.session.get(CustomerImport, recent).files_deleted_at is None
    owner = login_as("owner_a")
    page = owner.get(f"/customers/imports/{job_id}").text
    assert "上传的文件及其错误报告已于" in page and "12345" not in page
    assert owner.get(f"/customers/imports/{job_id}/errors.csv").status_code == 302

    # HQ shortens the period on the rules page: the three-day-old upload goes too.
    admin = login_as("admin")
    form = admin.get("/customers/rules").text
    assert 'name="import_retention_days"' in form
    with app.app_context(), unscoped():
        from app.services import customer_analytics as analytics

        analytics.get_rules().import_retention_days = 2
        db.session.commit()
        assert customer_import.delete_old_files() == 1


def test_a_ready_import_past_retention_cannot_be_confirmed(app, world, login_as, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path))
    job_id = _old_import(app, world, tmp_path, state="ready")
    from app.services import customer_import

    with app.app_context():
        customer_import.delete_old_files()
    owner = login_as("owner_a")
    response = owner.post_form(f"/customers/imports/{job_id}/commit", follow_redirects=True)
    assert "请重新上传" in response.text
    with app.app_context(), unscoped():
        assert db.session.get(CustomerImport, job_id).state == "ready"


def test_the_trail_names_actions_and_links_records_in_the_readers_language(app, world, login_as):
    owner = login_as("owner_a")
    owner.get(f"/customers/{world.customers['a']}")
    upload = {"store_id": str(world.a_stores[0]), "file": (io.BytesIO("姓名\n甲\n".encode()), "a.csv")}
    owner.post_form("/customers/imports", upload, content_type="multipart/form-data")
    admin = login_as("admin")
    page = admin.get("/admin/audit/").text
    assert "查看客户档案" in page and "上传客户导入文件" in page
    assert f'href="/customers/{world.customers["a"]}"' in page  # the record is a link
    assert "&lt;CustomerImport" not in page and "<CustomerImport" not in page
    # The filter offers the actions by name and matches one exactly.
    assert '<option value="customer.viewed">查看客户档案</option>' in page
    only = admin.get("/admin/audit/?action=customer.viewed").text
    assert "查看客户档案" in only and "上传客户导入文件</td>" not in only
    admin.post_form("/language", {"lang": "en"})
    assert "Customer file viewed" in admin.get("/admin/audit/").text
    # A customer's own access log reads the same way (admin now reads English).
    log = admin.get(f"/customers/{world.customers['a']}/access-log").text
    assert "Customer file viewed" in log and "<code>customer.viewed" not in log


def test_event_details_are_named_and_formatted_and_shown_on_a_phone_card(app, world, login_as):
    from app.models.base import local_today

    staff = login_as("manager_a")
    staff.post_form(f"/customers/{world.customers['a']}/purchases/new", {
        "purchased_on": local_today().isoformat(), "amount": "12345.50", "items": "沙发", "product_type": "furniture", "channel": "in_store"})
    page = login_as("admin").get("/admin/audit/?action=purchase.created").text
    assert "金额</span>: 12,345.50" in page and "amount</span>" not in page
    assert 'data-label="详情"' in page  # a cell of the phone card, not hidden below 768 px
