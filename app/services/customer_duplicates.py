"""Likely duplicate customers within one franchisee (R13, 数据清洗).

Three signals, strongest first:

1. the same mobile number;
2. the same name (after folding case, width and spaces) and the same birthday;
3. near-identical names, written with the same pinyin (张伟/章伟, a typical
   input-method slip) or one character apart in a name of 3 or more
   characters, backed by a shared birthday or e-mail. A near-identical name
   alone is not enough: common names repeat across many real people.

Pairs someone marked as different people (NotDuplicate) are left out. The
check reads only the columns it compares, a few MB for 100,000 customers.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from flask_babel import lazy_gettext as _l
from pypinyin import lazy_pinyin
from rapidfuzz.distance import Levenshtein
from sqlalchemy import select

from app.extensions import db
from app.models import Customer, NotDuplicate

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


def _similar(a: str, b: str) -> bool:
    if not a or not b or a == b:
        return bool(a) and a == b
    if min(len(a), len(b)) >= 3 and Levenshtein.distance(a, b, score_cutoff=1) <= 1:
        return True
    return lazy_pinyin(a) == lazy_pinyin(b)


def _pairs_of(ids):
    ids = sorted(ids)
    if len(ids) > _GROUP_LIMIT:
        return [(ids[0], other) for other in ids[1:]]
    return combinations(ids, 2)


def find_duplicates(franchisee_id: int | None = None, limit: int = 500) -> list[Pair]:
    """Likely duplicate pairs among the customers in scope, strongest signal first."""
    stmt = select(
        Customer.id, Customer.franchisee_id, Customer.name_key, Customer.birthday, Customer.mobile, Customer.email
    ).where(Customer.anonymised_at.is_(None), Customer.merged_into_id.is_(None))
    if franchisee_id:
        stmt = stmt.where(Customer.franchisee_id == franchisee_id)
    rows = db.session.execute(stmt).all()
    pairs: dict[tuple[int, int], Pair] = {}

    def add(a, b, reason):
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
            if len(group) < 2 or len(group) > 200:
                continue
            for a, b in combinations(sorted(group), 2):
                if names[a] != names[b] and _similar(names[a], names[b]):
                    add(a, b, "similar_name")
    if pairs:
        dismissed = {tuple(row) for row in db.session.execute(select(NotDuplicate.customer_id, NotDuplicate.other_id))}
        pairs = {k: p for k, p in pairs.items() if k not in dismissed}
    order = {"mobile": 0, "name_birthday": 1, "similar_name": 2}
    result = sorted(pairs.values(), key=lambda p: (min(order[r] for r in p.reasons), -len(p.reasons), p.first_id))
    return result[:limit]
