"""R2/R58: every route, every role, with another franchisee's ids: nothing of theirs leaks.

The routes come from ``app.url_map``, so a route added by a later feature is
covered without touching this file. Path arguments named ``<table>_id`` are
filled with a row of franchisee B (see ``_b_row_id``); a model this cannot
resolve fails loudly so the world fixture gets extended.
"""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.security.tenancy import unscoped

# Roles whose scope excludes franchisee B in the world fixture.
OUTSIDERS = ["owner_a", "manager_a", "staff_a", "supervisor", "dept", "shopper"]
NETWORK = ["admin", "auditor", "viewer"]
DENIED = {403, 404, 405}
# Posting here ends the session; the walk signs in again afterwards.
SESSION_ENDING = {"auth.logout"}


def _rules(app):
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)


# Path arguments that are not row ids: a valid value, so the route itself is exercised.
PLAIN_ARGUMENTS = {"kind": "return_visit", "fmt": "csv", "action": "acknowledge", "step": "publish", "what": "verify",
                   "change": "move", "status": "fieldwork", "store_key": "no-such-store-key",
                   # The public complaint pages (no sign-in): an unknown store key and progress link.
                   "public_key": "no-such-store-key", "token": "no-such-progress-token",
                   # A draft put forward to the committee (issue 15): its kind says what it is.
                   "subject": 1}
# Rows of headquarters' own that every reader of their pages may see (not B's).
HQ_OWN = {"Touchpoint", "AuditTemplate", "TemplateItem", "TemplateSection", "Position", "AppraisalPeriod",
          "Questionnaire", "SurveyProject", "SurveyStep", "KpiThreshold", "EvaluationScheme", "LogisticsPartner",
          "ReportSchedule", "Reward", "LostReason", "Manual", "ManualVersion", "PrivacyPolicy", "Approval",
          "ComplaintChannel", "ImprovementProject", "ProjectPart", "ProjectSource"}
NETWORK_WIDE = {"MembershipTier", "CareHoliday", "ComplaintCategory", "ComplaintChannel", "DeadlineRule", "CalendarDay",
                "Delivery", "EscalationLevel", "ComplaintThreshold",
                # Headquarters' touchpoint register and audit templates (issue 10).
                "Touchpoint", "AuditTemplate", "TemplateItem", "TemplateSection",
                # Headquarters' positions, staffing norms and hiring criteria (issue 11).
                "Position", "AppraisalPeriod",
                # Headquarters' questionnaires and survey projects with their steps (issue 12).
                "Questionnaire", "SurveyProject", "SurveyStep", "KpiThreshold", "EvaluationScheme",
                # Headquarters' list of logistics partners (issue 12, the Amazon case).
                "LogisticsPartner",
                # Headquarters' half-yearly report schedules (issue 13).
                "ReportSchedule",
                # Headquarters' redemption catalogue and list of reasons for losses (issue 14).
                "Reward", "LostReason",
                # Headquarters' manual library and privacy policy (issue 15).
                "Manual", "ManualVersion", "PrivacyPolicy", "Approval",
                # Headquarters' improvement projects and their departments' parts: the world's
                # project is opened from B's complaint, whose number only headquarters' network
                # readers may see among its sources.
                "ImprovementProject", "ProjectPart", "ProjectSource",
                # A user's own notification: another user's answers 404 (tested in test_complaint_alerts).
                "Notification"}


def _model_for(argument: str):
    table = argument.removesuffix("_id")
    for mapper in db.Model.registry.mappers:
        if mapper.local_table.name == table:
            return mapper.class_
    raise LookupError(argument)


