"""The service team's appraisal (R37, R38, R52): a period's list of staff with their result,
one employee's appraisal with what the data proposes per indicator, rewards and penalties, and
headquarters' settings (indicators and weights, periods). Visible to the employee's managers and
headquarters only (training.appraisals_view)."""
from datetime import date
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from app.blueprints.common import commit_or_explain, create_once, keyset_of
from app.blueprints.customers.views_customers import store_choices
from app.blueprints.training import bp, forms
from app.blueprints.training.views_staff import BY_NAME, load_employee, positions
from app.extensions import db
from app.forms import EmptyForm
from app.i18n import current_locale
from app.models import Appraisal, AppraisalIndicator, AppraisalPeriod, Employee, Store
from app.models.base import local_today
from app.models.training import INCENTIVE_KINDS, INCENTIVE_TYPES, INDICATOR_SOURCES, PERIOD_KINDS, RATINGS
from app.security.access import access
from app.security.policy import can
from app.security.tenancy import get_scoped_or_404, unscoped
from app.services import RuleError, audit as audit_trail
from app.services.training import appraisals as service
from app.services.training.sessions import parse_score


def _periods():
    with unscoped():
        return db.session.scalars(select(AppraisalPeriod).order_by(AppraisalPeriod.closed, AppraisalPeriod.starts_on.desc(),
                                                                   AppraisalPeriod.id.desc())).all()


def period_label(period: AppraisalPeriod) -> str:
    from app.templating import date_text

    return f"{PERIOD_KINDS.get(period.kind, period.kind)} {date_text(period.starts_on, 'short')} – " \
           f"{date_text(period.ends_on, 'short')}"


@bp.route("/appraisals")
@access("training.appraisals_view")
def appraisals():
    """A period's staff and their appraisal: who is done, who is still to appraise."""
    periods = _periods()
    chosen = request.args.get("period", type=int)
    period = next((p for p in periods if p.id == chosen), periods[0] if periods else None)
    page, results = None, {}
    store = request.args.get("store", type=int)
    if period is not None:
        stmt = select(Employee).where(Employee.hire_date <= period.ends_on,
                                      (Employee.status != "left") | (Employee.left_on >= period.starts_on))
        if store:
            stmt = stmt.where(Employee.store_id == store)
        page = keyset_of(stmt.options(joinedload(Employee.store).load_only(Store.id, Store.code, Store.name)), BY_NAME)
        ids = [e.id for e in page.items]
        results = {a.employee_id: a for a in db.session.scalars(select(Appraisal).where(
            Appraisal.period_id == period.id, Appraisal.employee_id.in_(ids)))} if ids else {}
    return render_template("training/appraisals.html", periods=periods, period=period, page=page, results=results,
                           positions=positions(), locale=current_locale(), label=period_label, stores=store_choices(),
                           store=store, ratings=RATINGS)


def _scores_from(form_data, indicators) -> tuple[dict[int, Decimal | None], dict[int, str]]:
    scores, errors = {}, {}
    for indicator in indicators:
        raw = form_data.get(f"score-{indicator.id}", "")
        try:
            scores[indicator.id] = parse_score(raw, places=2)  # the data's proposals have two decimals
        except RuleError as error:
            errors[indicator.id] = str(error)
    return scores, errors


