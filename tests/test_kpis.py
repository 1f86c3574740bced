"""KPIs per store and half-year against hand-counted fixtures (R47, R53), thresholds approved by
the committee (R4, R48), abnormal change (R49), and warnings the franchise owner acknowledges
and answers."""
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Franchisee, Region, Store, User
from app.models.kpi import KpiThreshold, KpiWarning, StoreKpi
from app.security.tenancy import unscoped
from app.services import RuleError, kpis
from tests.factories import make_complaint, make_customer, make_purchase, make_store
from tests.pages import form_on

TODAY = date(2026, 11, 24)


def test_half_years_are_numbered_and_follow_each_other():
    assert kpis.period_of(date(2026, 6, 30)) == 20261 and kpis.period_of(date(2026, 7, 1)) == 20262
    assert kpis.previous(20261) == 20252 and kpis.previous(20262) == 20261
    assert kpis.bounds(20252) == (date(2025, 7, 1), date(2025, 12, 31))
    assert kpis.label(20262) == "2026H2"


@pytest.fixture
def counted(app, world):
    """A new store of A with three customers:
    2025H2: c1 buys once, c2 buys once.        -> buyers 2
    2026H1: c1 buys twice, c3 buys once;       -> buyers 2, repeat 1 (c1), purchases 3
            one complaint received.            -> of 2025H2's buyers, c1 came back: retained 1, lost 1
    """
    with app.app_context(), unscoped():
        a = db.session.get(Franchisee, world.a)
        store = make_store("A09", "甲九店", a, db.session.get(Region, world.east), opened_on=date(2024, 1, 1))
        c1, c2, c3 = (make_customer(store, name, mobile=f"1360000000{i}") for i, name in enumerate(("一号", "二号", "三号")))
        make_purchase(c1, date(2025, 8, 1), "100.00")
        make_purchase(c2, date(2025, 9, 1), "100.00")
        make_purchase(c1, date(2026, 2, 1), "100.00")
        make_purchase(c1, date(2026, 5, 1), "100.00")
        make_purchase(c3, date(2026, 3, 1), "100.00")
        make_complaint(store, "门店服务慢", received_at=datetime(2026, 3, 5, 2, 0))
        db.session.commit()
        return store.id


def test_store_figures_match_the_hand_count(app, world, counted):
    with app.app_context(), unscoped():
        kpis.refresh(20261, today=TODAY)
        row = db.session.scalar(select(StoreKpi).where(StoreKpi.store_id == counted, StoreKpi.period == 20261))
        assert (row.purchases, row.buyers, row.repeat_buyers) == (3, 2, 1)
        assert row.repeat_rate == Decimal("50.00")
        assert (row.previous_buyers, row.retained, row.lost) == (2, 1, 1)
        assert row.retention == Decimal("50.00")
        assert row.complaints == 1 and row.complaint_rate == Decimal("333.33")  # 1 in 3 purchases, per 1,000
        assert row.franchisee_id == world.a
        # No survey response, no audit, and a past half-year for today's snapshots: no figure, not 0.
        assert row.csi is None and row.mystery is None
        assert row.loyalty is None and row.clv is None and row.training is None
        previous = kpis.compute(20252, TODAY)[counted]
        assert previous["buyers"] == 2 and previous.get("repeat_buyers") == 0


def test_the_current_half_year_records_todays_snapshots(app, world, counted):
    with app.app_context(), unscoped():
        kpis.refresh(20261, today=date(2026, 6, 30))
        row = db.session.scalar(select(StoreKpi).where(StoreKpi.store_id == counted, StoreKpi.period == 20261))
        assert row.clv is not None and row.clv > 0  # customers who bought have a lifetime value
        kept = row.clv
        kpis.refresh(20261, today=TODAY)  # recomputed after the half-year: the snapshot stays
        assert row.clv == kept


def test_the_satisfaction_index_comes_from_the_half_years_survey(app, world):
    with app.app_context(), unscoped():
        rows = {k.store_id: k for k in db.session.scalars(select(StoreKpi).where(StoreKpi.period == 20261))}
        # The world's responses: A's first store all 4 (80), B's first store all 1 (20).
        assert rows[world.a_stores[0]].csi == Decimal("80.00") and rows[world.a_stores[0]].responses == 1
        assert rows[world.b_stores[0]].csi == Decimal("20.00")
        assert rows[world.a_stores[1]].csi is None


def test_a_store_transferred_later_keeps_its_owner_of_the_period(app, world, counted):
    from app.services.org import transfer_store

    with app.app_context(), unscoped():
        transfer_store(db.session.get(Store, counted), db.session.get(Franchisee, world.b), date(2026, 9, 1), None,
                       db.session.get(User, world.users["admin"]))
        db.session.flush()
        kpis.refresh(20261, today=TODAY)
        kpis.refresh(20262, today=TODAY)
        owners = dict(db.session.execute(select(StoreKpi.period, StoreKpi.franchisee_id).where(
            StoreKpi.store_id == counted)).all())
        assert owners == {20261: world.a, 20262: world.b}


