"""Printed reports (issue 13): the archive of issued PDFs, one report on demand, batches of store
reports with their progress and ZIP, and the exact bytes of any issued version.

Everything is read through the tenant scope (models.base.ReportScoped): a store's reports reach
whoever sees the store, a franchisee's its owner, the network's headquarters alone; anything
else is not found."""
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import exists, select
from sqlalchemy.orm import aliased, selectinload

from app.blueprints.common import keyset_of
from app.blueprints.reports import bp
from app.blueprints.reports.forms import (
    AnswerForm,
    BatchForm,
    DistributeForm,
    GroupReportForm,
    StoreReportForm,
)
from app.extensions import db
from app.forms import EmptyForm, choices
from app.models import Complaint, Franchisee, Store, StoreAudit
from app.models.base import local_today
from app.models.report import KINDS, Report, ReportBatch, ReportRecipient
from app.models.user import DEPARTMENTS
from app.pagination import Ordering
from app.security.access import access
from app.security.policy import can
from app.security.scope import current_scope
from app.security.tenancy import get_scoped_or_404
from app.services import RuleError, kpis
from app.services import reports as report_service
from app.services.reports import distribution, periods
from app.services.governance import projects

LATEST = Ordering((Report.generated_at, Report.id), descending=True)
RECENT_PERIODS = 6


def _periods() -> list[int]:
    """The half-years and quarters the forms offer, newest first."""
    return periods.recent(RECENT_PERIODS)


def _last_half_year() -> str:
    """What the forms propose: the last half-year that is over."""
    return str(kpis.previous(kpis.period_of(local_today())))


def _language() -> str:
    return "en" if str(get_locale()) == "en" else "zh_Hans"


def _store_form(formdata=None) -> StoreReportForm:
    form = StoreReportForm(formdata=formdata)
    stores = db.session.execute(select(Store.id, Store.code, Store.name).order_by(Store.code).limit(2000)).all()
    form.store.choices = choices((str(i), f"{code} {name}") for i, code, name in stores)
    form.period.choices = choices((str(p), periods.label(p)) for p in _periods())
    if formdata is None:
        form.language.data = _language()
        form.period.data = _last_half_year()
        if request.args.get("store", "").isdigit():
            form.store.data = request.args["store"]
        if periods.parse(request.args.get("period")) in _periods():
            form.period.data = request.args["period"]
    return form


def _batch_form(formdata=None, form_class=BatchForm):
    form = form_class(formdata=formdata)
    if current_scope.is_network:
        franchisees = db.session.execute(select(Franchisee.id, Franchisee.name)
                                         .order_by(Franchisee.name).limit(2000)).all()
        form.franchisee.choices = choices([("", _("Every open store of the network"))] + [
            (str(i), _("Every open store of %(name)s", name=name)) for i, name in franchisees])
    else:
        form.franchisee.choices = choices((str(i), _("Every open store of %(name)s", name=name)) for i, name in db.session.execute(
            select(Franchisee.id, Franchisee.name).where(Franchisee.id.in_(current_scope.franchisee_ids or ()))))
    form.period.choices = choices((str(p), periods.label(p)) for p in _periods())
    if formdata is None:
        form.language.data = _language()
        form.period.data = _last_half_year()
    return form


def _group_form(formdata=None) -> GroupReportForm:
    """A franchisee's report (its owner; headquarters any franchisee's) or the network summary
    (headquarters), or the complaint analysis of either."""
    form = _batch_form(formdata, GroupReportForm)
    if current_scope.is_network:
        form.franchisee.choices = choices([("", _("The whole network (network summary)"))] + [
            (c.value, c.label) for c in form.franchisee.choices[1:]])
    return form


def _can_group() -> bool:
    return can(current_user, "reports.generate") and (current_scope.is_network or current_scope.level == "franchisee")


def _can_batch() -> bool:
    return can(current_user, "reports.batch") and (current_scope.is_network or current_scope.level == "franchisee")


