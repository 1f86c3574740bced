"""Survey projects (测评项目, R43-R45): the list, a project's schedule of eight steps, its results
by indicator, franchisee and store (from the stored figures), and its status."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.blueprints.common import commit_or_explain, create_once, keyset_of
from app.blueprints.surveys import bp
from app.blueprints.surveys.forms import NoteForm, ProjectForm, StepForm
from app import refcache
from app.extensions import db
from app.forms import EmptyForm, choices
from app.i18n import current_locale
from app.models import Store
from app.models.base import local_today
from app.models.survey import (
    PROJECT_STATUSES, Questionnaire, SurveyNote, SurveyProject, SurveyResponse, SurveyStep, SurveyStoreStats,
)
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.scope import current_scope
from app.security.tenancy import get_scoped_or_404
from app.services import audit as audit_trail
from app.services.surveys import projects as project_service
from app.services.surveys import results as survey_results

BY_INDEX = Ordering((SurveyStoreStats.csi, SurveyStoreStats.id))
BY_STORE = Ordering((Store.code, SurveyStoreStats.id))


def _approved_choices():
    locale = current_locale()
    return choices([(q.id, f"{q.label(locale)} ({q.code}/{q.edition})") for q in db.session.scalars(
        select(Questionnaire).where(Questionnaire.status == "approved").order_by(Questionnaire.code))])


@bp.route("/")
@access("surveys.view")
def index(form=None, status=200):
    """The survey projects, newest half-year first, with each one's response count in scope."""
    projects = db.session.scalars(select(SurveyProject).options(selectinload(SurveyProject.steps))
                                  .order_by(SurveyProject.year.desc(), SurveyProject.half.desc(),
                                            SurveyProject.id.desc()).limit(40)).all()
    counts = dict(db.session.execute(select(SurveyStoreStats.project_id, func.sum(SurveyStoreStats.responses))
                                     .where(SurveyStoreStats.project_id.in_([p.id for p in projects]))
                                     .group_by(SurveyStoreStats.project_id)).all()) if projects else {}
    open_follow_ups = db.session.scalar(select(func.count()).select_from(
        select(SurveyResponse.id).where(SurveyResponse.follow_up == "open").limit(1001).subquery()))
    if form is None and can(current_user, "surveys.design"):
        today = local_today()
        year, half = project_service.half_of(today)
        form = ProjectForm(formdata=None, year=year, half=half,
                           schedule_from=project_service.default_schedule_start(year, half, today))
        form.questionnaire_id.choices = _approved_choices()
    return render_template("surveys/index.html", projects=projects, counts=counts, form=form,
                           open_follow_ups=open_follow_ups, today=local_today()), status


@bp.route("/projects/new", methods=["POST"])
@access("surveys.design")
def new_project():
    form = ProjectForm()
    form.questionnaire_id.choices = _approved_choices()
    if form.validate_on_submit():
        if form.receipt is not None:
            return redirect(form.receipt.url)
        questionnaire = db.session.get(Questionnaire, form.questionnaire_id.data)

        def create():
            project = project_service.create(
                name=form.name.data.strip(), questionnaire=questionnaire, year=form.year.data, half=form.half.data,
                schedule_from=form.schedule_from.data, purpose=(form.purpose.data or "").strip() or None,
                created_by=current_user)
            audit_trail.record("survey_project.created", actor=current_user, target=project)
            return project

        done = create_once(form, create, lambda p: url_for("surveys.project", survey_project_id=p.id),
                           _("Survey created with its eight steps. Start collecting responses when it is ready."))
        if done:
            return done
    # The list again with the form as typed and each problem at its field (nothing lost).
    return index(form=form, status=422)


