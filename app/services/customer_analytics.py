"""Customer analytics: loyalty figures, category, grade, tier and churn warnings.

Two kinds of figure, kept up to date in two ways:

- Figures that change only when a purchase is recorded or the rules change
  (count, spend, usual interval, yearly spend, CLV, category, grade, tier) are
  stored on the customer: ``refresh`` after a purchase, ``apply_rules`` after
  headquarters edits the rules. Both are set-based UPDATEs that do not bump
  the record version, so a purchase never turns a colleague's edit into a
  conflict.
- Churn warnings depend on the calendar as well: they are stored too
  (``churn_flags``), set by ``update_churn`` with every refresh and rule change,
  and again for every customer by the nightly job (``flask customers nightly``),
  so lists filter on a column instead of grouping millions of purchases.
  ``live_churn_condition`` is the from-scratch definition both use.

Lifetime value (CLV, R9; seed 001: 按客户终身经济收益的现值) is the present value of the
margin the customer is expected to bring from today on:

    CLV = m × S × r / (1 + d − r)

- ``S``, yearly spend: total spend / the years from the first purchase to today, at least one
  year (one purchase: its amount); ``f``, purchases a year, the same way. A purchase raises
  both; a long silence lowers them.
- ``m``, gross margin, and ``d``, yearly discount rate: set by headquarters.
- ``r``, the chance the customer is still buying a year from now (retention):
  ``RETENTION_CAP × f / (f + RETENTION_HALF_RATE) × recency``. Frequent buyers stay longer;
  ``recency`` is 1 until the customer passes their own absence limit (the churn rule), then
  falls in a straight line to 0 when they have lapsed: at ``LAPSE_MULTIPLE`` times that limit,
  and not before ``LAPSE_MULTIPLE`` times the single-purchase limit (360 days by default).
- ``r / (1 + d − r)`` is the sum over the coming years t = 1, 2, ... of r^t / (1 + d)^t: a
  year's margin received while the customer stays, discounted to today. The undiscounted
  expected remaining life is r / (1 − r) years.

Worked example (tests/test_customer_analytics.py): 12 purchases worth 24,000 yuan from
2024-11-01 to today, 2026-11-02 (731 days, 2.0014 years) → S = 11,991.79, f = 5.9959;
r = 0.9 × 5.9959 / 7.9959 = 0.67488; with m = 30 % and d = 10 %,
CLV = 0.3 × 11,991.79 × 0.67488 / (1.1 − 0.67488) = 5,711.21: grade B (A from 8,000).
142 days later without a purchase: the history spans 873 days, S = 10,041.24, f = 5.0206;
their absence limit is 2 × 66.5 = 132.9 days and they lapse at 2 × max(132.9, 180) = 360, so
recency = (360 − 142) / (360 − 132.9) = 0.95997, r = 0.61785 and CLV = 3,860.15 (grade B).
At 360 days they have lapsed: CLV 0, grade C, no longer VIP. One purchase of 1,000:
r = 0.9 × 1 / 3 = 0.3, CLV = 0.3 × 1,000 × 0.3 / 0.8 = 112.50.

Category (R8): potential until the first purchase; VIP when not lapsed, and S reaches the
VIP spend or f the VIP purchases a year, and they bought at least the VIP number of product
types; otherwise regular. A VIP who stays away lapses to regular.

Tier (R10): the highest tier reached by lifetime spend, purchases or points (any one), whose
activity condition (a purchase within ``active_within_days``) the customer meets.

Everything that depends on today (S, f, recency, lapse, activity) is recomputed every night.
"""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import Numeric, and_, bindparam, case, cast, func, inspect, literal, or_, select, update

from app import i18n, refcache
from app.extensions import db
from app.models import Customer, CustomerRules, MembershipTier, Purchase
from app.models.base import BilingualName, local_today
from app.models.customer import CHURN_ABSENT, CHURN_COMPLAINT, CHURN_FREQUENCY
from app.security.tenancy import unscoped

