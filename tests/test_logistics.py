"""Deliveries and the logistics partners' KPIs (issue 12; seed 004, the Amazon case; R77):
arrival, on-time, damage and complaint rates against a hand-counted fixture, the stored monthly
counts against a count from scratch, bad input, two people saving one delivery, the complaint
about a delivery, thresholds for the delivery KPIs, and what a franchisee sees."""
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Complaint, Customer, Franchisee, Region, Store, User
from app.models.base import local_today
from app.models.logistics import DeliveryMonthStats, LogisticsPartner, Shipment
from app.security.tenancy import unscoped
from app.services import RuleError, kpis, logistics
from tests.factories import make_complaint, make_customer, make_purchase, make_store
from tests.pages import form_on

TODAY = local_today()
PERIOD = kpis.period_of(TODAY)
# The first of last month: the hand-counted deliveries all lie in the past, whatever today is.
MONTH = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)


def _local_now(minutes_ago: int = 0) -> str:
    """The time in Shanghai as a form's datetime field takes it."""
    return (datetime.utcnow() + timedelta(hours=8, minutes=-minutes_ago)).strftime("%Y-%m-%dT%H:%M")


def _utc(day: date, hour: int = 10) -> datetime:
    """``hour`` o'clock in Shanghai on ``day``, as stored (UTC)."""
    return datetime(day.year, day.month, day.day, hour) - timedelta(hours=8)


@pytest.fixture
def a_delivery(app, world):
    """A customer of A's first store who bought yesterday; the delivery left an hour ago, promised
    for today (the carrier of the world). Returns (shipment id, customer id)."""
    with app.app_context(), unscoped():
        store = db.session.get(Store, world.a_stores[0])
        customer = make_customer(store, "送货顾客", mobile="13800000077", consent=True)
        purchase = make_purchase(customer, TODAY - timedelta(days=1), "120.00", items="甲方商品")
        shipment = logistics.record_shipment(purchase, {
            "partner_id": world.logistics["partner"], "dispatched_at": datetime.utcnow().replace(microsecond=0)
            - timedelta(hours=1), "promised_on": TODAY}, db.session.get(User, world.users["owner_a"]))
        db.session.commit()
        return shipment.id, customer.id


@pytest.fixture
def counted(app, world):
    """A new carrier and ten deliveries of A's new store, all dispatched this month (hand count):
    6 arrived on time (1 damaged), 2 arrived late (1 damaged), 1 was refused, 1 is on its way;
    2 deliveries were complained about (one twice), another got a suggestion (not a complaint).
    All last month.
    -> arrival 8/9 = 88.89 %, on time 6/8 = 75.00 %, damage 2/8 = 25.00 %, complaints 2/10 = 20.00 %."""
    with app.app_context(), unscoped():
        a = db.session.get(Franchisee, world.a)
        store = make_store("A08", "甲八店", a, db.session.get(Region, world.east))
        partner = LogisticsPartner(code="DB", name="德邦快递")
        db.session.add(partner)
        db.session.flush()
        owner = db.session.get(User, world.users["owner_a"])
        left = _utc(MONTH, 9)
        shipments = []
        for i in range(10):
            customer = make_customer(store, f"收货{i}", mobile=f"1350000{i:04d}")
            purchase = make_purchase(customer, MONTH, "500.00", items="沙发")
            shipments.append(logistics.record_shipment(
                purchase, {"partner_id": partner.id, "dispatched_at": left, "promised_on": MONTH + timedelta(days=3)},
                owner))
        promised = MONTH + timedelta(days=3)
        for n, s in enumerate(shipments):
            data = {"partner_id": partner.id, "dispatched_at": left, "promised_on": promised, "state": "delivered"}
            if n < 6:
                data["delivered_at"] = min(_utc(promised, 15), left + timedelta(hours=30))
                data["damaged"] = n == 0
            elif n < 8:
                data["delivered_at"] = left + timedelta(days=5)
                data["damaged"] = n == 6
            elif n == 8:
                data.update(state="failed", failure_reason="refused")
            else:
                data["state"] = "in_transit"
            logistics.update_shipment(s, data, owner)
        for s, kind in ((shipments[0], "complaint"), (shipments[0], "complaint"), (shipments[6], "complaint"),
                        (shipments[1], "suggestion")):
            complaint = make_complaint(store, "送货问题", kind=kind)
            logistics.link_complaint(complaint, s)
        db.session.commit()
        return partner.id, store.id, [s.id for s in shipments]


