from sqlalchemy import func, select

from app.extensions import db
from app.models import Store


def test_rollback_isolation_first(world, ctx):
    assert db.session.scalar(select(func.count(Store.id))) == 4


def test_rollback_isolation_second(world, ctx):
    # The first test's rows were rolled back: still exactly the world's four stores.
    assert db.session.scalar(select(func.count(Store.id))) == 4


def test_login_works(login_as):
    client = login_as("owner_a")
    assert "甲方加盟商" in client.get("/").text