CENT = Decimal("0.01")

RULE_DEFAULTS = {
    "vip_min_spend": Decimal("30000"),
    "vip_min_orders": 8,
    "vip_min_product_types": 2,
    "grade_a_min_clv": Decimal("8000"),
    "grade_b_min_clv": Decimal("2000"),
    "gross_margin_pct": Decimal("30"),
    "discount_rate_pct": Decimal("10"),
    "points_per_yuan": Decimal("1"),
    "points_valid_months": 24,
    "points_notice_days": 30,
    "churn_interval_factor": Decimal("2.0"),
    "churn_min_days": 30,
    "churn_single_purchase_days": 180,
    "freq_window_days": 180,
    "freq_drop_pct": 50,
    "freq_min_previous": 3,
    "return_visit_after_days": 3,
    "follow_up_after_days": 90,
    "care_lookahead_days": 14,
    "retention_years": 3,
    "import_retention_days": 30,
}

CHURN_REASONS = {
    "absent": _l("Absent far longer than usual"),
    "frequency": _l("Buying less often"),
    "complaint": _l("Complaint not yet resolved"),
}
SUGGESTED_ACTIONS = {
    "absent": _l("Call to ask how they are and invite them back with a coupon."),
    "frequency": _l("Invite them to a member event and ask what has changed."),
    "complaint": _l("Resolve the complaint first, then call to make sure they are satisfied."),
}


def get_rules() -> CustomerRules:
    """The network's rules; the defaults are written the first time they are needed.

    Read once per request (pages and filters each ask for them)."""
    if has_request_context():
        rules = g.get("customer_rules")
        if rules is None or inspect(rules).expired or inspect(rules).detached:
            rules = g.customer_rules = _load_rules()
        return rules
    return _load_rules()


def _load_rules() -> CustomerRules:
    with unscoped():
        rules = db.session.scalar(select(CustomerRules).where(CustomerRules.id == 1))
        if rules is None:
            rules = CustomerRules(id=1, **RULE_DEFAULTS)
            db.session.add(rules)
            db.session.flush()
    return rules


def tiers() -> list[MembershipTier]:
    with unscoped():
        return list(db.session.scalars(select(MembershipTier).order_by(MembershipTier.rank)))


def read_rules():
    """The rules for reading (pages, filters): a snapshot each worker keeps until they change
    (app/refcache.py). Services that change them, or records from them, use ``get_rules``."""
    return refcache.cached(("customer_rules",), lambda: refcache.Snapshot.of(get_rules()))


@dataclass(frozen=True)
class TierOption(BilingualName):
    """A membership tier as pages show it, shareable between requests."""

    id: int
    rank: int
    name_zh: str
    name_en: str


def tier_options() -> tuple[TierOption, ...]:
    """The tiers by rank, for lists and filters; cached per worker until a tier changes."""
    return refcache.cached(
        ("tiers",), lambda: tuple(TierOption(t.id, t.rank, t.name_zh, t.name_en) for t in tiers())
    )


# --- pure rules, unit-tested ------------------------------------------------

# Retention (the chance of still buying a year from now) for the most frequent buyers, the
# purchases a year at which it is half of that, and when a customer has lapsed (multiples of
# their own absence limit). See the module's docstring.
RETENTION_CAP = 0.9
RETENTION_HALF_RATE = 2.0
LAPSE_MULTIPLE = 2.0


def _years(first: date | None, today: date | None) -> float:
    """The years from the customer's first purchase to today, at least one."""
    if first is None or today is None:
        return 1.0
    return max((today - first).days / 365.25, 1.0)


def yearly_spend(total: Decimal, count: int, first: date | None, today: date | None) -> Decimal:
    """Spend per year from the first purchase to today (a history shorter than a year counts as
    one): a purchase raises it, a long silence lowers it."""
    if count < 1:
        return Decimal("0")
    return (Decimal(total) / Decimal(repr(_years(first, today)))).quantize(CENT, ROUND_HALF_UP)


