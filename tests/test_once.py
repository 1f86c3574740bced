"""Create forms are saved once (issue 8): Back then Save, a double click or a retried post of the
same form lands on the record the first post created instead of adding it again."""
import re
from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Contact, Customer, FormReceipt, Purchase
from app.models.base import utcnow, local_today
from app.security.tenancy import unscoped

TOKEN_RE = re.compile(r'name="submission" value="" data-submission="([0-9a-f]{32})"')


def _token(client, url) -> str:
    page = client.get(url)
    assert page.status_code == 200
    return TOKEN_RE.search(page.text).group(1)


def _count(app, model, **where):
    with app.app_context(), unscoped():
        return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def _spend(app, customer_id):
    with app.app_context(), unscoped():
        return db.session.get(Customer, customer_id).total_spend


def test_a_replayed_purchase_is_recorded_once_and_lands_on_the_customer(app, world, login_as):
    client = login_as("manager_a")
    cid = world.customers["a"]
    url = f"/customers/{cid}/purchases/new"
    purchase = {"purchased_on": local_today().isoformat(), "amount": "1288.00", "items": "床垫", "product_type": "bedding", "channel": "in_store",
                "submission": _token(client, url)}
    before = _count(app, Purchase, customer_id=cid)
    first = client.post_form(url, purchase)
    assert first.status_code == 302 and first.headers["Location"].endswith(f"/customers/{cid}")
    spend = _spend(app, cid)

    again = client.post_form(url, purchase)  # the browser restored the form: same token
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/customers/{cid}")
    assert _count(app, Purchase, customer_id=cid) == before + 1
    assert _spend(app, cid) == spend  # spend, points and tier are not inflated
    page = client.get(again.headers["Location"]).text
    assert "此表单已经保存过" in page and re.search(r"（\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}）", page)  # four-digit year

    # A new form (a new token) is a new purchase.
    client.post_form(url, purchase | {"submission": _token(client, url)})
    assert _count(app, Purchase, customer_id=cid) == before + 2


def test_a_replayed_new_customer_lands_on_its_file_instead_of_failing_on_its_own_mobile(app, world, login_as):
    client = login_as("manager_a")
    data = {"name": "回退再存", "gender": "female", "customer_type": "individual", "source": "walk_in",
            "relationship_type": "basic", "salesperson_id": "0", "mobile": "13912345678", "consent": "y",
            "consent_method": "paper", "consent_purpose": "回访", "consent_date": local_today().isoformat(),
            "version": "1", "submission": _token(client, "/customers/new")}
    first = client.post_form("/customers/new", data)
    assert first.status_code == 302
    again = client.post_form("/customers/new", data)
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    assert _count(app, Customer, name="回退再存") == 1
    assert "该手机号已属于" not in client.get(again.headers["Location"]).text


def test_a_replayed_contact_is_logged_once(app, world, login_as):
    client = login_as("staff_a")
    cid = world.customers["a"]
    url = f"/customers/{cid}/contacts/new"
    data = {"occurred_at": utcnow().strftime("%Y-%m-%dT%H:%M"), "method": "phone", "purpose": "return_visit",
            "outcome": "回访一次", "submission": _token(client, url)}
    assert client.post_form(url, data).status_code == 302
    assert client.post_form(url, data).status_code == 302
    assert _count(app, Contact, customer_id=cid, outcome="回访一次") == 1


def test_a_form_shown_again_after_an_error_keeps_its_token_and_saves_once(app, world, login_as):
    client = login_as("manager_a")
    cid = world.customers["a"]
    url = f"/customers/{cid}/purchases/new"
    token = _token(client, url)
    wrong = client.post_form(url, {"purchased_on": local_today().isoformat(), "amount": "0", "items": "床垫",
                                   "channel": "in_store", "submission": token})
    assert wrong.status_code == 200 and f'data-submission="{token}"' in wrong.text
    fixed = {"purchased_on": local_today().isoformat(), "amount": "10", "items": "床垫", "product_type": "bedding", "channel": "in_store",
             "submission": token}
    before = _count(app, Purchase, customer_id=cid)
    client.post_form(url, fixed)
    client.post_form(url, fixed)
    assert _count(app, Purchase, customer_id=cid) == before + 1


def test_another_users_token_is_not_a_way_to_open_their_record(app, world, login_as):
    owner_b = login_as("owner_b")
    cid = world.customers["a"]
    manager = login_as("manager_a")
    token = _token(manager, f"/customers/{cid}/purchases/new")
    manager.post_form(f"/customers/{cid}/purchases/new", {"purchased_on": local_today().isoformat(), "amount": "10",
                                                          "items": "床垫", "product_type": "bedding", "channel": "in_store", "submission": token})
    # owner-b posts manager-a's token to one of their own forms: it is not a receipt of theirs,
    # so they are not sent to manager-a's customer: their contact is simply saved.
    response = owner_b.post_form(f"/customers/{world.customers['b']}/contacts/new",
                                 {"occurred_at": utcnow().strftime("%Y-%m-%dT%H:%M"), "method": "phone",
                                  "purpose": "return_visit", "outcome": "乙方回访", "submission": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/customers/{world.customers['b']}")
    assert _count(app, Contact, customer_id=world.customers["b"], outcome="乙方回访") == 1


def test_create_forms_of_every_module_carry_a_token(app, world, login_as):
    admin = login_as("admin")
    for url in ("/customers/new", "/regions/new", "/franchisees/new", "/stores/new", "/admin/users/new"):
        assert TOKEN_RE.search(admin.get(url).text), url
    assert TOKEN_RE.search(admin.get("/customers/rules").text)  # tier and holiday forms
    assert TOKEN_RE.search(login_as("owner_a").get("/customers/imports").text)


def test_nightly_job_forgets_old_receipts(app, world):
    from app.services import network_jobs

    old = utcnow() - timedelta(days=app.config["FORM_RECEIPT_DAYS"] + 1)
    with app.app_context(), unscoped():
        db.session.add_all([FormReceipt(token="a" * 32, user_id=world.users["admin"], url="/x", created_at=old),
                            FormReceipt(token="b" * 32, user_id=world.users["admin"], url="/y")])
        db.session.commit()
    with app.app_context():  # as the nightly command runs it: no scope in force
        network_jobs.forget_old_receipts()
    with app.app_context(), unscoped():
        assert db.session.scalars(select(FormReceipt.token)).all() == ["b" * 32]
