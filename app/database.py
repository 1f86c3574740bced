"""Engine settings that SQLite needs to behave like the production database."""
from sqlalchemy import event


def configure_sqlite(engine) -> None:
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
        # another one waits up to 10 s instead of failing with "database is locked".
        # NORMAL is durable in WAL mode except for the last commits on power loss.
        cursor.execute("PRAGMA busy_timeout=10000")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] not in ("wal", "memory"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Deferred, so readers never queue behind writers. Caveat: a transaction that has
        # read and then writes gets SQLITE_BUSY at once (no busy_timeout wait) if another
        # writer committed meanwhile; pages that audit a view hit this under load (issue 7 note).
        conn.exec_driver_sql("BEGIN")


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave the search index (created by raw DDL, app/services/customer_search.py) out of
    Alembic's comparison with the models: FTS5 tables on SQLite, the pg_trgm index."""
    from app.services.customer_search import SEARCH_OBJECTS

    return not (name and name.startswith(SEARCH_OBJECTS))
