"""Network-scale patterns (issue 7): bounded statements per page, keyset pages, indexed
search and plans, and stored figures that agree with a from-scratch computation."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import CareTask, Customer, DuplicateCandidate, Purchase, Store, StoreMonthStats, StoreStats
from app.models.base import utcnow, local_today
from app.pagination import Ordering, encode_cursor, keyset_page
from app.security.tenancy import unscoped
from app.services import customer_analytics as analytics
from app.services import customer_care as care
from app.services import customer_duplicates as duplicates
from app.services import network_jobs, rollups
from tests.factories import make_customer, make_purchase

MAX_STATEMENTS = 10


@pytest.fixture
def busy_store(app, world):
    """Store A01 with 37 customers of every kind: recent, lapsed, dropping, duplicates, birthdays."""
    today = local_today()
    with app.app_context(), unscoped():
        store = db.session.get(Store, world.a_stores[0])
        for i in range(12):
            recent = make_customer(store, f"张伟{i:02d}", code=f"R-{i:03d}", mobile=f"1390000{i:04d}",
                                   consent=True, birthday=today.replace(year=1990) + timedelta(days=i % 5))
            make_purchase(recent, today - timedelta(days=2), "120.00")
            lapsed = make_customer(store, f"李娜{i:02d}", code=f"L-{i:03d}", mobile=f"1370000{i:04d}")
            for ago in (400, 380, 360):
                make_purchase(lapsed, today - timedelta(days=ago), "80.00")
            dropping = make_customer(store, f"王芳芳{i:02d}", code=f"D-{i:03d}")
            for ago in (200, 220, 240, 260, 280, 10):
                make_purchase(dropping, today - timedelta(days=ago), "50.00")
        make_customer(store, "同号顾客", code="DUP-1", mobile="13900000001")
        network_jobs.nightly()
    return world


PAGES = [
    "/", "/customers/", "/customers/?sort=name", "/customers/?sort=spend", "/customers/?sort=clv",
    "/customers/?sort=code", "/customers/?q=张伟", "/customers/?q=芳芳0", "/customers/?q=0001",
    "/customers/?q=13900000005", "/customers/?q=R-00", "/customers/?category=vip", "/customers/?churn=any",
    "/customers/?churn=frequency&sort=spend", "/customers/?consent=yes&grade=C", "/customers/churn",
    "/customers/care", "/customers/care?tab=birthday", "/customers/duplicates",
]


def _notes_by_several_people(customer_id: int) -> None:
    """Analysis notes and loyalty assessments by different users: the pages name each author."""
    from datetime import date

    from app.models import User
    from app.services import customer_file

    customer = db.session.get(Customer, customer_id)
    people = db.session.scalars(select(User).limit(10)).all()
    for i, person in enumerate(people):
        customer_file.add_analysis(customer, {"topic": "demand", "noted_on": date(2026, 1, 1 + i), "source": "survey",
                                              "text": f"第{i}条"}, person)
        customer_file.assess_loyalty(customer, {"assessed_on": date(2026, 1, 1 + i), "note": None, "share_of_need": 3,
                                                "brand_attention": 3, "choosing_time": 3, "price_tolerance": 3,
                                                "competitor_attitude": 3, "incident_tolerance": 3}, person)
    db.session.commit()


@pytest.mark.parametrize("role", ["owner_a", "admin"])
def test_every_customer_page_stays_within_ten_statements(app, busy_store, login_as, count_queries, role):
    client = login_as(role)
    with app.app_context(), unscoped():
        cid = db.session.scalar(select(Customer.id).where(Customer.code == "R-003"))
        _notes_by_several_people(cid)
    deep = client.get("/customers/?sort=name").text
    cursor = deep.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    for page in PAGES + [f"/customers/{cid}", f"/customers/{cid}/analysis", f"/customers/{cid}/loyalty", cursor]:
        with count_queries() as statements:
            response = client.get(page)
        assert response.status_code == 200, page
        assert len(statements) <= MAX_STATEMENTS, (page, len(statements), statements)


def test_keyset_pages_walk_every_row_once_both_ways(app, busy_store, login_as):
    client = login_as("owner_a")
    seen, url = [], "/customers/?sort=name"
    for _ in range(10):
        html = client.get(url).text
        seen += [code for code in ("R-", "L-", "D-") for _ in range(html.count(f">{code}"))]
        if 'rel="next" href="' not in html:
            break
        url = html.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    with app.app_context(), unscoped():
        ordering = Ordering((Customer.name_key, Customer.id))
        stmt = select(Customer).where(Customer.store_id == busy_store.a_stores[0])
        forward, after = [], None
        while True:
            page = keyset_page(db.session, stmt, ordering, 7, after=after)
            forward += [c.id for c in page.items]
            if not page.has_next:
                break
            after = page.next_cursor
        last_page = len(page.items)
        backward, before = [], page.prev_cursor
        while before:
            page = keyset_page(db.session, stmt, ordering, 7, before=before)
            backward = [c.id for c in page.items] + backward
            before = page.prev_cursor
        everyone = db.session.scalars(stmt.order_by(Customer.name_key, Customer.id)).all()
    assert forward == [c.id for c in everyone]
    assert backward == forward[:-last_page]  # "Earlier" from the last page leads back to the first row
    assert len(set(forward)) == len(forward)
    assert len(seen) >= 36  # the rendered pages showed every customer of the store


def test_a_forged_cursor_is_the_first_page_not_an_error(app, busy_store, login_as):
    client = login_as("owner_a")
    for bad in ("%%%", "eyJ4Ijp7fX0", encode_cursor(["x"]), "A" * 600, encode_cursor([{"d": 1}, 2])):
        response = client.get("/customers/", query_string={"after": bad})
        assert response.status_code == 200
    assert client.get("/customers/?before=!!").status_code == 200


def test_search_uses_two_character_prefix_trigram_tail_and_code(app, busy_store, login_as):
    client = login_as("owner_a")
    two = client.get("/customers/?q=张伟").text
    assert "张伟00" in two and "李娜00" not in two
    middle = client.get("/customers/?q=芳芳07").text  # three characters or more: anywhere in the name
    assert "王芳芳07" in middle and "王芳芳08" not in middle
    assert "张伟05" in client.get("/customers/?q=0005").text  # last four digits
    assert "李娜03" in client.get("/customers/?q=L-003").text
    assert "乙方秘密顾客" not in client.get("/customers/?q=乙方秘密").text


def test_a_code_shaped_query_is_not_looked_for_among_names(app):
    from app.services.customer_search import search_condition

    with app.app_context():
        assert "name_key" not in str(search_condition("SH001-000095", True))
        assert "name_key" not in str(search_condition("SH001000095", True))
        assert "code" in str(search_condition("SH001-000095", True))
        assert "name_key" in str(search_condition("芳芳07", True))  # a name with digits is still a name
        assert "name_key" in str(search_condition("Anna2", True))


def test_stored_churn_flags_match_the_from_scratch_definition(app, busy_store, ctx):
    today = local_today()
    rules = analytics.get_rules()
    for reason in (None, "absent", "frequency"):
        stored = set(db.session.scalars(select(Customer.id).where(analytics.churn_filter(rules, today, reason))))
        live = set(db.session.scalars(select(Customer.id).where(analytics.live_churn_condition(rules, today, reason))))
        assert stored == live and stored, reason


def test_roll_ups_match_counting_the_rows(app, busy_store, ctx):
    store_id = busy_store.a_stores[0]
    stats = db.session.scalar(select(StoreStats).where(StoreStats.store_id == store_id))
    active = (Customer.store_id == store_id, Customer.merged_into_id.is_(None), Customer.anonymised_at.is_(None))
    assert stats.customers == db.session.scalar(select(func.count()).where(*active))
    assert stats.churn_warnings == db.session.scalar(select(func.count()).where(*active, Customer.churn_flags > 0))
    assert stats.purchases == db.session.scalar(select(func.count()).where(Purchase.store_id == store_id))
    month = rollups.month_key(local_today())
    row = db.session.scalar(select(StoreMonthStats).where(StoreMonthStats.store_id == store_id,
                                                          StoreMonthStats.month == month))
    start = local_today().replace(day=1)
    assert row.purchases == db.session.scalar(select(func.count()).where(
        Purchase.store_id == store_id, Purchase.purchased_on >= start))
    # A purchase moves the roll-up at once, without waiting for the night.
    customer = db.session.scalar(select(Customer).where(Customer.code == "R-001"))
    make_purchase(customer, local_today(), "10.00")
    db.session.refresh(stats)
    assert stats.purchases == db.session.scalar(select(func.count()).where(Purchase.store_id == store_id))


def test_duplicate_candidates_match_a_full_check_and_the_nightly_job_is_idempotent(app, busy_store, ctx):
    full = {(p.first_id, p.second_id) for p in duplicates.find_duplicates()}
    stored = set(db.session.execute(select(DuplicateCandidate.customer_id, DuplicateCandidate.other_id)).all())
    assert stored == full and full
    tasks = db.session.scalar(select(func.count(CareTask.id)))
    network_jobs.nightly()
    assert db.session.scalar(select(func.count(CareTask.id))) == tasks
    assert set(db.session.execute(select(DuplicateCandidate.customer_id, DuplicateCandidate.other_id)).all()) == full


def test_care_tasks_close_when_the_contact_is_logged(app, busy_store, login_as):
    with app.app_context(), unscoped():
        task = db.session.scalar(select(CareTask).where(CareTask.kind == "return", CareTask.state == "open",
                                                        CareTask.contactable.is_(True)))
        customer_id, purchase_id, task_id = task.customer_id, task.purchase_id, task.id
    client = login_as("staff_a")
    response = client.post_form(f"/customers/{customer_id}/care/return_visit?ref={purchase_id}",
                                {"occurred_at": utcnow().strftime("%Y-%m-%dT%H:%M"), "method": "phone",
                                 "purpose": "return_visit", "cost": "0", "outcome": "满意"})
    assert response.status_code == 302, response.text
    with app.app_context(), unscoped():
        assert db.session.get(CareTask, task_id).state == "done"
        assert care.due_tasks("return", analytics.get_rules(), local_today()).where(CareTask.id == task_id) \
            is not None


def _plan(sql_statement, params) -> str:
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        rows = db.session.execute(text("EXPLAIN QUERY PLAN " + sql_statement), params).all()
        return " | ".join(row[-1] for row in rows)
    # With test-sized tables PostgreSQL rightly prefers a scan and a sort; switching those
    # off asks whether an index can answer the list in order, which is what matters at scale.
    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
        db.session.execute(text(f"SET LOCAL {setting} = off"))
    return " | ".join(row[0] for row in db.session.execute(text("EXPLAIN " + sql_statement), params))


@pytest.mark.parametrize("name, sql, params", [
    ("network list by recency",
     "SELECT id FROM customer WHERE merged_into_id IS NULL AND anonymised_at IS NULL "
     "ORDER BY last_purchase_day DESC, id DESC LIMIT 26", {}),
    ("one store's list by name",
     "SELECT id FROM customer WHERE store_id = :s AND merged_into_id IS NULL "
     "ORDER BY name_key, id LIMIT 26", {"s": 1}),
    ("a franchise owner's list by recency (the scope names the franchisee)",
     "SELECT id FROM customer WHERE franchisee_id = :f AND store_id IN (1, 2, 3) AND merged_into_id IS NULL "
     "AND anonymised_at IS NULL ORDER BY last_purchase_day DESC, id DESC LIMIT 26", {"f": 1}),
    ("a franchise owner's churn warnings by spend",
     "SELECT id FROM customer WHERE franchisee_id = :f AND store_id IN (1, 2, 3) AND merged_into_id IS NULL "
     "AND churn_flags > 0 ORDER BY total_spend DESC, id DESC LIMIT 26", {"f": 1}),
    ("a franchise owner's care tab",
     "SELECT id FROM care_task WHERE franchisee_id = :f AND store_id IN (1, 2, 3) AND kind = 'return' "
     "AND state = 'open' AND contactable = true AND due_on >= '2026-01-01' ORDER BY due_on, id LIMIT 26", {"f": 1}),
    ("a franchise owner's duplicates",
     "SELECT id FROM duplicate_candidate WHERE franchisee_id = :f AND store_id IN (1, 2, 3) "
     "ORDER BY strength, id LIMIT 26", {"f": 1}),
    ("mobile prefix", "SELECT id FROM customer WHERE mobile >= '13900' AND mobile < '13901'", {}),
    ("care tab", "SELECT id FROM care_task WHERE kind = 'return' AND state = 'open' AND contactable = true "
                 "AND due_on >= '2026-01-01' ORDER BY due_on, id LIMIT 26", {}),
    ("care tab, no consent", "SELECT id FROM care_task WHERE kind = 'return' AND state = 'open' "
                             "AND contactable = false AND due_on >= '2026-01-01' ORDER BY due_on, id LIMIT 26", {}),
    ("duplicates page", "SELECT id FROM duplicate_candidate ORDER BY strength, id LIMIT 26", {}),
])
def test_key_lists_are_answered_from_an_index(app, busy_store, ctx, name, sql, params):
    plan = _plan(sql, params)
    assert "Index" in plan or "INDEX" in plan, (name, plan)
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, (name, plan)
    assert "ix_customer_merged_into_id" not in plan, (name, plan)  # never the index true for every row


def test_error_page_renders_without_a_scope(app):
    with app.test_request_context("/"):
        from app.errors import render_error

        db.session.info.pop("tenant_scope", None)
        body, status = render_error(500)
        assert status == 500 and "<html" in body