def test_the_delivery_kpis_match_the_hand_count(app, world, counted):
    partner_id, store_id, _ids = counted
    with app.app_context(), unscoped():
        counts = logistics.by_partner(kpis.period_of(MONTH))[partner_id]
        assert counts == {"shipments": 10, "delivered": 8, "failed": 1, "on_time": 6, "damaged": 2, "complaints": 2}
        assert logistics.rates(counts) == {
            "delivery_arrival": Decimal("88.89"), "delivery_on_time": Decimal("75.00"),
            "delivery_damage": Decimal("25.00"), "delivery_complaints": Decimal("20.00")}
        # Nothing measured is no figure, not 0 %.
        assert set(logistics.rates({}).values()) == {None}


def test_the_stored_counts_equal_a_count_from_scratch_after_every_change(app, world, counted):
    partner_id, store_id, ids = counted
    with app.app_context(), unscoped():
        owner = db.session.get(User, world.users["owner_a"])
        other = LogisticsPartner(code="SF2", name="顺丰二")
        db.session.add(other)
        db.session.flush()
        s = db.session.get(Shipment, ids[3])
        # Moved to another carrier and to this month (its dispatch date corrected): two buckets change.
        later = TODAY.replace(day=1)
        logistics.update_shipment(s, {"partner_id": other.id, "dispatched_at": _utc(later, 0), "promised_on": later
                                      + timedelta(days=2), "state": "failed", "failure_reason": "lost"}, owner)
        db.session.flush()
        stored = {(r.partner_id, r.store_id, r.franchisee_id, r.month): {c: getattr(r, c) for c in logistics.COUNTS}
                  for r in db.session.scalars(select(DeliveryMonthStats))}
        assert stored == logistics.from_scratch()
        assert stored[(other.id, store_id, world.a, later.year * 100 + later.month)]["failed"] == 1
        assert stored[(partner_id, store_id, world.a, MONTH.year * 100 + MONTH.month)]["shipments"] == 9
        logistics.rebuild()
        again = {(r.partner_id, r.store_id, r.franchisee_id, r.month): {c: getattr(r, c) for c in logistics.COUNTS}
                 for r in db.session.scalars(select(DeliveryMonthStats))}
        assert again == stored


@pytest.mark.parametrize("change, message", [
    ({"delivered_at": "2020-01-01T10:00"}, "The delivery cannot arrive before it left."),
    ({"delivered_at": "1900-01-01T10:00"}, "Enter a time between 2000 and today."),
    ({"delivered_at": ""}, "Enter when the delivery arrived."),
    ({"state": "failed", "failure_reason": ""}, "Say why it was not delivered."),
    ({"promised_on": "2062-01-01"}, "more than 180 days after the dispatch"),
    ({"promised_on": "1999-12-31"}, "The promised day cannot be before the dispatch."),
    ({"dispatched_at": "9999-12-31T10:00"}, "Enter a time between 2000 and today."),
    ({"dispatched_at": "12345678901234567890123-01-01T10:00"}, "Not a valid datetime value."),
    ({"tracking_no": "9" * 41}, "At most 40 characters."),
    ({"partner_id": "99999999999999999999999"}, "Not a valid choice"),
])
def test_bad_input_on_a_delivery_is_explained_and_nothing_changes(app, world, a_delivery, login_as, change, message):
    client = login_as("owner_a")
    url = f"/logistics/deliveries/{a_delivery[0]}"
    client.post_form("/language", {"lang": "en", "next": "/"})
    data = {**form_on(client.get(url).text), "state": "delivered", "delivered_at": _local_now(), **change}
    response = client.post_form(url, data)
    assert response.status_code == 422 and message in response.text, response.text[:2000]
    with app.app_context(), unscoped():
        assert db.session.get(Shipment, a_delivery[0]).state == "in_transit"


