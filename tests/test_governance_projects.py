"""Improvement projects (推动改进项目, seed 000) and the feedback-to-improvement cycle (seed 003,
issue 15): opened from their sources and linked back, the cycle root cause → plan →
implementation → evaluation, departments' parts in their task queue (R74), suggestions and
praise classified and screened, departments' answers to reports (R56) landing in the register."""
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Complaint, ImprovementProject, ProjectPart, User
from app.models.base import local_today
from app.models.report import ReportRecipient
from app.security.tenancy import unscoped
from app.services import RuleError
from app.services.governance import projects
from tests.factories import make_complaint


@pytest.fixture
def en(ctx):
    from app.i18n import force_locale

    with force_locale("en"), current_app.test_request_context():
        yield


def _user(world, role) -> User:
    return db.session.get(User, world.users[role])


def _project(world) -> ImprovementProject:
    return db.session.get(ImprovementProject, world.governance["project"])


def _new(world, **values) -> ImprovementProject:
    data = {"title": "门店等候区改进", "goal": "等候投诉减半", "department": "cx", "impact": "high",
            "due_on": local_today() + timedelta(days=30)} | values
    project = projects.create(data, _user(world, "auditor"))
    db.session.flush()
    return project


def test_a_project_needs_an_owner_department_a_goal_and_a_sensible_date(en, world):
    with pytest.raises(RuleError, match="department that owns"):
        _new(world, department="")
    with pytest.raises(RuleError, match="title and a goal"):
        _new(world, goal="  ")
    with pytest.raises(RuleError, match="past"):
        _new(world, due_on=local_today() - timedelta(days=1))
    with pytest.raises(RuleError, match="three years"):
        _new(world, due_on=local_today().replace(year=local_today().year + 5))
    first, second = _new(world), _new(world)
    year = local_today().year
    # The world's project is number 001 of the year; the numbers go on.
    assert (first.reference, second.reference) == (f"GJ{year}-002", f"GJ{year}-003")
    assert first.stage == "analysis" and _new(world, root_cause="等候区座位不足").stage == "plan"


def test_the_cycle_is_taken_in_turn_with_what_each_step_needs(en, world):
    auditor = _user(world, "auditor")
    project = _new(world)
    with pytest.raises(RuleError, match="in turn"):
        projects.advance(project, "implementation", auditor)
    with pytest.raises(RuleError, match="root cause"):
        projects.advance(project, "plan", auditor)
    project.root_cause = "等候区座位不足"
    projects.advance(project, "plan", auditor)
    with pytest.raises(RuleError, match="measures"):
        projects.advance(project, "implementation", auditor)
    project.measures = "增加座位，提供饮水"
    projects.advance(project, "implementation", auditor)
    part = projects.add_part(project, "logistics", "采购座椅", local_today() + timedelta(days=5), auditor)
    db.session.flush()
    with pytest.raises(RuleError, match="Every department"):
        projects.advance(project, "evaluation", auditor)
    with pytest.raises(RuleError, match="implemented"):
        projects.evaluate(project, "effective", "好", auditor)
    db.session.refresh(part)
    projects.complete_part(part, "已采购 20 把座椅", db.session.get(User, world.users["auditor"]))
    projects.advance(project, "evaluation", auditor)
    with pytest.raises(RuleError, match="evidence"):
        projects.evaluate(project, "effective", " ", auditor)
    projects.evaluate(project, "effective", "等候投诉由 12 件降到 4 件", auditor)
    db.session.refresh(project)
    assert (project.stage, project.effect, project.progress, project.parts_done) == ("closed", "effective", 100, 1)
    with pytest.raises(RuleError, match="finished"):
        projects.report_progress(project, "再补充", None, auditor)
    with pytest.raises(RuleError, match="finished"):
        projects.edit(project, {"department": "cx"}, auditor)


