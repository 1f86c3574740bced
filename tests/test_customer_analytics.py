"""R8-R11, R50: grades, tiers, CLV, repeat flag and churn warnings from each customer's own history."""
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Customer
from app.models.base import local_today
from app.services import customer_analytics as analytics
from app.services import customers as service
from tests.factories import make_customer, make_purchase

RULES = SimpleNamespace(**analytics.RULE_DEFAULTS)
# The date the portal takes as today (flags and tasks made by make_purchase use it too).
TODAY = local_today()


def _tier(rank, spend=0, orders=0, points=0):
    return SimpleNamespace(rank=rank, min_spend=Decimal(spend), min_orders=orders, min_points=points)


def test_category_follows_spend_and_purchase_count():
    assert analytics.category_for(Decimal("0"), 0, RULES) == "potential"
    assert analytics.category_for(Decimal("500"), 1, RULES) == "regular"
    assert analytics.category_for(RULES.vip_min_spend, 3, RULES) == "vip"
    assert analytics.category_for(Decimal("100"), RULES.vip_min_orders, RULES) == "vip"


def test_grade_cut_offs_are_inclusive():
    assert analytics.grade_for(RULES.grade_a_min_clv, RULES) == "A"
    assert analytics.grade_for(RULES.grade_a_min_clv - Decimal("0.01"), RULES) == "B"
    assert analytics.grade_for(RULES.grade_b_min_clv, RULES) == "B"
    assert analytics.grade_for(RULES.grade_b_min_clv - Decimal("0.01"), RULES) == "C"


def test_tier_is_the_highest_reached_by_any_one_condition():
    tiers = [_tier(1), _tier(2, spend=5000), _tier(3, spend=20000, orders=10), _tier(4, points=50000)]
    assert analytics.tier_for(Decimal("0"), 0, 0, tiers).rank == 1
    assert analytics.tier_for(Decimal("5000"), 1, 0, tiers).rank == 2
    assert analytics.tier_for(Decimal("100"), 10, 0, tiers).rank == 3  # purchases alone reach gold
    assert analytics.tier_for(Decimal("0"), 0, 50000, tiers).rank == 4  # points alone reach the top
    assert analytics.tier_for(Decimal("0"), 0, 0, [_tier(2, spend=1)]) is None


def test_lifetime_value_projects_only_repeat_customers():
    one = analytics.yearly_spend(Decimal("1000"), 1, date(2026, 1, 1), date(2026, 1, 1))
    assert one == 0 and analytics.lifetime_value(Decimal("1000"), one, 3) == Decimal("1000.00")
    # 12,000 over 730 days (1.9986 years of 365.25 days) is 6,004.11 a year; three years ahead.
    yearly = analytics.yearly_spend(Decimal("12000"), 4, date(2024, 11, 23), date(2026, 11, 23))
    assert yearly == Decimal("6004.11")
    assert analytics.lifetime_value(Decimal("12000"), yearly, 3) == Decimal("30012.33")
    # A short history counts as at least one year, so two quick purchases do not explode the projection.
    assert analytics.yearly_spend(Decimal("2000"), 2, date(2026, 1, 1), date(2026, 1, 8)) == Decimal("2000.00")


def test_usual_interval_is_the_customers_own_mean_gap():
    assert analytics.usual_interval(1, date(2026, 1, 1), date(2026, 1, 1)) is None
    assert analytics.usual_interval(4, date(2026, 1, 1), date(2026, 1, 31)) == 10.0


def _buyer(store, name, every_days, count, last_ago):
    customer = make_customer(store, name)
    for i in range(count):
        make_purchase(customer, TODAY - timedelta(days=last_ago + i * every_days), "100.00")
    return customer


def _warned(reason=None):
    rules = analytics.get_rules()
    return set(db.session.scalars(select(Customer.name).where(analytics.churn_filter(rules, TODAY, reason))))


def test_absence_is_judged_against_the_customers_own_rhythm(app, world, ctx):
    from app.models import Store

    store = db.session.scalar(select(Store).where(Store.id == world.a_stores[0]))
    weekly = _buyer(store, "每周顾客", every_days=7, count=6, last_ago=40)
    quarterly = _buyer(store, "每季顾客", every_days=90, count=4, last_ago=40)
    single_recent = _buyer(store, "一次近期", every_days=0, count=1, last_ago=100)
    single_old = _buyer(store, "一次很久", every_days=0, count=1, last_ago=200)
    warned = _warned("absent")
    # 40 days is long for a weekly buyer (limit max(2 x 7, 30) = 30) but normal for a quarterly one.
    assert "每周顾客" in warned and "每季顾客" not in warned
    assert "一次很久" in warned and "一次近期" not in warned  # single purchase: 180 days
    # The detail page says the same as the list.
    rules = analytics.get_rules()
    for c in (weekly, quarterly, single_recent, single_old):
        db.session.refresh(c)
        assert bool(analytics.churn_warnings(c, rules, TODAY)) == (c.name in warned)
    assert analytics.absence_limit(weekly, rules) == 30
    assert analytics.absence_limit(quarterly, rules) == 180


