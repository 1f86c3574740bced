"""KPIs per store, franchisee and network per half-year (R47, R53), from the stored figures; the
thresholds headquarters sets and the committee approves (R48, R49, R4); the warnings franchise
owners acknowledge and answer, and headquarters follows with their age."""
from collections import defaultdict

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.blueprints.common import commit_or_explain, create_once, keyset_of, summed_for_scope
from app.blueprints.kpis import bp
from app.blueprints.kpis.forms import ActionForm, CloseForm, ThresholdForm
from app.extensions import db
from app.forms import EmptyForm, choices
from app.models import Franchisee, Store
from app.models.base import local_today, utcnow
from app.models.kpi import KPI_SOURCES, KPIS, THRESHOLD_KPIS, WARNING_STATES, KpiThreshold, KpiWarning, StoreKpi
from app.models.survey import Questionnaire, SurveyProject
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.scope import current_scope
from app.security.tenancy import get_scoped_or_404
from app.services import approvals
from app.services import audit as audit_trail
from app.services import kpis

BY_STORE = Ordering((Store.code, StoreKpi.id))
OLDEST = Ordering((KpiWarning.opened_at, KpiWarning.id))


def _period_arg() -> int:
    value = request.args.get("period", "")
    if value.isdigit() and len(value) == 5 and value[-1] in "12":
        return int(value)
    return kpis.period_of(local_today())


_group = kpis.group_figures


def _groups(scope, period: int):
    """The scope's, the previous half-year's and each franchisee's figures, and when computed."""
    all_rows = db.session.scalars(select(StoreKpi).where(StoreKpi.period == period)).all()
    previous_rows = db.session.scalars(select(StoreKpi).where(StoreKpi.period == kpis.previous(period))).all()
    questionnaires: dict = {}
    total, before = _group(all_rows, questionnaires), _group(previous_rows, questionnaires)
    by_franchisee = []
    if scope.is_network or len(scope.franchisee_ids or ()) > 1:
        grouped = defaultdict(list)
        for row in all_rows:
            grouped[row.franchisee_id].append(row)
        names = dict(db.session.execute(select(Franchisee.id, Franchisee.name).where(
            Franchisee.id.in_(list(grouped) or [0]))).all())
        by_franchisee = sorted(((names.get(f, "—"), f, _group(rows, questionnaires)) for f, rows in grouped.items()),
                               key=lambda item: item[0])
    return total, before, by_franchisee, max((r.computed_at for r in all_rows), default=None)


@bp.route("/")
@access("kpis.view")
def index():
    period = _period_arg()
    scope = current_scope._get_current_object()
    periods = db.session.scalars(select(StoreKpi.period).distinct().order_by(StoreKpi.period.desc()).limit(12)).all()
    # A thousand stores' rows added up on every visit: a minute-old sum will do (the page says when
    # the figures were computed).
    total, before, by_franchisee, computed = summed_for_scope(("kpi_table", period), lambda: _groups(scope, period))
    stores = keyset_of(select(StoreKpi, Store.code.label("code"), StoreKpi.id.label("id"))
                       .join(Store, Store.id == StoreKpi.store_id)
                       .where(StoreKpi.period == period).options(selectinload(StoreKpi.store)), BY_STORE, scalars=False)
    open_warnings = db.session.scalar(select(func.count()).select_from(
        select(KpiWarning.id).where(KpiWarning.state.in_(("open", "acknowledged"))).limit(1001).subquery()))
    first, last = kpis.bounds(period)
    project_id = db.session.scalar(select(SurveyProject.id).join(Questionnaire).where(
        SurveyProject.year == first.year, SurveyProject.half == period % 10, Questionnaire.kind == "index")
        .order_by(SurveyProject.id.desc()).limit(1))
    links = {"project": project_id, "from": first.strftime("%Y-%m"), "to": last.strftime("%Y-%m"), "year": first.year}
    return render_template("kpis/index.html", period=period, links=links, periods=periods, total=total, before=before,
                           by_franchisee=by_franchisee, stores=stores, computed=computed, kpis_=KPIS,
                           sources=KPI_SOURCES, thresholds=kpis.approved_thresholds(), label=kpis.label,
                           bounds=kpis.bounds(period), open_warnings=open_warnings, previous=kpis.previous(period))


