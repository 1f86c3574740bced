"""Questionnaires (R39-R42, R46): headquarters designs them, the customer-experience committee
approves them (R4); an approved edition is frozen and a change is a new edition."""
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.blueprints.common import commit_or_explain, save_versioned
from app.blueprints.surveys import bp
from app.blueprints.surveys.forms import WeightsForm, weight_field
from app.extensions import db
from app.forms import EmptyForm
from app.i18n import current_locale
from app.models.base import utcnow
from app.models.survey import SCALE, Questionnaire
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services import approvals
from app.services import audit as audit_trail
from app.services.surveys import defaults
from app.services.surveys import projects as project_service


def _load(questionnaire_id: int) -> Questionnaire:
    return get_scoped_or_404(Questionnaire, questionnaire_id, selectinload(Questionnaire.indicators),
                             selectinload(Questionnaire.questions))


@bp.route("/questionnaires")
@access("surveys.view")
def questionnaires():
    defaults.install()
    db.session.commit()
    rows = db.session.scalars(select(Questionnaire).options(selectinload(Questionnaire.indicators))
                              .order_by(Questionnaire.code, Questionnaire.edition.desc())).all()
    return render_template("surveys/questionnaires.html", rows=rows)


def _weights_form(questionnaire: Questionnaire, **kwargs):
    locale = current_locale()

    class Form(WeightsForm):
        pass

    for indicator in questionnaire.indicators:
        setattr(Form, f"w_{indicator.id}", weight_field(f"{indicator.code} · {indicator.label(locale)} (%)"))
    data = {f"w_{i.id}": i.weight for i in questionnaire.indicators}
    return Form(obj=questionnaire, data=data, **kwargs)


@bp.route("/questionnaires/<int:questionnaire_id>", methods=["GET", "POST"])
@access("surveys.view")
def questionnaire(questionnaire_id: int):
    found = _load(questionnaire_id)
    form = None
    status = 200
    from app.security.policy import can

    if found.status == "draft" and can(current_user, "surveys.design"):
        form = _weights_form(found)
        if form.validate_on_submit():
            weights = {i.id: form[f"w_{i.id}"].data for i in found.indicators}
            total = sum(weights.values(), Decimal(0))
            bad = [i for i in found.indicators if not Decimal(0) <= weights[i.id] <= Decimal(100)]
            if bad:
                for indicator in bad:
                    form[f"w_{indicator.id}"].errors.append(_("A weight is between 0 and 100."))
                status = 422
            elif total != 100:
                flash(_("The weights add up to %(total)s %%; they must add up to exactly 100 %%. Nothing is saved.",
                        total=f"{total.normalize():f}"), "danger")
                for indicator in found.indicators:
                    form[f"w_{indicator.id}"].errors.append(_("The weights add up to %(total)s %%.",
                                                              total=f"{total.normalize():f}"))
                status = 422
            else:
                def change():
                    for indicator in found.indicators:
                        indicator.weight = weights[indicator.id]
                    found.follow_up_at_or_below = form.follow_up_at_or_below.data
                    found.updated_at = utcnow()  # a new version of the questionnaire guards its weights too
                    audit_trail.record("questionnaire.weights", actor=current_user, target=found,
                                       details={i.code: str(weights[i.id]) for i in found.indicators})

                if save_versioned(form, found, change):
                    flash(_("Weights saved. The committee approves the questionnaire before it is used."), "success")
                    return redirect(url_for("surveys.questionnaire", questionnaire_id=found.id))
                status = 409
        elif form.is_submitted():
            status = 422
    previous = db.session.get(Questionnaire, found.previous_id) if found.previous_id else None
    return render_template("surveys/questionnaire.html", q=found, form=form, scale=SCALE, empty=EmptyForm(),
                           seen=approvals.of_questionnaire(found), history=approvals.history_of("questionnaire", found.id),
                           problem=project_service.weights_problem(found), previous=previous), status


@bp.route("/questionnaires/<int:questionnaire_id>/approve", methods=["POST"])
@access("surveys.approve")
def approve(questionnaire_id: int):
    found = _load(questionnaire_id)
    if not EmptyForm().validate_on_submit():
        abort(400)

    commit_or_explain(lambda: approvals.approve_from_page("questionnaire", found, current_user, request.form.get("seen")),
                      _("Approved: this questionnaire and its weights are now in use."))
    return redirect(url_for("surveys.questionnaire", questionnaire_id=found.id))


@bp.route("/questionnaires/<int:questionnaire_id>/edition", methods=["POST"])
@access("surveys.design")
def new_edition(questionnaire_id: int):
    found = _load(questionnaire_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    draft = project_service.new_edition(found, current_user)
    audit_trail.record("questionnaire.edition", actor=current_user, target=draft)
    db.session.commit()
    flash(_("A new draft edition: change it here, then the committee approves it. Results so far keep the "
            "weights they were computed with."), "info")
    return redirect(url_for("surveys.questionnaire", questionnaire_id=draft.id))