def yearly_purchases(count: int, first: date | None, today: date | None) -> float:
    """Purchases per year the same way (4 decimals)."""
    if count < 1:
        return 0.0
    return round(count / _years(first, today), 4)


def lapse_after(limit: float, rules) -> float:
    """Days without a purchase after which a customer has lapsed: LAPSE_MULTIPLE times their
    absence limit, and never sooner than LAPSE_MULTIPLE times the single-purchase limit (two
    quick purchases are not a rhythm to be judged by within weeks)."""
    return LAPSE_MULTIPLE * max(limit, float(rules.churn_single_purchase_days))


def recency(days_since: int, limit: float | None, end: float | None = None) -> float:
    """1 until the absence limit, then down in a straight line to 0 at ``end`` (lapsed)."""
    if limit is None:
        return 0.0
    if days_since <= limit:
        return 1.0
    end = end if end is not None else LAPSE_MULTIPLE * limit
    if days_since >= end:
        return 0.0
    return (end - days_since) / (end - limit)


def retention(per_year: float, recency_factor: float) -> float:
    return RETENTION_CAP * per_year / (per_year + RETENTION_HALF_RATE) * recency_factor


def lifetime_value(spend_per_year, per_year: float, recency_factor: float, rules) -> Decimal:
    """CLV = m × S × r / (1 + d − r): the present value of the expected future margin."""
    r = retention(float(per_year), recency_factor)
    margin, rate = float(rules.gross_margin_pct) / 100, float(rules.discount_rate_pct) / 100
    value = margin * float(spend_per_year) * r / (1 + rate - r)
    return Decimal(repr(value)).quantize(CENT, ROUND_HALF_UP)


def category_for(count: int, spend_per_year, per_year: float, product_types: int, lapsed: bool, rules) -> str:
    if count == 0:
        return "potential"
    busy = Decimal(spend_per_year) >= rules.vip_min_spend or per_year >= rules.vip_min_orders
    if busy and product_types >= rules.vip_min_product_types and not lapsed:
        return "vip"
    return "regular"


def grade_for(clv: Decimal, rules) -> str:
    if clv >= rules.grade_a_min_clv:
        return "A"
    if clv >= rules.grade_b_min_clv:
        return "B"
    return "C"


def tier_for(total: Decimal, count: int, points: int, tier_list, days_since: int | None = None):
    """The highest tier whose spend, purchase or points condition is met (any one suffices) and
    whose activity condition holds (``days_since`` the last purchase; None = never bought).

    A condition set to 0 is not a way in, except on a tier with no condition at
    all, which every member reaches.
    """
    reached = None
    for tier in sorted(tier_list, key=lambda t: t.rank):
        conditions = [
            (tier.min_spend, Decimal(total)),
            (tier.min_orders, count),
            (tier.min_points, points),
        ]
        active = [(need, have) for need, have in conditions if need]
        window = getattr(tier, "active_within_days", 0)
        if window and (days_since is None or days_since > window):
            continue
        if not active or any(have >= need for need, have in active):
            reached = tier
    return reached


@dataclass
class ValueParts:
    """How a customer's lifetime value came about, for their page."""

    spend_per_year: Decimal
    per_year: float
    recency: float
    retention: float
    lapsed: bool


def _recency_of(customer, rules, today: date) -> tuple[float, bool]:
    """(recency, lapsed) of a customer who has bought, on ``today``."""
    limit = absence_limit(customer, rules)
    days = today.toordinal() - customer.last_purchase_day
    end = lapse_after(limit, rules)
    return recency(days, limit, end), days >= end


def value_parts(customer, rules, today: date) -> ValueParts | None:
    if not customer.purchase_count:
        return None
    factor, lapsed = _recency_of(customer, rules, today)
    return ValueParts(customer.yearly_spend, customer.yearly_purchases, factor,
                      retention(customer.yearly_purchases, factor), lapsed)


