"""The loyalty programme (issue 14; R10, R71; seeds 002-004): the points ledger and its stored
balance, purchases earning by tier, redemption with stock, corrections, returns reversing spend
and points, expiry with notice to consenting customers, merged records, bulk loads, and the
counter's pages in both languages with hostile input."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CareTask, Customer, MembershipTier, PointsEntry, Purchase, Redemption, Reward, Store, User
from app.models.base import local_today
from app.services import customers
from app.services.loyalty import expiry, ledger, redemption, returns
from app.services.loyalty.ledger import PointsError
from app.services.loyalty.returns import ReturnError
from tests.factories import make_customer
from tests.pages import form_on

TODAY = local_today()


def _buy(customer, amount: str, day: date | None = None, actor=None) -> Purchase:
    return customers.record_purchase(customer, {"purchased_on": day or TODAY, "amount": Decimal(amount),
                                                "items": "沙发", "product_type": "furniture", "channel": "in_store"},
                                     actor)


def _entries(customer_id: int) -> list[tuple[str, int, int]]:
    return [(e.kind, e.points, e.balance) for e in db.session.scalars(
        select(PointsEntry).where(PointsEntry.customer_id == customer_id).order_by(PointsEntry.id))]


@pytest.fixture
def shop(ctx, world):
    """A consenting customer of A's first store, the manager who serves them, and a gift of
    which one is left (300 points)."""
    store = db.session.get(Store, world.a_stores[0])
    customer = make_customer(store, "积分顾客", mobile="13800000088", consent=True)
    actor = db.session.get(User, world.users["manager_a"])
    gift = Reward(code="MUG", name_zh="马克杯", name_en="Mug", kind="gift", points=300, stock=1)
    db.session.add(gift)
    db.session.flush()
    return customer, actor, gift


def test_a_purchase_earns_points_as_a_dated_entry_and_the_balance_is_the_ledger_sum(shop):
    customer, actor, _gift = shop
    purchase = _buy(customer, "1234.56", actor=actor)
    db.session.refresh(customer)
    assert purchase.points_earned == 1234
    assert customer.points == 1234
    entry = db.session.scalar(select(PointsEntry).where(PointsEntry.purchase_id == purchase.id))
    assert (entry.kind, entry.points, entry.balance, entry.remaining) == ("earn", 1234, 1234, 1234)
    assert entry.created_by_id == actor.id
    # 24 months after the month of purchase, at its end.
    assert entry.expires_on == ledger.expiry_for(TODAY, analytics_rules())
    assert entry.expires_on.month == TODAY.month and entry.expires_on.year == TODAY.year + 2
    assert ledger.check() == []


def analytics_rules():
    from app.services import customer_analytics

    return customer_analytics.get_rules()


def test_a_higher_tier_earns_more_points_per_yuan(shop):
    customer, actor, _gift = shop
    gold = db.session.scalar(select(MembershipTier).where(MembershipTier.rank == 3))
    gold.points_multiplier = Decimal("1.5")
    customer.tier_id = gold.id
    db.session.flush()
    assert _buy(customer, "1000", actor=actor).points_earned == 1500


def test_redeeming_takes_points_and_stock_together_and_refuses_what_is_not_there(shop):
    customer, actor, gift = shop
    _buy(customer, "500", actor=actor)
    done = redemption.redeem(customer, gift, 1, "柜台兑换", actor)
    db.session.refresh(customer), db.session.refresh(gift)
    assert (customer.points, gift.stock, gift.redeemed) == (200, 0, 1)
    assert _entries(customer.id)[-1] == ("redeem", -300, 200)
    # The last one went: a second is refused with the stock named, and nothing changes.
    with pytest.raises(PointsError, match="库存不足|Not enough in stock"):
        redemption.redeem(customer, gift, 1, None, actor)
    gift.stock = 10
    db.session.commit()
    with pytest.raises(PointsError, match="积分不足|Not enough points"):
        redemption.redeem(customer, gift, 1, None, actor)
    db.session.rollback()  # as the view does: the stock the failed attempt took comes back
    assert db.session.scalar(select(Reward.stock).where(Reward.id == gift.id)) == 10
    assert db.session.scalar(select(Customer.points).where(Customer.id == customer.id)) == 200
    assert db.session.scalar(select(func.count()).select_from(Redemption).where(Redemption.id != done.id,
                                                                                 Redemption.customer_id == customer.id)) == 0
    assert ledger.check() == []


def test_a_reward_for_a_higher_tier_is_refused_to_lower_members(shop):
    customer, actor, gift = shop
    _buy(customer, "800", actor=actor)
    gift.min_tier_rank = 3
    db.session.flush()
    with pytest.raises(PointsError, match="更高|higher tier"):
        redemption.redeem(customer, gift, 1, None, actor)


def test_cancelling_a_redemption_returns_points_and_stock_once(shop):
    customer, actor, gift = shop
    _buy(customer, "700", actor=actor)
    done = redemption.redeem(customer, gift, 1, None, actor)
    redemption.cancel(done, "顾客改选", actor)
    db.session.refresh(customer), db.session.refresh(gift)
    assert (customer.points, gift.stock, gift.redeemed, done.state) == (700, 1, 0, "cancelled")
    with pytest.raises(PointsError):
        redemption.cancel(done, "再次取消", actor)
    assert ledger.check() == []


def test_an_adjustment_needs_a_reason_and_cannot_take_more_than_the_balance(shop):
    customer, actor, _gift = shop
    redemption.adjust(customer, 250, "补录积分", actor)
    with pytest.raises(PointsError):
        redemption.adjust(customer, -251, "扣减", actor)
    with pytest.raises(PointsError):
        redemption.adjust(customer, 10, "   ", actor)
    redemption.adjust(customer, -50, "扣减", actor)
    assert [e[:2] for e in _entries(customer.id)] == [("adjust", 250), ("adjust", -50)]
    assert ledger.check() == []


def test_a_partial_return_takes_back_its_share_of_the_points_and_of_the_spend(shop):
    customer, actor, _gift = shop
    purchase = _buy(customer, "1000", actor=actor)
    returns.record_return(purchase, Decimal("300"), "quality", None, TODAY, actor)
    db.session.refresh(customer), db.session.refresh(purchase)
    assert (purchase.returned_amount, purchase.points_reversed) == (Decimal("300.00"), 300)
    assert (customer.points, customer.total_spend, customer.purchase_count) == (700, Decimal("700.00"), 1)
    # More than is left is refused; the rest returns every remaining point; then nothing is left.
    with pytest.raises(ReturnError):
        returns.record_return(purchase, Decimal("700.01"), "quality", None, TODAY, actor)
    returns.record_return(purchase, Decimal("700"), "changed_mind", None, TODAY, actor)
    db.session.refresh(customer), db.session.refresh(purchase)
    assert (customer.points, customer.total_spend, customer.purchase_count) == (0, Decimal("0.00"), 0)
    assert purchase.points_reversed == 1000 and purchase.fully_returned
    with pytest.raises(ReturnError):
        returns.record_return(purchase, Decimal("0.01"), "quality", None, TODAY, actor)
    assert ledger.check() == []


def test_a_return_after_the_points_were_spent_leaves_a_debt_the_next_purchase_repays(shop):
    customer, actor, gift = shop
    purchase = _buy(customer, "300", actor=actor)
    redemption.redeem(customer, gift, 1, None, actor)
    returns.record_return(purchase, Decimal("300"), "damaged", None, TODAY, actor)
    db.session.refresh(customer)
    assert customer.points == -300
    _buy(customer, "500", actor=actor)
    db.session.refresh(customer)
    assert customer.points == 200
    # The new lot holds only what was not needed to repay: the lots add up to the balance.
    assert db.session.scalar(select(func.sum(PointsEntry.remaining))
                             .where(PointsEntry.customer_id == customer.id)) == 200
    assert ledger.check() == []


def test_a_return_dated_before_the_purchase_or_in_the_future_is_refused(shop):
    customer, actor, _gift = shop
    purchase = _buy(customer, "100", TODAY - timedelta(days=5), actor=actor)
    for day in (TODAY - timedelta(days=6), TODAY + timedelta(days=1)):
        with pytest.raises(ReturnError):
            returns.record_return(purchase, Decimal("10"), "quality", None, day, actor)


def test_points_lapse_oldest_first_after_a_notice_to_consenting_customers_only(shop, world):
    customer, actor, gift = shop
    rules = analytics_rules()
    old = _buy(customer, "400", TODAY - timedelta(days=800), actor=actor)
    _buy(customer, "600", TODAY - timedelta(days=10), actor=actor)
    silent = make_customer(db.session.get(Store, world.a_stores[0]), "未同意顾客", consent=False)
    _buy(silent, "400", TODAY - timedelta(days=800), actor=actor)
    lot = db.session.scalar(select(PointsEntry).where(PointsEntry.purchase_id == old.id))
    # The notice comes when the lapse is within the notice period: the customer who agreed gets a
    # care task, the one who did not gets nothing.
    soon = lot.expires_on - timedelta(days=rules.points_notice_days - 1)
    assert expiry.notify(rules, soon) == 1
    task = db.session.scalar(select(CareTask).where(CareTask.customer_id == customer.id, CareTask.kind == "points"))
    assert task.ref == expiry.ref_for(lot.expires_on) and task.state == "open"
    assert expiry.notify(rules, soon) == 0  # never twice
    # Spending takes the oldest lot first: 100 of its 400 are used before it lapses.
    gift.points, gift.stock = 100, 5
    redemption.redeem(customer, gift, 1, None, actor)
    assert expiry.expire(lot.expires_on + timedelta(days=1)) == 2
    db.session.refresh(customer)
    assert customer.points == 600
    assert _entries(customer.id)[-1] == ("expire", -300, 600)
    db.session.refresh(task)
    assert task.state == "missed"
    assert expiry.expire(lot.expires_on + timedelta(days=1)) == 0
    assert ledger.check() == []


def test_logging_the_notice_call_closes_the_care_task(app, world, login_as):
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            customer = db.session.get(Customer, world.customers["a"])
            lapse = TODAY + timedelta(days=5)
            ledger.post(customer, "adjust", 90, None, reason="测试", expires_on=lapse)
            expiry.notify(analytics_rules(), TODAY)
            db.session.commit()
    client = login_as("manager_a")
    page = client.get("/customers/care?tab=points")
    assert page.status_code == 200 and "甲方顾客" in page.text and ">90<" in page.text
    url = f"/customers/{world.customers['a']}/care/points_expiry?ref={lapse:%Y%m%d}&tab=points"
    form = form_on(client.get(url).text)
    response = client.post(url, data=form | {"outcome": "已短信提醒积分到期"})
    assert response.status_code == 302
    assert f"/customers/{world.customers['a']}/care/points_expiry" not in client.get("/customers/care?tab=points").text
    # A date the customer has no points lapsing on is no care task.
    assert client.get(f"/customers/{world.customers['a']}/care/points_expiry?ref=20991231").status_code == 404


def test_merging_moves_the_balance_with_each_lot_keeping_its_date(shop, world):
    customer, actor, _gift = shop
    other = make_customer(db.session.get(Store, world.a_stores[0]), "积分顾客二", consent=True)
    _buy(customer, "100", actor=actor)
    first = _buy(other, "200", TODAY - timedelta(days=400), actor=actor)
    _buy(other, "300", actor=actor)
    customers.merge(customer, other, actor)
    db.session.refresh(customer), db.session.refresh(other)
    assert (customer.points, other.points) == (600, 0)
    lapse = db.session.scalar(select(PointsEntry.expires_on).where(PointsEntry.purchase_id == first.id))
    assert db.session.scalar(select(func.sum(PointsEntry.remaining)).where(
        PointsEntry.customer_id == customer.id, PointsEntry.expires_on == lapse)) == 200
    assert ledger.check() == []


def test_bulk_loaded_purchases_and_balances_get_their_ledger(shop):
    customer, _actor, _gift = shop
    # As a seed or a file from before the ledger leaves them: purchases and a stored balance only.
    for day, amount in ((TODAY - timedelta(days=30), 100), (TODAY - timedelta(days=3), 50)):
        db.session.add(Purchase(customer_id=customer.id, store_id=customer.store_id,
                                franchisee_id=customer.franchisee_id, purchased_on=day, amount=Decimal(amount),
                                items="导入", points_earned=amount))
    db.session.execute(Customer.__table__.update().where(Customer.__table__.c.id == customer.id).values(points=400))
    db.session.flush()
    assert ledger.check([customer.id])
    assert ledger.backfill(analytics_rules(), Customer.id == customer.id) == 3
    assert [e[:3] for e in _entries(customer.id)] == [("earn", 100, 100), ("earn", 50, 150), ("opening", 250, 400)]
    assert ledger.check() == []
    assert ledger.backfill(analytics_rules(), Customer.id == customer.id) == 0


# --- the counter's pages ---------------------------------------------------------------------------

@pytest.fixture
def counter(app, world):
    """A's customer with 1,000 points; a towel box (300 points, 4 left after B's redemption) from the world."""
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            customer = db.session.get(Customer, world.customers["a"])
            redemption.adjust(customer, 1000, "开卡礼", db.session.get(User, world.users["owner_a"]))
            db.session.commit()
    return world.customers["a"], world.loyalty["reward"]


@pytest.mark.parametrize("language, done, short", [("zh_Hans", "已兑换", "积分不足"), ("en", "Redeemed", "Not enough points")])
def test_staff_redeem_at_the_counter_and_a_replayed_post_redeems_once(app, login_as, counter, language, done, short):
    customer_id, reward_id = counter
    client = login_as("staff_a")
    client.post_form("/language", {"lang": language, "next": "/"})
    url = f"/loyalty/customers/{customer_id}/redeem"
    form = form_on(client.get(url).text) | {"reward_id": str(reward_id), "quantity": "2"}
    first = client.post(url, data=form, follow_redirects=True)
    assert done in first.text
    again = client.post(url, data=form, follow_redirects=True)  # Back, then Save
    assert again.status_code == 200
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            assert db.session.scalar(select(Customer.points).where(Customer.id == customer_id)) == 400
            assert db.session.scalar(select(Reward.stock).where(Reward.id == reward_id)) == 2
    refused = client.post(url, data=form_on(client.get(url).text) | {"reward_id": str(reward_id), "quantity": "2"})
    assert refused.status_code == 422 and short in refused.text


@pytest.mark.parametrize("quantity", ["1" * 25, "-1", "abc", "0"])
def test_hostile_quantities_get_a_message_not_an_error(login_as, counter, quantity):
    customer_id, reward_id = counter
    client = login_as("staff_a")
    url = f"/loyalty/customers/{customer_id}/redeem"
    response = client.post(url, data=form_on(client.get(url).text) | {"reward_id": str(reward_id), "quantity": quantity})
    assert response.status_code == 422 and "invalid-feedback" in response.text


def test_a_return_is_recorded_from_the_purchase_and_too_much_is_refused(app, world, login_as):
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            customer = db.session.get(Customer, world.customers["a"])
            purchase = _buy(customer, "500", TODAY - timedelta(days=2), db.session.get(User, world.users["manager_a"]))
            db.session.commit()
            purchase_id = purchase.id
    client = login_as("manager_a")
    assert f"/loyalty/purchases/{purchase_id}/return" in client.get(f"/customers/{world.customers['a']}").text
    url = f"/loyalty/purchases/{purchase_id}/return"
    form = form_on(client.get(url).text)
    assert form["amount"] == "500.00"
    too_much = client.post(url, data=form | {"amount": "500.01", "reason": "quality"})
    assert too_much.status_code == 422 and "500.01" in too_much.text  # what was typed stays
    done = client.post(url, data=form_on(client.get(url).text) | {"amount": "125", "reason": "quality"},
                       follow_redirects=True)
    assert "退货已登记：退款 ¥125.00，扣回 125 积分" in done.text


def test_a_store_manager_cancels_a_redemption_but_store_staff_cannot(app, world, login_as, counter):
    customer_id, reward_id = counter
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            done = redemption.redeem(db.session.get(Customer, customer_id), db.session.get(Reward, reward_id), 1, None,
                                     db.session.get(User, world.users["staff_a"]))
            db.session.commit()
            redemption_id = done.id
    staff = login_as("staff_a")
    assert staff.post_form(f"/loyalty/redemptions/{redemption_id}/cancel", {"reason": "x"}).status_code == 403
    manager = login_as("manager_a")
    empty = manager.post_form(f"/loyalty/redemptions/{redemption_id}/cancel", {"reason": ""})
    assert empty.status_code == 422
    page = manager.post_form(f"/loyalty/redemptions/{redemption_id}/cancel", {"reason": "礼品退回"},
                             follow_redirects=True)
    assert "已取消" in page.text
    twice = manager.post_form(f"/loyalty/redemptions/{redemption_id}/cancel", {"reason": "礼品退回"})
    assert twice.status_code == 422
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            assert db.session.scalar(select(Customer.points).where(Customer.id == customer_id)) == 1000
            assert ledger.check() == []


def test_headquarters_restocks_without_overwriting_what_counters_took(app, login_as, counter):
    _customer_id, reward_id = counter
    admin = login_as("admin")
    assert admin.post_form(f"/loyalty/rewards/{reward_id}/stock", {"change": "-5"}).status_code == 422
    assert admin.post_form(f"/loyalty/rewards/{reward_id}/stock", {"change": "7"}).status_code == 302
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            assert db.session.scalar(select(Reward.stock).where(Reward.id == reward_id)) == 11


def test_the_ledger_page_reads_a_fixed_number_of_statements(app, world, login_as, count_queries, counter):
    customer_id, reward_id = counter
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            customer = db.session.get(Customer, customer_id)
            actor = db.session.get(User, world.users["owner_a"])
            for _ in range(3):
                redemption.redeem(customer, db.session.get(Reward, reward_id), 1, None, actor)
            db.session.commit()
    client = login_as("owner_a")
    client.get(f"/loyalty/customers/{customer_id}")
    with count_queries() as few:
        page = client.get(f"/loyalty/customers/{customer_id}")
    assert page.status_code == 200 and page.text.count('data-testid="ledger-row"') == 4
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            for _ in range(20):
                redemption.adjust(db.session.get(Customer, customer_id), 1, "逐笔", db.session.get(User, world.users["owner_a"]))
            db.session.commit()
    with count_queries() as many:
        page = client.get(f"/loyalty/customers/{customer_id}")
    assert len(many) == len(few), (len(few), len(many))


def test_a_return_does_not_take_back_points_that_already_lapsed(shop):
    """Trial 20: a purchase whose points lapsed, returned in full, took them a second time."""
    customer, actor, _gift = shop
    old = _buy(customer, "1307", TODAY - timedelta(days=800), actor=actor)
    _buy(customer, "100", actor=actor)
    lot = db.session.scalar(select(PointsEntry).where(PointsEntry.purchase_id == old.id))
    expiry.expire(lot.expires_on + timedelta(days=1))
    db.session.refresh(customer)
    assert customer.points == 100
    returns.record_return(old, Decimal("1307"), "quality", None, TODAY, actor)
    db.session.refresh(customer)
    assert customer.points == 100 and ledger.check() == []


def test_a_cancelled_redemption_gives_each_lots_points_back_with_that_lots_date(shop):
    """Trials 20 and 21: cancelling gave the points a new two-year life, then all of them the
    earliest lot's date."""
    customer, actor, gift = shop
    first = _buy(customer, "200", TODAY - timedelta(days=700), actor=actor)
    second = _buy(customer, "500", TODAY - timedelta(days=10), actor=actor)
    lapse = {p.id: db.session.scalar(select(PointsEntry.expires_on).where(PointsEntry.purchase_id == p.id))
             for p in (first, second)}
    gift.points, gift.stock = 350, 5
    done = redemption.redeem(customer, gift, 1, None, actor)  # 200 of the old lot, 150 of the new
    redemption.cancel(done, "顾客改选", actor)
    back = {e.expires_on: e.remaining for e in db.session.scalars(select(PointsEntry).where(
        PointsEntry.redemption_id == done.id, PointsEntry.kind == "reversal"))}
    assert back == {lapse[first.id]: 200, lapse[second.id]: 150}
    assert ledger.check() == []