def test_a_step_pressed_on_a_page_gone_stale_is_refused_not_applied_twice(en, world):
    """Two people press "move on" on the same project: the second is told, the step moves once."""
    auditor = _user(world, "auditor")
    project = _new(world, root_cause="原因", measures="措施")
    projects.advance(project, "implementation", auditor)  # (from "plan")
    db.session.commit()
    stale = ImprovementProject(id=project.id, stage="plan")  # what the second page still showed
    with pytest.raises(RuleError, match="meanwhile"):
        projects._move(stale, stage="implementation")


def test_two_departments_reporting_their_parts_at_once_both_count(app, world):
    """The counts move in their own UPDATE: each part done counts once, whatever order."""
    with app.app_context(), unscoped(), app.test_request_context():
        project = _project(world)
        parts = [db.session.get(ProjectPart, world.governance[k]) for k in ("service_part", "logistics_part")]
        version = project.version
        for part in parts:
            projects.complete_part(part, "完成", db.session.get(User, world.users["auditor"]))
        db.session.commit()
        db.session.refresh(project)
        assert (project.parts_count, project.parts_done) == (2, 2)
        assert project.version == version  # a colleague's open edit form is not refused for it


def test_the_source_and_the_project_link_both_ways(world, login_as):
    auditor = login_as("auditor")
    complaint_id = world.complaints["a"]
    page = auditor.get(f"/complaints/{complaint_id}").text
    assert "data-testid=\"open-project\"" in page
    form = auditor.get(f"/governance/projects/new?source=complaint&ref={complaint_id}")
    assert form.status_code == 200
    token = "f" * 32
    data = {"title": "投诉处理话术改进", "goal": "同类投诉减少一半", "department": "customer_service",
            "impact": "high", "due_on": (local_today() + timedelta(days=40)).isoformat(), "submission": token}
    created = auditor.post_form(f"/governance/projects/new?source=complaint&ref={complaint_id}", data)
    assert created.status_code == 302
    again = auditor.post_form(f"/governance/projects/new?source=complaint&ref={complaint_id}", data)
    assert again.status_code == 302 and again.location == created.location  # Back then Save: one project
    project_page = auditor.get(created.location).text
    assert "投诉处理话术改进" in project_page and f"/complaints/{complaint_id}" in project_page
    with auditor.application.app_context(), unscoped():
        project = db.session.scalar(select(ImprovementProject).where(ImprovementProject.title == "投诉处理话术改进"))
        assert project.sources_count == 1
        reference = project.reference
    assert reference in auditor.get(f"/complaints/{complaint_id}").text


def test_a_project_without_an_owner_is_refused_with_the_typed_text_kept(world, login_as):
    auditor = login_as("auditor")
    token = "e" * 32
    response = auditor.post_form("/governance/projects/new", {
        "title": "无主项目", "goal": "保留我输入的目标", "department": "0", "impact": "high",
        "due_on": (local_today() + timedelta(days=10)).isoformat(), "submission": token})
    assert response.status_code == 422
    assert "保留我输入的目标" in response.text
    with auditor.application.app_context(), unscoped():
        assert db.session.scalar(select(ImprovementProject).where(ImprovementProject.title == "无主项目")) is None


def test_a_departments_part_waits_in_its_queue_and_only_that_department_reports_it_done(world, login_as):
    dept = login_as("dept")  # customer service
    queue = dept.get("/complaints/tasks").text
    assert "更新话术" in queue and "核定时效" not in queue  # logistics' part is not in this queue
    logistics_part = world.governance["logistics_part"]
    refused = dept.post_form(f"/governance/projects/parts/{logistics_part}/done", {"outcome": "越权"},
                             follow_redirects=True)
    assert "another department" in refused.text or "其他部门" in refused.text
    done = dept.post_form(f"/governance/projects/parts/{world.governance['service_part']}/done",
                          {"outcome": "话术已更新并培训"}, follow_redirects=True)
    assert done.status_code == 200 and "话术已更新并培训" in done.text
    assert "更新话术" not in dept.get("/complaints/tasks").text
    with dept.application.app_context(), unscoped():
        assert db.session.get(ProjectPart, logistics_part).done_at is None
    # A department reports progress on a project it takes part in; it does not steer it.
    project = world.governance["project"]
    assert dept.post_form(f"/governance/projects/{project}/progress", {"progress-body": "进行中",
                                                                         "progress-progress": "30"}).status_code == 302
    assert dept.post_form(f"/governance/projects/{project}/stage", {"to": "plan"}).status_code == 403