def _b_row_id(world, argument: str) -> int:
    """Id of a row that belongs to franchisee B for a path argument like ``store_id``."""
    from app.models import Franchisee, Region, Store, User

    model = _model_for(argument)
    if model is Franchisee:
        return world.b
    if model is Store:
        return world.b_stores[0]
    if model is User:
        return world.users["owner_b"]
    if model is Region:
        return world.north
    if model.__name__ == "Notification":  # B's owner's own (a published audit told them)
        return db.session.scalar(select(model.id).where(model.user_id == world.users["owner_b"]).limit(1)) or 999_999
    if model.__name__ == "Announcement":  # one addressed to B's stores only
        from sqlalchemy import exists

        from app.models import AnnouncementReceipt

        outside = select(AnnouncementReceipt.id).where(AnnouncementReceipt.announcement_id == model.id,
                                                       AnnouncementReceipt.store_id.not_in(world.b_stores))
        return db.session.scalar(select(model.id).where(model.stores_count > 0, ~exists(outside)).limit(1)) or 999_999
    if model.__name__ == "PlanEntry":  # a line of B's training plan
        from app.models import TrainingPlan

        return db.session.scalar(select(model.id).join(TrainingPlan).where(
            TrainingPlan.franchisee_id == world.b).limit(1)) or 999_999  # (removed by an earlier walk)
    if not hasattr(model, "store_id") and hasattr(model, "franchisee_id"):
        # Headquarters' or one franchisee's (FranchiseeShared): B's own course, session, plan.
        row = db.session.scalar(select(model.id).where(model.franchisee_id == world.b).limit(1))
        if row is not None:
            return row
    if hasattr(model, "store_id"):
        row = db.session.scalar(select(model.id).where(model.store_id.in_(world.b_stores)).limit(1))
        if row is not None:
            return row
        if hasattr(model, "franchisee_id"):  # a record of B's as a whole (a batch of B's reports)
            row = db.session.scalar(select(model.id).where(model.franchisee_id == world.b).limit(1))
            if row is not None:
                return row
    elif model.__name__ in NETWORK_WIDE:
        # Headquarters' own settings rows: they belong to no franchisee. (One the auditor's walk
        # removed - a CSRF-only delete button - is a missing row for the next role.)
        return db.session.scalar(select(model.id).limit(1)) or 999_999
    pytest.fail(f"tests/factories.py make_world() has no {model.__name__} of franchisee B for <{argument}>")


def _names_b_row(rule) -> bool:
    """Whether the route names a row of B's (headquarters' own settings rows are nobody's: a
    route naming one is checked for leaks like every other, not expected to be refused)."""
    return any(arg not in PLAIN_ARGUMENTS and _model_for(arg).__name__ not in HQ_OWN for arg in rule.arguments)