@bp.route("/")
@access("reports.view")
def index():
    """The reports issued in the user's scope, newest first, with what can be printed."""
    stmt = select(Report).options(selectinload(Report.store), selectinload(Report.franchisee),
                                  selectinload(Report.generated_by))
    kind = request.args.get("kind", "")
    if kind in KINDS:
        stmt = stmt.where(Report.kind == kind)
    else:
        kind = ""
    period = request.args.get("period", "")
    if periods.parse(period) is not None:
        stmt = stmt.where(Report.period == int(period))
    else:
        period = ""
    store_arg = request.args.get("store", "")
    store_filter = db.session.scalar(select(Store).where(Store.id == int(store_arg))) \
        if store_arg.isdigit() and len(store_arg) < 10 else None
    if store_filter is not None:
        stmt = stmt.where(Report.store_id == store_filter.id)
    all_versions = request.args.get("versions") == "all"
    if not all_versions:  # one line per report: its latest version (the page lists the others)
        newer = aliased(Report)
        stmt = stmt.where(~exists().where(newer.key == Report.key, newer.version > Report.version))
    page = keyset_of(stmt, LATEST)
    recent_batches = db.session.scalars(select(ReportBatch).options(selectinload(ReportBatch.franchisee))
                                        .order_by(ReportBatch.created_at.desc(), ReportBatch.id.desc()).limit(5)).all()
    return render_template("reports/index.html", page=page, kinds=KINDS, kind=kind, period=period,
                           store_filter=store_filter, all_versions=all_versions,
                           periods=_periods(), label=periods.label,
                           store_form=_store_form() if can(current_user, "reports.generate") else None,
                           batch_form=_batch_form() if _can_batch() else None, batches=recent_batches,
                           group_form=_group_form() if _can_group() else None, is_network=current_scope.is_network,
                           inbox=distribution.inbox(current_user), departments=DEPARTMENTS,
                           can_schedule=can(current_user, "reports.distribute"))


@bp.route("/new", methods=["GET", "POST"])
@access("reports.generate")
def new():
    """Print one store's evaluation report now (about a second) and keep it."""
    form = _store_form(request.form if request.method == "POST" else None)
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                report = report_service.issue("store", period=int(form.period.data), language=form.language.data,
                                              user=current_user, store_id=int(form.store.data),
                                              network=current_scope.is_network)
            except LookupError:
                abort(404)
            except RuleError as error:
                db.session.rollback()
                flash(str(error), "danger")
            else:
                flash(_("The report is ready: version %(v)d.", v=report.version), "success")
                return redirect(url_for("reports.show", report_id=report.id))
        return render_template("reports/new.html", form=form), 422
    return render_template("reports/new.html", form=form)


def _print_and_show(back: str, kind: str, **values):
    """Print a report now and open its page: out of the caller's scope is not found, a broken
    rule is said on ``back``."""
    try:
        report = report_service.issue(kind, user=current_user, network=current_scope.is_network, **values)
    except LookupError:
        abort(404)
    except RuleError as error:
        db.session.rollback()
        flash(str(error), "warning")
        return redirect(back)
    flash(_("The report is ready: version %(v)d.", v=report.version), "success")
    return redirect(url_for("reports.show", report_id=report.id))


def _posted_language() -> str | None:
    """The language a print button posted (with a valid CSRF token), or None: nothing is printed."""
    language = request.form.get("language")
    if not EmptyForm().validate_on_submit() or language not in ("zh_Hans", "en"):
        flash(_("Nothing was printed: use the button on the report's page."), "warning")
        return None
    return language


@bp.route("/new-group", methods=["POST"])
@access("reports.generate")
def new_group():
    """Print a franchisee's report (its stores compared and ranked) or the network summary."""
    if not _can_group():
        abort(403)
    form = _group_form(request.form)
    if not form.validate_on_submit():
        flash(_("Choose the stores, the half-year and the language."), "danger")
        return redirect(url_for("reports.index"))
    franchisee_id = int(form.franchisee.data) if form.franchisee.data else None
    kind = "complaints" if form.report.data == "complaints" else "franchisee" if franchisee_id else "network"
    return _print_and_show(url_for("reports.index"), kind, period=int(form.period.data), language=form.language.data,
                           franchisee_id=franchisee_id)


def _issue_record(kind: str, subject_id: int, back: str):
    get_scoped_or_404(StoreAudit if kind == "audit" else Complaint, subject_id)  # out of scope: not found
    language = _posted_language()
    if language is None:
        return redirect(back)
    return _print_and_show(back, kind, period=None, language=language, subject_id=subject_id)