def test_a_delivery_cannot_arrive_before_it_left_or_leave_twice(app, world, a_delivery):
    from app.i18n import force_locale

    with app.app_context(), unscoped(), force_locale("en"):
        s = db.session.get(Shipment, a_delivery[0])
        owner = db.session.get(User, world.users["owner_a"])
        base = {"partner_id": s.partner_id, "dispatched_at": s.dispatched_at, "promised_on": s.promised_on}
        with pytest.raises(RuleError, match="before it left"):
            logistics.update_shipment(s, {**base, "state": "delivered", "delivered_at": s.dispatched_at
                                          - timedelta(hours=1)}, owner)
        with pytest.raises(RuleError, match="already has a delivery"):
            logistics.record_shipment(s.purchase, base, owner)
        purchase = make_purchase(db.session.get(Customer, world.customers["a"]), TODAY - timedelta(days=1), "10.00")
        with pytest.raises(RuleError, match="before the purchase"):
            logistics.record_shipment(purchase, {**base, "dispatched_at": _utc(TODAY - timedelta(days=3))}, owner)
        s.partner.active = False
        with pytest.raises(RuleError, match="partners in use"):
            logistics.record_shipment(purchase, base, owner)


def test_a_store_records_a_purchase_delivery_and_its_arrival(app, world, login_as):
    client = login_as("manager_a")
    customer = world.customers["a"]
    page = client.get(f"/customers/{customer}/purchases/new")
    data = {**form_on(page.text), "purchased_on": (TODAY - timedelta(days=1)).isoformat(), "amount": "2999",
            "items": "三人沙发",
            "product_type": "furniture", "deliver": "y"}
    response = client.post_form(f"/customers/{customer}/purchases/new", data)
    assert response.status_code == 302 and "/logistics/deliveries/new?purchase=" in response.headers["Location"]
    form_page = client.get(response.headers["Location"])
    assert "三人沙发" in form_page.text
    with app.app_context(), unscoped():
        partner_id = world.logistics["partner"]
    new = {**form_on(form_page.text), "partner_id": str(partner_id), "tracking_no": "SF123",
           "dispatched_at": _local_now(10), "promised_on": (TODAY + timedelta(days=2)).isoformat()}
    created = client.post_form(response.headers["Location"], new)
    assert created.status_code == 302
    again = client.post_form(response.headers["Location"], new)  # Back then Save: the same delivery
    assert again.headers["Location"] == created.headers["Location"]
    shipment_url = created.headers["Location"]
    outcome = {**form_on(client.get(shipment_url).text), "state": "delivered",
               "delivered_at": _local_now(), "damaged": "y", "damage_note": "扶手划痕"}
    assert client.post_form(shipment_url, outcome).status_code == 302
    with app.app_context(), unscoped():
        s = db.session.scalar(select(Shipment).where(Shipment.tracking_no == "SF123"))
        assert (s.state, s.damaged, s.on_time, s.damage_note) == ("delivered", True, True, "扶手划痕")
        assert db.session.scalar(select(DeliveryMonthStats.damaged).where(
            DeliveryMonthStats.store_id == s.store_id, DeliveryMonthStats.partner_id == s.partner_id)) == 1
    timeline = client.get(f"/customers/{customer}").text
    assert 'data-testid="timeline-delivery"' in timeline


