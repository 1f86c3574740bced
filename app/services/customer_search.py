"""Customer search through indexes only: name, code and mobile.

- A mobile (digits, 5 or more) matches by prefix on ``ix_customer_mobile``: a
  range ``mobile >= '1380013' AND mobile < '1380014\U0010ffff'``, which every
  database answers from the index (LIKE would not, under SQLite's default
  collation). Four digits are the last four (手机尾号) on ``ix_customer_mobile_tail``.
- A code (letters and digits, e.g. ``SH001-0000``) matches by prefix on
  ``ix_customer_code``, upper-cased as codes are stored.
- A name of three or more characters matches anywhere in the name through a
  trigram index: FTS5 ``trigram`` on SQLite (the ``customer_name_fts`` table kept
  by triggers), ``pg_trgm`` GIN on PostgreSQL. Chinese names are often two
  characters, below a trigram's reach, so one or two characters match the
  start of the name on ``ix_customer_name_key`` (张伟 finds 张伟 and 张伟明).

The search index is created with the schema (migration, and ``install`` for
``create_all`` in tests); see ``install``.
"""
import re

from sqlalchemy import Column, Integer, MetaData, Table, Text, event, or_, select, text

from app.extensions import db
from app.models import Customer
from app.services.customer_fields import name_key

# Known to SQLAlchemy for queries only: created by ``install``, never by create_all.
_fts_metadata = MetaData()
customer_name_fts = Table("customer_name_fts", _fts_metadata, Column("rowid", Integer), Column("name_key", Text))

SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS customer_name_fts USING fts5("
    "name_key, content='customer', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS customer_name_fts_ai AFTER INSERT ON customer BEGIN "
    "INSERT INTO customer_name_fts(rowid, name_key) VALUES (new.id, new.name_key); END",
    "CREATE TRIGGER IF NOT EXISTS customer_name_fts_ad AFTER DELETE ON customer BEGIN "
    "INSERT INTO customer_name_fts(customer_name_fts, rowid, name_key) VALUES ('delete', old.id, old.name_key); END",
    "CREATE TRIGGER IF NOT EXISTS customer_name_fts_au AFTER UPDATE OF name_key ON customer BEGIN "
    "INSERT INTO customer_name_fts(customer_name_fts, rowid, name_key) VALUES ('delete', old.id, old.name_key); "
    "INSERT INTO customer_name_fts(rowid, name_key) VALUES (new.id, new.name_key); END",
    "INSERT INTO customer_name_fts(customer_name_fts) VALUES ('rebuild')",
)
POSTGRESQL_DDL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_customer_name_trgm ON customer USING gin (name_key gin_trgm_ops)",
)
# Objects the migrations' comparison with the models must leave alone.
SEARCH_OBJECTS = ("customer_name_fts", "ix_customer_name_trgm")


def install(connection) -> None:
    """Create the trigram index for this connection's database (idempotent)."""
    statements = {"sqlite": SQLITE_DDL, "postgresql": POSTGRESQL_DDL}.get(connection.dialect.name, ())
    for statement in statements:
        connection.execute(text(statement))


@event.listens_for(Customer.__table__, "after_create")
def _after_create(target, connection, **kw) -> None:
    install(connection)


_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*$")
_LIKE_SPECIALS = re.compile(r"[%_\\]")


def _prefix(column, value: str):
    """``column`` starts with ``value``, as an index range."""
    return (column >= value) & (column < value + "\U0010ffff")


def _name_condition(key: str):
    key = _LIKE_SPECIALS.sub("", key)
    if not key:
        return None
    if len(key) < 3:
        return _prefix(Customer.name_key, key)
    if db.session.get_bind().dialect.name == "sqlite":
        matches = select(customer_name_fts.c.rowid).where(customer_name_fts.c.name_key.like(f"%{key}%"))
        return Customer.id.in_(matches)
    return Customer.name_key.like(f"%{key}%")


def search_condition(q: str, search_phone: bool):
    """SQL condition for the search box, or None when ``q`` has nothing searchable."""
    q = q.strip()
    terms = []
    digits = re.sub(r"[\s\-]", "", q)
    if search_phone and digits.isdigit() and len(digits) == 4:
        terms.append(Customer.mobile_tail == digits)
    elif search_phone and digits.isdigit() and len(digits) >= 5:
        terms.append(_prefix(Customer.mobile, digits))
    code_like = bool(_CODE.match(q)) and any(ch.isdigit() for ch in q)
    if code_like:
        terms.append(_prefix(Customer.code, q.upper()))
    key = name_key(q)
    # A query shaped like a code (SH001-000095, or three digits or more in Latin letters) is not
    # looked for among names: its trigrams ("000") made a code search scan much of the trigram
    # index (34-47 ms on PostgreSQL with 1M customers, against 2 ms for the code alone).
    looks_like_code = code_like and ("-" in q or sum(ch.isdigit() for ch in q) >= 3)
    if key and not key.isdigit() and not looks_like_code:
        condition = _name_condition(key)
        if condition is not None:
            terms.append(condition)
    return or_(*terms) if terms else None