# Repeat purchases, the first loyalty measure (R16), on the same five-point scale as the observed
# six: the fewest purchases that score 2, 3, 4 and 5.
REPEAT_SCORE_FROM = (2, 3, 5, 10)


def repeat_score(count: int) -> int:
    return 1 + sum(count >= n for n in REPEAT_SCORE_FROM)


def loyalty_score(observed: int | None, count: int) -> int | None:
    """0-100 from the seven measures (each 1-5): (sum - 7) / 28 × 100, rounded; None until
    staff have assessed the six observed ones (models/customer_file.LoyaltyAssessment)."""
    if observed is None:
        return None
    return round((observed + repeat_score(count) - 7) * 100 / 28)


def figures_for(customer, rules, tier_list, today: date) -> dict:
    """What the stored figures of one customer should be on ``today`` (the same rules as
    ``_rule_values`` in SQL); tests compare the two."""
    bought = customer.purchase_count > 0
    days = today.toordinal() - customer.last_purchase_day if bought else None
    first = date.fromordinal(customer.first_purchase_day) if bought else None
    spend = yearly_spend(customer.total_spend, customer.purchase_count, first, today)
    per_year = yearly_purchases(customer.purchase_count, first, today)
    factor, lapsed = _recency_of(customer, rules, today) if bought else (0.0, False)
    clv = lifetime_value(spend, per_year, factor, rules) if bought else Decimal("0.00")
    tier = tier_for(customer.total_spend, customer.purchase_count, customer.points, tier_list, days)
    return {
        "yearly_spend": spend,
        "yearly_purchases": per_year,
        "clv": clv,
        "category": category_for(customer.purchase_count, spend, per_year, customer.product_types, lapsed, rules),
        "grade": grade_for(clv, rules),
        "tier_id": tier.id if tier is not None else None,
        "loyalty_score": loyalty_score(customer.loyalty_observed, customer.purchase_count),
    }


def usual_interval(count: int, first: date | None, last: date | None) -> float | None:
    """Mean days between purchases, from the customer's own history; None until they came back
    on a later day (two purchases on one day are one visit, not an interval of 0 days)."""
    if count < 2 or first is None or last is None or last <= first:
        return None
    return round((last - first).days / (count - 1), 1)


def absence_limit(customer, rules) -> float | None:
    """Days without a purchase after which this customer counts as absent (a churn warning).

    The one definition: ``_absent`` below is the same rule in SQL (stored flags, the churn
    list's filter) and ``is_absent`` applies it here (the customer's page), so the two agree
    to the day - no rounding on either side. A customer who never came back on a later day
    gets the single-purchase limit.
    """
    if not customer.purchase_count:
        return None
    if not customer.usual_interval_days:
        return float(rules.churn_single_purchase_days)
    return max(float(rules.churn_interval_factor) * customer.usual_interval_days, float(rules.churn_min_days))


def is_absent(customer, rules, today: date) -> bool:
    """Whether ``absence_limit`` has passed on ``today`` (what ``_absent`` stores)."""
    limit = absence_limit(customer, rules)
    return limit is not None and customer.last_purchase_day + limit < today.toordinal()


# --- set-based updates ---------------------------------------------------------

def _limit_sql(rules):
    """``absence_limit`` in SQL (customers with at least one purchase)."""
    own = Customer.usual_interval_days * float(rules.churn_interval_factor)
    minimum = float(rules.churn_min_days)
    return case(
        (func.coalesce(Customer.usual_interval_days, 0) == 0, float(rules.churn_single_purchase_days)),
        (own > minimum, own),
        else_=minimum,
    )


