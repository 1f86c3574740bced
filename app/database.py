"""Engine settings that SQLite needs to behave like the production database, and the one way
a request writes after it has read."""
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event

# On SQLite, transactions begun while this is true take the write lock at once (BEGIN IMMEDIATE).
_begin_immediate: ContextVar[bool] = ContextVar("sqlite_begin_immediate", default=False)


def writes_first(enabled: bool = True) -> None:
    """Make this request's transactions start by taking the write lock (SQLite only).

    Set for every POST: the request will write, so it waits its turn (busy timeout) at BEGIN
    instead of reading first and then failing at its first write because another writer
    committed meanwhile (SQLite answers that with "database is locked" at once, without waiting).
    """
    _begin_immediate.set(enabled)


@contextmanager
def writer():
    """A job that writes slice after slice (the nightly job): each of its transactions begins
    by taking the write lock, so it waits for the web's writers instead of failing."""
    token = _begin_immediate.set(True)
    try:
        yield
    finally:
        _begin_immediate.reset(token)


@contextmanager
def write_transaction(session):
    """Write from a page that has been reading (an audit row for a view or an export).

    Ends the read transaction, then runs the block in a transaction that starts with the write
    lock and commits it. On PostgreSQL this is an ordinary short transaction.
    """
    session.commit()
    token = _begin_immediate.set(True)
    try:
        yield
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        _begin_immediate.reset(token)


def configure_sqlite(engine, cache_mb: int = 64) -> None:
    """Enforce foreign keys and let SQLAlchemy, not pysqlite, issue BEGIN.

    pysqlite's own transaction handling breaks SAVEPOINT, which the tests'
    rollback isolation and nested transactions rely on.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL: readers never block the writer nor the writer them; a writer that finds
        # another one waits up to 20 s instead of failing with "database is locked" (the longest
        # writer is a 100,000-row import: ≈ 10 s on this machine, more under load; gunicorn
        # gives a request 30 s).
        # NORMAL is durable in WAL mode except for the last commits on power loss.
        cursor.execute("PRAGMA busy_timeout=20000")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] not in ("wal", "memory"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Page cache per connection (SQLite's default is 2 MB): an import's index updates land
        # all over a 1,000,000-customer table; 64 MB took its write from 16 s to 10 s.
        cursor.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Deferred for reading pages, so readers never queue behind writers. A transaction
        # that has read and then writes gets SQLITE_BUSY at once (no busy_timeout wait) if
        # another writer committed meanwhile, so writing requests begin IMMEDIATE (see
        # writes_first and write_transaction).
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _begin_immediate.get() else "BEGIN")


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave the search index (created by raw DDL, app/services/customer_search.py) out of
    Alembic's comparison with the models: FTS5 tables on SQLite, the pg_trgm index."""
    from app.services.customer_search import SEARCH_OBJECTS

    return not (name and name.startswith(SEARCH_OBJECTS))
