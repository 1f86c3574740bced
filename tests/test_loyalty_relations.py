"""Lost customers and lost orders (R69), relationship reviews (R70) and value segments (seed 003):
marked lost only with a churn warning, won back by the next purchase, analysed per store and
reason; important customers get a review date and owners; segments by value, loyalty and
satisfaction; the pages for each role."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Customer, CustomerRelationship, LostReason, Store, User
from app.models.base import local_today
from app.services import customers, kpis
from app.services.loyalty import relations, segments
from app.services.loyalty.relations import RelationError
from tests.factories import make_customer, make_purchase
from tests.pages import FormReader, form_on

TODAY = local_today()


@pytest.fixture
def shop(ctx, world):
    relations.install_reasons()
    store = db.session.get(Store, world.a_stores[0])
    actor = db.session.get(User, world.users["manager_a"])
    reasons = {r.code: r for r in db.session.scalars(select(LostReason))}
    return store, actor, reasons


def _buy(customer, amount, actor, day=None):
    return customers.record_purchase(customer, {"purchased_on": day or TODAY, "amount": Decimal(amount),
                                                "items": "灯具", "product_type": "lighting", "channel": "in_store"}, actor)


def test_a_churned_customer_is_marked_lost_once_and_a_purchase_wins_them_back(shop):
    store, actor, reasons = shop
    gone = make_customer(store, "久未到店", consent=True)
    make_purchase(gone, TODAY - timedelta(days=400), "2000.00")
    fresh = make_customer(store, "常来顾客", consent=True)
    make_purchase(fresh, TODAY - timedelta(days=5), "300.00")
    db.session.refresh(gone), db.session.refresh(fresh)
    assert gone.churn_flags and not fresh.churn_flags
    with pytest.raises(RelationError, match="流失预警|churn warning"):
        relations.mark_lost(fresh, reasons["PRICE"], TODAY, None, actor)
    with pytest.raises(RelationError):  # before their last purchase
        relations.mark_lost(gone, reasons["PRICE"], TODAY - timedelta(days=401), None, actor)
    loss = relations.mark_lost(gone, reasons["PRICE"], TODAY - timedelta(days=10), "去了别家", actor)
    with pytest.raises(RelationError, match="已标记|already"):
        relations.mark_lost(gone, reasons["SERVICE"], TODAY, None, actor)
    _buy(gone, "800", actor)
    db.session.refresh(loss)
    assert loss.won_back_on == TODAY and relations.open_loss(gone.id) is None


def test_the_analysis_counts_losses_wins_back_and_lost_orders_by_store_and_reason(shop, world):
    store, actor, reasons = shop
    first, last = kpis.bounds(kpis.period_of(TODAY))
    before = relations.analysis(first, last, "reason")  # the world's: B's customer, lost for price
    price = before.get(reasons["PRICE"].id, {"lost": 0, "orders": 0})
    for name, code, back in (("甲", "PRICE", False), ("乙", "PRICE", True), ("丙", "MOVED", False)):
        customer = make_customer(store, f"流失{name}", consent=True)
        make_purchase(customer, TODAY - timedelta(days=400), "500.00")
        db.session.refresh(customer)
        relations.mark_lost(customer, reasons[code], max(first, TODAY - timedelta(days=1)), None, actor)
        if back:
            _buy(customer, "100", actor)
    relations.record_lost_order(store, {"lost_on": TODAY, "amount": Decimal("3000"), "items": "沙发",
                                        "reason_id": reasons["PRICE"].id, "competitor": "某家居", "customer_id": None,
                                        "note": None}, actor)
    by_store = relations.analysis(first, last, "store")[store.id]
    assert by_store == {"lost": 3, "won_back": 1, "orders": 1, "amount": Decimal("3000.00")}
    by_reason = relations.analysis(first, last, "reason")
    assert by_reason[reasons["PRICE"].id]["lost"] == price["lost"] + 2
    assert by_reason[reasons["PRICE"].id]["orders"] == price["orders"] + 1
    assert by_reason[reasons["MOVED"].id]["lost"] == 1


def test_important_customers_get_a_review_date_and_a_review_moves_it(shop):
    store, actor, _reasons = shop
    vip = make_customer(store, "大客户", consent=True, category="vip")
    business = make_customer(store, "经销商", customer_type="intermediary")
    plain = make_customer(store, "普通顾客")
    assert relations.add_important(TODAY, Customer.store_id == store.id) >= 2
    assert relations.add_important(TODAY, Customer.store_id == store.id) == 0
    due = set(db.session.scalars(relations.due_reviews(TODAY).with_only_columns(CustomerRelationship.customer_id)))
    assert {vip.id, business.id} <= due and plain.id not in due
    with pytest.raises(RelationError):
        relations.record_review(vip, {"reviewed_on": TODAY, "status": "stable", "quality": 4, "findings": "良好",
                                      "actions": None, "next_review_on": TODAY}, actor)
    relations.record_review(vip, {"reviewed_on": TODAY, "status": "weakening", "quality": 3, "findings": "到店减少",
                                  "actions": "店长回访", "next_review_on": TODAY + timedelta(days=90)}, actor)
    relation = relations.relationship_of(vip)
    assert (relation.last_review_on, relation.next_review_on, relation.status) == (
        TODAY, TODAY + timedelta(days=90), "weakening")
    due = set(db.session.scalars(relations.due_reviews(TODAY).with_only_columns(CustomerRelationship.customer_id)))
    assert vip.id not in due
    # Trial 20: a review entered late joins the history but does not move the schedule back.
    relations.record_review(vip, {"reviewed_on": TODAY - timedelta(days=400), "status": "stable", "quality": 5,
                                  "findings": "补录", "actions": None, "next_review_on": TODAY - timedelta(days=300)},
                            actor)
    assert relations.relationship_of(vip).next_review_on == TODAY + timedelta(days=90)
    with pytest.raises(RelationError):
        relations.record_review(vip, {"reviewed_on": TODAY, "status": "stable", "quality": 4, "findings": "x",
                                      "actions": None, "next_review_on": TODAY + timedelta(days=4000)}, actor)


def test_segments_place_customers_by_value_loyalty_and_satisfaction(shop):
    store, actor, _reasons = shop
    loyal_vip = make_customer(store, "高价值忠诚", consent=True)
    for days in (300, 200, 100, 10):
        make_purchase(loyal_vip, TODAY - timedelta(days=days), "9000.00")
    drifting = make_customer(store, "低价值流失", consent=True)
    make_purchase(drifting, TODAY - timedelta(days=500), "200.00")
    new = make_customer(store, "新客户", consent=True)
    for c in (loyal_vip, drifting, new):
        db.session.refresh(c)
    assert loyal_vip.grade in ("A", "B") and loyal_vip.churn_flags == 0
    assert segments.of_customer(loyal_vip) == "care"
    assert segments.of_customer(drifting) == "win_back"
    assert segments.of_customer(new) == "develop"
    loyal_vip.open_complaints = 1  # an open complaint and no survey answer: not satisfied
    db.session.flush()
    assert segments.of_customer(loyal_vip) == "retain"
    cells = segments.matrix(store.id)
    assert segments.totals(cells)["win_back"] >= 1 and sum(segments.totals(cells).values()) >= 3


def test_the_pages_for_each_role(app, world, login_as):
    manager = login_as("manager_a")
    customer_id = world.customers["a"]
    page = manager.get(f"/loyalty/customers/{customer_id}/relationship")
    assert page.status_code == 200 and 'data-testid="review-form"' in page.text
    reader = FormReader()
    reader.feed(page.text)
    form = next(f for f in reader.forms if "findings" in f)
    bad = manager.post(f"/loyalty/customers/{customer_id}/relationship/review", data=form | {
        "status": "stable", "quality": "9", "findings": "x", "next_review_on": (TODAY + timedelta(days=30)).isoformat()})
    assert bad.status_code == 422 and "1 至 5" in bad.text
    good = manager.post(f"/loyalty/customers/{customer_id}/relationship/review", data=form | {
        "status": "stable", "quality": "4", "findings": "关系稳定", "next_review_on": (TODAY + timedelta(days=30)).isoformat()},
        follow_redirects=True)
    assert "关系评估已登记" in good.text and "关系稳定" in good.text
    assert login_as("staff_a").post_form(f"/loyalty/customers/{customer_id}/relationship/review", {}).status_code == 403
    for url in ("/loyalty/lost", "/loyalty/lost?by=reason", "/loyalty/lost/orders", "/loyalty/reviews",
                "/loyalty/segments", "/loyalty/lost/reasons", "/loyalty/lost/orders/new"):
        assert manager.get(url).status_code == 200, url
    form = form_on(manager.get("/loyalty/lost/orders/new").text)
    huge = manager.post("/loyalty/lost/orders/new", data=form | {"amount": "1" * 25, "items": "沙发", "reason_id": "0"})
    assert huge.status_code == 422 and "0.01" in huge.text and "请选择原因" in huge.text
    choices = huge.text[huge.text.index('id="reason_id"'):]
    reason = next(v for v in re.findall(r'<option value="(\d+)"', choices[:choices.index("</select>")]) if v != "0")
    # Another franchisee's customer code: "no customer of this store", nothing about theirs.
    other = manager.post("/loyalty/lost/orders/new", data=form_on(manager.get("/loyalty/lost/orders/new").text) | {
        "amount": "1200", "items": "沙发", "reason_id": reason, "customer_code": "B01-乙方秘密顾客"})
    assert other.status_code == 422 and "本门店没有该编号的客户" in other.text
    english = login_as("owner_a")
    english.post_form("/language", {"lang": "en", "next": "/"})
    assert "Value segments" in english.get("/loyalty/segments").text