def _rule_values(rules, tier_list, today: date):
    """``figures_for`` in SQL, term for term, for a set-based UPDATE."""
    days = literal(today.toordinal()) - Customer.last_purchase_day
    limit = _limit_sql(rules)
    single = float(rules.churn_single_purchase_days)
    end = case((limit > single, limit), else_=single) * LAPSE_MULTIPLE
    factor = case((days <= limit, 1.0), (days >= end, 0.0), else_=(end - days) / (end - limit))
    span = (literal(today.toordinal()) - Customer.first_purchase_day) / 365.25
    years = case((span > 1.0, span), else_=1.0)
    spend = case((Customer.purchase_count == 0, 0),
                 else_=func.round(cast(Customer.total_spend / years, Numeric(18, 6)), 2))
    per_year = case((Customer.purchase_count == 0, 0),
                    else_=func.round(cast(Customer.purchase_count / years, Numeric(18, 8)), 4))
    r = RETENTION_CAP * per_year / (per_year + RETENTION_HALF_RATE) * factor
    margin, rate = float(rules.gross_margin_pct) / 100, float(rules.discount_rate_pct) / 100
    value = margin * spend * r / (1 + rate - r)
    clv = case((Customer.purchase_count == 0, 0), else_=func.round(cast(value, Numeric(18, 6)), 2))
    lapsed = days >= end
    category = case(
        (Customer.purchase_count == 0, literal("potential")),
        (and_(or_(spend >= rules.vip_min_spend, per_year >= rules.vip_min_orders),
              Customer.product_types >= rules.vip_min_product_types, ~lapsed), literal("vip")),
        else_=literal("regular"),
    )
    grade = case(
        (clv >= rules.grade_a_min_clv, literal("A")),
        (clv >= rules.grade_b_min_clv, literal("B")),
        else_=literal("C"),
    )
    whens = []
    for tier in sorted(tier_list, key=lambda t: -t.rank):
        conditions = []
        if tier.min_spend:
            conditions.append(Customer.total_spend >= tier.min_spend)
        if tier.min_orders:
            conditions.append(Customer.purchase_count >= tier.min_orders)
        if tier.min_points:
            conditions.append(Customer.points >= tier.min_points)
        reached = or_(*conditions) if conditions else literal(True)
        if tier.active_within_days:
            reached = and_(reached, Customer.purchase_count > 0, days <= tier.active_within_days)
        whens.append((reached, literal(tier.id)))
    values = {"yearly_spend": spend, "yearly_purchases": per_year, "clv": clv, "category": category, "grade": grade}
    values["tier_id"] = case(*whens, else_=None) if whens else None
    repeat = 1 + sum(case((Customer.purchase_count >= n, 1), else_=0) for n in REPEAT_SCORE_FROM)
    values["loyalty_score"] = cast(
        func.round((Customer.loyalty_observed + repeat - 7) * 100.0 / 28), db.Integer)
    return values


def apply_rules(customer_ids=None, where=None, today: date | None = None, only_changed: bool = False) -> None:
    """Recompute CLV, category, grade and tier in SQL: for these ids, these rows, or everyone.

    ``only_changed`` writes only the rows whose figures differ (the nightly job: the passage of
    a day changes few of them)."""
    rules = get_rules()
    today = today or local_today()
    values = _rule_values(rules, tiers(), today)
    stmt = update(Customer).values(**values).execution_options(synchronize_session=False)
    if customer_ids is not None:
        stmt = stmt.where(Customer.id.in_(list(customer_ids)))
    if where is not None:
        stmt = stmt.where(where)
    if only_changed:
        stmt = stmt.where(or_(*[getattr(Customer, name).is_distinct_from(value) for name, value in values.items()]))
    db.session.execute(stmt)
    if customer_ids is None and where is None:
        # The rules changed for everyone, churn thresholds included.
        update_churn(today, rules=rules)