@bp.route("/appraisals/<int:appraisal_period_id>/<int:employee_id>", methods=["GET", "POST"])
@access("training.appraisals_view")
def appraisal(appraisal_period_id: int, employee_id: int):
    period = get_scoped_or_404(AppraisalPeriod, appraisal_period_id)
    employee = load_employee(employee_id)
    found = db.session.scalar(select(Appraisal).where(Appraisal.period_id == period.id,
                                                      Appraisal.employee_id == employee.id))
    indicators = service.indicators()
    proposals = service.propose(employee, period)
    errors, posted, status = {}, None, 200
    if request.method == "POST":
        if not can(current_user, "training.appraise"):
            abort(403)
        form = forms.StepForm()
        posted = request.form
        scores, errors = _scores_from(request.form, indicators)
        comment = (request.form.get("comment") or "").strip()
        if len(comment) > 2000:
            errors["comment"] = _("At most %(max)d characters.", max=2000)
        if not form.validate_on_submit():
            flash(_("The form had expired; your entries are below, please save again."), "warning")
            status = 400
        elif errors:
            flash(_("Nothing was saved: check the marked scores."), "danger")
            status = 422
        elif found is not None and form.version.data != found.version:
            flash(_("Someone else saved this appraisal meanwhile: it shows what they saved below yours. Save again to "
                    "keep yours."), "warning")
            status = 409
        else:
            try:
                saved = service.save(employee, period, scores, comment, current_user, found)
                audit_trail.record("appraisal.saved", actor=current_user, target=saved,
                                   details={"total": str(saved.total), "rating": saved.rating})
                db.session.commit()
                flash(_("Appraisal saved.") if saved.total is not None else
                      _("Saved; the total and rating appear once every indicator has a score."), "success")
                return redirect(url_for("training.appraisal", appraisal_period_id=period.id, employee_id=employee.id))
            except RuleError as error:
                db.session.rollback()
                flash(str(error), "danger")
                status = 422
            except StaleDataError:
                db.session.rollback()
                flash(_("Someone else saved this appraisal meanwhile; save again to keep yours."), "warning")
                status = 409
            found = db.session.scalar(select(Appraisal).where(Appraisal.period_id == period.id,
                                                              Appraisal.employee_id == employee.id))
            employee = load_employee(employee_id)
    return render_template(
        "training/appraisal.html", period=period, e=employee, a=found, indicators=indicators, proposals=proposals,
        errors=errors, posted=posted, label=period_label, locale=current_locale(), positions=positions(),
        step=forms.StepForm(formdata=None, version=found.version if found else 0), ratings=RATINGS,
        incentive=forms.IncentiveForm(formdata=None, awarded_on=local_today()),
        own=employee.user_id is not None and employee.user_id == current_user.id,
        sources=INDICATOR_SOURCES, kinds=INCENTIVE_KINDS, types=INCENTIVE_TYPES,
        can_edit=can(current_user, "training.appraise") and not period.closed and employee.user_id != current_user.id,
    ), status


@bp.route("/staff/<int:employee_id>/incentive", methods=["POST"])
@access("training.appraise")
def add_incentive(employee_id: int):
    employee = load_employee(employee_id)
    form = forms.IncentiveForm()
    back = request.form.get("back") or ""
    target = back if back.startswith("/training/") and "//" not in back else url_for(
        "training.employee", employee_id=employee.id)
    if form.validate_on_submit():
        if form.receipt is None and employee.user_id is not None and employee.user_id == current_user.id:
            # Nobody rewards (or penalises) themselves, as nobody appraises themselves (trial 13).
            form.kind.errors.append(_("Nobody records a reward or penalty for themselves: the franchise owner or "
                                      "headquarters does."))
        else:
            def create():
                incentive = service.add_incentive(employee, form.kind.data, form.type.data, form.description.data,
                                                  form.amount.data, form.awarded_on.data, current_user)
                audit_trail.record("incentive.added", actor=current_user, target=incentive)
                return incentive

            done = create_once(form, create, lambda incentive: target, _("Recorded."))
            if done:
                return done
    # What was typed stays: the form is shown again, each problem under its field.
    return render_template("training/incentive_form.html", e=employee, form=form, back=target), 422


# --- headquarters' settings ------------------------------------------------------------------------

