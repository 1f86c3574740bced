"""Joint-handling tasks: each department's (and each franchisee's) work queue."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.blueprints.common import keyset_of
from app.blueprints.complaints import bp, forms
from app.extensions import db
from app.models import Complaint, ComplaintTask
from app.models.base import local_today
from app.models.user import DEPARTMENTS
from app.pagination import Ordering
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.security.policy import can
from app.services.complaints import workflow
from app.services.governance import projects

BY_DUE = Ordering((ComplaintTask.due_on, ComplaintTask.id))
BY_DONE = Ordering((ComplaintTask.done_at, ComplaintTask.id), descending=True)


def _own_queue() -> str | None:
    """Which assignee's tasks this user works on: their department, or the franchisee's."""
    if current_user.role == "hq_department":
        return current_user.department
    if current_user.role == "franchise_owner":
        return "franchisee"
    return None


@bp.route("/tasks")
@access("complaints.tasks")
def tasks():
    """Open joint-handling tasks, earliest due first; headquarters chooses the department."""
    done = request.args.get("done") == "1"
    queue = _own_queue()
    department = request.args.get("department", "")
    if queue is None:  # headquarters: every department, or one
        queue = department if department in workflow.TASK_ASSIGNEES else None
    stmt = select(ComplaintTask).options(
        joinedload(ComplaintTask.complaint).load_only(Complaint.id, Complaint.reference, Complaint.title,
                                                      Complaint.severity, Complaint.status, Complaint.store_id))
    if queue is not None:
        stmt = stmt.where(ComplaintTask.department == queue)
    stmt = stmt.where(ComplaintTask.done_at.is_not(None) if done else ComplaintTask.done_at.is_(None))
    page = keyset_of(stmt, BY_DONE if done else BY_DUE)
    # The same queue holds the department's parts of improvement projects (issue 15, R74).
    shows_projects = queue != "franchisee" and can(current_user, "governance.projects_view")
    parts = (projects.done_parts(queue) if done else projects.open_parts(queue)) if shows_projects else []
    owned = projects.owned_by(queue) if shows_projects and not done and queue is not None else []
    return render_template("complaints/tasks.html", page=page, done=done, queue=queue, today=local_today(),
                           parts=parts, owned=owned, part_departments=projects.owner_departments(),
                           assignees=workflow.TASK_ASSIGNEES, departments=DEPARTMENTS,
                           chooses=_own_queue() is None, form=forms.TaskDoneForm(formdata=None))


@bp.route("/tasks/<int:complaint_task_id>/done", methods=["POST"])
@access("complaints.tasks")
def complete_task(complaint_task_id: int):
    """Mark a task done with what was done; it shows on the complaint's timeline."""
    task = get_scoped_or_404(ComplaintTask, complaint_task_id, joinedload(ComplaintTask.complaint))
    queue = _own_queue()
    if queue is not None and task.department != queue:
        flash(_("This task is assigned to another department."), "danger")
        return redirect(url_for("complaints.tasks"))
    form = forms.TaskDoneForm()
    back = request.form.get("back") == "complaint"
    target = (url_for("complaints.show", complaint_id=task.complaint_id) + "#tasks" if back
              else url_for("complaints.tasks"))
    if not form.validate_on_submit():
        flash(_("Say what was done before marking the task done."), "danger")
        return redirect(target)
    try:
        workflow.complete_task(task, current_user, form.outcome.data)
        db.session.commit()
    except workflow.ComplaintError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(target)
    flash(_("Task marked done."), "success")
    return redirect(target)

