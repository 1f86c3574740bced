"""The customer-experience committee's approvals (R4): the queue, one request with its comments
and decision, and putting a draft forward from its own page."""
from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.blueprints.common import commit_or_explain, flash_form_errors, keyset_of
from app.blueprints.governance import bp
from app.blueprints.governance.forms import CommentForm, DecisionForm, SubmitForm
from app.extensions import db
from app.forms import EmptyForm
from app.i18n import current_locale
from app.models.governance import APPROVAL_STATES, Approval, ApprovalComment
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.services import approvals

LATEST = Ordering((Approval.id,), descending=True)


@bp.app_template_global("approval_is_stale")
def approval_is_stale(approval, subject) -> bool:
    """For the approval box on a draft's page: the draft changed since it was put forward."""
    return approvals.is_stale(approval, subject)


def _may_comment(found) -> bool:
    return found.status == "pending" and (
        can(current_user, "governance.approve") or current_user.id == found.submitted_by_id
        or (can(current_user, "governance.submit") and can(current_user, approvals.kinds()[found.kind].submit_permission)))
COMMENTS = Ordering((ApprovalComment.id,))


@bp.route("/approvals")
@access("governance.approvals")
def approvals_index():
    """Requests waiting for the committee first (``?status=``: a state; ``?kind=``: a kind)."""
    status = request.args.get("status", "pending")
    kind = request.args.get("kind", "")
    stmt = select(Approval).options(selectinload(Approval.submitted_by), selectinload(Approval.decided_by))
    if status in APPROVAL_STATES:
        stmt = stmt.where(Approval.status == status)
    else:
        status = ""
    if kind in approvals.kinds():
        stmt = stmt.where(Approval.kind == kind)
    else:
        kind = ""
    page = keyset_of(stmt, LATEST)
    return render_template("governance/approvals.html", page=page, status=status, kind=kind,
                           kinds=approvals.kinds(), states=APPROVAL_STATES)


@bp.route("/approvals/<int:approval_id>")
@access("governance.approvals")
def approval(approval_id: int):
    found = db.get_or_404(Approval, approval_id)
    spec = approvals.kinds()[found.kind]
    subject = approvals.subject_of(found)
    changed = subject is not None and found.status == "pending" and spec.fingerprint(subject) != found.fingerprint
    comments = keyset_of(select(ApprovalComment).where(ApprovalComment.approval_id == found.id)
                         .options(selectinload(ApprovalComment.author)), COMMENTS)
    locale = current_locale()
    return render_template("governance/approval.html", approval=found, spec=spec, subject=subject, changed=changed,
                           title=found.label(locale), may_comment=_may_comment(found),
                           summary=spec.summary(subject, locale) if subject is not None else [],
                           subject_url=spec.url(subject) if subject is not None else None, comments=comments,
                           comment_form=CommentForm(), decision_form=DecisionForm(),
                           history=approvals.history_of(found.kind, found.subject_id))


@bp.route("/approvals/<int:approval_id>/comment", methods=["POST"])
@access("governance.approvals")
def approval_comment(approval_id: int):
    found = db.get_or_404(Approval, approval_id)
    if found.status == "pending" and not _may_comment(found):
        abort(403)
    form = CommentForm()
    if form.validate_on_submit():
        commit_or_explain(lambda: approvals.comment(found, current_user, form.body.data), _("Comment added."))
    else:
        flash_form_errors(form)
    return redirect(url_for("governance.approval", approval_id=found.id) + "#comments")


@bp.route("/approvals/<int:approval_id>/decide", methods=["POST"])
@access("governance.approve")
def approval_decide(approval_id: int):
    found = db.get_or_404(Approval, approval_id)
    form = DecisionForm()
    if form.validate_on_submit():
        decision = form.decision.data
        commit_or_explain(lambda: approvals.decide(found, current_user, decision, form.note.data,
                                                   request.form.get("seen")),
                          _("Approved: it is in use from now on.") if decision == "approve"
                          else _("Returned with your reasons; who put it forward is told."))
    else:
        flash_form_errors(form)
    return redirect(url_for("governance.approval", approval_id=found.id))


@bp.route("/approvals/<int:approval_id>/withdraw", methods=["POST"])
@access("governance.approvals")
def approval_withdraw(approval_id: int):
    found = db.get_or_404(Approval, approval_id)
    if EmptyForm().validate_on_submit():
        commit_or_explain(lambda: approvals.withdraw(found, current_user), _("Request withdrawn."))
    return redirect(url_for("governance.approval", approval_id=found.id))


@bp.route("/approvals/submit/<kind>/<int:subject>", methods=["POST"])
@access("governance.submit")
def approval_submit(kind: str, subject: int):
    """Put a draft forward from its own page (the kind says who may)."""
    spec = approvals.kinds().get(kind)
    if spec is None:
        abort(404)
    if not can(current_user, spec.submit_permission):
        abort(403)
    subject = db.get_or_404(spec.model, subject)
    form = SubmitForm()
    back = spec.url(subject)
    if form.validate_on_submit():
        made = {}

        def put_forward():
            made["approval"] = approvals.submit(kind, subject, current_user, form.note.data)
            return made["approval"]
        if commit_or_explain(put_forward, _("Put forward: the committee is told and decides on it.")):
            return redirect(url_for("governance.approval", approval_id=made["approval"].id))
    return redirect(back)
