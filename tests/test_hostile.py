"""Issue 8, found by probing with hostile input: each answers a normal page, never a 500."""
import pytest

BIG = "9" * 25


def test_a_missing_static_file_is_a_404_with_security_headers(app, world, login_as):
    response = login_as("manager_a").get("/static/css/nope.css")
    assert response.status_code == 404
    assert "Content-Security-Policy" in response.headers and response.headers.get("X-Content-Type-Options") == "nosniff"


@pytest.mark.parametrize("url", [
    f"/customers/{BIG}", f"/customers/{BIG}/edit", f"/customers/{BIG}/purchases/new", f"/stores/{BIG}",
    f"/customers/?store={BIG}", f"/customers/?tier={BIG}", f"/customers/churn?store={BIG}",
    f"/customers/imports/{BIG}", f"/customers/duplicates?franchisee={BIG}", f"/customers/1/merge?other={BIG}",
    f"/customers/?after={BIG}", f"/customers/?page={BIG}", f"/admin/audit/?page={BIG}", f"/customers/care?tab=holiday-{BIG}",
    f"/customers/{BIG}/care/return_visit?ref={BIG}", f"/franchisees/{BIG}", f"/admin/users/{BIG}",
])
def test_a_25_digit_number_anywhere_is_not_found_not_an_error(app, world, login_as, url):
    response = login_as("admin").get(url)
    assert response.status_code in (200, 302, 400, 404), (url, response.status_code)
    assert "Content-Security-Policy" in response.headers


FORMULA = '=HYPERLINK("http://evil.example","点我")'


def test_formula_like_names_export_as_text_in_csv_and_excel(app, world, login_as):
    import csv
    import io

    from openpyxl import load_workbook

    from app.extensions import db
    from app.models import Store
    from app.security.tenancy import unscoped
    from tests.factories import make_customer

    with app.app_context(), unscoped():
        store = db.session.get(Store, world.a_stores[0])
        make_customer(store, FORMULA, code="F-1")
        make_customer(store, "\t+1+2", code="F-2")
        db.session.commit()
    owner = login_as("owner_a")
    text = owner.get("/customers/export.csv").data.decode("utf-8-sig")
    names = {row[1]: row[2] for row in csv.reader(io.StringIO(text))}  # customer code, name
    assert names["F-1"] == "'" + FORMULA and names["F-2"] == "'\t+1+2"
    book = load_workbook(io.BytesIO(owner.get("/customers/export.xlsx").data))
    cells = {row[1].value: row[2] for row in book.active.iter_rows()}
    assert cells["F-1"].value == FORMULA and cells["F-1"].data_type == "s"  # text, never a formula
    with app.app_context(), unscoped():
        from sqlalchemy import select

        from app.models import Customer

        assert db.session.scalar(select(Customer.name).where(Customer.code == "F-1")) == FORMULA  # kept as typed


def test_the_import_error_report_does_not_echo_a_formula(app, world, login_as, tmp_path, monkeypatch):
    import io

    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path))
    owner = login_as("owner_a")
    # "=1+2 不是可选的值。": the problem quotes the typed value first.
    content = "姓名,性别,同意保存联系方式\n王一,=1+2,否\n".encode()
    owner.post_form("/customers/imports", {"store_id": str(world.a_stores[0]), "file": (io.BytesIO(content), "f.csv")},
                    content_type="multipart/form-data")
    from app.extensions import db
    from app.models import CustomerImport
    from app.security.tenancy import unscoped
    from sqlalchemy import select

    with app.app_context(), unscoped():
        job_id = db.session.scalar(select(CustomerImport.id).order_by(CustomerImport.id.desc()))
    with owner.get(f"/customers/imports/{job_id}/errors.csv") as response:  # closes the file it streams
        report = response.data.decode("utf-8-sig")
    problem_cells = [line.split(",", 2)[2] for line in report.splitlines()[1:]]
    assert problem_cells and not any(cell.lstrip('"').startswith(("=", "+", "-", "@")) for cell in problem_cells)
