"""The register of improvement projects (推动改进项目): opening one from its source, the cycle of
root cause, plan, implementation and evaluation, the departments' parts (R74) and progress."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.blueprints.common import commit_or_explain, create_once, flash_form_errors, keyset_of, save_versioned
from app.blueprints.governance import bp
from app.blueprints.governance.forms import (
    CancelProjectForm, EvaluateForm, LinkForm, NewProjectForm, PartDoneForm, PartForm, ProgressForm, ProjectForm,
)
from app.extensions import db
from app.forms import EmptyForm
from app.models.base import local_today
from app.models.governance import (
    EFFECTS, IMPACTS, PROJECT_CYCLE, PROJECT_STAGES, SENTIMENTS, SOURCE_KINDS, ImprovementProject, ProjectPart,
    ProjectSource, ProjectUpdate,
)
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.scope import current_scope
from app.services import RuleError
from app.services.governance import projects

BY_DUE = Ordering((ImprovementProject.due_on, ImprovementProject.id))
LATEST = Ordering((ImprovementProject.id,), descending=True)
VIEWS = {"open": PROJECT_CYCLE, "closed": ("closed",), "cancelled": ("cancelled",)}


@bp.app_template_global("improvement_projects_of")
def improvement_projects_of(kind: str, ref_id: int) -> list:
    """For the box on a source's page: the projects it was linked to (HQ readers only)."""
    if not can(current_user, "governance.projects_view"):
        return []
    return projects.links_for(kind, [ref_id]).get(ref_id, [])


@bp.app_template_global("feedback_class")
def feedback_class(complaint) -> str:
    """A suggestion's or praise's classification, in words: "Negative · Impact: High"."""
    parts = [str(SENTIMENTS.get(complaint.sentiment, ""))]
    if complaint.impact in IMPACTS:
        parts.append(_("Impact: %(level)s", level=IMPACTS[complaint.impact]))
    return " · ".join(p for p in parts if p)


@bp.route("/projects")
@access("governance.projects_view")
def projects_index():
    """Open projects, earliest completion date first (``?view=closed|cancelled|all``;
    ``?department=``; ``?overdue=1``)."""
    view = request.args.get("view", "open")
    department = request.args.get("department", "")
    overdue = request.args.get("overdue") == "1"
    stmt = select(ImprovementProject)
    if view in VIEWS:
        stmt = stmt.where(ImprovementProject.stage.in_(VIEWS[view]))
    else:
        view = "all"
    if department in projects.owner_departments():
        stmt = stmt.where(ImprovementProject.department == department)
    else:
        department = ""
    today = local_today()
    if overdue:
        stmt = stmt.where(ImprovementProject.stage.in_(PROJECT_CYCLE), ImprovementProject.due_on < today)
    page = keyset_of(stmt, BY_DUE if view == "open" else LATEST)
    return render_template("governance/projects.html", page=page, view=view, department=department, overdue=overdue,
                           departments=projects.owner_departments(), today=today, stages=PROJECT_STAGES,
                           impacts=IMPACTS, counts=projects.stage_counts())


def _source_from_args():
    kind, ref = request.args.get("source", ""), request.args.get("ref", "")
    if not kind:
        return None
    if kind not in SOURCE_KINDS or not ref.isdigit() or len(ref) > 12:
        abort(404)
    source = projects.find_source(kind, int(ref))
    if source is None:
        abort(404)
    return source


@bp.route("/projects/new", methods=["GET", "POST"])
@access("governance.projects")
def project_new():
    """A new project; ``?source=<kind>&ref=<id>`` opens it from a complaint, finding, warning…"""
    source = _source_from_args()
    departments = projects.owner_departments()
    form = NewProjectForm(departments=departments)
    if not form.is_submitted():
        if source is not None:
            for name, value in source.prefill.items():
                getattr(form, name).data = value
    if form.validate_on_submit():
        done = create_once(form, lambda: projects.create(form.data, current_user, source),
                           lambda p: url_for("governance.project", improvement_project_id=p.id),
                           lambda p: _("Improvement project %(ref)s opened.", ref=p.reference))
        if done is not None:
            return done
    linked = projects.links_for(source.kind, [source.ref_id]).get(source.ref_id, []) if source else []
    return (render_template("governance/project_new.html", form=form, source=source, linked=linked, source_kinds=SOURCE_KINDS,
                           link_form=LinkForm(formdata=None, open_projects=_open_projects() if source else ())),
            422 if form.is_submitted() else 200)


