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


def test_the_demo_deliveries_keep_the_portals_own_rules(app, ctx):
    """Whatever the hour the demo is loaded: no delivery left in the future, none arrived before
    it left or after now, and the partners' stored figures are what a count from scratch gives."""
    from app.models.base import utcnow
    from app.models.logistics import DeliveryMonthStats, Shipment
    from app.services import logistics

    seed_demo("demo-pass-2026")
    now = utcnow()
    shipments = db.session.scalars(select(Shipment)).all()
    assert shipments and {s.state for s in shipments} == {"delivered", "failed", "in_transit"}
    assert all(s.dispatched_at <= now for s in shipments)
    assert all(s.dispatched_at < s.delivered_at <= now for s in shipments if s.delivered_at)
    stored = {(r.partner_id, r.store_id, r.franchisee_id, r.month): {c: getattr(r, c) for c in logistics.COUNTS}
              for r in db.session.scalars(select(DeliveryMonthStats))}
    assert stored == logistics.from_scratch()