def test_a_department_does_not_read_other_franchisees_complaints_among_the_sources(world, login_as):
    reference = None
    with login_as("auditor").application.app_context(), unscoped():
        reference = db.session.get(Complaint, world.complaints["b"]).reference
    assert reference in login_as("auditor").get(f"/governance/projects/{world.governance['project']}").text
    page = login_as("dept").get(f"/governance/projects/{world.governance['project']}")
    assert page.status_code == 200 and reference not in page.text
    assert login_as("owner_a").get("/governance/projects").status_code == 403


def test_suggestions_are_classified_screened_into_a_project_and_the_cycle_shows(en, world):
    auditor = _user(world, "auditor")
    store = db.session.get(Complaint, world.complaints["a"]).store
    suggestion = make_complaint(store, "建议周末延长营业", kind="suggestion", actor=auditor)
    praise = make_complaint(store, "表扬店员耐心", kind="praise", actor=auditor)
    db.session.flush()
    assert (suggestion.feedback_state, praise.feedback_state) == ("new", "new")
    with pytest.raises(RuleError, match="positive or negative"):
        projects.classify(suggestion, "", "high", None, auditor)
    projects.classify(suggestion, "negative", "high", None, auditor)
    projects.classify(praise, "positive", "low", None, auditor, no_action=True)
    db.session.flush()
    assert (suggestion.feedback_state, praise.feedback_state) == ("classified", "no_action")
    complaint = db.session.get(Complaint, world.complaints["a"])
    with pytest.raises(RuleError, match="CAPA"):
        projects.classify(complaint, "negative", "high", None, auditor)
    project = _new(world)
    projects.link(project, projects.find_source("feedback", suggestion.id), auditor)
    db.session.flush()
    db.session.refresh(suggestion)
    assert suggestion.feedback_state == "in_project"
    with pytest.raises(RuleError, match="already linked"):
        projects.link(project, projects.find_source("feedback", suggestion.id), auditor)
    assert projects.feedback_counts()["in_project"] >= 1 and projects.stage_counts()["analysis"] >= 1
    assert projects.find_source("complaint", suggestion.id) is None  # a suggestion is feedback, not CAPA


def test_classifying_moves_the_version_so_a_stores_open_edit_keeps_the_new_topic(en, world):
    auditor = _user(world, "auditor")
    store = db.session.get(Complaint, world.complaints["a"]).store
    suggestion = make_complaint(store, "建议增加停车位", kind="suggestion", actor=auditor)
    db.session.flush()
    version = suggestion.version
    projects.classify(suggestion, "negative", "medium", None, auditor)
    db.session.flush()
    db.session.refresh(suggestion)
    assert suggestion.version == version + 1 and suggestion.classified_by_id == auditor.id


