"""The scoping mechanism itself (R2): scopes per role, filtered queries, refused writes."""
from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Franchisee, Store, StoreOwnership, User
from app.security.scope import build_scope
from app.security.tenancy import ScopeMissing, ScopeViolation, activate, unscoped
from app.services import org


def _scope_of(world, role):
    with unscoped():
        return build_scope(db.session.get(User, world.users[role]))


@pytest.fixture
def session_ctx(app):
    with app.app_context():
        yield


def test_scopes_per_role(world, session_ctx):
    a, b = set(world.a_stores), set(world.b_stores)
    assert _scope_of(world, "admin").is_network and _scope_of(world, "viewer").is_network
    assert _scope_of(world, "owner_a").store_ids == a
    assert _scope_of(world, "manager_a").store_ids == {world.a_stores[0]}
    assert _scope_of(world, "supervisor").store_ids == a  # region East holds A's stores only
    assert _scope_of(world, "supervisor").franchisee_ids == {world.a}
    assert _scope_of(world, "dept").store_ids == frozenset() == _scope_of(world, "shopper").store_ids
    assert not (_scope_of(world, "owner_b").store_ids & a) and _scope_of(world, "owner_b").store_ids == b


def test_queries_without_a_scope_fail_closed(world, session_ctx):
    with pytest.raises(ScopeMissing):
        db.session.scalars(select(Store)).all()


def test_lists_counts_and_lookups_are_filtered(world, session_ctx):
    activate(_scope_of(world, "owner_a"))
    assert set(db.session.scalars(select(Store.id))) == set(world.a_stores)
    assert db.session.scalar(select(func.count(Store.id))) == 2
    assert db.session.scalar(select(func.count()).select_from(Franchisee)) == 1
    assert db.session.scalar(select(Store).where(Store.id == world.b_stores[0])) is None
    # A join from an in-scope row to B's rows finds nothing either.
    rows = db.session.execute(select(StoreOwnership.id).join(Store)).all()
    assert len(rows) == 2


def test_relationship_loads_are_filtered(world, session_ctx):
    activate(_scope_of(world, "owner_a"))
    [a_franchisee] = db.session.scalars(select(Franchisee)).all()
    assert {s.id for s in a_franchisee.stores} == set(world.a_stores)


def test_writes_outside_the_scope_are_refused(world, session_ctx):
    with unscoped():
        b_store = db.session.get(Store, world.b_stores[0])
    activate(_scope_of(world, "owner_a"))
    b_store.name = "hijacked"
    with pytest.raises(ScopeViolation):
        db.session.flush()
    db.session.rollback()


def test_a_transferred_store_leaves_the_old_owners_scope(world, session_ctx):
    with unscoped():
        store = db.session.get(Store, world.a_stores[0])
        target = db.session.get(Franchisee, world.b)
        admin = db.session.get(User, world.users["admin"])
        org.transfer_store(store, target, date.today(), "整店转让", admin)
        db.session.flush()
        assert store.owner_on(date(2022, 6, 1)) == world.a
        assert store.owner_on(date.today()) == world.b
    assert world.a_stores[0] not in _scope_of(world, "owner_a").store_ids
    assert _scope_of(world, "manager_a").store_ids == frozenset()  # their only store went with it
    assert world.a_stores[0] in _scope_of(world, "owner_b").store_ids


def test_an_owners_customer_queries_name_the_franchisee_for_the_planner(world, session_ctx):
    """The owner's lists walk the franchisee-led indexes (tests/test_scale.py checks the plans),
    which only works if the scope puts the franchisee in the statement."""
    from sqlalchemy import event

    from app.models import Customer

    seen = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if "FROM customer" in statement:
            seen.append(statement)

    owner, manager = _scope_of(world, "owner_a"), _scope_of(world, "manager_a")
    engine = db.session.get_bind().engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        activate(owner)
        ids = set(db.session.scalars(select(Customer.id)))
        searched = set(db.session.scalars(select(Customer.id).execution_options(owner_hint=False)))
        activate(manager)
        db.session.scalars(select(Customer.id)).all()
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert ids == {world.customers["a"], world.customers["a2"]}
    assert "franchisee_id" in seen[0] and "store_id" in seen[0]
    assert searched == ids and "franchisee_id" not in seen[1]  # a search leads with its own index
    assert "franchisee_id" not in seen[2]  # one store: its own index is the better walk
