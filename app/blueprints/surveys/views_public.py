"""The public survey pages (no sign-in, phone-first, Chinese by default): a store's page reached
from the QR code in the store, and a customer's personal invitation link. One response per link
and per page shown; robots, floods and forged pages are refused; the answers typed are kept when
something must be fixed."""
from flask import current_app, redirect, render_template, request, session, url_for
from limits import parse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.blueprints.surveys import public_bp as bp
from app.blueprints.surveys.forms import PublicResponseForm
from app.extensions import db
from app.i18n import current_locale
from app.models import Store
from app.models.base import local_today
from app.models.survey import SCALE, Questionnaire, SurveyProject, SurveyResponse
from app.security.access import PUBLIC, access
from app.security.scope import public_scope
from app.security.tenancy import activate, unscoped
from app.services import RuleError
from app.services.complaints import public as complaint_pages
from app.services.surveys import public
from app.services.surveys import responses as response_service

DONE_KEY = "survey_done"


def _hit(name: str, limit: str, *keys) -> bool:
    """Count one hit; True when the limit was already reached."""
    return not current_app.extensions["public_limiter"].hit(parse(limit), name, *keys)


def _questionnaire(questionnaire_id: int) -> Questionnaire:
    with unscoped():
        return db.session.scalar(select(Questionnaire).where(Questionnaire.id == questionnaire_id).options(
            selectinload(Questionnaire.indicators), selectinload(Questionnaire.questions)))


def _posted_stamp() -> str:
    return next((value for value in request.form.getlist("stamp") if value), "")


def _page(store, project, q, form, page_key, *, status=200, problems=None, problem=None, keep_stamp=False):
    config = current_app.config
    stamp = _posted_stamp() if keep_stamp else public.form_stamp(config["SECRET_KEY"], page_key)
    return render_template("surveys/public_form.html", store=store, project=project, q=q, form=form, stamp=stamp,
                           problems=problems or {}, problem=problem, scale=SCALE, locale=current_locale(),
                           posted=request.form if request.method == "POST" else {}), status


def _answer(store: Store, project: SurveyProject, page_key: str, *, invitation=None):
    """Show the questionnaire, or record what was sent."""
    q = _questionnaire(project.questionnaire_id)
    form = PublicResponseForm()
    if request.method == "GET":
        return _page(store, project, q, PublicResponseForm(formdata=None), page_key)
    config = current_app.config
    address = request.remote_addr or "-"
    if _hit("survey-posts", config["SURVEY_LIMIT_PER_ADDRESS"], address):
        return _page(store, project, q, form, page_key, status=429, problem="busy", keep_stamp=True)
    stamp = _posted_stamp()
    if not form.validate_on_submit():
        return _page(store, project, q, form, page_key, status=400,
                     problem="stale" if form.csrf_token.errors else None,
                     keep_stamp=not form.csrf_token.errors)
    submission = complaint_pages.token_hash(stamp)
    with unscoped():
        earlier = db.session.scalar(select(SurveyResponse.id).where(SurveyResponse.submission == submission))
    if earlier:  # Back then Send: the first one was received
        return render_template("surveys/public_done.html", store=store, again=True), 200
    problem = public.stamp_problem(config["SECRET_KEY"], stamp, page_key, config["PUBLIC_FORM_MIN_SECONDS"],
                                   config["PUBLIC_FORM_MAX_SECONDS"])
    if form.website.data or problem == "forged":
        return _page(store, project, q, form, page_key, status=400, problem="check")
    if problem in ("fast", "stale"):
        return _page(store, project, q, form, page_key, status=400, problem="check" if problem == "fast" else "stale",
                     keep_stamp=problem == "fast")
    raw = {question.id: request.form.get(f"q{question.id}") for question in q.questions}
    try:
        response_service.record(project, store, raw, source="link" if invitation else "store",
                                answered_on=local_today(), respondent=form.respondent.data,
                                customer_id=invitation.customer_id if invitation else None, invitation=invitation,
                                submission=submission)
        db.session.commit()
    except response_service.AnswerErrors as error:
        db.session.rollback()
        return _page(store, project, q, form, page_key, status=422, problems=error.problems, keep_stamp=True)
    except RuleError as error:
        db.session.rollback()
        return render_template("surveys/public_closed.html", store=store, message=str(error)), 409
    except IntegrityError:  # the same page sent twice at the same moment
        db.session.rollback()
        return render_template("surveys/public_done.html", store=store, again=True), 200
    session[DONE_KEY] = page_key
    return redirect(url_for("survey_public.thanks", store_key=store.public_key))


@bp.route("/<public_key>", methods=["GET", "POST"])
@access(PUBLIC)
def store_page(public_key: str):
    """A store's survey page, reached from the QR code in the store."""
    store = complaint_pages.store_for_key(public_key)
    if store is None:
        return render_template("surveys/public_not_found.html"), 404
    activate(public_scope(store.id, store.franchisee_id))
    project = public.open_project()
    if project is None:
        return render_template("surveys/public_closed.html", store=store, message=None), 200
    return _answer(store, project, f"store:{store.public_key}:{project.id}")


@bp.route("/i/<token>", methods=["GET", "POST"])
@access(PUBLIC)
def invitation(token: str):
    """A customer's personal link: answers once."""
    if _hit("survey-links", current_app.config["PROGRESS_LIMIT_PER_ADDRESS"], request.remote_addr or "-"):
        return render_template("surveys/public_busy.html"), 429
    found = public.invitation_for(token)
    if found is None:
        return render_template("surveys/public_not_found.html"), 404
    with unscoped():
        store = db.session.get(Store, found.store_id)
        project = db.session.get(SurveyProject, found.project_id)
    activate(public_scope(store.id, store.franchisee_id, invitation_id=found.id))
    if found.responded_at is not None:
        return render_template("surveys/public_done.html", store=store, again=True), 200
    problem = response_service.collection_problem(project, local_today(), "link")
    if problem:
        return render_template("surveys/public_closed.html", store=store, message=problem), 200
    return _answer(store, project, f"invitation:{found.id}", invitation=found)


@bp.route("/done/<store_key>")
@access(PUBLIC)
def thanks(store_key: str):
    store = complaint_pages.store_for_key(store_key)
    if store is None or not session.pop(DONE_KEY, None):
        return redirect(url_for("survey_public.store_page", public_key=store_key))
    return render_template("surveys/public_done.html", store=store, again=False)