def refresh(customer_ids, today: date | None = None) -> None:
    """Recompute the stored figures and churn state of these customers from all their purchases.

    Runs across stores: a customer's figures include purchases made in any
    store of the network, whoever is looking.
    """
    ids = list(customer_ids)
    if not ids:
        return
    with unscoped():
        rows = {
            row.customer_id: row
            for row in db.session.execute(
                select(
                    Purchase.customer_id,
                    func.count(Purchase.id).label("count"),
                    func.coalesce(func.sum(Purchase.amount - Purchase.returned_amount), 0).label("total"),
                    func.min(Purchase.purchased_on).label("first"),
                    func.max(Purchase.purchased_on).label("last"),
                    func.count(Purchase.product_type.distinct()).label("types"),
                )
                # A purchase returned in full is no purchase; a part returned counts what was kept.
                .where(Purchase.customer_id.in_(ids), Purchase.returned_amount < Purchase.amount)
                .group_by(Purchase.customer_id)
            )
        }
        params = []
        columns = ("purchase_count", "total_spend", "first_purchase_on", "last_purchase_on", "last_purchase_day",
                   "first_purchase_day", "usual_interval_days", "product_types")
        table = Customer.__table__
        # A Core executemany: the ORM's bulk update by key would bump the version column.
        stmt = table.update().where(table.c.id == bindparam("customer_id")).values({c: bindparam(c) for c in columns})
        for cid in ids:
            row = rows.get(cid)
            count = row.count if row else 0
            total = Decimal(row.total if row else 0).quantize(CENT)
            first, last = (row.first, row.last) if row else (None, None)
            params.append({
                "customer_id": cid,
                "purchase_count": count,
                "total_spend": total,
                "first_purchase_on": first,
                "last_purchase_on": last,
                "last_purchase_day": last.toordinal() if last else 0,
                "first_purchase_day": first.toordinal() if first else 0,
                "usual_interval_days": usual_interval(count, first, last),
                # A history recorded before the type was asked (none typed) counts as one type.
                "product_types": (row.types or 1) if row else 0,
            })
        db.session.execute(stmt, params)
        apply_rules(ids, today=today)
        update_churn(today or local_today(), Customer.id.in_(ids))
    # The UPDATEs bypassed the identity map: reload these customers on next access.
    wanted = set(ids)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Customer) and obj.id in wanted:
            db.session.expire(obj)


# --- churn: defined from today's date, stored in churn_flags ---------------------

_ALL_FLAGS = range(1, CHURN_ABSENT + CHURN_FREQUENCY + CHURN_COMPLAINT + 1)
# Each reason: its bit, and every stored value that has it (a list filter is an IN, on any database).
CHURN_FLAGS = {reason: (bit, tuple(v for v in _ALL_FLAGS if v & bit))
               for reason, bit in (("absent", CHURN_ABSENT), ("frequency", CHURN_FREQUENCY),
                                   ("complaint", CHURN_COMPLAINT))}


def _absent(rules, today: date):
    """``absence_limit``/``is_absent`` in SQL, term for term."""
    return and_(Customer.purchase_count >= 1, Customer.last_purchase_day + _limit_sql(rules) < today.toordinal())


def _window_counts(rules, today: date):
    """Per customer: purchases in the last window and in the window before (one grouped query)."""
    window = timedelta(days=rules.freq_window_days)
    recent = func.sum(case((Purchase.purchased_on > today - window, 1), else_=0))
    previous = func.sum(case((Purchase.purchased_on <= today - window, 1), else_=0))
    stmt = (
        select(Purchase.customer_id, recent.label("recent"), previous.label("previous"))
        .where(Purchase.purchased_on > today - 2 * window, Purchase.purchased_on <= today)
        .group_by(Purchase.customer_id)
    )
    return stmt, recent, previous


def _dropped(recent, previous, rules):
    """The frequency-drop rule, for SQL expressions and for plain numbers alike."""
    return previous >= rules.freq_min_previous, recent * 100 <= previous * (100 - rules.freq_drop_pct)


