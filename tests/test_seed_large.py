"""``seed large`` at a tiny size: the counts asked for, a consistent network, the same rows for the same seed."""
from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Contact, Customer, CustomerSequence, Franchisee, Purchase, Region, Store, StoreOwnership, User
from app.seed import seed_demo
from app.seed_large import (
    MANAGER_A1_SHARE, OWNER_A_SHARE, Context, LoadRefused, Options, StorePlan, _apportion, build_plan, checksum, load,
)

TINY = {"regions": 3, "franchisees": 4, "stores": 6, "customers": 600}
DEMO_CUSTOMERS = 8 * 300


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _fake_context() -> Context:
    anchor = StorePlan(1, "SH001", "上海徐汇店", 1, "上海", "上海市徐汇区漕溪北路88号", date(2019, 5, 18), 1,
                       first_number=301, staff_ids=[10, 11], new=False)
    return Context(owner_a_franchisee_id=1, owner_a_store=anchor, demo_region_id=1,
                   next_ids={"region": 4, "franchisee": 4, "store": 9, "store_ownership": 10, "customer": 2401,
                             "purchase": 9000, "contact": 4000},
                   taken_store_codes={"SH001", "HZ001", "SU001", "NJ001", "BJ001", "TJ001", "GZ001", "SZ001"})


def _plan(seed: int, customers: int = 2000):
    options = Options(regions=5, franchisees=8, stores=20, customers=customers, seed=seed, today=date(2026, 11, 23))
    return build_plan(options, _fake_context())


def test_the_same_seed_generates_the_same_rows():
    assert checksum(_plan(42)) == checksum(_plan(42))
    assert checksum(_plan(42)) != checksum(_plan(43))


