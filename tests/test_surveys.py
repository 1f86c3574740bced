"""Satisfaction surveys (issue 12; R39-R46, R64): the index against hand-computed values, the
questionnaire of seed 004 in its own order, responses and the stored store figures against a
from-scratch computation, the committee's approval, paper forms, the public survey pages and
their abuse, and bad input."""
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Store
from app.models.base import local_today
from app.models.survey import (
    Questionnaire, SurveyInvitation, SurveyProject, SurveyQuestionStats, SurveyResponse, SurveyStoreStats,
)
from app.security.tenancy import unscoped
from app.services import RuleError
from app.services.surveys import projects, public, responses, sampling
from app.services.surveys.index import WeightsError, satisfaction_index
from tests.pages import form_on, form_with

SEED_004 = {"A": 20, "B": 20, "C": 20, "D": 10, "E": 10, "F": 15, "G": 5}


# --- the index (R39, R40, R42) ---

def test_the_index_is_the_documents_formula():
    """(A+B+C)*20%*100/5 + (D+E)*10%*100/5 + F*15%*100/5 + G*5%*100/5."""
    assert satisfaction_index({c: Decimal(5) for c in SEED_004}, SEED_004) == Decimal("100.00")
    assert satisfaction_index({c: Decimal(1) for c in SEED_004}, SEED_004) == Decimal("20.00")
    means = {"A": Decimal("4.5"), "B": Decimal("4.5"), "C": Decimal("4.5"), "D": Decimal("4.4"), "E": Decimal("4.4"),
             "F": Decimal("4.0"), "G": Decimal("4.12")}
    assert satisfaction_index(means, SEED_004) == Decimal("87.72")
    # Hand-computed: 4*(4+3+5) + 2*(2+4) + 3*1 + 5 = 48 + 12 + 3 + 5 = 68.
    assert satisfaction_index({"A": 4, "B": 3, "C": 5, "D": 2, "E": 4, "F": 1, "G": 5}, SEED_004) == Decimal("68.00")


def test_the_index_rounds_half_up_to_two_decimals_in_exact_arithmetic():
    # Mean 13/3 on every indicator: 86.666... -> 86.67.
    assert satisfaction_index({c: Decimal(13) / 3 for c in SEED_004}, SEED_004) == Decimal("86.67")
    # 4.00125 * 20 = 80.025 exactly: half up gives 80.03 (a float gives 80.02).
    assert satisfaction_index({"A": Decimal("4.00125")}, {"A": 100}) == Decimal("80.03")


def test_weights_must_add_up_to_100_and_every_weighted_indicator_needs_answers():
    with pytest.raises(WeightsError):
        satisfaction_index({c: 5 for c in SEED_004}, dict(SEED_004, G=10))
    assert satisfaction_index({"A": 5}, SEED_004) is None


# --- the questionnaire of seed 004 (R41) ---

def test_the_default_questionnaire_asks_in_the_documents_order(app, world):
    with app.app_context(), unscoped():
        q = db.session.get(Questionnaire, world.surveys["questionnaire"])
        assert [i.code for i in q.indicators] == list("ABCDEFG")
        assert {i.code: int(i.weight) for i in q.indicators} == SEED_004
        fed = [x.indicator.code if x.indicator else x.kind for x in q.questions]
        # Item 6 feeds G and item 7 feeds F; then bought (yes/no), why not and suggestions (text).
        assert fed == ["A", "B", "C", "D", "E", "G", "F", "yes_no", "text", "text"]
        assert q.questions[5].text_zh == "您对我们产品的沟通与宣传是否满意？"
        assert q.questions[6].text_zh == "您对我们的投诉处理是否满意？"
        assert [x.required for x in q.questions[8:]] == [False, False]
        post = db.session.scalar(select(Questionnaire).where(Questionnaire.code == "POST"))
        assert post.kind == "post_purchase" and [x.kind for x in post.questions] == ["yes_no"] * 4
        assert not post.indicators


# --- responses and the stored figures ---

def _raw(q, scores, bought="yes", suggestion=""):
    """Answers by indicator code (seed 004's questionnaire)."""
    raw = {}
    for question in q.questions:
        if question.kind == "scale":
            raw[question.id] = str(scores[question.indicator.code])
    raw[q.questions[7].id] = bought
    raw[q.questions[9].id] = suggestion
    return raw


def _current_project(q, **values):
    today = local_today()
    year, half = projects.half_of(today)
    project = projects.create(name="本期调查", questionnaire=q, year=year, half=half,
                              schedule_from=projects.default_schedule_start(year, half), purpose=None, created_by=None)
    project.status = values.get("status", "fieldwork")
    db.session.flush()
    return project


