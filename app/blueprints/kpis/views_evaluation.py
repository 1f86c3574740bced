"""The half-yearly evaluation (综合评估, R51): the ranking of stores and franchisees by their
weighted score, each store's evaluation with headquarters' comment, and the weights the
committee approves."""
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.blueprints.common import commit_or_explain, keyset_of, list_text
from app.blueprints.kpis import bp
from app.blueprints.kpis.forms import CommentForm, scheme_form
from app.blueprints.kpis.views import _period_arg
from app.extensions import db
from app.forms import EmptyForm
from app.models import Franchisee
from app.models.base import utcnow
from app.models.kpi import GRADES, KPIS, EvaluationScheme, StoreEvaluation
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.scope import current_scope
from app.security.tenancy import get_scoped_or_404
from app.services import approvals
from app.services import audit as audit_trail
from app.services import evaluation, kpis

BY_RANK = Ordering((StoreEvaluation.rank, StoreEvaluation.id))


@bp.route("/evaluation")
@access("kpis.view")
def evaluations():
    period = _period_arg()
    periods = db.session.scalars(select(StoreEvaluation.period).distinct().order_by(StoreEvaluation.period.desc())
                                 .limit(12)).all()
    page = keyset_of(select(StoreEvaluation).where(StoreEvaluation.period == period)
                     .options(selectinload(StoreEvaluation.store)), BY_RANK)
    grades = dict(db.session.execute(select(StoreEvaluation.grade, func.count()).where(
        StoreEvaluation.period == period).group_by(StoreEvaluation.grade)).all())
    by_franchisee = db.session.execute(
        select(Franchisee.name, func.avg(StoreEvaluation.score).label("score"), func.count(StoreEvaluation.id)
               .label("stores"), func.min(StoreEvaluation.rank).label("best"))
        .join(Franchisee, Franchisee.id == StoreEvaluation.franchisee_id)
        .where(StoreEvaluation.period == period, StoreEvaluation.score.is_not(None))
        .group_by(Franchisee.id, Franchisee.name).order_by(func.avg(StoreEvaluation.score).desc()).limit(200)).all()
    used = db.session.scalar(select(StoreEvaluation.scheme_id).where(StoreEvaluation.period == period).limit(1))
    scheme = db.session.get(EvaluationScheme, used) if used else evaluation.approved_scheme()
    weights_text = list_text(f"{KPIS[k][0]} {Decimal(str(w)).normalize():f} %" for k, w in scheme.weights.items()
                             if k in KPIS) if scheme else ""
    return render_template("kpis/evaluations.html", period=period, periods=periods, page=page, grades=grades,
                           grade_labels=GRADES, by_franchisee=by_franchisee, label=kpis.label, scheme=scheme,
                           weights_text=weights_text, kpis_=KPIS)


@bp.route("/evaluation/<int:store_evaluation_id>", methods=["GET", "POST"])
@access("kpis.view")
def store_evaluation(store_evaluation_id: int):
    found = get_scoped_or_404(StoreEvaluation, store_evaluation_id, selectinload(StoreEvaluation.store))
    form = CommentForm(obj=found)
    status = 200
    if request.method == "POST":
        if not can(current_user, "kpis.comment"):
            abort(403)
        if form.validate_on_submit():
            from app.blueprints.common import save_versioned

            def change():
                found.comment = (form.comment.data or "").strip() or None
                found.commented_by_id, found.commented_at = current_user.id, utcnow()
                audit_trail.record("store_evaluation.commented", actor=current_user, target=found)

            if save_versioned(form, found, change):
                flash(_("Comment saved."), "success")
                return redirect(url_for("kpis.store_evaluation", store_evaluation_id=found.id))
            status = 409
        else:
            status = 422
    # The network's number of ranked stores is headquarters' figure; others see the rank alone.
    total = db.session.scalar(select(func.count(StoreEvaluation.id)).where(
        StoreEvaluation.period == found.period, StoreEvaluation.score.is_not(None))) \
        if current_scope._get_current_object().is_network else None
    return render_template("kpis/evaluation.html", e=found, form=form, label=kpis.label, kpis_=KPIS, total=total,
                           report_form=EmptyForm(),
                           scheme=db.session.get(EvaluationScheme, found.scheme_id)), status


@bp.route("/evaluation/scheme", methods=["GET", "POST"])
@access("kpis.view")
def evaluation_scheme():
    thresholds = kpis.approved_thresholds()
    current = evaluation.approved_scheme()
    pending = db.session.scalar(select(EvaluationScheme).where(EvaluationScheme.status == "draft"))
    shown = pending or current
    form = scheme_form(request.form if request.method == "POST" else None,
                       {k: Decimal(str(v)) for k, v in (shown.weights if shown else evaluation.DEFAULT_WEIGHTS).items()})
    status = 200
    if request.method == "POST":
        if not can(current_user, "kpis.thresholds"):
            abort(403)
        if form.validate_on_submit():
            weights = {code: form[f"w_{code}"].data or Decimal(0) for code in KPIS if f"w_{code}" in form}
            problem = evaluation.weights_problem(weights, thresholds)
            if problem:
                flash(_("Not saved: %(problem)s", problem=problem), "danger")
                status = 422
            else:
                scheme = evaluation.draft(weights, current_user)
                audit_trail.record("evaluation_scheme.drafted", actor=current_user, target=scheme,
                                   details={k: str(v) for k, v in weights.items() if v})
                db.session.commit()
                flash(_("Draft saved. It takes effect when the committee approves it."), "success")
                return redirect(url_for("kpis.evaluation_scheme"))
        else:
            status = 422
    return render_template("kpis/scheme.html", form=form, current=current, pending=pending, kpis_=KPIS,
                           thresholds=thresholds, empty=EmptyForm(),
                           seen=approvals.of_scheme(pending) if pending else None,
                           history=approvals.history_of("scheme", pending.id) if pending else []), status


@bp.route("/evaluation/scheme/<int:evaluation_scheme_id>/approve", methods=["POST"])
@access("kpis.approve")
def approve_scheme(evaluation_scheme_id: int):
    found = get_scoped_or_404(EvaluationScheme, evaluation_scheme_id)
    if not EmptyForm().validate_on_submit():
        abort(400)

    commit_or_explain(lambda: approvals.approve_from_page("scheme", found, current_user, request.form.get("seen")),
                      _("Approved: the evaluation uses these weights from the next computation."))
    return redirect(url_for("kpis.evaluation_scheme"))