def test_two_people_saving_one_delivery_do_not_overwrite_each_other(app, world, a_delivery, login_as):
    url = f"/logistics/deliveries/{a_delivery[0]}"
    first, second = login_as("owner_a"), login_as("manager_a")
    first_form, second_form = form_on(first.get(url).text), form_on(second.get(url).text)
    arrived = {"state": "delivered", "delivered_at": _local_now()}
    assert first.post_form(url, {**first_form, **arrived}).status_code == 302
    # The second only adds a note: merged with the arrival, nothing lost.
    assert second.post_form(url, {**second_form, "note": "客户要求放门卫"}).status_code == 302
    with app.app_context(), unscoped():
        s = db.session.get(Shipment, a_delivery[0])
        assert (s.state, s.note) == ("delivered", "客户要求放门卫")
    # A third, opened before both, says it was not delivered: a clash, nothing saved.
    third_form = {**second_form, "state": "failed", "failure_reason": "refused"}
    clash = second.post_form(url, third_form)  # Back to the page opened first, then Save
    assert clash.status_code == 422
    with app.app_context(), unscoped():
        assert db.session.get(Shipment, a_delivery[0]).state == "delivered"


def test_a_complaint_about_a_delivery_counts_for_its_partner(app, world, a_delivery, login_as):
    client = login_as("owner_a")
    shipment = a_delivery[0]
    page = client.get(f"/complaints/new?shipment={shipment}")
    assert 'data-testid="about-delivery"' in page.text
    with app.app_context(), unscoped():
        from app.services.complaints import settings

        phone = settings.channel_by_code("phone").id
    data = {**form_on(page.text), "channel_id": str(phone), "description": "送货时把门框撞坏了",
            "contact_phone": "13800000077"}
    response = client.post_form(f"/complaints/new?shipment={shipment}", data)
    assert response.status_code == 302, response.text[:3000]
    with app.app_context(), unscoped():
        complaint = db.session.scalar(select(Complaint).where(Complaint.shipment_id == shipment))
        assert complaint is not None and complaint.customer_id == a_delivery[1]
        reference = complaint.reference
        assert logistics.by_partner(PERIOD)[world.logistics["partner"]]["complaints"] == 2  # and B's
    page = client.get(f"/logistics/deliveries/{shipment}").text
    assert reference in page and "送货时把门框撞坏了" not in page  # the complaint's reference and title only


def test_another_franchisees_delivery_fills_in_nothing_and_is_not_linked(app, world, login_as):
    client = login_as("owner_a")
    b_shipment = world.logistics["b_shipment"]
    page = client.get(f"/complaints/new?shipment={b_shipment}")
    assert page.status_code == 200 and 'data-testid="about-delivery"' not in page.text
    for marker in world.b_markers:
        assert marker not in page.text
    with app.app_context(), unscoped():
        b_purchase = db.session.get(Shipment, b_shipment).purchase_id
    assert client.get(f"/logistics/deliveries/new?purchase={b_purchase}").status_code == 404
    assert client.post_form(f"/logistics/deliveries/new?purchase={b_purchase}", {}).status_code == 404


def test_a_franchisee_sees_its_own_deliveries_figures_and_headquarters_the_networks(app, world, a_delivery, login_as):
    partner = world.logistics["partner"]
    owner = login_as("owner_a").get(f"/logistics/partners/{partner}").text
    admin = login_as("admin").get(f"/logistics/partners/{partner}").text
    # A's one delivery (on its way) and B's damaged one: the owner's page counts only A's.
    assert 'data-testid="partner-current"' in owner and "乙方秘密" not in owner
    with app.app_context(), unscoped():
        assert logistics.by_partner(PERIOD)[partner]["shipments"] == 2
    assert 'data-testid="partner-breakdown"' in admin and "乙方秘密加盟商" in admin


