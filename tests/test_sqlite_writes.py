"""SQLite under concurrent writers: pages wait their turn instead of answering "database is locked".

`make bench` found 1,182 "database is locked" errors on the customer page and the export while
an import ran: the page read, another writer committed, and the page's audit row then failed at
once (SQLite does not wait when a transaction that has read wants to write after a newer commit).
These tests run on a database file of their own, with real commits.
"""
import sqlite3

import pytest
from flask import before_render_template
from sqlalchemy import event, func, select

from app import create_app
from app.extensions import db
from app.models import AuditEvent, Customer
from app.security.tenancy import unscoped
from tests.conftest import Client
from tests.factories import make_world


@pytest.fixture
def file_app(tmp_path, app):
    """An app on its own SQLite file, outside the rolled-back test transaction."""
    url = f"sqlite:///{tmp_path / 'writers.db'}"
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite locking; PostgreSQL has row locks and no database-wide writer lock")
    file_app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    file_app.test_client_class = Client
    rolled_back = db.session
    db.session = db._make_scoped_session({})
    try:
        with file_app.app_context():
            db.create_all()
            with unscoped():
                make_world()
                db.session.commit()
                customer_id = db.session.scalar(select(Customer.id).where(Customer.name == "甲方顾客"))
        yield file_app, tmp_path / "writers.db", customer_id
    finally:
        with file_app.app_context():
            db.session.remove()
            db.engine.dispose()
        db.session = rolled_back


def test_customer_page_logs_the_view_although_another_writer_committed_while_it_read(file_app):
    app, path, customer_id = file_app
    client = app.test_client()
    client.login("t-owner-a")

    def another_writer(sender, template, context, **extra):
        # Rendering comes after the page's reads: commit from another connection now.
        other = sqlite3.connect(path, timeout=5)
        other.execute("INSERT INTO audit_event (occurred_at, action) VALUES ('2026-01-01 00:00:00', 'elsewhere')")
        other.commit()
        other.close()

    with before_render_template.connected_to(another_writer, app):
        response = client.get(f"/customers/{customer_id}")
    assert response.status_code == 200 and "甲方顾客" in response.text
    with app.app_context(), unscoped():
        logged = db.session.scalar(select(func.count()).where(AuditEvent.action == "customer.viewed",
                                                              AuditEvent.target_id == customer_id))
    assert logged == 1


def test_a_post_takes_the_write_lock_when_it_begins_and_a_page_view_does_not(file_app):
    app, path, customer_id = file_app
    client = app.test_client()
    client.login("t-owner-a")
    begins = []
    with app.app_context():
        engine = db.engine

    def log_begin(conn, cursor, statement, *args):
        if statement.startswith("BEGIN"):
            begins.append(statement)

    event.listen(engine, "before_cursor_execute", log_begin)
    try:
        client.get("/customers/")
        assert begins and set(begins) == {"BEGIN"}
        begins.clear()
        token = client.csrf_token()
        begins.clear()
        response = client.post(f"/customers/{customer_id}/contacts/new", data={
            "csrf_token": token, "occurred_at": "2026-01-05T10:00", "method": "phone",
            "purpose": "return_visit", "outcome": "满意"})
        assert response.status_code in (200, 302)
        assert begins[0] == "BEGIN IMMEDIATE"
    finally:
        event.remove(engine, "before_cursor_execute", log_begin)