def test_a_response_stores_its_index_and_the_store_figures_follow(app, world):
    """Two responses about one store: each keeps its own index; the store's index is the formula
    over the indicator means (R40: each letter the indicator's mean), not a mean of indexes."""
    with app.app_context(), unscoped():
        q = db.session.get(Questionnaire, world.surveys["questionnaire"])
        project = db.session.get(SurveyProject, world.surveys["project"])
        store = db.session.get(Store, world.a_stores[1])
        first = responses.record(project, store, _raw(q, {"A": 5, "B": 4, "C": 4, "D": 5, "E": 3, "F": 4, "G": 5}),
                                 source="paper", answered_on=date(2026, 4, 1))
        second = responses.record(project, store, _raw(q, {"A": 4, "B": 4, "C": 3, "D": 4, "E": 4, "F": 2, "G": 3}),
                                  source="paper", answered_on=date(2026, 4, 2), respondent="dealer")
        # 4*(5+4+4) + 2*(5+3) + 3*4 + 5 = 52 + 16 + 12 + 5 = 85; 4*(4+4+3) + 2*8 + 3*2 + 3 = 44 + 16 + 6 + 3 = 69.
        assert (first.csi, second.csi) == (Decimal("85.00"), Decimal("69.00"))
        # An answer of 2: a follow-up, due 3 days after the form is recorded (keyed in later than answered).
        assert second.follow_up == "open" and second.follow_up_due_on == local_today() + timedelta(days=3)
        assert first.follow_up is None
        stats = db.session.scalar(select(SurveyStoreStats).where(SurveyStoreStats.store_id == store.id))
        assert (stats.responses, stats.consumers, stats.dealers, stats.low_scores) == (2, 1, 1, 1)
        # Means A 4.5, B 4, C 3.5, D 4.5, E 3.5, F 3, G 4: 4*12 + 2*8 + 3*3 + 4 = 48 + 16 + 9 + 4 = 77.
        assert stats.csi == Decimal("77.00")
        assert stats.franchisee_id == world.a


def test_the_stored_figures_equal_a_computation_from_scratch(app, world):
    with app.app_context(), unscoped():
        q = db.session.get(Questionnaire, world.surveys["questionnaire"])
        project = db.session.get(SurveyProject, world.surveys["project"])
        for n, store_id in enumerate(world.a_stores * 3):
            scores = {c: 1 + (n + i) % 5 for i, c in enumerate("ABCDEFG")}
            responses.record(project, db.session.get(Store, store_id), _raw(q, scores, bought="no" if n % 2 else "yes"),
                             source="paper", answered_on=date(2026, 2, 1 + n), respondent="dealer" if n % 3 else "consumer")

        def figures():
            return (sorted(db.session.execute(select(
                SurveyStoreStats.store_id, SurveyStoreStats.franchisee_id, SurveyStoreStats.responses,
                SurveyStoreStats.consumers, SurveyStoreStats.dealers, SurveyStoreStats.low_scores, SurveyStoreStats.csi)
                .where(SurveyStoreStats.project_id == project.id)).all()),
                sorted(db.session.execute(select(SurveyQuestionStats.store_id, SurveyQuestionStats.question_id,
                                                 SurveyQuestionStats.total, SurveyQuestionStats.answers)
                                          .where(SurveyQuestionStats.project_id == project.id)).all()))

        kept = figures()
        responses.rebuild(project)
        assert figures() == kept
        assert len(kept[0]) == 3  # A's two stores and B's store


def test_bad_answers_are_refused_and_nothing_is_recorded(app, world):
    with app.app_context(), unscoped():
        q = db.session.get(Questionnaire, world.surveys["questionnaire"])
        project = db.session.get(SurveyProject, world.surveys["project"])
        store = db.session.get(Store, world.a_stores[0])
        before = db.session.scalar(select(func.count(SurveyResponse.id)))
        raw = _raw(q, dict.fromkeys("ABCDEFG", 4))
        raw[q.questions[0].id] = "6"
        raw[q.questions[1].id] = ""
        raw[q.questions[7].id] = "maybe"
        with pytest.raises(responses.AnswerErrors) as refused:
            responses.record(project, store, raw, source="paper", answered_on=date(2026, 3, 1))
        assert set(refused.value.problems) == {q.questions[0].id, q.questions[1].id, q.questions[7].id}
        with pytest.raises(RuleError, match="不在其内"):  # "the date is outside it"
            responses.record(project, store, _raw(q, dict.fromkeys("ABCDEFG", 4)), source="paper",
                             answered_on=date(2026, 7, 1))
        project.status = "closed"
        with pytest.raises(RuleError, match="已结束"):  # "this survey is closed"
            responses.record(project, store, _raw(q, dict.fromkeys("ABCDEFG", 4)), source="paper",
                             answered_on=date(2026, 3, 1))
        assert db.session.scalar(select(func.count(SurveyResponse.id))) == before


