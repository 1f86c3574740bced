"""The demo seed: a realistic network, every demo account, and no duplicates on a rerun."""
from sqlalchemy import func, select

from app.extensions import db
from app.models import Franchisee, Region, Store, StoreOwnership, User
from app.seed import seed_demo


def _counts():
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in (Region, Franchisee, Store, StoreOwnership, User)}


def test_seed_creates_the_demo_network_once(app, ctx):
    seed_demo("demo-pass-2026")
    first = _counts()
    assert first["Franchisee"] == 3 and first["Store"] == 8
    assert len(set(db.session.scalars(select(Store.city)))) == 8
    usernames = set(db.session.scalars(select(User.username)))
    assert {"hq-admin", "hq-auditor", "hq-supervisor", "hq-dept", "hq-viewer", "shopper-1",
            "owner-a", "owner-b", "manager-a1", "staff-a1"} <= usernames
    seed_demo("demo-pass-2026")
    assert _counts() == first


def test_seed_if_empty_leaves_an_existing_database_alone(app, ctx, world):
    assert "skipped" in seed_demo("demo-pass-2026", only_if_empty=True)
    assert db.session.scalar(select(func.count(Franchisee.id))) == 2


def test_demo_accounts_sign_in_with_the_documented_password(app):
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            seed_demo(app.config["DEMO_PASSWORD"])
            db.session.commit()
    client = app.test_client()
    assert client.login("owner-a", "demo-pass-2026").status_code == 302
    page = client.get("/stores").text
    assert "上海徐汇店" in page and "北京朝阳店" not in page