def test_the_feedback_page_classifies_and_offers_screening(world, login_as):
    auditor = login_as("auditor")
    with auditor.application.app_context(), unscoped():
        store = db.session.get(Complaint, world.complaints["a"]).store
        suggestion = make_complaint(store, "建议提供儿童游乐区", kind="suggestion",
                                    actor=db.session.get(User, world.users["auditor"]))
        db.session.commit()
        suggestion_id = suggestion.id
    assert "建议提供儿童游乐区" in auditor.get("/governance/feedback").text
    bad = auditor.post_form(f"/governance/feedback/{suggestion_id}/classify",
                            {"sentiment": "0", "impact": "high", "category_id": "0"}, follow_redirects=True)
    assert bad.status_code == 200 and ("Choose positive or negative" in bad.text or "请选择正面或负面" in bad.text)
    ok = auditor.post_form(f"/governance/feedback/{suggestion_id}/classify",
                           {"sentiment": "negative", "impact": "high", "category_id": "0"})
    assert ok.status_code == 302
    screening = auditor.get("/governance/feedback?tab=classified&sentiment=negative&impact=high").text
    assert "建议提供儿童游乐区" in screening and f"source=feedback&amp;ref={suggestion_id}" in screening
    assert login_as("viewer").get("/governance/feedback").status_code == 200  # the committee reads it
    assert login_as("viewer").post_form(f"/governance/feedback/{suggestion_id}/classify",
                                        {"sentiment": "positive", "impact": "low"}).status_code == 403
    assert login_as("dept").get("/governance/feedback").status_code == 403


def test_a_departments_answer_to_a_report_lands_in_the_register(world, login_as):
    auditor = login_as("auditor")
    with auditor.application.app_context(), unscoped():
        from app.models.base import utcnow
        from app.models.report import Report

        report = db.session.scalar(select(Report).limit(1))  # (B's store report: headquarters reads it)
        answered = ReportRecipient(report_id=report.id, key="department:logistics", kind="department",
                                   department="logistics", answer="每周复盘配送延误", answered_at=utcnow())
        db.session.add(answered)
        db.session.commit()
        recipient_id = answered.id
    page = auditor.get("/governance/feedback?tab=responses").text
    assert "每周复盘配送延误" in page and f"source=report_response&amp;ref={recipient_id}" in page
    form = auditor.get(f"/governance/projects/new?source=report_response&ref={recipient_id}").text
    assert "每周复盘配送延误" in form  # the answer's measures start the plan
    assert '<option selected value="logistics">' in form


def test_pages_that_list_projects_use_a_constant_number_of_statements(app, world, login_as, count_queries):
    auditor = login_as("auditor")
    auditor.get("/governance/projects")
    with count_queries() as few:
        auditor.get("/governance/projects")
    with app.app_context(), unscoped(), app.test_request_context():
        for number in range(8):
            _new(world, title=f"批量项目 {number}")
        db.session.commit()
    with count_queries() as many:
        auditor.get("/governance/projects")
    assert len(many) == len(few)


def test_unknown_or_foreign_sources_are_not_found(world, login_as):
    auditor = login_as("auditor")
    assert auditor.get("/governance/projects/new?source=complaint&ref=99999999").status_code == 404
    assert auditor.get("/governance/projects/new?source=nonsense&ref=1").status_code == 404
    assert auditor.get("/governance/projects/new?source=complaint&ref=1234567890123456789012345").status_code == 404
    linked = auditor.post_form("/governance/projects/link?source=complaint&ref=%d" % world.complaints["a"],
                               {"project_id": "99999"}, follow_redirects=True)
    assert linked.status_code == 200 and "data-testid=\"link-form\"" in linked.text  # refused, back on the form
    added = auditor.post_form("/governance/projects/link?source=complaint&ref=%d" % world.complaints["a"],
                              {"project_id": str(world.governance["project"])}, follow_redirects=True)
    assert added.status_code == 200 and "送货承诺改进" in added.text


def test_two_people_editing_a_project_do_not_overwrite_each_other(world, login_as):
    """Back then Save, or two tabs: a save from an older page keeps the colleague's change to
    another field and asks when both changed the same one."""
    first, second = login_as("auditor"), login_as("admin")
    project = world.governance["project"]
    url = f"/governance/projects/{project}/edit"

    def fields(page):
        import html
        import re
        return {name: html.unescape(value)
                for name, value in re.findall(r'name="(version|original)" type="hidden" value="([^"]*)"', page)}

    opened_first, opened_second = fields(first.get(url).text), fields(second.get(url).text)
    due = (local_today() + timedelta(days=30)).isoformat()
    base = {"title": "送货承诺改进", "goal": "准时率 95%", "department": "logistics", "impact": "high", "due_on": due,
            "owner_name": "", "root_cause": "", "measures": ""}
    assert first.post_form(url, base | opened_first | {"owner_name": "钱磊"}).status_code == 302
    kept = second.post_form(url, base | opened_second | {"goal": "准时率 97%"})
    assert kept.status_code == 302  # different fields: both kept
    clash = second.post_form(url, base | opened_second | {"owner_name": "孙丽"})
    assert clash.status_code in (409, 422) and "孙丽" in clash.text
    with first.application.app_context(), unscoped():
        saved = db.session.get(ImprovementProject, project)
        assert (saved.owner_name, saved.goal) == ("钱磊", "准时率 97%")