def test_a_response_keeps_the_weights_it_was_computed_with(app, world):
    """R64: a new edition with other weights leaves the earlier results as they were."""
    with app.app_context(), unscoped():
        q = db.session.get(Questionnaire, world.surveys["questionnaire"])
        draft = projects.new_edition(q, db.session.get(__import__("app.models", fromlist=["User"]).User,
                                                       world.users["auditor"]))
        assert draft.edition == 2 and draft.status == "draft"
        for indicator in draft.indicators:
            indicator.weight = Decimal(50) if indicator.code in "AB" else Decimal(0)
        db.session.flush()
        projects.approve(draft, db.session.get(__import__("app.models", fromlist=["User"]).User, world.users["viewer"]))
        assert q.status == "retired" and draft.status == "approved"
        earlier = db.session.get(SurveyResponse, world.surveys["a_response"])
        assert earlier.questionnaire_id == q.id and earlier.csi == Decimal("80.00")


# --- committee approval (R4) and the weights form ---

def test_only_the_committee_approves_and_weights_must_add_up(app, world, login_as):
    with app.app_context(), unscoped():
        q = db.session.get(Questionnaire, world.surveys["questionnaire"])
        from app.models import User

        draft = projects.new_edition(q, db.session.get(User, world.users["auditor"]))
        db.session.commit()
        draft_id = draft.id
    auditor = login_as("auditor")
    page = auditor.get(f"/surveys/questionnaires/{draft_id}")
    assert page.status_code == 200 and "/approve" not in page.text  # no approve button for the CX department
    values = form_on(page.text)
    weight_fields = sorted((k for k in values if k.startswith("w_")), key=lambda k: int(k[2:]))
    assert len(weight_fields) == 7
    values[weight_fields[0]] = "30"  # A 30: the total is 110
    refused = auditor.post(f"/surveys/questionnaires/{draft_id}", data=values)
    assert refused.status_code == 422 and "110" in refused.text
    values[weight_fields[1]] = "10"  # B 10: 100 again
    assert auditor.post(f"/surveys/questionnaires/{draft_id}", data=values).status_code == 302
    assert auditor.post_form(f"/surveys/questionnaires/{draft_id}/approve").status_code == 403
    viewer = login_as("viewer")
    seen = form_with(viewer.get(f"/surveys/questionnaires/{draft_id}").text, "seen")
    # Trial 16: a colleague changes the draft while the committee looks at it: nothing approved.
    changed = dict(values, **{weight_fields[0]: "25", weight_fields[1]: "15"})
    changed["version"] = form_on(auditor.get(f"/surveys/questionnaires/{draft_id}").text)["version"]
    assert auditor.post(f"/surveys/questionnaires/{draft_id}", data=changed).status_code == 302
    assert viewer.post(f"/surveys/questionnaires/{draft_id}/approve", data=seen).status_code == 302
    with app.app_context(), unscoped():
        assert db.session.get(Questionnaire, draft_id).status == "draft"
    values = changed
    seen = form_with(viewer.get(f"/surveys/questionnaires/{draft_id}").text, "seen")
    assert viewer.post(f"/surveys/questionnaires/{draft_id}/approve", data=seen).status_code == 302
    with app.app_context(), unscoped():
        approved = db.session.get(Questionnaire, draft_id)
        weights = {i.code: int(i.weight) for i in approved.indicators}
        assert weights == dict(SEED_004, A=25, B=15)
        assert approved.status == "approved" and approved.approved_by_id == world.users["viewer"]


def test_an_approved_questionnaire_cannot_be_changed(app, world, login_as):
    auditor = login_as("auditor")
    q = world.surveys["questionnaire"]
    page = auditor.get(f"/surveys/questionnaires/{q}")
    assert 'data-testid="weights-form"' not in page.text
    assert auditor.post_form(f"/surveys/questionnaires/{q}", {"w_1": "100"}).status_code == 200
    with app.app_context(), unscoped():
        assert int(db.session.get(Questionnaire, q).indicators[0].weight) == 20


# --- paper forms and the pages ---

def test_a_store_manager_keys_in_a_paper_form_once(app, world, login_as):
    client = login_as("owner_a")
    project = world.surveys["project"]
    page = client.get(f"/surveys/projects/{project}/enter")
    assert page.status_code == 200
    values = form_on(page.text)
    with app.app_context(), unscoped():
        q = db.session.get(Questionnaire, world.surveys["questionnaire"])
        values.update({f"q{k}": v for k, v in _raw(q, dict.fromkeys("ABCDEFG", 5), suggestion="很好").items()})
    values.update(store_id=str(world.a_stores[1]), answered_on="2026-03-05")
    first = client.post(f"/surveys/projects/{project}/enter", data=values)
    assert first.status_code == 302
    again = client.post(f"/surveys/projects/{project}/enter", data=values)  # Back, then Save
    assert again.status_code == 302
    with app.app_context(), unscoped():
        rows = db.session.scalars(select(SurveyResponse).where(SurveyResponse.store_id == world.a_stores[1])).all()
        assert len(rows) == 1 and rows[0].csi == Decimal("100.00") and rows[0].entered_by_id == world.users["owner_a"]
    # Another franchisee's store in the form is refused, whatever the drop-down offered.
    values = form_on(client.get(f"/surveys/projects/{project}/enter").text)
    values.update({f"q{k}": v for k, v in _raw(q, dict.fromkeys("ABCDEFG", 5)).items()})
    values.update(store_id=str(world.b_stores[0]), answered_on="2026-03-05")
    assert client.post(f"/surveys/projects/{project}/enter", data=values).status_code in (404, 422)