@bp.route("/projects/link", methods=["POST"])
@access("governance.projects")
def project_link():
    """Link a source to an existing project (several suggestions screened into one project)."""
    source = _source_from_args()
    if source is None:
        abort(404)
    form = LinkForm(open_projects=_open_projects())
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("governance.project_new", source=source.kind, ref=source.ref_id))
    project = db.session.get(ImprovementProject, form.project_id.data)
    if not project.is_open:
        flash(_("Project %(ref)s is finished: open a new one.", ref=project.reference), "danger")
        return redirect(url_for("governance.project_new", source=source.kind, ref=source.ref_id))
    if commit_or_explain(lambda: projects.link(project, source, current_user),
                         _("Linked to improvement project %(ref)s.", ref=project.reference)):
        return redirect(url_for("governance.project", improvement_project_id=project.id))
    return redirect(url_for("governance.project_new", source=source.kind, ref=source.ref_id))


def _open_projects() -> list[ImprovementProject]:
    """The projects a source may be added to: those in progress, the newest first."""
    return list(db.session.scalars(select(ImprovementProject).where(ImprovementProject.stage.in_(PROJECT_CYCLE))
                                   .order_by(ImprovementProject.id.desc()).limit(300)))


def _load(improvement_project_id: int) -> ImprovementProject:
    found = db.session.scalar(select(ImprovementProject).where(ImprovementProject.id == improvement_project_id).options(
        selectinload(ImprovementProject.parts).selectinload(ProjectPart.done_by),
        selectinload(ImprovementProject.sources)))
    if found is None:
        abort(404)
    return found


@bp.route("/projects/<int:improvement_project_id>")
@access("governance.projects_view")
def project(improvement_project_id: int):
    return _project_page(_load(improvement_project_id))


def _project_page(found, status=200, **given):
    departments = projects.owner_departments()
    history = db.session.scalars(select(ProjectUpdate).where(ProjectUpdate.project_id == found.id)
                                 .options(selectinload(ProjectUpdate.author))
                                 .order_by(ProjectUpdate.id.desc()).limit(200)).all()
    forms = {
        "part": given.get("part") or PartForm(formdata=None, departments=departments, prefix="part"),
        "progress": given.get("progress") or ProgressForm(formdata=None, prefix="progress"),
        "evaluate": given.get("evaluate") or EvaluateForm(formdata=None, prefix="evaluate"),
        "cancel": given.get("cancel") or CancelProjectForm(formdata=None, prefix="cancel"),
        "done": PartDoneForm(formdata=None),
        "typed": given.get("typed") or {},
        "empty": EmptyForm(),
    }
    return render_template("governance/project.html", project=found, history=history, forms=forms,
                           departments=departments, stages=PROJECT_STAGES, cycle=PROJECT_CYCLE, impacts=IMPACTS,
                           effects=EFFECTS, source_kinds=SOURCE_KINDS, today=local_today(), may_report=projects.may_report(found, current_user),
                           my_department=current_user.department if current_user.role == "hq_department" else None,
                           # The sources name franchisees' complaints and stores: a department reads those
                           # its scope reaches (the complaints its tasks reach, the reports sent to it).
                           sees_sources=current_scope.is_network,
                           visible=({s.id for s in found.sources} if current_scope.is_network
                                    else projects.visible_sources(found.sources)),
                           addressees=projects.addressees(found.sources)), status


@bp.route("/projects/<int:improvement_project_id>/edit", methods=["GET", "POST"])
@access("governance.projects")
def project_edit(improvement_project_id: int):
    found = _load(improvement_project_id)
    if not found.is_open:
        flash(_("This project is finished; its record is kept as it is."), "info")
        return redirect(url_for("governance.project", improvement_project_id=found.id))
    form = ProjectForm(obj=found, departments=projects.owner_departments())
    if form.validate_on_submit() and save_versioned(form, found, lambda: projects.edit(found, form.data, current_user)):
        flash(_("Saved."), "success")
        return redirect(url_for("governance.project", improvement_project_id=found.id))
    return render_template("governance/project_edit.html", form=form, project=found), 422 if form.is_submitted() else 200


def _changed_meanwhile(found) -> bool:
    """The step the page showed (``seen``) is no longer the project's: someone else moved it
    (a second tab, a colleague). The user is told and shown the project as it is now."""
    seen = request.form.get("seen")
    if seen is None or seen == found.stage:
        return False
    flash(_("Someone else changed this project meanwhile (it is now at: %(step)s); look at it again.",
            step=found.stage_label), "warning")
    return True


