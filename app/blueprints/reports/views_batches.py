"""Batches of store (or franchisee) reports (issue 13): started here, rendered by workers off the
request path (services/reports/batches.py), followed on a page that refreshes itself, and
downloaded as one ZIP."""
from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.blueprints.reports import bp
from app.blueprints.reports.views import _batch_form, _can_batch
from app.extensions import db
from app.forms import EmptyForm
from app.models.report import ReportBatch, ReportBatchItem
from app.security.access import access
from app.security.scope import current_scope
from app.security.tenancy import get_scoped_or_404
from app.services import RuleError
from app.services.reports import batches, periods


@bp.route("/batches", methods=["POST"])
@access("reports.batch")
def start_batch():
    """Queue every store report of a franchisee or of the network; the work runs elsewhere."""
    if not _can_batch():
        abort(403)
    form = _batch_form(request.form)
    if not form.validate_on_submit():
        flash(_("Choose the stores, the half-year and the language."), "danger")
        return redirect(url_for("reports.index"))
    franchisee_id = int(form.franchisee.data) if form.franchisee.data else None
    try:
        batch = batches.start(int(form.period.data), form.language.data, current_user, current_scope._get_current_object(),
                              franchisee_id)
    except batches.AlreadyRunning as running:
        flash(str(running), "info")
        return redirect(url_for("reports.batch", report_batch_id=running.batch.id))
    except LookupError:
        abort(404)
    except RuleError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("reports.index"))
    flash(_("The batch is queued: %(n)d store reports.", n=batch.total), "success")
    return redirect(url_for("reports.batch", report_batch_id=batch.id))


@bp.route("/batches/<int:report_batch_id>")
@access("reports.view")
def batch(report_batch_id: int):
    """A batch's progress (the page refreshes itself while it runs), its failures and its ZIP."""
    found = get_scoped_or_404(ReportBatch, report_batch_id, selectinload(ReportBatch.franchisee),
                              selectinload(ReportBatch.created_by))
    failures = db.session.scalars(select(ReportBatchItem).where(
        ReportBatchItem.batch_id == found.id, ReportBatchItem.status == "failed")
        .options(selectinload(ReportBatchItem.store), selectinload(ReportBatchItem.franchisee))
        .order_by(ReportBatchItem.id).limit(200)).all()
    return render_template("reports/batch.html", batch=found, failures=failures, label=periods.label,
                           stalled=batches.stalled(found), form=EmptyForm())


@bp.route("/batches/<int:report_batch_id>/resume", methods=["POST"])
@access("reports.batch")
def resume_batch(report_batch_id: int):
    """Send a stopped batch's unfinished and failed stores back to the workers."""
    found = get_scoped_or_404(ReportBatch, report_batch_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        again = batches.resume(found)
    except RuleError as error:
        db.session.rollback()
        flash(str(error), "warning")
    else:
        flash(_("%(n)d store reports are queued again.", n=again), "success")
    return redirect(url_for("reports.batch", report_batch_id=found.id))


@bp.route("/batches/<int:report_batch_id>/zip")
@access("reports.view")
def batch_zip(report_batch_id: int):
    """The finished batch's reports in one ZIP (with the list of stores that failed)."""
    found = get_scoped_or_404(ReportBatch, report_batch_id, selectinload(ReportBatch.franchisee))
    if not found.finished:
        flash(_("The batch is still running; its ZIP is offered when every store is done."), "warning")
        return redirect(url_for("reports.batch", report_batch_id=found.id))
    subject = f"franchisee{found.franchisee_id}" if found.franchisee_id else "network"
    name = f"{found.kind}-reports-{subject}-{periods.label(found.period)}-{found.language}-batch{found.id}.zip"
    content = batches.zip_file(found)
    headers = {"Cache-Control": "private, no-store"}
    if isinstance(content, bytes):
        return Response(content, mimetype="application/zip",
                        headers={**headers, "Content-Disposition": f'attachment; filename="{name}"'})
    response = send_file(content, mimetype="application/zip", as_attachment=True, download_name=name)
    response.headers.update(headers)
    return response
