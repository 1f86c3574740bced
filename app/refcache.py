"""Reference data cached in each worker, checked on every request against a stamp in the database.

Every page needs the same small sets: the user's stores (the tenant scope), the stores and
franchisees to filter by, the membership tiers, the customer rules. They change a few times a
day, yet reading them cost 3-5 statements of a page's 8. Here each worker keeps them in
memory under the current token of the ``reference`` stamp (``CacheStamp``):

- the token is read in the same statement as the user's session (``stamp_column``), so a
  request pays nothing extra to know whether what it cached is current;
- any change to a tracked table (``TRACKED``), by a flush or an ORM ``insert``/``update``/
  ``delete``, sets a new random token in the same transaction, so every worker on every host
  sees the change on its next request: nothing to expire by hand, no pub/sub between hosts
  (a bookkeeping update that changes nothing cached, such as a user's last sign-in, says so
  with ``execution_options(reference_data=False)``);
- a request that changed reference data reads past the cache until its transaction ends.

Entries are keyed by the token and by whatever they depend on (a tenant scope included, for
scoped reads), hold plain immutable values (rows, tuples, frozensets — never ORM objects,
which belong to one session), and the oldest are dropped beyond ``MAX_ENTRIES``.
"""
import secrets
import time
from collections import OrderedDict
from threading import Lock

from flask import g, has_request_context
from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import (
    CalendarDay, CareHoliday, ComplaintCategory, ComplaintChannel, ComplaintThreshold, CustomerRules, DeadlineRule,
    EscalationLevel,
)
from app.models import Franchisee, MembershipTier, Region, Store, StoreOwnership, User
from app.models.system import CacheStamp
from app.models.user import user_region, user_store

REFERENCE = "reference"
TRACKED = (Region, Franchisee, Store, StoreOwnership, User, MembershipTier, CustomerRules, CareHoliday,
           ComplaintCategory, ComplaintChannel, DeadlineRule, CalendarDay, EscalationLevel,
           ComplaintThreshold)
TRACKED_TABLES = frozenset(model.__table__ for model in TRACKED) | {user_store, user_region}
MAX_ENTRIES = 2048
_CHANGED = "reference_changed"
_NO_STAMP = object()

_entries: OrderedDict = OrderedDict()
_lock = Lock()


_STAMP_COLUMN = select(CacheStamp.token).where(CacheStamp.name == REFERENCE).scalar_subquery().label("reference_token")


def stamp_column():
    """The current token as a scalar subquery, to read along with another statement."""
    return _STAMP_COLUMN


def remember_stamp(token) -> None:
    """Keep the token read with the user's session for the rest of the request."""
    g.reference_token = token


def _current_token():
    """The token this request may use the cache under, or None to read past the cache."""
    if not has_request_context() or db.session.info.get(_CHANGED):
        return None
    token = g.get("reference_token", _NO_STAMP)
    if token is _NO_STAMP:  # no signed-in user loaded it: read it now (one statement)
        from app.security.tenancy import unscoped

        with unscoped():
            token = g.reference_token = db.session.scalar(select(CacheStamp.token).where(CacheStamp.name == REFERENCE))
    return token


def cached(key: tuple, compute):
    """``compute()``'s value for ``key`` under the current token, computed once per change."""
    token = _current_token()
    if token is None:
        return compute()
    full_key = (token, *key)
    with _lock:
        if full_key in _entries:
            _entries.move_to_end(full_key)
            return _entries[full_key]
    value = compute()
    with _lock:
        _entries[full_key] = value
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    with _lock:
        _entries.clear()
        _timed.clear()


def bump(connection) -> None:
    """Set a new token: every cached value is out of date from this transaction's commit on."""
    token = secrets.randbits(62)
    table = CacheStamp.__table__
    if connection.execute(update(table).where(table.c.name == REFERENCE).values(token=token)).rowcount == 0:
        connection.execute(insert(table).values(name=REFERENCE, token=token))


def _mark_changed(session) -> None:
    if has_request_context():
        g.reference_token = None  # the rest of this request reads past the cache
    if not session.info.get(_CHANGED):
        session.info[_CHANGED] = True
        bump(session.connection())


@event.listens_for(Session, "after_flush")
def _after_flush(session, flush_context) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, TRACKED):
            _mark_changed(session)
            return


@event.listens_for(Session, "do_orm_execute")
def _after_bulk_write(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is not None and table in TRACKED_TABLES and state.execution_options.get("reference_data", True):
        _mark_changed(state.session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_over(session) -> None:
    session.info.pop(_CHANGED, None)


def scoped(key: tuple, compute):
    """``cached`` for a read through the tenant scope: the scope is part of the key."""
    from app.security.tenancy import active_scope

    return cached((active_scope(), *key), compute)


class Snapshot:
    """A read-only copy of one ORM row's column values, safe to share between requests."""

    __slots__ = ("_values",)

    def __init__(self, values: dict):
        object.__setattr__(self, "_values", dict(values))

    @classmethod
    def of(cls, obj) -> "Snapshot":
        return cls({column.key: getattr(obj, column.key) for column in obj.__mapper__.column_attrs})

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        raise AttributeError(f"a cached snapshot is read-only ({name})")

    def __repr__(self) -> str:
        return f"Snapshot({self._values!r})"


_timed: OrderedDict = OrderedDict()


def cached_for(seconds: float, key: tuple, compute):
    """``compute()``'s value for ``key``, recomputed at most every ``seconds`` in this worker:
    for aggregates over data that changes all day (roll-ups of a whole network), where a
    figure a minute old is what the page says it is. Scoped reads put the scope in ``key``."""
    now = time.monotonic()
    with _lock:
        hit = _timed.get(key)
        if hit is not None and now - hit[0] < seconds:
            return hit[1]
    value = compute()
    with _lock:
        _timed[key] = (now, value)
        _timed.move_to_end(key)
        while len(_timed) > MAX_ENTRIES:
            _timed.popitem(last=False)
    return value