def test_a_breach_opens_one_warning_and_an_abnormal_change_another(app, world):
    with app.app_context(), unscoped():
        made = {(w.store_id, w.kind) for w in db.session.scalars(select(KpiWarning).where(KpiWarning.period == 20261))}
        # csi red below 75: B's store (20) warns, A's (80) does not.
        assert (world.b_stores[0], "level") in made and (world.a_stores[0], "level") not in made
        assert kpis.evaluate(20261) == []  # evaluated again: nothing twice
        # 2026H2: A's first store falls from 80 to 74 (7.5 % worse, above the 5 % rule) -> change and level.
        db.session.add(StoreKpi(store_id=world.a_stores[0], franchisee_id=world.a, period=20262, csi=Decimal("74")))
        db.session.flush()
        new = {(w.store_id, w.kind, w.previous) for w in kpis.evaluate(20262)}
        assert new == {(world.a_stores[0], "level", None), (world.a_stores[0], "change", Decimal("80.00"))}


def test_thresholds_where_red_is_better_than_green_are_refused(app, world, login_as):
    assert kpis.threshold_problem("csi", Decimal(75), Decimal(85), None)  # higher is better: red above green
    assert kpis.threshold_problem("complaint_rate", Decimal(30), Decimal(20), None)  # lower is better
    assert kpis.threshold_problem("csi", Decimal(85), Decimal(75), Decimal(0))
    assert kpis.threshold_problem("csi", Decimal(85), Decimal(75), Decimal(5)) is None
    auditor = login_as("auditor")
    values = form_on(auditor.get("/kpis/thresholds").text)
    values.update(kpi="retention", green="60", red="80", change_percent="")
    refused = auditor.post("/kpis/thresholds", data=values)
    assert refused.status_code == 422
    with app.app_context(), unscoped():
        assert db.session.scalar(select(KpiThreshold).where(KpiThreshold.kpi == "retention")) is None
    values.update(green="80", red="70", change_percent="10")
    assert auditor.post("/kpis/thresholds", data=values).status_code == 302
    with app.app_context(), unscoped():
        draft = db.session.scalar(select(KpiThreshold).where(KpiThreshold.kpi == "retention"))
        assert draft.status == "draft"
        draft_id = draft.id
    # Not in force until the committee approves it; the CX department cannot approve its own limits.
    with app.app_context(), unscoped():
        assert "retention" not in kpis.approved_thresholds()
    assert auditor.post_form(f"/kpis/thresholds/{draft_id}/approve").status_code == 403
    assert login_as("viewer").post_form(f"/kpis/thresholds/{draft_id}/approve").status_code == 302
    with app.app_context(), unscoped():
        assert kpis.approved_thresholds()["retention"].approved_by_id == world.users["viewer"]
        with pytest.raises(RuleError):
            kpis.approve_threshold(db.session.get(KpiThreshold, draft_id), db.session.get(User, world.users["viewer"]))


def test_the_owner_acknowledges_and_answers_and_headquarters_closes(app, world, login_as):
    with app.app_context(), unscoped():
        db.session.add(StoreKpi(store_id=world.a_stores[0], franchisee_id=world.a, period=20262, csi=Decimal("70")))
        db.session.flush()
        warning = next(w for w in kpis.evaluate(20262) if w.kind == "level")
        db.session.commit()
        warning_id = warning.id
    owner = login_as("owner_a")
    assert f"/kpis/warnings/{warning_id}" in owner.get("/kpis/warnings").text
    assert owner.post_form(f"/kpis/warnings/{warning_id}", {"step": "acknowledge"}).status_code == 302
    refused = owner.post_form(f"/kpis/warnings/{warning_id}", {"step": "answer", "action": "", "action_due_on": ""})
    assert refused.status_code == 422
    done = owner.post_form(f"/kpis/warnings/{warning_id}", {"step": "answer", "action": "每周复盘低分问卷",
                                                             "action_due_on": "2026-12-31"})
    assert done.status_code == 302
    assert owner.post_form(f"/kpis/warnings/{warning_id}", {"step": "close"}).status_code == 403
    assert login_as("owner_b").get(f"/kpis/warnings/{warning_id}").status_code == 404
    assert login_as("auditor").post_form(f"/kpis/warnings/{warning_id}", {"step": "close"}).status_code == 302
    with app.app_context(), unscoped():
        closed = db.session.get(KpiWarning, warning_id)
        assert closed.state == "closed" and closed.action == "每周复盘低分问卷"
        assert closed.acknowledged_by_id == world.users["owner_a"] and closed.action_due_on == date(2026, 12, 31)


def test_the_kpi_page_shows_the_readers_stores_and_says_what_has_no_figure(app, world, login_as):
    page = login_as("owner_a").get("/kpis/?period=20261")
    assert page.status_code == 200
    assert "甲一店" in page.text and "乙一秘店" not in page.text
    assert 'data-kpi="csi" data-colour="green"' not in page.text  # 80 is amber (green at 85)
    assert 'data-colour="amber"' in page.text
    network = login_as("auditor").get("/kpis/?period=20261")
    assert 'data-colour="red"' in network.text  # B's store at 20
    for garbage in ("abc", "99999", "20263", "1" * 30):
        assert login_as("auditor").get(f"/kpis/?period={garbage}").status_code == 200


def test_the_kpi_page_reads_stored_figures_in_a_fixed_number_of_statements(app, world, login_as, count_queries):
    client = login_as("auditor")
    client.get("/kpis/?period=20261")
    with count_queries() as few:
        client.get("/kpis/?period=20261")
    with app.app_context(), unscoped():
        a = db.session.get(Franchisee, world.a)
        for n in range(6):
            make_store(f"A2{n}", f"甲新店{n}", a, db.session.get(Region, world.east))
        db.session.flush()
        kpis.refresh(20261, today=TODAY)
        db.session.commit()
    with count_queries() as many:
        client.get("/kpis/?period=20261")
    assert len(many) == len(few)
