"""Recording to the audit trail. Other services call ``record``, which does not commit;
pages that only read call ``record_read``, which writes the row in its own short transaction.

Audit is infrastructure: it reads the client address from the current request
when there is one (None from the command line), so callers need not pass it.
"""
import time
from collections import OrderedDict
from decimal import Decimal
from datetime import date, datetime

from flask import has_request_context, request
from sqlalchemy import insert, inspect

from app.database import write_transaction
from app.extensions import db
from app.models import AuditEvent

# Never copied into the trail.
_SECRET_FIELDS = {"password_hash", "updated_at", "created_at", "version"}


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):  # a changed amount or rate (saving the rules answered 500)
        return str(value)
    if hasattr(value, "id"):
        return value.id
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def changes(obj) -> dict:
    """Pending attribute changes of ``obj`` as ``{field: [old, new]}`` (call before flush)."""
    result = {}
    state = inspect(obj)
    for attr in state.attrs:
        if attr.key in _SECRET_FIELDS:
            continue
        hist = attr.history
        if hist.has_changes():
            old = hist.deleted if attr.key in state.mapper.relationships else (hist.deleted or [None])[0]
            new = (
                hist.added + list(hist.unchanged)
                if attr.key in state.mapper.relationships
                else (hist.added or [None])[0]
            )
            result[attr.key] = [_plain(old), _plain(new)]
    return result


def _event(action: str, target, details, **actor) -> AuditEvent:
    event = AuditEvent(
        action=action,
        target_type=type(target).__name__ if target is not None else None,
        target_id=getattr(target, "id", None),
        target_label=str(target)[:200] if target is not None else None,
        details=details or None,
        **actor,
    )
    if has_request_context():
        event.ip = request.remote_addr
        event.user_agent = (request.user_agent.string or "")[:255]
    return event


_COLUMNS = tuple(column.key for column in AuditEvent.__table__.columns if column.key != "id")
_recent_reads: OrderedDict = OrderedDict()
_RECENT_MAX = 20_000


def record_read(action: str, *, actor, target=None, details=None, once_per_seconds: int = 0) -> None:
    """Log that a page showed or exported data, after the page has done its reading: the row
    is written in a transaction of its own that starts with the write (database.write_transaction).
    The event is built first, by id, so nothing is read again once the reading transaction ends.

    ``once_per_seconds``: the same sign-in reading the same record again within this many
    seconds is the same visit (a reload, the page after a save) and is not logged again; kept
    per worker, by the sign-in's own token, so another user or another sign-in always logs."""
    key = None
    if once_per_seconds and has_request_context() and target is not None:
        from flask import session

        from app.security.sessions import TOKEN_KEY

        key = (session.get(TOKEN_KEY), action, type(target).__name__, getattr(target, "id", None))
        seen = _recent_reads.get(key)
        if key[0] and seen is not None and time.monotonic() - seen < once_per_seconds:
            return
    event = _event(action, target, details, actor_id=actor.id, actor_name=actor.username)
    values = {name: getattr(event, name) for name in _COLUMNS if getattr(event, name) is not None}
    with write_transaction(db.session):
        # A plain INSERT: the unit of work's flush cost ≈ 1.5 ms for one row nobody reads back.
        db.session.execute(insert(AuditEvent).values(**values))
    if key is not None:
        _recent_reads[key] = time.monotonic()
        _recent_reads.move_to_end(key)
        while len(_recent_reads) > _RECENT_MAX:
            _recent_reads.popitem(last=False)


def record(action: str, *, actor=None, actor_name: str | None = None, target=None, details=None) -> AuditEvent:
    event = _event(action, target, details, actor=actor,
                   actor_name=(actor_name or (actor.username if actor is not None else None)))
    db.session.add(event)
    return event
