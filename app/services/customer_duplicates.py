"""Likely duplicate customers within one franchisee (R13, 数据清洗).

Three signals, strongest first:

1. the same mobile number;
2. the same name (after folding case, width and spaces) and the same birthday;
3. near-identical names, written with the same pinyin (张伟/章伟, a typical
   input-method slip) or one character apart in a name of 3 or more
   characters, backed by a shared birthday or e-mail. A near-identical name
   alone is not enough: common names repeat across many real people.

Pairs someone marked as different people (NotDuplicate) are left out.

The pairs are kept in ``DuplicateCandidate``, so the page reads a table:
``refresh_for`` re-checks the customers just created, edited or imported
against the few records sharing a mobile, name or birthday with them (indexed
look-ups), and ``rebuild`` (the nightly job) re-checks one franchisee at a time
reading only the columns it compares, a few MB each, in its own short
transaction.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations, groupby
from operator import itemgetter

from flask_babel import lazy_gettext as _l
from pypinyin import lazy_pinyin
from rapidfuzz.distance import Levenshtein
from sqlalchemy import delete, func, insert, or_, select

from app.database import write_transaction
from app.extensions import db
from app.models import Customer, DuplicateCandidate, NotDuplicate
from app.models.base import utcnow
from app.security.tenancy import unscoped

REASONS = {
    "mobile": _l("Same mobile number"),
    "name_birthday": _l("Same name and birthday"),
    "similar_name": _l("Near-identical name"),
}
# A group larger than this (e.g. a shop's own phone on many records) is listed as a chain.
_GROUP_LIMIT = 20


@dataclass
class Pair:
    first_id: int
    second_id: int
    reasons: list = field(default_factory=list)

    @property
    def labels(self):
        return [str(REASONS[r]) for r in self.reasons]


@lru_cache(maxsize=50_000)
def _char_pinyin(char: str) -> str:
    return lazy_pinyin(char)[0]


@lru_cache(maxsize=50_000)
def _pinyin(name: str) -> tuple:
    # Once per name (a franchisee-wide check compares each name with everyone born on the same
    # day), built character by character from readings computed once per character: pypinyin
    # takes ≈ 200 µs a name, 23 s for the 100,000 distinct names of a large import.
    return tuple(_char_pinyin(char) for char in name)


def _similar(a: str, b: str) -> bool:
    if not a or not b or a == b:
        return bool(a) and a == b
    if min(len(a), len(b)) >= 3 and Levenshtein.distance(a, b, score_cutoff=1) <= 1:
        return True
    return len(a) == len(b) and _pinyin(a) == _pinyin(b)


def _pairs_of(ids):
    ids = sorted(ids)
    if len(ids) > _GROUP_LIMIT:
        return [(ids[0], other) for other in ids[1:]]
    return combinations(ids, 2)


_STRENGTH = {"mobile": 0, "name_birthday": 1, "similar_name": 2}
_COLUMNS = (Customer.id, Customer.store_id, Customer.franchisee_id, Customer.name_key, Customer.birthday,
            Customer.mobile, Customer.email)
_active = (Customer.anonymised_at.is_(None), Customer.merged_into_id.is_(None))


def pairs_among(rows, involving: set | None = None) -> dict[tuple[int, int], Pair]:
    """Likely duplicate pairs among ``rows`` (id, franchisee_id, name_key, birthday, mobile, email).

    With ``involving``, only pairs with at least one of those ids are returned.
    """
    pairs: dict[tuple[int, int], Pair] = {}

    def add(a, b, reason):
        if involving is not None and a not in involving and b not in involving:
            return
        key = (min(a, b), max(a, b))
        pair = pairs.setdefault(key, Pair(*key))
        if reason not in pair.reasons:
            pair.reasons.append(reason)

    by_mobile, by_name_day, by_day, by_email = (defaultdict(list) for _ in range(4))
    names = {}
    for row in rows:
        names[row.id] = row.name_key
        if row.mobile:
            by_mobile[(row.franchisee_id, row.mobile)].append(row.id)
        if row.birthday and row.name_key:
            by_name_day[(row.franchisee_id, row.name_key, row.birthday)].append(row.id)
        if row.birthday:
            by_day[(row.franchisee_id, row.birthday)].append(row.id)
        if row.email:
            by_email[(row.franchisee_id, row.email.lower())].append(row.id)
    for group in by_mobile.values():
        for a, b in _pairs_of(group):
            add(a, b, "mobile")
    for group in by_name_day.values():
        for a, b in _pairs_of(group):
            add(a, b, "name_birthday")
    for groups in (by_day, by_email):
        for group in groups.values():
            _add_similar([(i, names[i]) for i in group], add)
    return pairs


def _store(pairs: dict, stores: dict) -> None:
    """Write ``pairs`` as candidates, leaving out the pairs someone dismissed."""
    if not pairs:
        return
    low_ids = sorted({a for a, _ in pairs})
    dismissed = set()
    for start in range(0, len(low_ids), 5000):
        dismissed.update(tuple(row) for row in db.session.execute(
            select(NotDuplicate.customer_id, NotDuplicate.other_id)
            .where(NotDuplicate.customer_id.in_(low_ids[start:start + 5000]))
        ))
    now = utcnow()
    rows = [
        {"customer_id": a, "other_id": b, "store_id": stores[a][0], "franchisee_id": stores[a][1],
         "reasons": ",".join(pair.reasons), "strength": min(_STRENGTH[r] for r in pair.reasons), "found_at": now}
        for (a, b), pair in pairs.items() if (a, b) not in dismissed
    ]
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(DuplicateCandidate.__table__), rows[start:start + 5000])


def _streamed_pairs(franchisee_id: int) -> dict[tuple[int, int], Pair]:
    """``pairs_among`` for one whole franchisee, reading its customers in sorted streams so only
    one group (same mobile, same birthday, same e-mail) is in memory at a time: a franchisee of
    100,000 customers held as rows and group maps took 120 MB."""
    pairs: dict[tuple[int, int], Pair] = {}

    def add(a, b, reason):
        pair = pairs.setdefault((a, b), Pair(a, b))
        if reason not in pair.reasons:
            pair.reasons.append(reason)

    def stream(key, *columns):
        stmt = (select(key, *columns, Customer.id)
                .where(Customer.franchisee_id == franchisee_id, *_active, key.is_not(None))
                .order_by(key, *columns, Customer.id).execution_options(yield_per=5000))
        return groupby(db.session.execute(stmt), key=itemgetter(0))

    for _, rows in stream(Customer.mobile):
        ids = [row[-1] for row in rows]
        for a, b in _pairs_of(ids) if len(ids) > 1 else ():
            add(a, b, "mobile")
    for _, rows in stream(Customer.birthday, Customer.name_key):
        day = list(rows)
        if len(day) < 2:
            continue
        for name, same in groupby(day, key=itemgetter(1)):
            ids = [row[-1] for row in same]
            for a, b in _pairs_of(ids) if name and len(ids) > 1 else ():
                add(a, b, "name_birthday")
        _add_similar([(row[-1], row[1]) for row in day], add)
    email = func.lower(Customer.email)
    for _, rows in stream(email, Customer.name_key):
        _add_similar([(row[-1], row[1]) for row in rows], add)
    return pairs


def _add_similar(group: list[tuple[int, str]], add) -> None:
    """Near-identical names within a same-day or same-e-mail group of (id, name_key)."""
    if len(group) < 2 or len(group) > 200:
        return
    for (a, name_a), (b, name_b) in combinations(sorted(group), 2):
        if name_a != name_b and _similar(name_a, name_b):
            add(a, b, "similar_name")


def rebuild(franchisee_id: int) -> int:
    """Re-check every customer of one franchisee and commit; returns the number of pairs kept.

    Reads and compares, then replaces the franchisee's candidates in one short write
    (database.write_transaction), so writers are not held up meanwhile.
    """
    with unscoped():
        pairs = _streamed_pairs(franchisee_id)
        low_ids = sorted({a for a, _ in pairs})
        stores = {}
        for start in range(0, len(low_ids), 5000):
            stores.update((row.id, (row.store_id, row.franchisee_id)) for row in db.session.execute(
                select(Customer.id, Customer.store_id, Customer.franchisee_id)
                .where(Customer.id.in_(low_ids[start:start + 5000]))))
        db.session.commit()
        with write_transaction(db.session):
            db.session.execute(delete(DuplicateCandidate).where(DuplicateCandidate.franchisee_id == franchisee_id)
                               .execution_options(synchronize_session=False))
            _store(pairs, stores)
    return len(pairs)


def refresh_for(customer_ids) -> None:
    """Re-check these customers against the records sharing a mobile, name or birthday with them."""
    ids = set(customer_ids)
    if not ids:
        return
    with unscoped():
        db.session.execute(
            delete(DuplicateCandidate)
            .where(or_(DuplicateCandidate.customer_id.in_(ids), DuplicateCandidate.other_id.in_(ids)))
            .execution_options(synchronize_session=False)
        )
        mine = db.session.execute(select(*_COLUMNS).where(Customer.id.in_(ids), *_active)).all()
        if not mine:
            return
        mobiles = {r.mobile for r in mine if r.mobile}
        names = {r.name_key for r in mine if r.name_key}
        days = {r.birthday.month * 100 + r.birthday.day for r in mine if r.birthday}
        # Similar names are backed by a birthday: same-day customers are the candidates.
        near = [Customer.mobile.in_(mobiles), Customer.name_key.in_(names), Customer.birthday_md.in_(days)]
        franchisees = {r.franchisee_id for r in mine}
        others = db.session.execute(
            select(*_COLUMNS).where(Customer.franchisee_id.in_(franchisees), *_active, or_(*near))
        ).all()
        rows = {r.id: r for r in list(mine) + list(others)}
        pairs = pairs_among(rows.values(), involving=ids)
        _store(pairs, {r.id: (r.store_id, r.franchisee_id) for r in rows.values()})


def drop_for(customer_ids) -> None:
    """Merged or anonymised customers leave the candidate list."""
    ids = list(customer_ids)
    with unscoped():
        db.session.execute(
            delete(DuplicateCandidate)
            .where(or_(DuplicateCandidate.customer_id.in_(ids), DuplicateCandidate.other_id.in_(ids)))
            .execution_options(synchronize_session=False)
        )


def find_duplicates(franchisee_id: int | None = None, limit: int = 500) -> list[Pair]:
    """Likely duplicate pairs among the customers in scope, computed from scratch (tests, checks)."""
    stmt = select(*_COLUMNS).where(*_active)
    if franchisee_id:
        stmt = stmt.where(Customer.franchisee_id == franchisee_id)
    pairs = pairs_among(db.session.execute(stmt).all())
    if pairs:
        dismissed = {tuple(row) for row in db.session.execute(select(NotDuplicate.customer_id, NotDuplicate.other_id))}
        pairs = {k: p for k, p in pairs.items() if k not in dismissed}
    result = sorted(pairs.values(), key=lambda p: (min(_STRENGTH[r] for r in p.reasons), -len(p.reasons), p.first_id))
    return result[:limit]