def test_a_missing_answer_keeps_what_was_typed(app, world, login_as):
    client = login_as("manager_a")
    project = world.surveys["project"]
    values = form_on(client.get(f"/surveys/projects/{project}/enter").text)
    with app.app_context(), unscoped():
        q = db.session.get(Questionnaire, world.surveys["questionnaire"])
        raw = _raw(q, dict.fromkeys("ABCDEFG", 3), suggestion="保留这段建议")
        del raw[q.questions[2].id]
    values.update({f"q{k}": v for k, v in raw.items()})
    values.update(store_id=str(world.a_stores[0]), answered_on="2026-03-05")
    page = client.post(f"/surveys/projects/{project}/enter", data=values)
    assert page.status_code == 422
    assert 'data-testid="question-problem"' in page.text and "保留这段建议" in page.text
    assert page.text.count(" checked") >= 7  # the six scale answers and "yes" stay ticked


def test_the_project_page_shows_only_the_readers_stores(app, world, login_as):
    page = login_as("owner_a").get(f"/surveys/projects/{world.surveys['project']}")
    assert page.status_code == 200
    assert "甲一店" in page.text and "乙一秘店" not in page.text
    assert "80.00" in page.text  # A's one response: all 4 -> 80
    network = login_as("auditor").get(f"/surveys/projects/{world.surveys['project']}")
    assert "乙一秘店" in network.text and "20.00" in network.text  # B's: all 1 -> 20
    # The whole network's index over both responses: every mean 2.5 -> 50.
    assert "50.00" in network.text


def test_the_schedule_has_the_eight_steps_and_marks_overdue_ones(app, world, login_as):
    page = login_as("auditor").get(f"/surveys/projects/{world.surveys['project']}")
    assert page.text.count('data-testid="step"') == 8
    # Scheduled from 2026-05-15 and nothing marked done: all past due by today.
    assert page.text.count('data-testid="step-overdue"') == 8
    with app.app_context(), unscoped():
        project = db.session.get(SurveyProject, world.surveys["project"])
        assert [s.key for s in project.steps] == ["design", "pre_survey", "plan", "fieldwork", "analysis", "draft",
                                                  "revision", "quality"]
        assert (project.steps[3].starts_on, project.steps[3].due_on) == (date(2026, 5, 19), date(2026, 5, 25))
        assert project.steps[-1].due_on == date(2026, 6, 6)  # 11.15-12.7: 22 days


def test_a_follow_up_is_recorded_once(app, world, login_as):
    with app.app_context(), unscoped():
        q = db.session.get(Questionnaire, world.surveys["questionnaire"])
        project = db.session.get(SurveyProject, world.surveys["project"])
        low = responses.record(project, db.session.get(Store, world.a_stores[0]), _raw(q, dict.fromkeys("ABCDEFG", 1)),
                               source="paper", answered_on=date(2026, 3, 9))
        db.session.commit()
        low_id = low.id
    client = login_as("staff_a")
    overview = client.get("/surveys/")
    assert overview.status_code == 200 and 'data-testid="follow-up-alert"' in overview.text
    listed = client.get("/surveys/follow-ups")
    assert f"/surveys/responses/{low_id}" in listed.text
    assert client.post_form(f"/surveys/responses/{low_id}", {"note": "已致电顾客致歉并更换商品"}).status_code == 302
    with app.app_context(), unscoped():
        done = db.session.get(SurveyResponse, low_id)
        assert done.follow_up == "done" and done.follow_up_by_id == world.users["staff_a"]
    assert f"/surveys/responses/{low_id}" not in client.get("/surveys/follow-ups").text


# --- the public pages ---

@pytest.fixture
def open_survey(app, world):
    with app.app_context(), unscoped():
        q = db.session.get(Questionnaire, world.surveys["questionnaire"])
        project = _current_project(q)
        store = db.session.get(Store, world.a_stores[0])
        db.session.commit()
        shape = SimpleNamespace(questions=[SimpleNamespace(
            id=x.id, kind=x.kind, indicator=SimpleNamespace(code=x.indicator.code) if x.indicator else None)
            for x in q.questions])
        return project.id, store.public_key, shape