def _url(app, rule, world) -> str:
    with app.app_context(), unscoped():
        values = {arg: PLAIN_ARGUMENTS[arg] if arg in PLAIN_ARGUMENTS else _b_row_id(world, arg) for arg in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _assert_no_leak(response, world, what):
    assert response.status_code < 500, f"{what}: {response.status_code}"
    body = response.get_data(as_text=True)
    for marker in world.b_markers:
        assert marker not in body, f"{what}: franchisee B's {marker!r} leaked"


def _fingerprint(app, world):
    """Versions of every row of B that a write could touch."""
    from app.models import (
        Attendance, AuditAnswer, AuditPhoto, Certificate, Complaint, ComplaintEvent, ComplaintTask, Contact,
        CorrectiveAction, Course, Customer, CustomerImport, Employee, Franchisee, Purchase, Store, StoreAudit,
        AnnouncementReceipt, ManualCopy, ManualCopyEvent, Club, ClubMember, Coupon, CustomerLoss, EventGuest, MemberEvent, CustomerRelationship, DeliveryMonthStats, LostOrder, RelationshipReview, KpiWarning, Offer, PointsEntry, PurchaseReturn, Redemption, Report, ReportBatch, Reward, Shipment, StoreEvaluation, StoreOwnership, SurveyInvitation, SurveyResponse, SurveyStoreStats, TrainingSession, User,
    )

    with app.app_context(), unscoped():
        return (
            db.session.execute(select(Customer.__table__).where(Customer.franchisee_id == world.b)).all(),
            db.session.execute(select(Purchase.__table__).where(Purchase.franchisee_id == world.b)).all(),
            db.session.execute(select(Contact.__table__).where(Contact.franchisee_id == world.b)).all(),
            db.session.execute(select(CustomerImport.__table__).where(CustomerImport.franchisee_id == world.b)).all(),
            db.session.execute(select(Complaint.__table__).where(Complaint.franchisee_id == world.b)).all(),
            db.session.execute(select(ComplaintTask.__table__).where(ComplaintTask.franchisee_id == world.b)).all(),
            db.session.execute(select(ComplaintEvent.__table__).where(ComplaintEvent.franchisee_id == world.b)).all(),
            db.session.execute(select(StoreAudit.__table__).where(StoreAudit.franchisee_id == world.b)).all(),
            db.session.execute(select(AuditAnswer.__table__).where(AuditAnswer.franchisee_id == world.b)).all(),
            db.session.execute(select(CorrectiveAction.__table__).where(CorrectiveAction.franchisee_id == world.b)).all(),
            db.session.execute(select(AuditPhoto.__table__).where(AuditPhoto.franchisee_id == world.b)).all(),
            db.session.execute(select(Franchisee.id, Franchisee.version).where(Franchisee.id == world.b)).all(),
            db.session.execute(select(Store.id, Store.version, Store.status).where(Store.id.in_(world.b_stores))).all(),
            db.session.execute(select(StoreOwnership.id, StoreOwnership.end_on).where(StoreOwnership.store_id.in_(world.b_stores))).all(),
            db.session.execute(select(User.id, User.version, User.active, User.password_hash).where(User.franchisee_id == world.b)).all(),
            db.session.execute(select(Employee.__table__).where(Employee.franchisee_id == world.b)).all(),
            db.session.execute(select(Attendance.__table__).where(Attendance.franchisee_id == world.b)).all(),
            db.session.execute(select(Certificate.__table__).where(Certificate.franchisee_id == world.b)).all(),
            db.session.execute(select(Course.__table__).where(Course.franchisee_id == world.b)).all(),
            db.session.execute(select(TrainingSession.__table__).where(TrainingSession.franchisee_id == world.b)).all(),
            db.session.execute(select(SurveyResponse.__table__).where(SurveyResponse.franchisee_id == world.b)).all(),
            db.session.execute(select(SurveyInvitation.__table__).where(SurveyInvitation.franchisee_id == world.b)).all(),
            db.session.execute(select(SurveyStoreStats.__table__).where(SurveyStoreStats.franchisee_id == world.b)).all(),
            db.session.execute(select(KpiWarning.__table__).where(KpiWarning.franchisee_id == world.b)).all(),
            db.session.execute(select(StoreEvaluation.__table__).where(StoreEvaluation.franchisee_id == world.b)).all(),
            db.session.execute(select(Shipment.__table__).where(Shipment.franchisee_id == world.b)).all(),
            db.session.execute(select(DeliveryMonthStats.__table__).where(DeliveryMonthStats.franchisee_id == world.b)).all(),
            # B's printed reports and batches: nobody outside B prints, resumes or versions them.
            db.session.execute(select(Report.id, Report.version).where(Report.franchisee_id == world.b)).all(),
            db.session.execute(select(ReportBatch.__table__).where(ReportBatch.franchisee_id == world.b)).all(),
            # B's points, redemptions and returns (issue 14), and the catalogue's stock they take from.
            db.session.execute(select(PointsEntry.__table__).where(PointsEntry.franchisee_id == world.b)).all(),
            db.session.execute(select(Redemption.__table__).where(Redemption.franchisee_id == world.b)).all(),
            db.session.execute(select(PurchaseReturn.__table__).where(PurchaseReturn.franchisee_id == world.b)).all(),
            db.session.execute(select(Reward.id, Reward.stock, Reward.redeemed)).all(),
            # B's own offer and the coupons of B's customers.
            db.session.execute(select(Offer.__table__).where(Offer.franchisee_id == world.b)).all(),
            db.session.execute(select(Coupon.__table__).where(Coupon.franchisee_id == world.b)).all(),
            # B's lost customer and order, and its relationship with its reviews (R69, R70).
            db.session.execute(select(CustomerLoss.__table__).where(CustomerLoss.franchisee_id == world.b)).all(),
            db.session.execute(select(LostOrder.__table__).where(LostOrder.franchisee_id == world.b)).all(),
            db.session.execute(select(CustomerRelationship.__table__).where(
                CustomerRelationship.franchisee_id == world.b)).all(),
            db.session.execute(select(RelationshipReview.__table__).where(
                RelationshipReview.franchisee_id == world.b)).all(),
            # B's club and event, its members and guests.
            db.session.execute(select(Club.__table__).where(Club.franchisee_id == world.b)).all(),
            db.session.execute(select(MemberEvent.__table__).where(MemberEvent.franchisee_id == world.b)).all(),
            db.session.execute(select(ClubMember.__table__).where(ClubMember.franchisee_id == world.b)).all(),
            db.session.execute(select(EventGuest.__table__).where(EventGuest.franchisee_id == world.b)).all(),
            # B's numbered manual copy and its register, and B's stores' announcement receipts (issue 15).
            db.session.execute(select(ManualCopy.__table__).where(ManualCopy.franchisee_id == world.b)).all(),
            db.session.execute(select(ManualCopyEvent.__table__).where(ManualCopyEvent.franchisee_id == world.b)).all(),
            db.session.execute(select(AnnouncementReceipt.__table__).where(
                AnnouncementReceipt.franchisee_id == world.b)).all(),
        )


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
@pytest.mark.parametrize("role", OUTSIDERS)
def test_outsiders_never_see_or_change_franchisee_b(app, world, login_as, role, language):
    client = login_as(role)
    client.post_form("/language", {"lang": language, "next": "/"})
    before = _fingerprint(app, world)
    checked = 0
    for rule in _rules(app):
        url = _url(app, rule, world)
        what = f"{role} {rule.endpoint} {url}"
        if "GET" in rule.methods:
            response = client.get(url)
            _assert_no_leak(response, world, "GET " + what)
            if _names_b_row(rule):
                assert response.status_code in DENIED, f"GET {what} answered {response.status_code}"
            checked += 1
        if "POST" in rule.methods:
            response = client.post_form(url, {})
            _assert_no_leak(response, world, "POST " + what)
            if _names_b_row(rule):
                assert response.status_code in DENIED, f"POST {what} answered {response.status_code}"
            checked += 1
            if rule.endpoint in SESSION_ENDING:
                client = login_as(role)
                client.post_form("/language", {"lang": language, "next": "/"})
    assert _fingerprint(app, world) == before, f"{role} changed franchisee B's data"
    assert checked >= len(_rules(app))


@pytest.mark.parametrize("role", NETWORK)
def test_network_roles_get_every_page_without_error(app, world, login_as, role):
    client = login_as(role)
    for rule in _rules(app):
        if "GET" in rule.methods:
            response = client.get(_url(app, rule, world))
            assert response.status_code < 500, f"{role} GET {rule.endpoint}: {response.status_code}"


# The auditor is headquarters' customer-experience department: it reads everything and writes only
# complaint handling (joint handling of major complaints, R20/R21) and the audits (plans, publishes,
# verifies; issue 10). An empty post still changes nothing.
# It also prints reports (issue 13): a new version of an existing report needs its confirmation.
# The committee (viewer) answers the reports sent to it with its improvement measures (R56).
# It keeps the manual library and writes the announcements (issue 15); returning a franchisee's
# copies needs a ticked confirmation, so an empty post returns none.
WRITES = {"auditor": ("complaints.", "audits.", "training.", "surveys.", "kpis.", "reports.", "governance."),
          "viewer": ("reports.answer",)}


def test_read_only_network_roles_cannot_write(app, world, login_as):
    for role in ("auditor", "viewer"):
        client = login_as(role)
        before = _fingerprint(app, world)
        for rule in _rules(app):
            if "POST" in rule.methods and _names_b_row(rule):
                response = client.post_form(_url(app, rule, world), {})
                if rule.endpoint.startswith(WRITES[role]):
                    assert response.status_code < 500, f"{role} POST {rule.endpoint}: {response.status_code}"
                    continue
                assert response.status_code == 403, f"{role} POST {rule.endpoint}: {response.status_code}"
            if "POST" in rule.methods and rule.endpoint in SESSION_ENDING:
                client.post_form(_url(app, rule, world), {})
                client = login_as(role)
        assert _fingerprint(app, world) == before


def test_anonymous_is_sent_to_sign_in_everywhere_but_public_pages(app, world, client):
    public = {"auth.login", "auth.set_language", "feedback.form", "feedback.done", "feedback.progress",
              "survey_public.store_page", "survey_public.invitation", "survey_public.thanks",
              "privacy.policy"}
    for rule in _rules(app):
        url = _url(app, rule, world)
        for method in ("GET", "POST") if "POST" in rule.methods else ("GET",):
            if method not in rule.methods:
                continue
            response = client.get(url) if method == "GET" else client.post_form(url, {})
            _assert_no_leak(response, world, f"anonymous {method} {rule.endpoint}")
            if rule.endpoint not in public:
                assert response.status_code == 302 and "/login" in response.headers["Location"], (
                    f"anonymous {method} {rule.endpoint}: {response.status_code}"
                )


def test_every_view_declares_its_access(app):
    from flask import Flask

    from app.security.access import check_endpoints_declared

    assert all(hasattr(app.view_functions[r.endpoint], "access_permission") for r in _rules(app))
    # create_app runs this check, so an undeclared view stops the portal from starting.
    bare = Flask(__name__)
    bare.add_url_rule("/undeclared", "leaky", lambda: "data")
    with pytest.raises(RuntimeError, match="leaky"):
        check_endpoints_declared(bare)
