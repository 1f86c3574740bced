"""Reference data cached per worker (app/refcache.py): a change is seen on the very next request,
by every user it concerns, and a cached value never crosses a tenant boundary."""
from sqlalchemy import select, update

from app import refcache
from app.extensions import db
from app.models import CacheStamp, Store
from app.security.tenancy import unscoped


def _token(app):
    with app.app_context(), unscoped():
        return db.session.scalar(select(CacheStamp.token).where(CacheStamp.name == refcache.REFERENCE))


def test_an_owner_sees_a_transfer_on_the_next_request(app, world, login_as):
    owner_a, owner_b = login_as("owner_a"), login_as("owner_b")
    store = world.a_stores[1]
    # Both scopes are cached by these requests ...
    assert owner_a.get(f"/stores/{store}").status_code == 200
    assert owner_b.get(f"/stores/{store}").status_code == 404
    response = login_as("admin").post_form(f"/stores/{store}/transfer",
                                           {"franchisee_id": str(world.b), "effective_on": "2025-06-01"})
    assert response.status_code == 302
    # ... and the transfer is in force for the same signed-in users at once.
    assert owner_a.get(f"/stores/{store}").status_code == 404
    assert owner_b.get(f"/stores/{store}").status_code == 200


def test_a_renamed_store_shows_in_the_filters_at_once(app, world, login_as):
    owner = login_as("owner_a")
    assert "甲二店" in owner.get("/customers/").text
    with app.app_context(), unscoped():
        db.session.execute(update(Store).where(Store.id == world.a_stores[1]).values(name="甲二新店"))
        db.session.commit()
    page = owner.get("/customers/").text
    assert "甲二新店" in page and "甲二店<" not in page


def test_cached_store_lists_never_cross_franchisees(app, world, login_as):
    a_page = login_as("owner_a").get("/customers/").text
    b_page = login_as("owner_b").get("/customers/").text
    assert "甲二店" in a_page and "乙二秘店" not in a_page
    assert "乙二秘店" in b_page and "甲二店" not in b_page
    # The same again, now served from the cache under one token.
    assert "乙二秘店" not in login_as("owner_a").get("/customers/").text
    assert "甲二店" not in login_as("owner_b").get("/customers/").text


def test_a_change_sets_a_new_token_and_a_rollback_keeps_the_old(app, world):
    before = _token(app)
    assert before is not None
    with app.app_context(), unscoped():
        store = db.session.get(Store, world.a_stores[0])
        store.name = "改名未保存"
        db.session.flush()
        assert db.session.scalar(select(CacheStamp.token)) != before
        db.session.rollback()
    assert _token(app) == before
    with app.app_context(), unscoped():
        db.session.get(Store, world.a_stores[0]).name = "改名已保存"
        db.session.commit()
    assert _token(app) != before


def test_reads_of_unrelated_rows_keep_the_token(app, world, login_as):
    before = _token(app)
    manager = login_as("manager_a")
    manager.get("/customers/")
    manager.get(f"/customers/{world.customers['a']}")
    assert _token(app) == before


def test_values_are_computed_once_per_token(app, world, login_as):
    calls = []
    with app.test_request_context():
        from flask import g

        g.reference_token = 12345
        assert refcache.cached(("probe",), lambda: calls.append(1) or "v") == "v"
        assert refcache.cached(("probe",), lambda: calls.append(1) or "w") == "v"
        g.reference_token = 67890
        assert refcache.cached(("probe",), lambda: calls.append(1) or "w") == "w"
    assert len(calls) == 2


def _first_card(page: str) -> str:
    import re

    return re.search(r'data-testid="customer-cards".*?<div class="kpi">([^<]*)</div>', page, re.S).group(1)


def test_large_scopes_see_dashboard_figures_up_to_a_minute_old_and_are_told_so(app, world, login_as, monkeypatch):
    from datetime import date

    from app.models import Customer
    from app.services import rollups
    from tests.factories import make_customer

    def add_customer(name):
        with app.app_context(), unscoped():
            make_customer(db.session.get(Store, world.a_stores[0]), name)
            rollups.touch(world.a_stores[0], date.today())
            db.session.commit()

    with app.app_context(), unscoped():
        for store in world.a_stores + world.b_stores:
            rollups.touch(store, date.today())
        db.session.commit()
    admin, owner = login_as("admin"), login_as("owner_a")
    monkeypatch.setitem(app.config, "DASHBOARD_LIVE_MAX_STORES", 3)  # HQ sees 4 stores, the owner 2
    refcache.clear()
    before_hq, before_owner = _first_card(admin.get("/").text), _first_card(owner.get("/").text)
    add_customer("新来的顾客")
    page = admin.get("/").text
    assert _first_card(page) == before_hq  # cached: the network's figure of a moment ago ...
    assert 'data-testid="figures-as-of"' in page  # ... with its time on the page
    assert int(_first_card(owner.get("/").text)) == int(before_owner) + 1  # a small scope is live
    monkeypatch.setitem(app.config, "DASHBOARD_CACHE_SECONDS", 0)
    assert int(_first_card(admin.get("/").text)) == int(before_hq) + 1  # and the cache expires
    with app.app_context(), unscoped():
        assert db.session.scalar(select(Customer.id).where(Customer.name == "新来的顾客")) is not None