def _frequency_drop(rules, today: date, customers=None):
    stmt, recent, previous = _window_counts(rules, today)
    stmt = stmt.with_only_columns(Purchase.customer_id).having(*_dropped(recent, previous, rules))
    if customers is not None:
        stmt = stmt.where(Purchase.customer_id.in_(select(Customer.id).where(customers)))
    return Customer.id.in_(stmt)


_active = and_(Customer.anonymised_at.is_(None), Customer.merged_into_id.is_(None))


def live_churn_condition(rules, today: date, reason: str | None = None, customers=None):
    """SQL condition computed from purchases: the definition of a churn warning on ``today``.

    Costly (it groups a year of purchases); lists use the stored ``churn_filter``.
    ``customers`` narrows the grouped purchases to those customers.
    """
    parts = {"absent": _absent(rules, today), "frequency": _frequency_drop(rules, today, customers),
             "complaint": Customer.open_complaints > 0}
    chosen = [parts[reason]] if reason in parts else list(parts.values())
    return and_(_active, or_(*chosen))


def update_churn(today: date, where=None, rules=None) -> None:
    """Store today's churn flags for the customers matching ``where`` (all if None).

    Two steps, neither bumping the record version: one UPDATE sets the absence
    flag from the customer's own columns; then the customers whose purchases
    dropped are found by one grouped query and flagged by id. (A single UPDATE
    with the grouped IN-subquery let PostgreSQL re-run the subquery per row:
    10 s for 5,000 customers.)
    """
    rules = rules or get_rules()
    # An unresolved complaint (R28) is counted on the customer by services/complaints.py.
    absent = (case((and_(_active, _absent(rules, today)), CHURN_ABSENT), else_=0)
              + case((and_(_active, Customer.open_complaints > 0), CHURN_COMPLAINT), else_=0))
    stmt = update(Customer).values(churn_flags=absent).execution_options(synchronize_session=False)
    if where is not None:
        stmt = stmt.where(where)
    window, recent, previous = _window_counts(rules, today)
    dropped = window.with_only_columns(Purchase.customer_id).having(*_dropped(recent, previous, rules))
    if where is not None:
        dropped = dropped.where(Purchase.customer_id.in_(select(Customer.id).where(where)))
    with unscoped():
        ids = db.session.scalars(dropped).all()
        if len(ids) <= 10_000:
            # One UPDATE that writes only the customers whose flags change (the nightly job
            # rewrote every row before: new row versions and index entries on PostgreSQL).
            flags = absent + case((and_(_active, Customer.id.in_(ids)), CHURN_FREQUENCY), else_=0) if ids else absent
            only_changed = update(Customer).where(Customer.churn_flags != flags).values(churn_flags=flags)
            if where is not None:
                only_changed = only_changed.where(where)
            db.session.execute(only_changed.execution_options(synchronize_session=False))
            return
        db.session.execute(stmt)
        for start in range(0, len(ids), 5000):
            db.session.execute(
                update(Customer).where(Customer.id.in_(ids[start:start + 5000]), _active)
                .values(churn_flags=Customer.churn_flags + CHURN_FREQUENCY)
                .execution_options(synchronize_session=False)
            )


def churn_filter(rules, today: date, reason: str | None = None):
    """SQL condition on the stored state: the customer shows a churn warning (for one reason)."""
    flags = CHURN_FLAGS.get(reason)
    condition = Customer.churn_flags.in_(flags[1]) if flags else Customer.churn_flags > 0
    return and_(_active, condition)


@dataclass
class ChurnWarning:
    reason: str
    label: str
    action: str


def churn_warnings(customer, rules=None, today: date | None = None) -> list[ChurnWarning]:
    """The warnings one customer shows, with what the store should do (from the stored state)."""
    if customer.is_anonymised or customer.merged_into_id:
        return []
    labels, actions = i18n.translated(CHURN_REASONS), i18n.translated(SUGGESTED_ACTIONS)
    return [ChurnWarning(reason, labels[reason], actions[reason]) for reason, (flag, _) in CHURN_FLAGS.items()
            if customer.churn_flags & flag]
