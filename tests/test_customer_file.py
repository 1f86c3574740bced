"""The master file's analysis section, credit history, investment record and loyalty measures
(seed 001/002; R7, R14, R16) - issue 8."""
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Contact, Customer, CustomerAnalysis, StoreStats
from app.models.base import local_today
from app.security.tenancy import unscoped
from app.services import customer_analytics as analytics

TODAY = local_today()


def _get(app, model, **where):
    with app.app_context(), unscoped():
        return db.session.scalars(select(model).filter_by(**where)).all()


def test_analysis_notes_are_a_dated_history_and_credit_needs_a_rating(app, world, login_as):
    cid = world.customers["a"]
    manager = login_as("manager_a")
    url = f"/customers/{cid}/analysis"
    page = manager.get(url)
    assert page.status_code == 200 and "履行合同情况与存在问题" in page.text and "磨擦" in page.text
    credit = {"topic": "credit", "noted_on": (TODAY - timedelta(days=200)).isoformat(), "source": "observation",
              "text": "按期付款"}
    response = manager.post_form(url, credit)
    assert response.status_code == 400 and "信用情况记录须选择信用评级" in response.text
    assert manager.post_form(url, {**credit, "credit_rating": "good"}).status_code == 302
    assert manager.post_form(url, {**credit, "credit_rating": "poor", "noted_on": TODAY.isoformat(),
                                   "text": "两笔货款逾期三十天"}).status_code == 302
    assert manager.post_form(url, {"topic": "competitors", "noted_on": TODAY.isoformat(), "source": "survey",
                                   "text": "同时在宜家采购"}).status_code == 302
    notes = _get(app, CustomerAnalysis, customer_id=cid)
    assert sorted((n.topic, n.credit_rating) for n in notes) == [
        ("competitors", None), ("credit", "good"), ("credit", "poor")]
    history = manager.get(url).text
    assert history.index("两笔货款逾期三十天") < history.index("按期付款")  # newest first
    show = manager.get(f"/customers/{cid}").text
    assert "两笔货款逾期三十天" in show and "按期付款" not in show  # the page shows the latest per topic
    future = {**credit, "credit_rating": "good", "noted_on": (TODAY + timedelta(days=1)).isoformat()}
    assert "记录日期不能晚于今天" in manager.post_form(url, future).text
    assert "2000 年以前" in manager.post_form(url, {**credit, "credit_rating": "good", "noted_on": "1900-01-01"}).text
    rated = {"topic": "demand", "noted_on": TODAY.isoformat(), "source": "survey", "credit_rating": "good", "text": "x"}
    assert "只有信用情况记录才有评级" in manager.post_form(url, rated).text  # not dropped in silence


def test_notes_and_assessments_stay_inside_the_franchisee_and_read_only_roles_cannot_add(app, world, login_as):
    cid = world.customers["a"]
    assert login_as("owner_b").get(f"/customers/{cid}/analysis").status_code == 404
    assert login_as("owner_b").get(f"/customers/{cid}/loyalty").status_code == 404
    viewer = login_as("viewer")
    assert viewer.get(f"/customers/{cid}/loyalty").status_code == 200
    response = viewer.post_form(f"/customers/{cid}/analysis", {"topic": "demand", "noted_on": TODAY.isoformat(),
                                                               "source": "survey", "text": "计划换新沙发"})
    assert response.status_code == 403 and not _get(app, CustomerAnalysis, customer_id=cid)


LEVELS = {"share_of_need": "4", "brand_attention": "5", "choosing_time": "3", "price_tolerance": "2",
          "competitor_attitude": "4", "incident_tolerance": "3"}  # 21 of 30