@bp.route("/projects/<int:survey_project_id>")
@access("surveys.view")
def project(survey_project_id: int):
    found = get_scoped_or_404(SurveyProject, survey_project_id, selectinload(SurveyProject.steps))
    questionnaire = db.session.scalar(select(Questionnaire).where(Questionnaire.id == found.questionnaire_id).options(
        selectinload(Questionnaire.indicators), selectinload(Questionnaire.questions)))
    order = BY_INDEX if questionnaire.has_index and request.args.get("sort") != "store" else BY_STORE
    stores = keyset_of(select(SurveyStoreStats.id, SurveyStoreStats.csi, SurveyStoreStats.responses,
                              SurveyStoreStats.low_scores, SurveyStoreStats.franchisee_id, Store.id.label("store_id"),
                              Store.code, Store.name)
                       .join(Store, Store.id == SurveyStoreStats.store_id)
                       .where(SurveyStoreStats.project_id == found.id), order, scalars=False)
    scope = current_scope._get_current_object()
    cfg = current_app.config
    if scope.is_network or len(scope.store_ids) > cfg["DASHBOARD_LIVE_MAX_STORES"]:
        # Hundreds of stores' figures added up on every visit: a minute-old sum will do (the page
        # says so); a franchisee's few stores are added up live.
        results = refcache.cached_for(cfg["DASHBOARD_CACHE_SECONDS"], ("survey_results", scope, found.id),
                                      lambda: survey_results.results(found))
    else:
        results = survey_results.results(found)
    return render_template("surveys/project.html", project=found, questionnaire=questionnaire,
                           results=results, stores=stores, today=local_today(), sort=request.args.get("sort"),
                           statuses=PROJECT_STATUSES, empty=EmptyForm())


@bp.route("/projects/<int:survey_project_id>/steps/<int:survey_step_id>", methods=["GET", "POST"])
@access("surveys.design")
def step(survey_project_id: int, survey_step_id: int):
    found = get_scoped_or_404(SurveyProject, survey_project_id)
    item = db.session.scalar(select(SurveyStep).where(SurveyStep.id == survey_step_id,
                                                      SurveyStep.project_id == found.id))
    if item is None:
        abort(404)
    form = StepForm(obj=item)
    if form.validate_on_submit():
        from app.blueprints.common import save_versioned

        if save_versioned(form, item, lambda: form.populate_obj(item)):
            flash(_("Step saved."), "success")
            return redirect(url_for("surveys.project", survey_project_id=found.id) + "#schedule")
    return render_template("surveys/step.html", project=found, step=item, form=form), 422 if form.errors else 200


@bp.route("/projects/<int:survey_project_id>/status/<status>", methods=["POST"])
@access("surveys.design")
def set_status(survey_project_id: int, status: str):
    found = get_scoped_or_404(SurveyProject, survey_project_id)
    if status not in PROJECT_STATUSES or not EmptyForm().validate_on_submit():
        abort(400)

    def change():
        project_service.set_status(found, status)
        audit_trail.record("survey_project.status", actor=current_user, target=found, details={"status": status})

    commit_or_explain(change, _("The survey is now “%(status)s”.", status=PROJECT_STATUSES[status]))
    return redirect(url_for("surveys.project", survey_project_id=found.id))


@bp.route("/projects/<int:survey_project_id>/notes", methods=["GET", "POST"])
@access("surveys.notes")
def notes(survey_project_id: int):
    """Interviews and focus groups held for the survey (R43)."""
    found = get_scoped_or_404(SurveyProject, survey_project_id)
    form = NoteForm()
    status = 200
    if request.method == "POST":
        if not can(current_user, "surveys.design"):
            abort(403)
        if form.validate_on_submit():
            if form.receipt is not None:
                return redirect(form.receipt.url)

            def create():
                note = SurveyNote(project_id=found.id, kind=form.kind.data, held_on=form.held_on.data,
                                  participants=form.participants.data, who=form.who.data.strip(),
                                  summary=form.summary.data.strip(), created_by_id=current_user.id)
                db.session.add(note)
                db.session.flush()
                audit_trail.record("survey_note.created", actor=current_user, target=found, details={"kind": note.kind})
                return note

            done = create_once(form, create, lambda n: url_for("surveys.notes", survey_project_id=found.id),
                               _("Recorded."))
            if done:
                return done
        status = 422
    elif can(current_user, "surveys.design"):
        form = NoteForm(formdata=None, held_on=local_today())
    rows = db.session.scalars(select(SurveyNote).where(SurveyNote.project_id == found.id)
                              .options(selectinload(SurveyNote.created_by))
                              .order_by(SurveyNote.held_on.desc(), SurveyNote.id.desc()).limit(200)).all()
    return render_template("surveys/notes.html", project=found, rows=rows, form=form), status
