"""The customer-experience committee's one approval workflow (issue 15, R4): a draft put forward,
commented on, approved or returned; only the approval puts it in use; the requests are the
history of who approved what, when."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditTemplate, KpiThreshold, Questionnaire, User
from app.models.governance import Approval, Manual
from app.services import RuleError, approvals
from app.services.audits import templates
from app.services.governance import manuals
from app.services.surveys import projects


@pytest.fixture
def en(ctx):
    from app.i18n import force_locale

    with force_locale("en"):
        yield


def _user(world, role) -> User:
    return db.session.get(User, world.users[role])


def _draft_questionnaire(world) -> Questionnaire:
    approved = db.session.get(Questionnaire, world.surveys["questionnaire"])
    return projects.new_edition(approved, _user(world, "auditor"))


def test_a_draft_is_put_forward_commented_and_approved_and_only_then_used(en, world):
    auditor, committee = _user(world, "auditor"), _user(world, "viewer")
    draft = _draft_questionnaire(world)
    request = approvals.submit("questionnaire", draft, auditor, "第二版：权重调整")
    assert request.status == "pending" and draft.status == "draft"
    with pytest.raises(RuleError, match="already waiting"):
        approvals.submit("questionnaire", draft, auditor)
    approvals.comment(request, committee, "交付指标权重是否过高？")
    assert request.comments_count == 1
    with pytest.raises(RuleError, match="committee"):
        approvals.decide(request, auditor, "approve", None, request.fingerprint)  # not the committee
    with pytest.raises(RuleError):
        approvals.decide(request, committee, "approve", None, "something else")  # not what it saw
    approvals.decide(request, committee, "approve", "同意", request.fingerprint)
    assert (request.status, request.decided_by_id, draft.status) == ("approved", committee.id, "approved")
    previous = db.session.get(Questionnaire, world.surveys["questionnaire"])
    assert previous.status == "retired"
    with pytest.raises(RuleError, match="already decided"):
        approvals.decide(request, committee, "return", "晚了", request.fingerprint)


def test_a_draft_changed_after_it_was_put_forward_is_not_approved_and_is_returned_with_reasons(en, world):
    auditor, committee = _user(world, "auditor"), _user(world, "viewer")
    draft = _draft_questionnaire(world)
    request = approvals.submit("questionnaire", draft, auditor)
    draft.indicators[0].weight = draft.indicators[0].weight + Decimal("0.05")
    db.session.flush()
    with pytest.raises(RuleError, match="changed after it was put forward"):
        approvals.decide(request, committee, "approve", None, request.fingerprint)
    with pytest.raises(RuleError, match="Say what should change"):
        approvals.decide(request, committee, "return", "  ", None)
    approvals.decide(request, committee, "return", "权重合计不对", None)
    assert request.status == "returned" and draft.status == "draft"
    again = approvals.submit("questionnaire", draft, auditor, "已改")  # put forward again as it is now
    assert [a.status for a in approvals.history_of("questionnaire", draft.id)] == ["pending", "returned"]
    assert again.fingerprint != request.fingerprint


def test_an_audit_template_is_put_in_use_by_the_committee(en, world):
    auditor, committee = _user(world, "auditor"), _user(world, "viewer")
    current = db.session.scalar(select(AuditTemplate).where(AuditTemplate.status == "active"))
    draft = templates.new_version(current, auditor)
    with pytest.raises(RuleError, match="prepare"):
        approvals.submit("template", draft, _user(world, "owner_a"))
    request = approvals.submit("template", draft, auditor)
    approvals.decide(request, committee, "approve", None, request.fingerprint)
    assert (draft.status, current.status) == ("active", "retired")


def test_a_policy_takes_effect_only_by_the_committee(en, world):
    auditor, committee = _user(world, "auditor"), _user(world, "viewer")
    policy = manuals.create_manual({"code": "POL", "title_zh": "方针", "title_en": "Policy", "kind": "policy",
                                    "body_zh": "以客户为中心"}, auditor)
    version = manuals.draft_of(policy)
    with pytest.raises(RuleError, match="committee approves it"):
        manuals.publish(version, auditor)
    with pytest.raises(RuleError, match="in English too"):  # read in both languages (trial 24)
        approvals.submit("policy", version, auditor)
    manuals.edit_draft(version, {"body_zh": "以客户为中心", "body_en": "Customer-centred"})
    request = approvals.submit("policy", version, auditor)
    approvals.decide(request, committee, "approve", None, request.fingerprint)
    assert version.status == "published" and db.session.get(Manual, policy.id).current_number == 1


def test_approving_from_the_drafts_own_page_is_recorded_in_the_history(en, world):
    committee = _user(world, "viewer")
    threshold = KpiThreshold(kpi="complaint_rate", edition=1, green=Decimal(1), red=Decimal(3))
    db.session.add(threshold)
    db.session.flush()
    approvals.approve_from_page("threshold", threshold, committee, approvals.of_threshold(threshold))
    history = approvals.history_of("threshold", threshold.id)
    assert threshold.status == "approved"
    assert [(a.status, a.submitted_by_id, a.decided_by_id) for a in history] == [("approved", None, committee.id)]


def test_a_request_whose_draft_was_replaced_can_only_be_returned(en, world):
    auditor, committee = _user(world, "auditor"), _user(world, "viewer")
    threshold = KpiThreshold(kpi="complaint_rate", edition=1, green=Decimal(1), red=Decimal(3))
    db.session.add(threshold)
    db.session.flush()
    request = approvals.submit("threshold", threshold, auditor)
    db.session.delete(threshold)  # a newer draft of the same KPI replaced it
    db.session.flush()
    with pytest.raises(RuleError, match="no longer a draft"):
        approvals.decide(request, committee, "approve", None, request.fingerprint)
    approvals.decide(request, committee, "return", "已被新草稿取代", None)
    assert request.status == "returned"


def test_the_pages_let_only_the_committee_decide(app, world, login_as):
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            draft = _draft_questionnaire(world)
            request = approvals.submit("questionnaire", draft, _user(world, "auditor"))
            db.session.commit()
            request_id, fingerprint, draft_id = request.id, request.fingerprint, draft.id
    auditor, committee = login_as("auditor"), login_as("viewer")
    page = auditor.get(f"/governance/approvals/{request_id}").text
    assert 'data-testid="decision-form"' not in page and 'data-testid="comment-form"' in page
    assert auditor.post_form(f"/governance/approvals/{request_id}/decide",
                             {"decision": "approve", "seen": fingerprint}).status_code == 403
    assert login_as("owner_a").get("/governance/approvals").status_code == 403
    queue = committee.get("/governance/approvals").text
    assert f"/governance/approvals/{request_id}" in queue
    refused = committee.post_form(f"/governance/approvals/{request_id}/decide", {"decision": "return", "note": ""},
                                  follow_redirects=True)
    assert "请说明需要修改什么" in refused.text or "Say what should change" in refused.text
    done = committee.post_form(f"/governance/approvals/{request_id}/decide",
                               {"decision": "approve", "seen": fingerprint, "note": ""}, follow_redirects=True)
    assert done.status_code == 200
    with app.app_context():
        from app.security.tenancy import unscoped

        with unscoped():
            assert db.session.get(Questionnaire, draft_id).status == "approved"
            assert db.session.get(Approval, request_id).status == "approved"
    # The designer put it forward from the questionnaire's page; the box there shows the decision.
    assert 'data-testid="approval-box"' in auditor.get(f"/surveys/questionnaires/{draft_id}").text


def test_a_thrown_away_or_replaced_draft_takes_its_request_with_it(en, world):
    """Trial 24 (high): a template draft thrown away left its request waiting, and the next draft
    (given the same id) inherited it; a replaced threshold draft likewise."""
    auditor = _user(world, "auditor")
    current = db.session.scalar(select(AuditTemplate).where(AuditTemplate.status == "active"))
    draft = templates.new_version(current, auditor)
    request = approvals.submit("template", draft, auditor)
    assert approvals.close_for_gone("template", [draft.id], auditor) == 1
    db.session.delete(draft)
    db.session.flush()
    db.session.refresh(request)
    assert request.status == "withdrawn" and approvals.pending_for("template", draft.id) is None
    again = templates.new_version(current, auditor)
    assert approvals.pending_for("template", again.id) is None  # nothing inherited, whatever its id


def test_the_drafts_own_approve_button_refuses_a_draft_changed_after_it_was_put_forward(en, world):
    """Trial 24 (high): the committee's button on the questionnaire page approved what the queue refused."""
    auditor, committee = _user(world, "auditor"), _user(world, "viewer")
    draft = _draft_questionnaire(world)
    request = approvals.submit("questionnaire", draft, auditor)
    draft.indicators[0].weight += Decimal("5")  # moved between two indicators: still 100 in all
    draft.indicators[1].weight -= Decimal("5")
    db.session.flush()
    with pytest.raises(RuleError, match="changed after it was put forward"):
        approvals.approve_from_page("questionnaire", draft, committee, approvals.of_questionnaire(draft))
    assert draft.status == "draft" and request.status == "pending"
    # Put forward again as it is now: the stale request is replaced, and that one can be approved.
    fresh = approvals.submit("questionnaire", draft, auditor)
    db.session.refresh(request)
    assert request.status == "withdrawn" and fresh.status == "pending"
    with pytest.raises(RuleError, match="already decided"):
        approvals.comment(request, committee, "晚到的意见")
    approvals.approve_from_page("questionnaire", draft, committee, approvals.of_questionnaire(draft))
    assert draft.status == "approved" and fresh.status == "approved"