@bp.route("/thresholds", methods=["GET", "POST"])
@access("kpis.view")
def thresholds():
    form = ThresholdForm()
    form.kpi.choices = choices([(code, label) for code, (label, _unit, _h) in THRESHOLD_KPIS.items()
                                if code not in kpis.NO_THRESHOLD])
    status = 200
    if request.method == "POST":
        if not can(current_user, "kpis.thresholds"):
            abort(403)
        if form.validate_on_submit():
            if form.receipt is not None:
                return redirect(form.receipt.url)
            problem = kpis.threshold_problem(form.kpi.data, form.green.data, form.red.data, form.change_percent.data)
            if problem:
                form.red.errors.append(problem)
            else:
                def create():
                    edition = (db.session.scalar(select(func.max(KpiThreshold.edition)).where(
                        KpiThreshold.kpi == form.kpi.data, KpiThreshold.status != "draft")) or 0) + 1
                    replaced = db.session.scalars(select(KpiThreshold.id).where(
                        KpiThreshold.kpi == form.kpi.data, KpiThreshold.status == "draft")).all()
                    if approvals.close_for_gone("threshold", replaced, current_user):
                        flash(_("The draft waiting for the committee was replaced: put the new one forward."), "info")
                    db.session.execute(db.delete(KpiThreshold).where(KpiThreshold.id.in_(replaced)))
                    threshold = KpiThreshold(kpi=form.kpi.data, edition=edition, green=form.green.data,
                                             red=form.red.data, change_percent=form.change_percent.data,
                                             created_by_id=current_user.id)
                    db.session.add(threshold)
                    db.session.flush()
                    audit_trail.record("kpi_threshold.drafted", actor=current_user, target=threshold,
                                       details={"kpi": threshold.kpi, "green": str(threshold.green),
                                                "red": str(threshold.red)})
                    return threshold

                done = create_once(form, create, lambda t: url_for("kpis.thresholds"),
                                   _("Draft saved. It takes effect when the committee approves it."))
                if done:
                    return done
        status = 422
    rows = db.session.scalars(select(KpiThreshold).where(KpiThreshold.status != "retired")
                              .order_by(KpiThreshold.kpi, KpiThreshold.edition.desc())).all()
    order = list(THRESHOLD_KPIS)
    rows.sort(key=lambda t: (order.index(t.kpi), -t.edition))
    histories = {t.id: approvals.history_of("threshold", t.id) for t in rows if t.status == "draft"}
    return render_template("kpis/thresholds.html", rows=rows, form=form, kpis_=THRESHOLD_KPIS, empty=EmptyForm(),
                           seen=approvals.of_threshold, histories=histories), status


@bp.route("/thresholds/<int:kpi_threshold_id>/approve", methods=["POST"])
@access("kpis.approve")
def approve_threshold(kpi_threshold_id: int):
    found = get_scoped_or_404(KpiThreshold, kpi_threshold_id)
    if not EmptyForm().validate_on_submit():
        abort(400)

    commit_or_explain(lambda: approvals.approve_from_page("threshold", found, current_user, request.form.get("seen")),
                      _("Approved: warnings use these limits from the next computation."))
    return redirect(url_for("kpis.thresholds"))


@bp.route("/warnings")
@access("kpis.view")
def warnings():
    state = request.args.get("state", "open")
    stmt = select(KpiWarning).options(selectinload(KpiWarning.store))
    if state == "open":
        stmt = stmt.where(KpiWarning.state.in_(("open", "acknowledged")))
    elif state in WARNING_STATES:
        stmt = stmt.where(KpiWarning.state == state)
    page = keyset_of(stmt, OLDEST)
    return render_template("kpis/warnings.html", page=page, state=state, states=WARNING_STATES, now=utcnow(),
                           label=kpis.label, kpis_=KPIS)


@bp.route("/warnings/<int:kpi_warning_id>", methods=["GET", "POST"])
@access("kpis.view")
def warning(kpi_warning_id: int):
    found = get_scoped_or_404(KpiWarning, kpi_warning_id, selectinload(KpiWarning.store))
    action_form, close_form = ActionForm(), CloseForm()
    status = 200
    step = request.form.get("step") if request.method == "POST" else None
    if request.method == "POST" and not (can(current_user, "kpis.respond") or can(current_user, "kpis.close")):
        abort(403)
    if step in ("acknowledge", "answer"):
        if not can(current_user, "kpis.respond"):
            abort(403)
        if step == "acknowledge" and EmptyForm().validate_on_submit():
            if found.state == "open":
                found.state, found.acknowledged_at, found.acknowledged_by_id = "acknowledged", utcnow(), current_user.id
                audit_trail.record("kpi_warning.acknowledged", actor=current_user, target=found)
                db.session.commit()
            flash(_("Acknowledged. Now say what will be done."), "success")
            return redirect(url_for("kpis.warning", kpi_warning_id=found.id))
        if step == "answer":
            if found.state == "closed":
                flash(_("This warning is already closed."), "info")
                return redirect(url_for("kpis.warning", kpi_warning_id=found.id))
            if action_form.validate_on_submit():
                if found.acknowledged_at is None:
                    found.acknowledged_at, found.acknowledged_by_id = utcnow(), current_user.id
                found.state, found.action = "answered", action_form.action.data.strip()
                found.action_due_on, found.answered_at, found.answered_by_id = (
                    action_form.action_due_on.data, utcnow(), current_user.id)
                audit_trail.record("kpi_warning.answered", actor=current_user, target=found)
                db.session.commit()
                flash(_("Action recorded. Headquarters closes the warning when it is done."), "success")
                return redirect(url_for("kpis.warning", kpi_warning_id=found.id))
            status = 422
    elif step == "close":
        if not can(current_user, "kpis.close"):
            abort(403)
        if close_form.validate_on_submit() and found.action is None and not (close_form.closing_note.data or "").strip():
            close_form.closing_note.errors.append(_("No action was given for this warning: say why it is closed."))
            status = 422
        elif close_form.validate_on_submit():
            if found.state != "closed":
                found.state, found.closed_at, found.closed_by_id = "closed", utcnow(), current_user.id
                found.closing_note = (close_form.closing_note.data or "").strip() or None
                audit_trail.record("kpi_warning.closed", actor=current_user, target=found)
                db.session.commit()
            flash(_("Warning closed."), "success")
            return redirect(url_for("kpis.warning", kpi_warning_id=found.id))
        status = 422
    elif request.method == "POST":
        abort(400)
    threshold = db.session.get(KpiThreshold, found.threshold_id)
    return render_template("kpis/warning.html", w=found, threshold=threshold, action_form=action_form,
                           close_form=close_form, empty=EmptyForm(), label=kpis.label, kpis_=KPIS,
                           now=utcnow()), status