def test_delivery_kpis_take_thresholds_the_committee_approves(app, world, login_as):
    from app.i18n import force_locale

    with app.app_context(), unscoped(), force_locale("en"):
        assert kpis.threshold_problem("delivery_damage", Decimal(1), Decimal(3), None) is None
        assert "lower is better" in kpis.threshold_problem("delivery_damage", Decimal(3), Decimal(1), None)
        assert "higher is better" in kpis.threshold_problem("delivery_on_time", Decimal(85), Decimal(95), None)
    auditor = login_as("auditor")
    auditor.post_form("/language", {"lang": "en", "next": "/"})
    page = auditor.get("/kpis/thresholds")
    assert "On-time delivery rate" in page.text
    response = auditor.post_form("/kpis/thresholds", {**form_on(page.text), "kpi": "delivery_on_time", "green": "95",
                                                      "red": "85"})
    assert response.status_code == 302
    with app.app_context(), unscoped():
        from app.models.kpi import KpiThreshold

        draft = db.session.scalar(select(KpiThreshold).where(KpiThreshold.kpi == "delivery_on_time"))
        assert draft.status == "draft"
        kpis.approve_threshold(draft, db.session.get(User, world.users["viewer"]))
        db.session.commit()
        # A partner KPI makes no store warning.
        assert all(w.kpi in kpis.KPIS for w in kpis.evaluate(PERIOD))


def test_the_partner_pages_read_stored_rows_in_a_fixed_number_of_statements(app, world, a_delivery, login_as,
                                                                            count_queries):
    client = login_as("owner_a")
    partner = world.logistics["partner"]

    def statements():
        with count_queries() as seen:
            for url in ("/logistics/", f"/logistics/partners/{partner}", "/logistics/deliveries?tab=all"):
                assert client.get(url).status_code == 200
        return len(seen)

    statements()  # the first visit also loads what is cached per worker (the settings, the scope)
    before = statements()
    with app.app_context(), unscoped():
        owner = db.session.get(User, world.users["owner_a"])
        store = db.session.get(Store, world.a_stores[1])
        for i in range(6):
            purchase = make_purchase(make_customer(store, f"多送{i}", mobile=f"1366666{i:04d}"),
                                     TODAY - timedelta(days=1), "10.00")
            logistics.record_shipment(purchase, {"partner_id": partner, "dispatched_at": datetime.utcnow()
                                                 - timedelta(hours=1), "promised_on": TODAY}, owner)
        db.session.commit()
    assert statements() == before


def test_a_second_delivery_for_a_purchase_opens_the_first(app, world, login_as, a_delivery):
    client = login_as("manager_a")
    with app.app_context(), unscoped():
        purchase = db.session.get(Shipment, a_delivery[0]).purchase_id
    url = f"/logistics/deliveries/new?purchase={purchase}"
    assert client.get(url).headers["Location"].endswith(f"/logistics/deliveries/{a_delivery[0]}")
    response = client.post_form(url, {"partner_id": str(world.logistics["partner"])})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/deliveries/{a_delivery[0]}")
    with app.app_context(), unscoped():
        assert db.session.scalar(select(func.count(Shipment.id)).where(Shipment.purchase_id == purchase)) == 1


def test_a_second_complaint_about_a_delivery_is_pointed_at_the_first(app, world, login_as):
    b_shipment = world.logistics["b_shipment"]
    page = login_as("owner_b").get(f"/complaints/new?shipment={b_shipment}").text
    assert 'data-testid="earlier-complaints"' in page and "乙方秘密投诉" in page


@pytest.mark.parametrize("phone, ok", [("95338", True), ("+86 21 6400 1234", True), ("12", False),
                                       ("1234567890123456789012345", False)])
def test_a_partners_phone_has_a_sensible_number_of_digits(app, world, login_as, phone, ok):
    client = login_as("admin")
    page = client.get("/logistics/partners/new")
    response = client.post_form("/logistics/partners/new", {**form_on(page.text), "code": "NEW", "name": "新伙伴",
                                                             "contact_phone": phone, "active": "y"})
    assert response.status_code == (302 if ok else 422)