@bp.route("/appraisal-settings", methods=["GET", "POST"])
@access("training.appraisal_settings")
def appraisal_settings():
    """The indicators and their weights (adding up to 100), and the periods."""
    with unscoped():
        rows = db.session.scalars(select(AppraisalIndicator).order_by(AppraisalIndicator.position,
                                                                      AppraisalIndicator.id)).all()
    errors, posted = {}, None
    if request.method == "POST":
        form = EmptyForm()
        posted = request.form
        if not form.validate_on_submit():
            flash(_("The form had expired; your entries are below, please save again."), "warning")
        else:
            weights = {}
            for row in rows:
                raw = (request.form.get(f"weight-{row.id}") or "").strip()
                active = request.form.get(f"active-{row.id}") == "y"
                source = request.form.get(f"source-{row.id}", row.source)
                if not (raw.isascii() and raw.isdigit() and int(raw) <= 100):
                    errors[row.id] = _("Enter a whole number from 0 to 100.")
                    continue
                if source not in INDICATOR_SOURCES:
                    errors[row.id] = _("Choose a source.")
                    continue
                if active:
                    weights[row.id] = int(raw)
            if not errors:
                try:
                    service.check_weights(weights)
                except RuleError as error:
                    errors["weights"] = str(error)
            if not errors:
                with unscoped():
                    for row in rows:
                        row.weight = int(request.form.get(f"weight-{row.id}"))
                        row.active = row.id in weights
                        row.source = request.form.get(f"source-{row.id}", row.source)
                    audit_trail.record("appraisal.indicators", actor=current_user,
                                       details={str(k): v for k, v in weights.items()})
                    db.session.commit()
                flash(_("Indicators saved."), "success")
                return redirect(url_for("training.appraisal_settings"))
    return render_template("training/appraisal_settings.html", indicators=rows, errors=errors, posted=posted,
                           sources=INDICATOR_SOURCES, periods=_periods(), label=period_label, locale=current_locale(),
                           period_form=forms.PeriodForm(formdata=None, year=local_today().year), step=EmptyForm())


def _period_dates(kind: str, year: int, number: int) -> tuple[date, date]:
    if kind == "year":
        return date(year, 1, 1), date(year, 12, 31)
    if kind == "half":
        return (date(year, 1, 1), date(year, 6, 30)) if number == 1 else (date(year, 7, 1), date(year, 12, 31))
    start = date(year, 3 * number - 2, 1)
    end = date(year + (number == 4), (3 * number) % 12 + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


@bp.route("/appraisal-periods/new", methods=["POST"])
@access("training.appraisal_settings")
def new_period():
    form = forms.PeriodForm()
    if form.validate_on_submit():
        if form.receipt is not None:
            return redirect(url_for("training.appraisal_settings"))
        starts, ends = _period_dates(form.kind.data, form.year.data, form.number.data)
        with unscoped():
            exists_already = db.session.scalar(select(AppraisalPeriod.id).where(
                AppraisalPeriod.kind == form.kind.data, AppraisalPeriod.starts_on == starts))

        if exists_already:
            flash(_("This period exists already."), "info")
            return redirect(url_for("training.appraisal_settings"))

        def create():
            period = AppraisalPeriod(kind=form.kind.data, starts_on=starts, ends_on=ends)
            with unscoped():
                db.session.add(period)
                db.session.flush()
            audit_trail.record("appraisal.period_opened", actor=current_user, target=period)
            return period

        done = create_once(form, create, lambda p: url_for("training.appraisals", period=p.id), _("Period opened."))
        if done:
            return done
    for messages in form.errors.values():
        for message in messages:
            flash(str(message), "danger")
    return redirect(url_for("training.appraisal_settings"))


@bp.route("/appraisal-periods/<int:appraisal_period_id>/close", methods=["POST"])
@access("training.appraisal_settings")
def close_period(appraisal_period_id: int):
    period = get_scoped_or_404(AppraisalPeriod, appraisal_period_id)
    form = EmptyForm()
    if form.validate_on_submit():
        def change():
            period.closed = True
            audit_trail.record("appraisal.period_closed", actor=current_user, target=period)

        commit_or_explain(change, _("Period closed: its appraisals are final."))
    return redirect(url_for("training.appraisal_settings"))
