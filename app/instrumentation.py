"""SQL statements per request, for `make bench` (``COUNT_STATEMENTS=1``): an ``X-SQL-Statements`` header.

Off by default: it adds an engine listener and a header, nothing else.
"""
from flask import g
from sqlalchemy import event


def init_app(app, engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        try:
            g.sql_statements = g.get("sql_statements", 0) + 1
        except RuntimeError:  # outside a request (CLI, start-up)
            pass

    @app.after_request
    def _header(response):
        response.headers["X-SQL-Statements"] = str(g.get("sql_statements", 0))
        return response
