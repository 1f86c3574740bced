"""Responses: the list of a project's responses, one response with its follow-up, paper forms
keyed in by staff, and the store's follow-ups of very low answers."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.blueprints.common import create_once, keyset_of
from app.blueprints.customers.views_customers import store_choices
from app.blueprints.surveys import bp
from app.blueprints.surveys.forms import FollowUpForm, ResponseForm
from app.extensions import db
from app.forms import choices
from app.i18n import current_locale
from app.models import Customer, Store
from app.models.base import local_today, utcnow
from app.models.survey import FOLLOW_UP_STATES, SCALE, Questionnaire, SurveyProject, SurveyResponse
from app.pagination import Ordering
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services import audit as audit_trail
from app.services.surveys import responses as response_service
from app.templating import date_text

NEWEST = Ordering((SurveyResponse.answered_on, SurveyResponse.id), descending=True)
BY_DUE = Ordering((SurveyResponse.follow_up_due_on, SurveyResponse.id))


def _questionnaire(questionnaire_id: int) -> Questionnaire:
    return db.session.scalar(select(Questionnaire).where(Questionnaire.id == questionnaire_id).options(
        selectinload(Questionnaire.indicators), selectinload(Questionnaire.questions)))


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@bp.route("/projects/<int:survey_project_id>/responses")
@access("surveys.view")
def responses(survey_project_id: int):
    found = get_scoped_or_404(SurveyProject, survey_project_id)
    stmt = select(SurveyResponse).where(SurveyResponse.project_id == found.id).options(
        selectinload(SurveyResponse.store))
    store_id = _int_arg("store")
    if store_id:
        stmt = stmt.where(SurveyResponse.store_id == store_id)
    low = request.args.get("low") == "1"
    if low:
        stmt = stmt.where(SurveyResponse.follow_up.is_not(None))
    page = keyset_of(stmt, NEWEST)
    store = db.session.get(Store, store_id) if store_id else None
    return render_template("surveys/responses.html", project=found, page=page, store=store, low=low,
                           stores=store_choices())


def _raw_answers(questionnaire: Questionnaire) -> dict:
    return {q.id: request.form.get(f"q{q.id}") for q in questionnaire.questions}


@bp.route("/projects/<int:survey_project_id>/enter", methods=["GET", "POST"])
@access("surveys.enter")
def enter(survey_project_id: int):
    """A paper form keyed in: the same questions, the store and date it was answered."""
    found = get_scoped_or_404(SurveyProject, survey_project_id)
    questionnaire = _questionnaire(found.questionnaire_id)
    stores = db.session.execute(select(Store.id, Store.code, Store.name).where(Store.status == "open")
                                .order_by(Store.code).limit(2000)).all()
    form = ResponseForm()
    form.store_id.choices = choices([(s.id, f"{s.code} {s.name}") for s in stores], blank=True)
    problems, status = {}, 200
    if request.method == "GET":
        form = ResponseForm(formdata=None, answered_on=min(local_today(), found.ends_on),
                            store_id=stores[0].id if len(stores) == 1 else 0)
        form.store_id.choices = choices([(s.id, f"{s.code} {s.name}") for s in stores], blank=True)
    elif form.validate_on_submit():
        if form.receipt is not None:
            return redirect(form.receipt.url)
        store = get_scoped_or_404(Store, form.store_id.data)
        customer_id = None
        code = (form.customer_no.data or "").strip().upper()
        if code:
            customer_id = db.session.scalar(select(Customer.id).where(Customer.code == code,
                                                                      Customer.store_id == store.id))
            if customer_id is None:
                form.customer_no.errors.append(_("No customer of this store has this number."))
        if not form.customer_no.errors:
            def create():
                try:
                    response = response_service.record(
                        found, store, _raw_answers(questionnaire), source="paper", answered_on=form.answered_on.data,
                        respondent=form.respondent.data, customer_id=customer_id, entered_by=current_user)
                except response_service.AnswerErrors as error:
                    problems.update(error.problems)
                    raise
                audit_trail.record("survey_response.entered", actor=current_user, target=response,
                                   details={"store": store.code})
                return response

            def said(response):
                if response.follow_up:
                    return _("Response recorded. It has a very low answer: a follow-up is due by %(day)s.",
                             day=date_text(response.follow_up_due_on))
                return _("Response recorded. Enter the next form below.")

            done = create_once(form, create, lambda r: url_for("surveys.enter", survey_project_id=found.id,
                                                               last=r.id), said)
            if done:
                return done
        status = 422
    else:
        status = 422
    last = None
    last_id = _int_arg("last")
    if last_id:
        last = db.session.scalar(select(SurveyResponse).where(SurveyResponse.id == last_id))
    return render_template("surveys/enter.html", project=found, q=questionnaire, form=form, problems=problems,
                           posted=request.form if request.method == "POST" else {}, scale=SCALE, last=last,
                           locale=current_locale()), status


@bp.route("/responses/<int:survey_response_id>", methods=["GET", "POST"])
@access("surveys.view")
def response(survey_response_id: int):
    found = get_scoped_or_404(SurveyResponse, survey_response_id, selectinload(SurveyResponse.store))
    questionnaire = _questionnaire(found.questionnaire_id)
    form = FollowUpForm()
    status = 200
    if request.method == "POST":
        from app.security.policy import can

        if not can(current_user, "surveys.follow_up") or found.follow_up is None:
            abort(403)
        if found.follow_up == "done":
            flash(_("This was already followed up by %(name)s.", name=found.follow_up_by.display_name
                    if found.follow_up_by else "—"), "info")
            return redirect(url_for("surveys.response", survey_response_id=found.id))
        if form.validate_on_submit():
            found.follow_up, found.follow_up_note = "done", form.note.data.strip()
            found.follow_up_by_id, found.follow_up_at = current_user.id, utcnow()
            audit_trail.record("survey_response.followed_up", actor=current_user, target=found)
            db.session.commit()
            flash(_("Follow-up recorded."), "success")
            return redirect(url_for("surveys.response", survey_response_id=found.id))
        status = 422
    customer = db.session.get(Customer, found.customer_id) if found.customer_id else None
    return render_template("surveys/response.html", r=found, q=questionnaire, form=form, scale=SCALE,
                           customer=customer, locale=current_locale(), states=FOLLOW_UP_STATES,
                           project=db.session.get(SurveyProject, found.project_id)), status


@bp.route("/follow-ups")
@access("surveys.view")
def follow_ups():
    """Very low answers the stores still have to follow up, the most urgent first."""
    stmt = select(SurveyResponse).where(SurveyResponse.follow_up == "open").options(selectinload(SurveyResponse.store))
    page = keyset_of(stmt, BY_DUE)
    return render_template("surveys/follow_ups.html", page=page, today=local_today())