def test_a_store_corrects_points_within_a_limit_and_takes_away_at_most_the_balance(shop, world):
    customer, actor, _gift = shop
    with pytest.raises(PointsError, match="总部|headquarters"):
        redemption.adjust(customer, redemption.STORE_ADJUST_LIMIT + 1, "大额", actor)
    redemption.adjust(customer, 10, "补录", actor)
    with pytest.raises(PointsError, match="最多只能扣减 10|At most 10"):
        redemption.adjust(customer, -11, "扣减", actor)
    redemption.adjust(customer, redemption.STORE_ADJUST_LIMIT + 1, "总部补发", db.session.get(User, world.users["admin"]))


def test_a_reminder_already_done_is_not_done_twice(app, world, login_as):
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            customer = db.session.get(Customer, world.customers["a"])
            lapse = TODAY + timedelta(days=5)
            ledger.post(customer, "adjust", 90, None, reason="测试", expires_on=lapse)
            expiry.notify(analytics_rules(), TODAY)
            db.session.commit()
    client = login_as("manager_a")
    url = f"/customers/{world.customers['a']}/care/points_expiry?ref={lapse:%Y%m%d}&tab=points"
    form = form_on(client.get(url).text)
    assert client.post(url, data=form | {"outcome": "已提醒"}).status_code == 302
    again = client.get(url, follow_redirects=True)
    assert "该提醒已完成" in again.text
