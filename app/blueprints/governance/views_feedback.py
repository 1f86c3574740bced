"""Feedback to improvement (seed 003): headquarters classifies the customers' suggestions and
praise taken in through complaint intake, screens the high-impact ones into improvement
projects, and sees the departments' answers to its reports (R56) beside them."""
from flask import redirect, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.blueprints.auth.views import safe_next
from app.blueprints.common import commit_or_explain, flash_form_errors, keyset_of
from app.blueprints.governance import bp
from app.blueprints.governance.forms import ClassifyForm
from app.extensions import db
from app.i18n import current_locale
from app.models import Complaint, ComplaintCategory, Store
from app.models.governance import FEEDBACK_STATES, IMPACTS, PROJECT_STAGES, SENTIMENTS
from app.models.report import ReportRecipient
from app.models.user import DEPARTMENTS
from app.pagination import Ordering
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services.governance import projects

NEWEST = Ordering((Complaint.received_at, Complaint.id), descending=True)
ANSWERED = Ordering((ReportRecipient.answered_at, ReportRecipient.id), descending=True)
# The tabs: what waits for classification, what to screen (classified, not yet in a project),
# what went into projects, what needed none, and the departments' answers to reports.
TABS = ("new", "classified", "in_project", "no_action", "responses")


def _categories() -> list[tuple[int, str]]:
    locale = current_locale()
    rows = db.session.scalars(select(ComplaintCategory).where(ComplaintCategory.active.is_(True))
                              .order_by(ComplaintCategory.position, ComplaintCategory.id)).all()
    return [(c.id, c.label(locale)) for c in rows]


@bp.route("/feedback")
@access("governance.feedback_view")
def feedback():
    tab = request.args.get("tab", "new")
    tab = tab if tab in TABS else "new"
    counts = {"feedback": projects.feedback_counts(), "stages": projects.stage_counts()}
    if tab == "responses":
        stmt = (select(ReportRecipient).where(ReportRecipient.answered_at.is_not(None))
                .options(selectinload(ReportRecipient.report), selectinload(ReportRecipient.answered_by),
                         selectinload(ReportRecipient.franchisee)))
        page = keyset_of(stmt, ANSWERED)
        links = projects.links_for("report_response", [r.id for r in page.items])
        return render_template("governance/feedback.html", tab=tab, page=page, links=links, counts=counts,
                               states=FEEDBACK_STATES, stage_label=PROJECT_STAGES.get, departments=DEPARTMENTS)
    sentiment = request.args.get("sentiment", "")
    impact = request.args.get("impact", "")
    stmt = (select(Complaint).where(Complaint.feedback_state == tab)
            .options(joinedload(Complaint.category), joinedload(Complaint.store).load_only(Store.code, Store.name)))
    if sentiment in SENTIMENTS:
        stmt = stmt.where(Complaint.sentiment == sentiment)
    else:
        sentiment = ""
    if impact in IMPACTS:
        stmt = stmt.where(Complaint.impact == impact)
    else:
        impact = ""
    page = keyset_of(stmt, NEWEST)
    links = projects.links_for("feedback", [c.id for c in page.items]) if tab == "in_project" else {}
    return render_template("governance/feedback.html", tab=tab, page=page, links=links, counts=counts,
                           states=FEEDBACK_STATES, sentiments=SENTIMENTS, impacts=IMPACTS, sentiment=sentiment,
                           impact=impact, categories=_categories(), stage_label=PROJECT_STAGES.get)


@bp.route("/feedback/<int:complaint_id>/classify", methods=["POST"])
@access("governance.feedback")
def feedback_classify(complaint_id: int):
    found = get_scoped_or_404(Complaint, complaint_id)
    form = ClassifyForm(categories=_categories())
    if form.validate_on_submit():
        commit_or_explain(lambda: projects.classify(found, form.sentiment.data, form.impact.data,
                                                    form.category_id.data or None, current_user, form.no_action.data),
                          _("%(ref)s classified.", ref=found.reference))
    else:
        flash_form_errors(form)
    return redirect(safe_next(request.form.get("next"), "governance.feedback"))