def _answer_page(client, url, q, scores=5):
    page = client.get(url)
    assert page.status_code == 200, page.text
    values = form_on(page.text)
    values.update({f"q{k}": v for k, v in _raw(q, dict.fromkeys("ABCDEFG", scores)).items()})
    return values


def test_a_customer_answers_on_the_stores_page(app, world, client, open_survey, monkeypatch):
    project_id, key, q = open_survey
    app.config["PUBLIC_FORM_MIN_SECONDS"] = 0
    try:
        values = _answer_page(client, f"/survey/{key}", q)
        sent = client.post(f"/survey/{key}", data=values)
        assert sent.status_code == 302 and "/survey/done/" in sent.headers["Location"]
        assert "谢谢" in client.get(sent.headers["Location"]).text or "Thank" in client.get(sent.headers["Location"]).text
        again = client.post(f"/survey/{key}", data=values)  # Back, then Send
        assert again.status_code == 200 and 'data-testid="already-answered"' in again.text
    finally:
        app.config["PUBLIC_FORM_MIN_SECONDS"] = 3
    with app.app_context(), unscoped():
        rows = db.session.scalars(select(SurveyResponse).where(SurveyResponse.project_id == project_id)).all()
        assert len(rows) == 1 and rows[0].source == "store" and rows[0].customer_id is None
        assert rows[0].store_id == world.a_stores[0] and rows[0].csi == Decimal("100.00")


def test_the_public_page_refuses_robots_and_forged_pages(app, world, client, open_survey):
    project_id, key, q = open_survey
    values = _answer_page(client, f"/survey/{key}", q)
    too_fast = client.post(f"/survey/{key}", data=values)  # sent within 3 seconds of showing
    assert too_fast.status_code == 400 and 'data-testid="problem"' in too_fast.text
    forged = dict(values, stamp="forged-stamp")
    assert client.post(f"/survey/{key}", data=forged).status_code == 400
    app.config["PUBLIC_FORM_MIN_SECONDS"] = 0
    try:
        robot = dict(values, website="http://spam.example")
        assert client.post(f"/survey/{key}", data=robot).status_code == 400
    finally:
        app.config["PUBLIC_FORM_MIN_SECONDS"] = 3
    with app.app_context(), unscoped():
        assert not db.session.scalar(select(SurveyResponse.id).where(SurveyResponse.project_id == project_id))


def test_a_score_outside_one_to_five_is_refused_on_the_public_page(app, world, client, open_survey):
    project_id, key, q = open_survey
    app.config["PUBLIC_FORM_MIN_SECONDS"] = 0
    try:
        values = _answer_page(client, f"/survey/{key}", q)
        values[f"q{q.questions[0].id}"] = "9"
        page = client.post(f"/survey/{key}", data=values)
    finally:
        app.config["PUBLIC_FORM_MIN_SECONDS"] = 3
    assert page.status_code == 422 and 'data-testid="question-problem"' in page.text
    with app.app_context(), unscoped():
        assert not db.session.scalar(select(SurveyResponse.id).where(SurveyResponse.project_id == project_id))


def test_an_invitation_link_answers_once_and_links_the_customer(app, world, client, open_survey):
    project_id, key, q = open_survey
    with app.app_context(), unscoped():
        token, digest = public.new_token()
        db.session.add(SurveyInvitation(project_id=project_id, store_id=world.a_stores[0], franchisee_id=world.a,
                                        customer_id=world.customers["a"], token_hash=digest))
        db.session.commit()
    app.config["PUBLIC_FORM_MIN_SECONDS"] = 0
    try:
        values = _answer_page(client, f"/survey/i/{token}", q, scores=2)
        assert client.post(f"/survey/i/{token}", data=values).status_code == 302
        # The same link again, from another phone (a fresh page): already answered.
        other = client.application.test_client()
        again = other.get(f"/survey/i/{token}")
        assert again.status_code == 200 and 'data-testid="already-answered"' in again.text
    finally:
        app.config["PUBLIC_FORM_MIN_SECONDS"] = 3
    with app.app_context(), unscoped():
        rows = db.session.scalars(select(SurveyResponse).where(SurveyResponse.project_id == project_id)).all()
        assert len(rows) == 1 and rows[0].customer_id == world.customers["a"] and rows[0].source == "link"
        assert rows[0].follow_up == "open"  # every answer 2 points


def test_public_pages_for_unknown_links_and_closed_surveys_say_nothing(app, world, client):
    assert client.get("/survey/i/no-such-token").status_code == 404
    assert client.get("/survey/no-such-store").status_code == 404
    with app.app_context(), unscoped():
        key = db.session.get(Store, world.b_stores[0]).public_key
    page = client.get(f"/survey/{key}")  # no survey collecting today (the world's ran in 2026H1)
    assert page.status_code == 200 and 'data-testid="survey-closed"' in page.text
    for marker in ("乙方秘密问卷建议", "乙方秘密回访记录", world.b_markers[0]):
        assert marker not in page.text