def test_frequency_drop_warns_when_purchases_fall_by_the_threshold(app, world, ctx):
    from app.models import Store

    store = db.session.scalar(select(Store).where(Store.id == world.a_stores[0]))
    dropping = make_customer(store, "频次下降")
    steady = make_customer(store, "频次稳定")
    for ago in (200, 220, 240, 260, 280, 10):  # 5 in the earlier window, 1 in the last 180 days
        make_purchase(dropping, TODAY - timedelta(days=ago), "50.00")
    for ago in (200, 240, 280, 10, 60, 100):  # 3 and 3
        make_purchase(steady, TODAY - timedelta(days=ago), "50.00")
    warned = _warned("frequency")
    assert "频次下降" in warned and "频次稳定" not in warned
    assert [w.reason for w in analytics.churn_warnings(dropping, analytics.get_rules(), TODAY)] == ["frequency"]


def test_recording_a_purchase_updates_figures_points_and_tier_without_a_version_conflict(app, world, ctx):
    from app.models import Store, User

    store = db.session.scalar(select(Store).where(Store.id == world.a_stores[0]))
    actor = db.session.scalar(select(User).where(User.id == world.users["staff_a"]))
    customer = make_customer(store, "新顾客")
    version = customer.version
    assert customer.category == "potential"
    service.record_purchase(customer, {"purchased_on": TODAY - timedelta(days=30), "amount": Decimal("3000"), "items": "沙发"}, actor)
    service.record_purchase(customer, {"purchased_on": TODAY, "amount": Decimal("2500.50"), "items": "餐桌"}, actor)
    db.session.refresh(customer)
    assert (customer.purchase_count, customer.total_spend, customer.points) == (2, Decimal("5500.50"), 5500)
    assert customer.is_repeat and customer.category == "regular"
    assert customer.usual_interval_days == 30.0 and customer.average_order == Decimal("2750.25")
    assert customer.tier.name_zh == "银卡会员"  # spend 5000 reaches rank 2 in the world's tiers
    assert customer.version == version  # a colleague editing the address is not told "someone else changed it"


def test_changing_the_rules_regrades_everyone(app, world, ctx):
    from app.models import Store

    store = db.session.scalar(select(Store).where(Store.id == world.a_stores[0]))
    customer = make_customer(store, "规则顾客")
    make_purchase(customer, TODAY, "10000.00")
    db.session.refresh(customer)
    assert customer.grade == "C"
    rules = analytics.get_rules()
    rules.grade_b_min_clv = Decimal("5000")
    db.session.flush()
    analytics.apply_rules()
    db.session.refresh(customer)
    assert customer.grade == "B"


@pytest.mark.parametrize("amount, limit, flagged", [("5000.00", "4000", True), ("3000.00", "4000", False)])
def test_orders_above_a_business_customers_sales_limit_are_flagged(app, world, ctx, amount, limit, flagged):
    from app.models import Store, User

    store = db.session.scalar(select(Store).where(Store.id == world.a_stores[0]))
    actor = db.session.scalar(select(User).where(User.id == world.users["manager_a"]))
    company = make_customer(store, "某装饰公司", customer_type="manufacturer", sales_limit=Decimal(limit))
    purchase = service.record_purchase(company, {"purchased_on": TODAY, "amount": Decimal(amount), "items": "批量采购"}, actor)
    assert purchase.over_limit is flagged



def test_churn_list_and_customer_page_agree_to_the_day(app, world, ctx):
    """Issue 8: one rule decides absence for the stored flags (the list's filter) and the page."""
    from app.models import Store

    store = db.session.scalar(select(Store).where(Store.id == world.a_stores[0]))
    rules = analytics.get_rules()
    # Two purchases on one day are one visit: the single-purchase limit (180 days), not an
    # interval of 0 days that the list used to flag after 30.
    same_day = make_customer(store, "同日两单")
    make_purchase(same_day, TODAY - timedelta(days=40), "100.00")
    make_purchase(same_day, TODAY - timedelta(days=40), "80.00")
    db.session.refresh(same_day)
    assert same_day.usual_interval_days is None and analytics.absence_limit(same_day, rules) == 180
    assert "同日两单" not in _warned("absent")

    # Every 22.8 days (6 purchases over 114 days): absent after more than 45.6 days, both ways.
    customers = []
    for last_ago in (45, 46, 30, 31, 120, 181, 200):
        for count, span in ((6, 114), (1, 0), (3, 10), (2, 400)):
            c = make_customer(store, f"节奏{last_ago}-{count}-{span}")
            for i in range(count):
                make_purchase(c, TODAY - timedelta(days=last_ago + (span * i // max(count - 1, 1))), "100.00")
            customers.append(c)
    warned = _warned("absent")
    for c in customers:
        db.session.refresh(c)
        assert analytics.is_absent(c, rules, TODAY) == (c.name in warned), c.name
        assert bool(analytics.churn_warnings(c, rules, TODAY)) == (c.name in _warned()), c.name
    assert "节奏46-6-114" in warned and "节奏45-6-114" not in warned
    rhythm = next(c for c in customers if c.name == "节奏45-6-114")
    assert analytics.absence_limit(rhythm, rules) == pytest.approx(45.6)


def test_customer_page_explains_a_same_day_history(app, world, login_as):
    with app.app_context():
        from app.models import Store
        from app.security.tenancy import unscoped

        with unscoped():
            store = db.session.get(Store, world.a_stores[0])
            c = make_customer(store, "同日顾客")
            make_purchase(c, TODAY - timedelta(days=3), "100.00")
            make_purchase(c, TODAY - timedelta(days=3), "50.00")
            db.session.commit()
            cid = c.id
    page = login_as("manager_a").get(f"/customers/{cid}").text
    assert "目前所有消费都在同一天" in page and "目前只消费过一次" not in page