def test_plan_sizes_add_up_and_are_skewed():
    plan = _plan(42, customers=20_000)
    assert len(plan.regions) == 5 and len(plan.franchisees) == 8
    new_stores = [s for s in plan.stores if s.new]
    assert len(new_stores) == 20 and len({s.code for s in new_stores}) == 20
    assert not {s.code for s in new_stores} & _fake_context().taken_store_codes
    assert sum(s.customers for s in plan.stores) == 20_000
    assert all(s.customers >= 1 for s in plan.stores)
    assert len({f["name"] for f in plan.franchisees}) == 8 and len({f["contract_no"] for f in plan.franchisees}) == 8
    assert all(f["contract_end"] > plan.today for f in plan.franchisees)
    sizes = sorted(s.customers for s in new_stores)
    assert sizes[-1] > 3 * sizes[len(sizes) // 2]  # long-tailed
    assert plan.stores[0].code == "SH001" and plan.stores[0].customers == round(20_000 * MANAGER_A1_SHARE)
    owner_a = sum(s.customers for s in plan.stores if s.franchisee_id == 1)
    assert owner_a == round(20_000 * OWNER_A_SHARE)


def test_apportion_keeps_the_total_and_the_minimum():
    assert _apportion(10, [1, 1, 8]) == [1, 1, 8]
    parts = _apportion(1000, [0.1, 5, 2.5, 3])
    assert sum(parts) == 1000 and min(parts) >= 1
    with pytest.raises(LoadRefused):
        _apportion(2, [1, 1, 1])


def test_tiny_network_loads_consistently(app, ctx):
    summary = load(Options(seed=7, **TINY), "demo-pass-2026", commit=False)
    assert {k: summary[k] for k in TINY} == TINY
    assert _count(Region) == 3 + 3 and _count(Franchisee) == 3 + 4 and _count(Store) == 8 + 6
    assert _count(Customer) == DEMO_CUSTOMERS + 600
    assert _count(Purchase, Purchase.id > 0) >= summary["purchases"] > 600
    assert summary["contacts"] > 100

    # Every customer, purchase and contact belongs to its store's current owner, and to the customer's store.
    assert not _count(Customer, Customer.store_id == Store.id, Customer.franchisee_id != Store.franchisee_id)
    assert not _count(Purchase, Purchase.customer_id == Customer.id,
                      (Purchase.store_id != Customer.store_id) | (Purchase.franchisee_id != Customer.franchisee_id))
    assert not _count(Contact, Contact.customer_id == Customer.id,
                      (Contact.store_id != Customer.store_id) | (Contact.franchisee_id != Customer.franchisee_id))
    # One open ownership period per new store, from its opening day.
    new_store_ids = db.session.scalars(select(Store.id).where(Store.code.notin_(
        ["SH001", "HZ001", "SU001", "NJ001", "BJ001", "TJ001", "GZ001", "SZ001"]))).all()
    for store_id in new_store_ids:
        periods = db.session.execute(select(StoreOwnership.start_on, StoreOwnership.end_on, StoreOwnership.franchisee_id)
                                     .where(StoreOwnership.store_id == store_id)).all()
        store = db.session.get(Store, store_id)
        assert periods == [(store.opened_on, None, store.franchisee_id)]
        last = db.session.scalar(select(CustomerSequence.last).where(CustomerSequence.store_id == store_id))
        assert last == _count(Customer, Customer.store_id == store_id)
        assert db.session.scalar(select(func.max(Customer.code)).where(Customer.store_id == store_id)) \
            == f"{store.code}-{last:06d}"

    # owner-a's franchisee has the largest share; manager-a1's store grew and its sequence follows.
    owner_a = db.session.scalar(select(User).where(User.username == "owner-a"))
    shares = dict(db.session.execute(select(Customer.franchisee_id, func.count()).group_by(Customer.franchisee_id)).all())
    assert max(shares, key=shares.get) == owner_a.franchisee_id
    anchor = db.session.scalar(select(User).where(User.username == "manager-a1")).stores[0]
    grown = _count(Customer, Customer.store_id == anchor.id)
    assert grown == 300 + round(600 * MANAGER_A1_SHARE)
    assert db.session.scalar(select(CustomerSequence.last).where(CustomerSequence.store_id == anchor.id)) == grown

    # Points are the sum of the purchases' points; derived figures wait for network_jobs.
    mismatched = select(Customer.id).where(Customer.points != select(func.coalesce(func.sum(Purchase.points_earned), 0))
                                           .where(Purchase.customer_id == Customer.id).scalar_subquery())
    assert not db.session.execute(mismatched.where(Customer.store_id.in_(new_store_ids))).first()

    # Teams and training (issue 11): 50 staff per new store, every result of someone of an invited
    # store, and the stored per-employee rows exactly what the portal's own rules compute.
    from app.models import Attendance, Employee, EmployeeCourse, SessionStore
    from app.services.training import records

    assert _count(Employee, Employee.store_id.in_(new_store_ids)) == 50 * len(new_store_ids)
    assert _count(Attendance, Attendance.store_id.in_(new_store_ids)) > 5 * 50 * len(new_store_ids)
    assert not db.session.execute(select(Attendance.id).where(~select(SessionStore.id).where(
        SessionStore.session_id == Attendance.session_id, SessionStore.store_id == Attendance.store_id).exists())).first()
    staff = db.session.scalars(select(Employee.id).where(Employee.store_id.in_(new_store_ids))).all()
    stored = set(db.session.execute(select(EmployeeCourse.employee_id, EmployeeCourse.course_id, EmployeeCourse.done_on,
                                           EmployeeCourse.needed_by).where(EmployeeCourse.employee_id.in_(staff))).all())
    records.refresh_employees(staff)
    assert set(db.session.execute(select(EmployeeCourse.employee_id, EmployeeCourse.course_id, EmployeeCourse.done_on,
                                         EmployeeCourse.needed_by).where(EmployeeCourse.employee_id.in_(staff))).all()) == stored

    # Surveys and KPIs (issue 12): 300 responses per open store over eight half-years, each with the
    # index its answers give; every half-year's KPIs for every store; the evaluation ranked.
    from app.models.kpi import StoreEvaluation, StoreKpi
    from app.models.survey import Questionnaire, SurveyResponse
    from app.services.surveys import responses

    open_stores = _count(Store, Store.status == "open")
    assert _count(SurveyResponse) >= 300 * open_stores
    questionnaire = db.session.scalar(select(Questionnaire).where(Questionnaire.code == "CSI"))
    for response in db.session.scalars(select(SurveyResponse).where(SurveyResponse.store_id.in_(new_store_ids)).limit(50)):
        scores = {}
        for question in questionnaire.questions:
            if question.kind == "scale":
                scores.setdefault(question.indicator.code, []).append(response.answers[str(question.id)])
        assert response.csi == responses.response_index(questionnaire, scores)
    assert db.session.scalar(select(func.count(func.distinct(StoreKpi.period)))) == 8
    # Every store with responses in a half-year has its figures (stores count from their opening day).
    from app.models.survey import SurveyProject

    answered = set(db.session.execute(select(SurveyResponse.store_id, SurveyProject.year * 10 + SurveyProject.half)
                                      .join(SurveyProject, SurveyProject.id == SurveyResponse.project_id).distinct()).all())
    assert answered <= set(db.session.execute(select(StoreKpi.store_id, StoreKpi.period)).all())
    assert _count(StoreEvaluation, StoreEvaluation.rank == 1) >= 7
    # Deliveries (issue 12, the Amazon case): of the new stores' purchases too, each leaving on or
    # after its purchase, and the partners' figures equal to a count from scratch.
    from app.models.logistics import DeliveryMonthStats, Shipment
    from app.services import logistics

    assert _count(Shipment, Shipment.store_id.in_(new_store_ids)) > 0
    from app.models.base import local_date

    assert all(local_date(left) >= bought for left, bought in db.session.execute(
        select(Shipment.dispatched_at, Purchase.purchased_on).join(Purchase, Purchase.id == Shipment.purchase_id)))
    stored = {(r.partner_id, r.store_id, r.franchisee_id, r.month): {c: getattr(r, c) for c in logistics.COUNTS}
              for r in db.session.scalars(select(DeliveryMonthStats))}
    assert stored == logistics.from_scratch()

    # Loading twice is refused.
    with pytest.raises(LoadRefused):
        load(Options(seed=7, **TINY), "demo-pass-2026", commit=False)


def test_the_same_seed_loads_the_same_customers(app, ctx):
    seed_demo("demo-pass-2026")
    db.session.flush()
    demo_max = db.session.scalar(select(func.max(Customer.id)))  # not 2400 on PostgreSQL: sequences never roll back

    def load_and_read(seed: int):
        savepoint = db.session.begin_nested()
        load(Options(seed=seed, today=date(2026, 11, 23), **TINY), "demo-pass-2026", commit=False)
        rows = db.session.execute(select(Customer.code, Customer.name, Customer.mobile, Customer.birthday)
                                  .where(Customer.id > demo_max).order_by(Customer.id)).all()
        purchases = db.session.execute(select(func.count(), func.sum(Purchase.points_earned))).one()
        savepoint.rollback()
        return rows, tuple(purchases)

    first = load_and_read(11)
    assert len(first[0]) == 600
    assert load_and_read(11) == first
    assert load_and_read(12)[0] != first[0]