def _step(found, run, form_name: str, form, success: str):
    """A button or small form on the project's page: the service call, or the page again with
    what was typed and why it was refused."""
    if _changed_meanwhile(found):
        return redirect(url_for("governance.project", improvement_project_id=found.id))
    if form.validate_on_submit():
        try:
            run()
        except RuleError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return _project_page(_load(found.id), 422, **{form_name: form})
        db.session.commit()
        flash(success, "success")
        return redirect(url_for("governance.project", improvement_project_id=found.id))
    return _project_page(found, 422, **{form_name: form})


@bp.route("/projects/<int:improvement_project_id>/parts", methods=["POST"])
@access("governance.projects")
def project_part_add(improvement_project_id: int):
    found = _load(improvement_project_id)
    form = PartForm(departments=projects.owner_departments(), prefix="part")
    return _step(found, lambda: projects.add_part(found, form.department.data, form.responsibility.data,
                                                  form.due_on.data, current_user),
                 "part", form, _("The department was given its part; it is in their task queue."))


@bp.route("/projects/parts/<int:project_part_id>/done", methods=["POST"])
@access("governance.project_report")
def project_part_done(project_part_id: int):
    part = db.get_or_404(ProjectPart, project_part_id)
    if current_user.role == "hq_department" and part.department != current_user.department:
        flash(_("This part belongs to another department."), "danger")
        return redirect(url_for("governance.project", improvement_project_id=part.project_id))
    form = PartDoneForm()
    if form.validate_on_submit():
        try:
            projects.complete_part(part, form.outcome.data, current_user)
        except RuleError as error:
            db.session.rollback()
            form.outcome.errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Reported done."), "success")
            return redirect(url_for("governance.project", improvement_project_id=part.project_id))
    # The page again, with what was typed under the part and why it was refused.
    return _project_page(_load(part.project_id), 422, typed={part.id: form})


@bp.route("/projects/<int:improvement_project_id>/progress", methods=["POST"])
@access("governance.project_report")
def project_progress(improvement_project_id: int):
    found = _load(improvement_project_id)
    if not projects.may_report(found, current_user):
        abort(403)
    form = ProgressForm(prefix="progress")
    if form.validate_on_submit():  # (Back then Save records it once: the form's token)
        done = create_once(form, lambda: projects.report_progress(found, form.body.data, form.progress.data,
                                                                  current_user),
                           lambda line: url_for("governance.project", improvement_project_id=found.id),
                           _("Progress recorded."))
        if done is not None:
            return done
        found = _load(found.id)
    return _project_page(found, 422, progress=form)


@bp.route("/projects/<int:improvement_project_id>/stage", methods=["POST"])
@access("governance.projects")
def project_stage(improvement_project_id: int):
    found = _load(improvement_project_id)
    to = request.form.get("to", "")
    # Buttons only: a refusal is a message on the project's page (nothing typed to keep).
    if not _changed_meanwhile(found) and EmptyForm().validate_on_submit():
        commit_or_explain(lambda: projects.advance(found, to, current_user),
                          _("The project is at the step: %(step)s.", step=PROJECT_STAGES.get(to, "")))
    return redirect(url_for("governance.project", improvement_project_id=found.id))


@bp.route("/projects/<int:improvement_project_id>/sources/<int:project_source_id>/unlink", methods=["POST"])
@access("governance.projects")
def project_unlink(improvement_project_id: int, project_source_id: int):
    """Take a wrongly linked source off the project."""
    found = _load(improvement_project_id)
    source = db.session.scalar(select(ProjectSource).where(ProjectSource.id == project_source_id,
                                                           ProjectSource.project_id == found.id))
    if source is None:  # (taken off meanwhile, in another tab)
        flash(_("This source is no longer linked to the project."), "info")
    elif EmptyForm().validate_on_submit():
        commit_or_explain(lambda: projects.unlink(found, source, current_user), _("The source was taken off the project."))
    return redirect(url_for("governance.project", improvement_project_id=found.id))


@bp.route("/projects/<int:improvement_project_id>/evaluate", methods=["POST"])
@access("governance.projects")
def project_evaluate(improvement_project_id: int):
    found = _load(improvement_project_id)
    form = EvaluateForm(prefix="evaluate")
    return _step(found, lambda: projects.evaluate(found, form.effect.data, form.evaluation.data, current_user),
                 "evaluate", form, _("Evaluated; the project is completed."))


@bp.route("/projects/<int:improvement_project_id>/cancel", methods=["POST"])
@access("governance.projects")
def project_cancel(improvement_project_id: int):
    found = _load(improvement_project_id)
    form = CancelProjectForm(prefix="cancel")
    return _step(found, lambda: projects.cancel(found, form.reason.data, current_user), "cancel", form,
                 _("The project is cancelled."))