def test_the_world_invitation_token_is_only_a_hash():
    # Tokens are stored as SHA-256 hashes: the link itself is nowhere in the database.
    token, digest = public.new_token()
    assert len(digest) == 64 and token not in digest and public.token_hash(token) == digest


def test_the_project_page_reads_stored_figures_in_a_fixed_number_of_statements(app, world, login_as, count_queries):
    client = login_as("auditor")
    url = f"/surveys/projects/{world.surveys['project']}"
    client.get(url)
    with count_queries() as few:
        client.get(url)
    with app.app_context(), unscoped():
        q = db.session.get(Questionnaire, world.surveys["questionnaire"])
        project = db.session.get(SurveyProject, world.surveys["project"])
        for n in range(30):
            store = db.session.get(Store, (world.a_stores + world.b_stores)[n % 4])
            responses.record(project, store, _raw(q, dict.fromkeys("ABCDEFG", 1 + n % 5)), source="paper",
                             answered_on=date(2026, 3, 1) + timedelta(days=n % 20))
        db.session.commit()
    with count_queries() as many:
        client.get(url)
    assert len(many) == len(few)


# --- sampling from the customer file and invitations (R44) ---

def _customers(app, world, n, prefix="样本", **values):
    from tests.factories import make_customer

    with app.app_context(), unscoped():
        store = db.session.get(Store, world.a_stores[1])
        ids = [make_customer(store, f"{prefix}{i:03d}", mobile=f"13{len(prefix)}0000{i:04d}", **values).id
               for i in range(n)]
        db.session.commit()
        return ids


def test_a_sample_takes_only_consenting_reachable_customers_once(app, world):
    consenting = _customers(app, world, 12, consent=True)
    refused = _customers(app, world, 5, prefix="不同意", consent=False)
    with app.app_context(), unscoped():
        project = db.session.get(SurveyProject, world.surveys["project"])
        criteria = sampling.Criteria(segment="potential", size=8, store_id=world.a_stores[1])
        assert sampling.invite(project, criteria, None) == 8
        assert sampling.invite(project, criteria, None) == 4  # only 4 left that agreed and are not invited
        assert sampling.invite(project, criteria, None) == 0
        invited = db.session.scalars(select(SurveyInvitation.customer_id).where(
            SurveyInvitation.project_id == project.id, SurveyInvitation.store_id == world.a_stores[1])).all()
        assert sorted(invited) == sorted(consenting) and not set(invited) & set(refused)
        # "current" customers have bought: none of these potential ones qualify.
        assert sampling.invite(project, sampling.Criteria(segment="current", size=5, store_id=world.a_stores[1]), None) == 0


def test_an_invitation_link_shown_to_the_store_opens_the_questionnaire_once(app, world, client, login_as, open_survey):
    project_id, key, q = open_survey
    _customers(app, world, 3, consent=True)
    auditor = login_as("auditor")
    page = auditor.get(f"/surveys/projects/{project_id}/invitations")
    values = form_on(page.text)
    values.update(segment="potential", size="2", franchisee_id=str(world.a))
    done = auditor.post(f"/surveys/projects/{project_id}/invite", data=values, follow_redirects=True)
    assert done.status_code == 200
    with app.app_context(), unscoped():
        ids = db.session.scalars(select(SurveyInvitation.id).where(SurveyInvitation.project_id == project_id)).all()
    assert len(ids) == 2
    manager = login_as("owner_a")
    shown = manager.get(f"/surveys/invitations/{ids[0]}")
    assert shown.status_code == 200 and 'data-testid="sms-text"' in shown.text
    link = shown.text.split("/survey/i/")[1].split()[0].split("<")[0].split('"')[0]
    app.config["PUBLIC_FORM_MIN_SECONDS"] = 0
    try:
        values = _answer_page(client, f"/survey/i/{link}", q)
        assert client.post(f"/survey/i/{link}", data=values).status_code == 302
    finally:
        app.config["PUBLIC_FORM_MIN_SECONDS"] = 3
    assert 'data-testid="invitation-answered"' in manager.get(f"/surveys/invitations/{ids[0]}").text
    # B's owner cannot open A's invitation, nor see it listed.
    owner_b = login_as("owner_b")
    assert owner_b.get(f"/surveys/invitations/{ids[1]}").status_code == 404
    assert f"/surveys/invitations/{ids[1]}" not in owner_b.get(f"/surveys/projects/{project_id}/invitations").text


def test_a_response_shows_on_the_customers_page(app, world, login_as):
    page = login_as("owner_b").get(f"/customers/{world.customers['b']}")
    assert 'data-testid="timeline-survey"' in page.text
    assert f"/surveys/responses/{world.surveys['b_response']}" in page.text


