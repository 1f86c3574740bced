"""Keyset pagination: pages that cost the same at row 25 and at row 500,000.

A page is asked for by a cursor (the sort key of the row it starts after or
ends before), never by an offset, and nothing counts the whole set: the list
knows whether there is more by reading one row past the page. Each ordering
is one direction over indexed, non-null columns ending in the primary key, so
the next page is ``(key…, id) < (last key…, last id)``: one index range scan on
SQLite and PostgreSQL alike.

Cursors are opaque to users (base64 JSON). A tampered or stale one simply
starts from the first page; it is only a position, never a permission, and the
statement it is applied to is still scoped as usual.
"""
import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import tuple_


def _encode_value(value):
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _decode_value(value):
    if isinstance(value, dict) and len(value) == 1:
        ((kind, raw),) = value.items()
        if kind == "t":
            return datetime.fromisoformat(raw)
        if kind == "d":
            return date.fromisoformat(raw)
        if kind == "n":
            return Decimal(raw)
        raise ValueError(kind)
    if value is None or isinstance(value, (int, float, str)):
        return value
    raise ValueError(value)


def encode_cursor(values) -> str:
    """The cursor for a row whose sort key is ``values`` (used by pages and by `make bench`)."""
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str | None, width: int) -> list | None:
    """The sort key in ``token``, or None when it is missing or not one of ours."""
    if not token or len(token) > 500:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values = [_decode_value(v) for v in json.loads(raw)]
    except (ValueError, TypeError, binascii.Error, InvalidOperation, UnicodeDecodeError, RecursionError):
        return None
    return values if len(values) == width else None


@dataclass
class Ordering:
    """Columns (mapped attributes) sorted in one direction; the last one must be unique."""

    columns: tuple
    descending: bool = False

    def key_of(self, obj) -> list:
        return [getattr(obj, column.key) for column in self.columns]

    def order_by(self, reverse: bool = False):
        desc = self.descending != reverse
        return [column.desc() if desc else column.asc() for column in self.columns]

    def beyond(self, values, reverse: bool = False):
        """SQL condition: rows that come after ``values`` in this order (before, if ``reverse``)."""
        desc = self.descending != reverse
        key, bound = tuple_(*self.columns), tuple_(*values)
        return key < bound if desc else key > bound


@dataclass
class KeysetPage:
    items: list
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None


def keyset_page(session, stmt, ordering: Ordering, per_page: int, after=None, before=None, scalars=True) -> KeysetPage:
    """One page of ``stmt`` in ``ordering``, after or before a cursor; one query, no count.

    ``stmt`` selects an entity (``scalars=True``) or rows whose attributes are
    named like the ordering's columns.
    """
    width = len(ordering.columns)
    after_key = decode_cursor(after, width)
    before_key = None if after_key else decode_cursor(before, width)
    reverse = before_key is not None
    query = stmt.order_by(None).order_by(*ordering.order_by(reverse)).limit(per_page + 1)
    if after_key:
        query = query.where(ordering.beyond(after_key))
    elif before_key:
        query = query.where(ordering.beyond(before_key, reverse=True))
    result = session.scalars(query) if scalars else session.execute(query)
    rows = list(result.all())
    more = len(rows) > per_page
    rows = rows[:per_page]
    if reverse:
        rows.reverse()
    if not rows:
        return KeysetPage([], None, None)
    first, last = encode_cursor(ordering.key_of(rows[0])), encode_cursor(ordering.key_of(rows[-1]))
    if reverse:
        # Came backwards: there is an earlier page if we read past this one; a later one always.
        return KeysetPage(rows, last, first if more else None)
    return KeysetPage(rows, last if more else None, first if (after_key is not None) else None)