def test_an_emptied_root_cause_is_refused_once_the_plan_builds_on_it(en, world):
    auditor = _user(world, "auditor")
    project = _new(world, root_cause="原因")
    data = {"title": project.title, "goal": project.goal, "department": "cx", "due_on": project.due_on,
            "impact": "high", "root_cause": " ", "measures": ""}
    with pytest.raises(RuleError, match="root cause"):
        projects.edit(project, data, auditor)


def test_the_owner_departments_queue_lists_its_projects(world, login_as):
    with login_as("auditor").application.app_context(), unscoped(), current_app.test_request_context():
        _new(world, title="客服部自己的项目", department="customer_service")
        db.session.commit()
    queue = login_as("dept").get("/complaints/tasks").text
    assert "客服部自己的项目" in queue and "送货承诺改进" in queue  # owned, and a part in logistics' project
    assert "客服部自己的项目" not in login_as("auditor").get("/complaints/tasks?department=logistics").text


def test_trial_25_a_part_added_at_evaluation_or_after_the_projects_date_is_refused(en, world):
    auditor = _user(world, "auditor")
    project = _new(world, root_cause="原因", measures="措施")
    with pytest.raises(RuleError, match="completion date"):
        projects.add_part(project, "hr", "培训", project.due_on + timedelta(days=1), auditor)
    projects.advance(project, "implementation", auditor)
    db.session.flush()
    db.session.refresh(project)
    projects.advance(project, "evaluation", auditor)
    db.session.flush()
    db.session.refresh(project)
    with pytest.raises(RuleError, match="go back to the implementation"):
        projects.add_part(project, "hr", "培训", project.due_on, auditor)
    with pytest.raises(RuleError, match="in turn"):
        projects.advance(project, "plan", auditor)  # back two steps at once


def test_trial_25_a_step_from_a_stale_tab_is_refused_with_the_step_it_is_at(world, login_as):
    """Two tabs at "implementation": one moves on (its parts are done), the other presses
    "back"; the second is told the project moved, and it stays where the first put it."""
    auditor = login_as("auditor")
    project = world.governance["project"]
    with auditor.application.app_context(), unscoped(), auditor.application.test_request_context():
        found = db.session.get(ImprovementProject, project)
        found.root_cause, found.measures, found.stage = "原因", "措施", "implementation"
        for part in found.parts:
            projects.complete_part(part, "完成", db.session.get(User, world.users["auditor"]))
        db.session.commit()
    moved = auditor.post_form(f"/governance/projects/{project}/stage", {"to": "evaluation", "seen": "implementation"},
                              follow_redirects=True)
    assert "效果评估" in moved.text or "Evaluation" in moved.text
    stale = auditor.post_form(f"/governance/projects/{project}/stage", {"to": "plan", "seen": "implementation"},
                              follow_redirects=True)
    assert stale.status_code == 200 and ("其他人刚刚修改了该项目" in stale.text or "changed this project" in stale.text)
    with auditor.application.app_context(), unscoped():
        assert db.session.get(ImprovementProject, project).stage == "evaluation"