def test_a_running_survey_keeps_its_edition_when_a_new_one_is_approved(app, world, client, open_survey):
    """Trial 15: approving a new edition stopped the survey collecting answers."""
    from app.models import User

    project_id, key, q = open_survey
    with app.app_context(), unscoped():
        old = db.session.get(Questionnaire, world.surveys["questionnaire"])
        draft = projects.new_edition(old, db.session.get(User, world.users["auditor"]))
        projects.approve(draft, db.session.get(User, world.users["viewer"]))
        db.session.commit()
        assert old.status == "retired"
    page = client.get(f"/survey/{key}")
    assert page.status_code == 200 and 'data-testid="survey-form"' in page.text


def test_a_second_survey_of_the_same_half_year_is_refused(app, world):
    from app.models import User

    with app.app_context(), unscoped():
        q = db.session.get(Questionnaire, world.surveys["questionnaire"])
        with pytest.raises(RuleError):
            projects.create(name="重复", questionnaire=q, year=2026, half=1, schedule_from=date(2026, 5, 15),
                            purpose=None, created_by=db.session.get(User, world.users["auditor"]))
        with pytest.raises(RuleError):  # a schedule years away from its half-year
            projects.create(name="远", questionnaire=q, year=2027, half=1, schedule_from=date(2020, 1, 1),
                            purpose=None, created_by=None)


def test_a_paper_form_dated_in_the_future_is_refused(app, world):
    with app.app_context(), unscoped():
        q = db.session.get(Questionnaire, world.surveys["questionnaire"])
        project = _current_project(q)
        with pytest.raises(RuleError):
            responses.record(project, db.session.get(Store, world.a_stores[0]), _raw(q, dict.fromkeys("ABCDEFG", 4)),
                             source="paper", answered_on=local_today() + timedelta(days=3))


def test_a_purchase_invites_a_consenting_customer_to_the_post_purchase_survey_once(app, world):
    """R46: the four-question survey after a purchase, for customers who agreed to be contacted."""
    from app.models import Customer, User
    from app.services import customers as customer_service
    from tests.factories import make_customer

    with app.app_context(), unscoped():
        post = db.session.scalar(select(Questionnaire).where(Questionnaire.code == "POST"))
        projects.approve(post, db.session.get(User, world.users["viewer"]))
        project = _current_project(post)
        store = db.session.get(Store, world.a_stores[1])
        agreed = make_customer(store, "同意顾客", mobile="13711112222", consent=True)
        refused = make_customer(store, "未同意顾客", mobile="13711113333", consent=False)
        actor = db.session.get(User, world.users["owner_a"])
        for customer in (agreed, refused, agreed):
            customer_service.record_purchase(db.session.get(Customer, customer.id),
                                             {"purchased_on": local_today(), "amount": Decimal("99"), "items": "杯子"},
                                             actor)
        invited = db.session.execute(select(SurveyInvitation.customer_id, SurveyInvitation.segment).where(
            SurveyInvitation.project_id == project.id)).all()
        assert invited == [(agreed.id, "post_purchase")]


def test_headquarters_records_interviews_and_focus_groups(app, world, login_as):
    """R43: interviews and focus groups are recorded against the survey; franchisees don't see them."""
    project = world.surveys["project"]
    auditor = login_as("auditor")
    values = form_on(auditor.get(f"/surveys/projects/{project}/notes").text)
    values.update(kind="focus_group", held_on="2026-04-10", participants="8", who="上海门店的前核心客户",
                  summary="价格敏感度高；希望延长退货期限。")
    assert auditor.post(f"/surveys/projects/{project}/notes", data=values).status_code == 302
    assert auditor.post(f"/surveys/projects/{project}/notes", data=values).status_code == 302  # Back, then Save
    page = login_as("viewer").get(f"/surveys/projects/{project}/notes")
    assert page.text.count("希望延长退货期限") == 1 and 'data-testid="note-form"' not in page.text
    assert login_as("owner_a").get(f"/surveys/projects/{project}/notes").status_code == 403
    late = dict(values, held_on=(local_today() + timedelta(days=2)).isoformat(), submission="")
    assert auditor.post(f"/surveys/projects/{project}/notes", data=late).status_code == 422


