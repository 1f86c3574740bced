import re
from types import SimpleNamespace

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event
from flask_sqlalchemy.session import Session

from app import create_app
from app.extensions import db
from app.security.tenancy import unscoped
from tests.factories import PASSWORD, make_world

CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


class ConnectionBoundSession(Session):
    """Flask-SQLAlchemy's session, bound to the test's connection instead of the engine."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return self.bind


class Client(FlaskClient):
    """Test client that signs in through the real form and adds CSRF tokens to posts."""

    def csrf_token(self) -> str:
        page = self.get("/login", follow_redirects=True)
        return CSRF_RE.search(page.text).group(1)

    def post_form(self, url, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def login(self, login: str, password: str = PASSWORD, **kwargs):
        return self.post_form("/login", {"login": login, "password": password}, **kwargs)

    def logout(self):
        return self.post_form("/logout")


@pytest.fixture(scope="session")
def app():
    app = create_app("testing")
    app.test_client_class = Client
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _rollback(app):
    """Each test runs inside one transaction that is rolled back at the end.

    Every session of the test, its own and each request's, joins that
    transaction through savepoints, so commits in views are real but vanish.
    """
    with app.app_context():
        connection = db.engine.connect()
    transaction = connection.begin()
    original = db.session
    # Sign-in failure counters start from zero in every test.
    from app.services.auth import LoginLimiter

    app.extensions["login_limiter"] = LoginLimiter(
        "memory://", app.config["LOGIN_LIMIT_PER_ACCOUNT"], app.config["LOGIN_LIMIT_PER_ADDRESS"]
    )
    from app.services.auth import public_limiter

    app.extensions["public_limiter"] = public_limiter("memory://")
    # Figures cached for a minute (network dashboards, statistics, thresholds) belong to one test.
    from app import refcache

    refcache.clear()
    db.session = db._make_scoped_session(
        {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": ConnectionBoundSession}
    )
    try:
        yield
    finally:
        # Each app context removed its own session on exit; nothing is left to remove here.
        db.session = original
        transaction.rollback()
        connection.close()


@pytest.fixture
def ctx(app):
    """An application context whose queries see every tenant (for set-up and checks)."""
    with app.app_context(), unscoped():
        yield


@pytest.fixture
def world(app):
    with app.app_context(), unscoped():
        world = make_world()
        db.session.commit()
        ids = _snapshot_ids(world)
    return ids


def _snapshot_ids(world):
    """Detach the world from the set-up session: tests get ids and strings, not live rows."""
    return SimpleNamespace(
        a=world.a.id,
        b=world.b.id,
        east=world.east.id,
        north=world.north.id,
        a_stores=[s.id for s in world.a_stores],
        b_stores=[s.id for s in world.b_stores],
        users={k: u.id for k, u in world.users.items()},
        usernames={k: u.username for k, u in world.users.items()},
        customers={k: c.id for k, c in world.customers.items()},
        complaints={k: c.id for k, c in world.complaints.items()},
        audits={k: a.id for k, a in world.audits.items()},
        staff={k: e.id for k, e in world.staff.items()},
        training={k: x.id for k, x in world.training.items()},
        surveys={k: x.id for k, x in world.surveys.items()},
        logistics={k: x.id for k, x in world.logistics.items()},
        reports={k: x.id for k, x in world.reports.items()},
        loyalty={k: x.id for k, x in world.loyalty.items()},
        governance={k: x.id for k, x in world.governance.items()},
        b_markers=world.b_markers,
    )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login_as(app, world):
    """``login_as("owner_a")`` returns a client signed in as that world user."""

    def _login(role: str) -> Client:
        client = app.test_client()
        response = client.login(world.usernames[role])
        assert response.status_code == 302, response.text
        return client

    return _login


@pytest.fixture
def count_queries(app):
    """Context manager counting SQL statements sent to the database."""
    from contextlib import contextmanager

    @contextmanager
    def _count():
        statements = []

        def before(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return _count