def test_the_seven_loyalty_measures_make_a_score_per_customer_and_per_store(app, world, login_as):
    """R16: repeat purchases are counted (world's customer a has none: 1 point), six are observed.
    Score = (21 + 1 - 7) / 28 x 100 = 53.57 -> 54."""
    cid = world.customers["a"]
    manager = login_as("manager_a")
    url = f"/customers/{cid}/loyalty"
    page = manager.get(url).text
    assert "1 · 20% 以下" in page and "Under 20 %" not in page  # the answers in the reader's language
    for measure in ("重复购买次数", "购买量占其总需求的比例", "对本企业品牌的关心程度", "购买时的挑选时间",
                    "对价格的敏感程度", "对竞争产品的态度", "对产品质量事故的承受能力"):
        assert measure in page
    missing = manager.post_form(url, {"assessed_on": TODAY.isoformat(), **LEVELS, "price_tolerance": "0"})
    assert missing.status_code == 400
    assert manager.post_form(url, {"assessed_on": TODAY.isoformat(), **LEVELS, "note": "老客户介绍来的"}).status_code == 302
    with app.app_context(), unscoped():
        customer = db.session.get(Customer, cid)
        assert (customer.loyalty_observed, customer.loyalty_score) == (21, 54)
        stats = db.session.scalar(select(StoreStats).where(StoreStats.store_id == customer.store_id))
        assert (stats.loyalty_customers, stats.loyalty_total, stats.loyalty_average) == (1, 54, 54)
    assert 'data-testid="loyalty-score">54<' in manager.get(url).text
    assert "平均忠诚度得分 54 / 100" in login_as("owner_a").get("/").text  # the store's roll-up, on the dashboard
    # An assessment entered late for an earlier day does not replace the newer one.
    older = {"assessed_on": (TODAY - timedelta(days=90)).isoformat(), **{k: "1" for k in LEVELS}}
    assert manager.post_form(url, older).status_code == 302
    with app.app_context(), unscoped():
        assert db.session.get(Customer, cid).loyalty_score == 54
    # Repeat purchases move the score without a new observation: 5 purchases score 4 (+3 points).
    from tests.factories import make_purchase

    with app.app_context(), unscoped():
        customer = db.session.get(Customer, cid)
        for i in range(5):
            make_purchase(customer, TODAY - timedelta(days=10 * i), "100.00")
        db.session.commit()
        customer = db.session.get(Customer, cid)
        assert customer.loyalty_score == round((21 + 4 - 7) * 100 / 28) == 64
        assert analytics.loyalty_score(21, 5) == 64


def test_merge_moves_notes_and_anonymising_erases_their_text(app, world, ctx):
    from app.models import Store, User
    from app.services import customer_file, customers
    from tests.factories import make_customer

    store = db.session.get(Store, world.a_stores[0])
    actor = db.session.get(User, world.users["manager_a"])
    keep, other = make_customer(store, "保留者"), make_customer(store, "被合并者")
    customer_file.add_analysis(other, {"topic": "friction", "noted_on": TODAY, "source": "observation",
                                       "text": "送货延误引起不满"}, actor)
    customer_file.assess_loyalty(other, {"assessed_on": TODAY, "note": None, **{k: int(v) for k, v in LEVELS.items()}},
                                 actor)
    customers.merge(keep, other, actor)
    db.session.refresh(keep)
    assert [n.customer_id for n in db.session.scalars(select(CustomerAnalysis).where(
        CustomerAnalysis.text == "送货延误引起不满"))] == [keep.id]
    assert keep.loyalty_score == 54  # the assessment came along
    customers.anonymise(keep, "deletion", actor)
    db.session.flush()
    note = db.session.scalar(select(CustomerAnalysis).where(CustomerAnalysis.customer_id == keep.id))
    assert note.topic == "friction" and note.text is None


def test_occupation_interests_habits_and_the_investment_record_are_kept(app, world, login_as):
    cid = world.customers["a"]
    manager = login_as("manager_a")
    edit = manager.get(f"/customers/{cid}/edit").text
    assert 'name="occupation"' in edit and 'name="habits"' in edit
    from tests.test_customers import CONSENTED, VALID

    data = VALID | CONSENTED | {"name": "甲方顾客", "mobile": "13800000001", "version": "1",
                                "habits": "周末上午到店，喜欢先看样品", "occupation": "教师（退休）"}
    assert manager.post_form(f"/customers/{cid}/edit", data).status_code == 302
    with app.app_context(), unscoped():
        saved = db.session.get(Customer, cid)
        assert (saved.habits, saved.occupation) == ("周末上午到店，喜欢先看样品", "教师（退休）")  # punctuation as typed
    contact = {"occurred_at": f"{(TODAY - timedelta(days=1)).isoformat()}T10:00", "method": "visit", "purpose": "routine", "cost": "120",
               "products_services": "免费上门测量", "cooperation": "联合小区推广活动", "outcome": "顾客确认方案"}
    assert manager.post_form(f"/customers/{cid}/contacts/new", contact).status_code == 302
    saved = _get(app, Contact, customer_id=cid)[-1]
    assert (saved.products_services, saved.cooperation) == ("免费上门测量", "联合小区推广活动")
    page = manager.get(f"/customers/{cid}").text
    assert "免费上门测量" in page and "联合小区推广活动" in page