@bp.route("/surveys/<int:survey_project_id>", methods=["POST"])
@access("reports.generate")
def survey_report(survey_project_id: int):
    """Print a survey project's report for the network (headquarters) or the owner's stores."""
    from app.models.survey import SurveyProject

    project = get_scoped_or_404(SurveyProject, survey_project_id)
    if not _can_group():
        abort(403)
    back = url_for("surveys.project", survey_project_id=project.id)
    language = _posted_language()
    if language is None:
        return redirect(back)
    own = None if current_scope.is_network else next(iter(current_scope.franchisee_ids))
    return _print_and_show(back, "survey", period=None, language=language, subject_id=project.id, franchisee_id=own)


@bp.route("/audits/<int:store_audit_id>", methods=["POST"])
@access("reports.generate")
def audit_report(store_audit_id: int):
    """Print one published mystery-shopper visit, section by section, with its photos."""
    return _issue_record("audit", store_audit_id, url_for("audits.show", store_audit_id=store_audit_id))


@bp.route("/complaints/<int:complaint_id>", methods=["POST"])
@access("reports.generate")
def complaint_report(complaint_id: int):
    """Print one complaint's case file with its whole timeline."""
    return _issue_record("complaint", complaint_id, url_for("complaints.show", complaint_id=complaint_id))


@bp.route("/<int:report_id>")
@access("reports.view")
def show(report_id: int):
    """One issued report: who made it, when, its checksum, the other versions, and to whom it
    was sent with their answers."""
    report = get_scoped_or_404(Report, report_id, selectinload(Report.store), selectinload(Report.generated_by))
    return render_show(report)


def render_show(report: Report, answer_form: AnswerForm | None = None, status: int = 200):
    """The report's page; ``answer_form`` as the addressee typed it (a refused save keeps it)."""
    versions = db.session.scalars(select(Report).where(Report.key == report.key)
                                  .order_by(Report.version.desc()).limit(50)
                                  .options(selectinload(Report.generated_by))).all()
    # The addressees of every version: printing again does not lose who was sent it and answered.
    recipients = db.session.scalars(select(ReportRecipient).join(Report, Report.id == ReportRecipient.report_id)
                                    .where(Report.key == report.key)
                                    .options(selectinload(ReportRecipient.franchisee),
                                             selectinload(ReportRecipient.answered_by),
                                             selectinload(ReportRecipient.report))
                                    .order_by(ReportRecipient.id).limit(200)).all()
    mine = distribution.recipient_for(report, current_user)
    # The improvement projects the answers went into (R56: they land in the register), one statement.
    improvement_links = (projects.links_for("report_response", [r.id for r in recipients if r.answered_at])
                         if can(current_user, "governance.projects_view") else None)
    if answer_form is None and mine is not None:
        answer_form = AnswerForm(obj=mine)
    return render_template("reports/show.html", report=report, versions=versions, label=periods.label, form=EmptyForm(),
                           can_group=_can_group(), recipients=recipients, mine=mine, answer_form=answer_form,
                           improvement_links=improvement_links,
                           distribute_form=DistributeForm() if can(current_user, "reports.distribute") else None,
                           departments=DEPARTMENTS), status


@bp.route("/<int:report_id>/regenerate", methods=["POST"])
@access("reports.generate")
def regenerate(report_id: int):
    """Print the same report again from today's figures: a new version beside the old ones."""
    report = get_scoped_or_404(Report, report_id)
    if not EmptyForm().validate_on_submit() or request.form.get("confirm") != "1":
        flash(_("Nothing was printed: use the button on the report's page."), "warning")
        return redirect(url_for("reports.show", report_id=report.id))
    if report.kind in ("franchisee", "network", "survey", "complaints") and not _can_group():
        abort(403)
    return _print_and_show(url_for("reports.show", report_id=report.id), report.kind, period=report.period,
                           language=report.language, store_id=report.store_id, franchisee_id=report.franchisee_id,
                           subject_id=report.subject_id)


@bp.route("/<int:report_id>/pdf")
@access("reports.view")
def download(report_id: int):
    """The exact bytes that were issued (checked against their checksum)."""
    report = get_scoped_or_404(Report, report_id, selectinload(Report.store), selectinload(Report.franchisee))
    try:
        data = report_service.pdf_bytes(report)
    except RuleError as error:
        flash(str(error), "danger")
        return redirect(url_for("reports.show", report_id=report.id))
    disposition = "attachment" if request.args.get("download") == "1" else "inline"
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'{disposition}; filename="{report.filename}"',
        "Cache-Control": "private, no-store", "X-Content-SHA256": report.sha256})
