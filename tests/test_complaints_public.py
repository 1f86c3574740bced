"""The store's public complaint page and the customer's progress link (issue 9; R61): no sign-in,
consent to a privacy notice, spam checks, rate limits, and nothing revealed about anything else."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Complaint, Store
from app.security.tenancy import unscoped
from app.services.complaints import public, workflow

STAMP_RE = re.compile(r'name="stamp" value="" data-submission="([^"]+)"')


@pytest.fixture
def store_key(app, world):
    app.config["PUBLIC_FORM_MIN_SECONDS"] = 0
    yield _key(app, world.a_stores[0])
    app.config["PUBLIC_FORM_MIN_SECONDS"] = 3


def _key(app, store_id):
    with app.app_context(), unscoped():
        return db.session.get(Store, store_id).public_key


def _fill(client, key, **values):
    page = client.get(f"/feedback/{key}")
    assert page.status_code == 200
    data = {"kind": "complaint", "category_id": "0", "description": "收银员多收了我二十元，找她理论还被甩脸色。",
            "contact_name": "周女士", "contact_phone": "13912345678", "consent": "y",
            "stamp": STAMP_RE.search(page.text).group(1)}
    return data | values


def _complaints(app, **where):
    with app.app_context(), unscoped():
        return db.session.scalars(select(Complaint).filter_by(**where)).all()


def test_a_customer_files_a_complaint_and_follows_it_with_the_private_link(app, world, client, store_key):
    page = client.get(f"/feedback/{store_key}")
    assert "甲一店" in page.text and "隐私" in page.text
    response = client.post_form(f"/feedback/{store_key}", _fill(client, store_key))
    assert response.status_code == 302
    done = client.get(response.headers["Location"])
    reference = re.search(r'data-testid="public-reference">(\w+)<', done.text).group(1)
    link = re.search(r'data-testid="progress-link">([^<]+)<', done.text).group(1)
    assert "<svg" in done.text  # the link as a QR code too
    assert client.get(response.headers["Location"]).status_code == 302  # the link is shown once
    (complaint,) = _complaints(app, reference=reference)
    assert complaint.public and complaint.received_by_id is None and complaint.privacy_consent_at is not None
    assert complaint.store_id == world.a_stores[0] and complaint.franchisee_id == world.a
    assert complaint.resolve_due_at is not None and complaint.status == "received"
    path = link.split("localhost", 1)[1]
    progress = client.get(path)
    assert progress.status_code == 200 and reference in progress.text
    assert 'data-testid="store-contact"' in progress.text  # where to ask: the store and its address
    # Internal notes never reach the customer's page; status changes do.
    with app.app_context(), unscoped():
        from app.models import User

        c = db.session.get(Complaint, complaint.id)
        workflow.communicate(c, db.session.get(User, world.users["staff_a"]), "phone", "内部备注：顾客情绪激动")
        workflow.acknowledge(c, db.session.get(User, world.users["staff_a"]))
        db.session.commit()
    progress = client.get(path)
    assert "内部备注" not in progress.text and "已受理" in progress.text
    # Nothing of any other complaint: the world's complaints are not on the page.
    assert "沙发开裂" not in progress.text and "乙方秘密" not in progress.text


def test_unknown_expired_and_guessed_links_all_answer_the_same(app, world, client, store_key):
    client.post_form(f"/feedback/{store_key}", _fill(client, store_key))
    unknown = client.get("/feedback/progress/" + "x" * 43)
    assert unknown.status_code == 404
    assert client.get("/feedback/no-such-store").status_code == 404
    token, token_hash = public.new_progress_token()
    with app.app_context(), unscoped():
        (c,) = db.session.scalars(select(Complaint).where(Complaint.public.is_(True))).all()
        c.progress_token_hash = token_hash
        c.status, c.is_open = "closed", False
        c.closed_at = c.received_at - timedelta(days=app.config["PROGRESS_LINK_DAYS"] + 1)
        db.session.commit()
    expired = client.get(f"/feedback/progress/{token}")
    # The same page, word for word (the language switch carries the page's own address).
    assert expired.status_code == 404 and expired.text.replace(token, "x" * 43) == unknown.text


def test_robots_are_turned_away_and_nothing_is_filed(app, world, client, store_key):
    assert client.post_form(f"/feedback/{store_key}", _fill(client, store_key, website="http://spam")).status_code == 400
    forged = _fill(client, store_key, stamp="not-a-stamp")
    assert client.post_form(f"/feedback/{store_key}", forged).status_code == 400
    other_store = _fill(client, _key(app, world.a_stores[1]))  # a stamp of another store's page
    assert client.post_form(f"/feedback/{store_key}", other_store).status_code == 400
    app.config["PUBLIC_FORM_MIN_SECONDS"] = 3
    too_fast = client.post_form(f"/feedback/{store_key}", _fill(client, store_key))
    assert too_fast.status_code == 400 and "收银员多收了我二十元" in too_fast.text  # kept for the person
    assert not _complaints(app, public=True)


def test_consent_and_a_way_to_answer_are_required(app, world, client, store_key):
    response = client.post_form(f"/feedback/{store_key}", _fill(client, store_key, consent=""))
    assert response.status_code == 400 and "收银员多收了我二十元" in response.text
    response = client.post_form(f"/feedback/{store_key}", _fill(client, store_key, contact_phone=""))
    assert response.status_code == 400
    assert not _complaints(app, public=True)


def test_a_replayed_form_is_filed_once(app, world, client, store_key):
    data = _fill(client, store_key)
    assert client.post_form(f"/feedback/{store_key}", data).status_code == 302
    again = client.post_form(f"/feedback/{store_key}", data)
    assert again.status_code == 200 and "public-already" in again.text
    assert len(_complaints(app, public=True)) == 1


def test_too_many_complaints_from_one_address_are_refused_but_mistakes_do_not_count(app, world, client, store_key):
    for _ in range(12):  # a customer getting the form wrong again and again is not locked out
        assert client.post_form(f"/feedback/{store_key}", _fill(client, store_key, consent="")).status_code == 400
    for _ in range(10):
        assert client.post_form(f"/feedback/{store_key}", _fill(client, store_key)).status_code == 302
    refused = client.post_form(f"/feedback/{store_key}", _fill(client, store_key, description="第十一条投诉的内容"))
    assert refused.status_code == 429 and "第十一条投诉的内容" in refused.text  # the text is kept
    assert len(_complaints(app, public=True)) == 10


def test_back_then_send_again_is_recognised_by_the_restored_stamp(app, world, client, store_key):
    data = _fill(client, store_key)
    assert client.post_form(f"/feedback/{store_key}", data).status_code == 302
    client.get(f"/feedback/{store_key}")  # Back reloads the page (no-store); the browser restores the stamp
    again = client.post_form(f"/feedback/{store_key}", data)
    assert again.status_code == 200 and "public-already" in again.text
    assert len(_complaints(app, public=True)) == 1


def test_staff_print_the_qr_code_of_their_own_stores_only(app, world, login_as):
    manager = login_as("manager_a")
    page = manager.get(f"/complaints/stores/{world.a_stores[0]}/public-page")
    assert page.status_code == 200 and _key(app, world.a_stores[0]) in page.text
    png = manager.get(f"/complaints/stores/{world.a_stores[0]}/qr.png")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    svg = manager.get(f"/complaints/stores/{world.a_stores[0]}/qr.svg")
    assert svg.status_code == 200 and b"<svg" in svg.data
    assert manager.get(f"/complaints/stores/{world.b_stores[0]}/public-page").status_code == 404


def test_the_progress_link_opens_in_the_language_the_customer_wrote_in(app, world, client, store_key):
    """Issue 9, trial 4: a customer who filed in English opened the link on another phone in Chinese."""
    client.post_form("/language", {"lang": "en", "next": f"/feedback/{store_key}"})
    response = client.post_form(f"/feedback/{store_key}", _fill(client, store_key))
    done = client.get(response.headers["Location"])
    link = re.search(r'data-testid="progress-link">([^<]+)<', done.text).group(1).replace("&amp;", "&")
    assert link.endswith("?lang=en")
    elsewhere = app.test_client()  # another phone: no session, no language chosen
    page = elsewhere.get(link.split("localhost", 1)[1])
    assert page.status_code == 200 and "Questions? Ask at" in page.text
    # A link from a customer who wrote in Chinese has no language in it and opens in Chinese.
    chinese = app.test_client()
    response = chinese.post_form(f"/feedback/{store_key}", _fill(chinese, store_key))
    link = re.search(r'data-testid="progress-link">([^<]+)<', chinese.get(response.headers["Location"]).text).group(1)
    assert "lang=" not in link and "如有疑问" in app.test_client().get(link.split("localhost", 1)[1]).text