def test_a_sample_can_be_drawn_by_franchisee_size(app, world):
    """R44: franchisees by how many stores they run. A and B run two stores each; a new
    franchisee C runs one: "one store" samples only C's customers, "2 to 5" only A's and B's."""
    from app.models import Franchisee, Region
    from tests.factories import make_customer, make_franchisee, make_store

    with app.app_context(), unscoped():
        c = make_franchisee("丙方加盟商", "FR-C-001")
        store = make_store("C01", "丙一店", c, db.session.get(Region, world.east))
        only_c = [make_customer(store, f"丙顾客{i}", mobile=f"1377777{i:04d}", consent=True).id for i in range(3)]
        project = db.session.get(SurveyProject, world.surveys["project"])
        single = sampling.Criteria(segment="potential", size=50, franchisee_size="single")
        assert sampling.invite(project, single, None) == 3
        invited = set(db.session.scalars(select(SurveyInvitation.customer_id).where(
            SurveyInvitation.project_id == project.id, SurveyInvitation.segment == "potential")))
        assert invited == set(only_c)
        small = sampling.Criteria(segment="potential", size=50, franchisee_size="small")
        sampling.invite(project, small, None)
        franchisees = set(db.session.scalars(select(SurveyInvitation.franchisee_id).where(
            SurveyInvitation.project_id == project.id, SurveyInvitation.segment == "potential",
            SurveyInvitation.customer_id.not_in(only_c))))
        assert franchisees <= {world.a, world.b} and db.session.get(Franchisee, c.id) is not None
        with pytest.raises(RuleError):
            sampling.invite(project, sampling.Criteria(segment="potential", size=5, franchisee_size="huge"), None)


@pytest.fixture
def mail_server(app, monkeypatch):
    """A stand-in SMTP server collecting what is sent, and the portal configured to use it."""
    import smtplib

    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            sent.append(message)

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app.config.update(MAIL_SERVER="smtp.example.cn", MAIL_PORT=25, MAIL_SENDER="cx@example.cn")
    yield sent
    app.config.update(MAIL_SERVER="")


def test_with_a_mail_server_invitations_are_e_mailed_with_the_link_filled_in_only_when_sent(
        app, world, login_as, mail_server):
    """R44/R46: customers with an e-mail address get their personal link by e-mail, sent by the
    periodic job; the link is never stored, the outbox page does not show it, and the invitation
    is marked sent. Without an address the store sends the link as before."""
    from datetime import datetime

    from app.models.notification import Delivery
    from app.services import notifications
    from tests.factories import make_customer

    with app.app_context(), unscoped():
        store = db.session.get(Store, world.a_stores[1])
        with_mail = make_customer(store, "邮件顾客", email="mail-me@example.cn", mobile="13755550001", consent=True)
        without = make_customer(store, "短信顾客", mobile="13755550002", consent=True)
        project = db.session.get(SurveyProject, world.surveys["project"])
        assert sampling.invite(project, sampling.Criteria(segment="potential", size=10,
                                                          store_id=world.a_stores[1]), None) == 2
        queued = db.session.scalars(select(Delivery).where(Delivery.survey_invitation_id.is_not(None))).all()
        assert [d.target for d in queued] == ["mail-me@example.cn"]
        assert "{survey_link}" in queued[0].text and "/survey/i/" not in queued[0].text
        db.session.commit()
        assert not mail_server  # nothing is sent inside the request that invites
        notifications.deliver_due(datetime.utcnow() + timedelta(seconds=1))
        assert len(mail_server) == 1 and mail_server[0]["To"] == "mail-me@example.cn"
        body = mail_server[0].get_content()
        assert "/survey/i/" in body and "{survey_link}" not in body
        invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.customer_id == with_mail.id))
        assert invitation.sent_at is not None
        assert db.session.scalar(select(SurveyInvitation.sent_at).where(
            SurveyInvitation.customer_id == without.id)) is None
        token = body.split("/survey/i/")[1].split()[0]
        assert public.token_hash(token) == invitation.token_hash
    outbox = login_as("admin").get("/notifications/deliveries?state=sent").text
    assert "mail-me@example.cn" in outbox and "/survey/i/" not in outbox


def test_anonymising_a_customer_drops_their_unsent_invitation_e_mail(app, world, mail_server):
    from app.models import Customer, User
    from app.models.notification import Delivery
    from app.services import customers as customer_service
    from tests.factories import make_customer

    with app.app_context(), unscoped():
        store = db.session.get(Store, world.a_stores[1])
        customer = make_customer(store, "要删除的顾客", email="forget-me@example.cn", consent=True)
        project = db.session.get(SurveyProject, world.surveys["project"])
        sampling.invite(project, sampling.Criteria(segment="potential", size=10, store_id=world.a_stores[1]), None)
        assert db.session.scalar(select(Delivery.id).where(Delivery.target == "forget-me@example.cn"))
        customer_service.anonymise(db.session.get(Customer, customer.id), "request",
                                   db.session.get(User, world.users["owner_a"]))
        assert db.session.scalar(select(Delivery.id).where(Delivery.target == "forget-me@example.cn")) is None


def test_a_franchisee_size_nobody_has_says_so(app, world, login_as):
    auditor = login_as("auditor")
    auditor.post_form("/language", {"lang": "en", "next": "/"})
    url = f"/surveys/projects/{world.surveys['project']}/invite"
    response = auditor.post_form(url, {"segment": "potential", "size": "5", "region_id": "0", "franchisee_id": "0",
                                       "franchisee_size": "large", "store_size": "", "grade": ""},
                                 follow_redirects=True)
    assert "No franchisee runs that many open stores" in response.text