def test_trial_25_a_refused_part_report_keeps_the_typed_text_and_progress_is_recorded_once(world, login_as):
    dept = login_as("dept")
    part, project = world.governance["service_part"], world.governance["project"]
    long_text = "进" * 5001
    refused = dept.post_form(f"/governance/projects/parts/{part}/done", {"outcome": long_text})
    assert refused.status_code == 422 and long_text in refused.text
    token = "d" * 32
    data = {"progress-body": "同一条进展", "progress-progress": "30", "progress-submission": token}
    assert dept.post_form(f"/governance/projects/{project}/progress", data).status_code == 302
    again = dept.post_form(f"/governance/projects/{project}/progress", data, follow_redirects=True)
    assert again.text.count("同一条进展") == 1  # Back then Save: recorded once


def test_trial_25_a_wrongly_linked_suggestion_is_taken_off_and_goes_back_to_screening(en, world):
    auditor = _user(world, "auditor")
    store = db.session.get(Complaint, world.complaints["a"]).store
    suggestion = make_complaint(store, "建议增加试躺区", kind="suggestion", actor=auditor)
    db.session.flush()
    projects.classify(suggestion, "negative", "high", None, auditor)
    project = _new(world)
    link = projects.link(project, projects.find_source("feedback", suggestion.id), auditor)
    db.session.flush()
    projects.unlink(project, link, auditor)
    db.session.flush()
    db.session.refresh(suggestion)
    db.session.refresh(project)
    assert (suggestion.feedback_state, project.sources_count) == ("classified", 0)


def test_trial_25_a_department_sees_the_sources_its_tasks_reach(world, login_as):
    """The world's project comes from B's complaint; a department with a task on it sees its number."""
    with login_as("auditor").application.app_context(), unscoped():
        from app.models import ComplaintTask

        complaint = db.session.get(Complaint, world.complaints["b"])
        reference = complaint.reference
        db.session.add(ComplaintTask(complaint_id=complaint.id, store_id=complaint.store_id,
                                     franchisee_id=complaint.franchisee_id, department="customer_service",
                                     title="回访", due_on=local_today() + timedelta(days=3)))
        db.session.commit()
    assert reference in login_as("dept").get(f"/governance/projects/{world.governance['project']}").text


def test_trial_26_the_projects_date_stays_after_its_open_parts_and_titles_lose_direction_overrides(en, world):
    auditor = _user(world, "auditor")
    project = _project(world)  # its parts are due in 20 days
    data = {"title": "\u202e送货承诺改进", "goal": project.goal, "department": project.department, "impact": "high",
            "due_on": local_today() + timedelta(days=5), "root_cause": "", "measures": ""}
    with pytest.raises(RuleError, match="part is due on"):
        projects.edit(project, data, auditor)
    projects.edit(project, data | {"due_on": local_today() + timedelta(days=25)}, auditor)
    assert project.title == "送货承诺改进"  # the override that reversed the text after it is gone


def test_trial_26_a_source_taken_off_in_another_tab_is_explained(world, login_as):
    auditor = login_as("auditor")
    project = world.governance["project"]
    with auditor.application.app_context(), unscoped():
        source_id = db.session.get(ImprovementProject, project).sources[0].id
    url = f"/governance/projects/{project}/sources/{source_id}/unlink"
    assert auditor.post_form(url).status_code == 302
    again = auditor.post_form(url, follow_redirects=True)
    assert again.status_code == 200 and ("no longer linked" in again.text or "已不再关联" in again.text)
    assert "尚未关联来源" in again.text


def test_trial_26_every_forms_free_text_loses_direction_overrides(app):
    """At the shared depth (app.forms.safe_text): a complaint's, an announcement's or a project's
    title typed with U+202E no longer reverses what is drawn after it."""
    from flask_wtf import FlaskForm
    from wtforms import StringField

    from app.forms import safe_text

    class Form(FlaskForm):
        title = StringField(validators=[safe_text(20)])

    with app.test_request_context(method="POST", data={"title": "\u202e标题\u2066x\u2069"}):
        form = Form(meta={"csrf": False})
        assert form.validate() and form.title.data == "标题x"
