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
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN")
