"""Report distribution (R56): headquarters sends a report to its franchise owner, the committee
and departments, who answer with their improvement measures; and the half-yearly schedules."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from app.blueprints.common import list_text, save_versioned
from app.blueprints.reports import bp
from app.blueprints.reports.views import render_show
from app.blueprints.reports.forms import AnswerForm, DistributeForm, ScheduleForm
from app.extensions import db
from app.forms import EmptyForm
from app.models.report import SCHEDULE_EVERY, SCHEDULE_KINDS, Report, ReportSchedule
from app.models.user import DEPARTMENTS
from app.security.access import access
from app.security.tenancy import get_scoped_or_404
from app.services import RuleError
from app.services.reports import distribution, periods


@bp.route("/<int:report_id>/distribute", methods=["POST"])
@access("reports.distribute")
def distribute(report_id: int):
    """Send the report to its franchise owner, the committee and departments (R56)."""
    report = get_scoped_or_404(Report, report_id)
    form = DistributeForm()
    if not form.validate_on_submit():
        flash(_("Choose at least one addressee."), "danger")
        return redirect(url_for("reports.show", report_id=report.id))
    try:
        unreached: list = []
        added = distribution.distribute(report, owners=form.owners.data, committee=form.committee.data,
                                        departments=form.departments.data, user=current_user, unreached=unreached)
        db.session.commit()
    except RuleError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        flash(ngettext("Sent to %(num)d new addressee.", "Sent to %(num)d new addressees.", added) if added
              else _("Every addressee chosen has it already: nobody was told twice."), "success")
        if unreached:
            flash(_("Nobody could be told for %(who)s: no one there has an account in the portal yet.",
                    who=list_text(unreached)), "warning")
    return redirect(url_for("reports.show", report_id=report.id))


@bp.route("/<int:report_id>/answer", methods=["POST"])
@access("reports.respond")
def answer(report_id: int):
    """The addressee's improvement measures in response to the report (R56)."""
    report = get_scoped_or_404(Report, report_id)
    mine = distribution.recipient_for(report, current_user)
    if mine is None:
        abort(404)
    form = AnswerForm(obj=mine)
    if form.validate_on_submit():
        if save_versioned(form, mine, lambda: distribution.respond(mine, form.answer.data.strip(), current_user)):
            flash(_("Your improvement measures are saved; headquarters sees them on this page."), "success")
            return redirect(url_for("reports.show", report_id=report.id))
        status = 409  # a colleague saved meanwhile: the page shows both, nothing typed is lost
    else:
        status = 422
    return render_show(report, answer_form=form, status=status)


@bp.route("/schedules", methods=["GET", "POST"])
@access("reports.distribute")
def schedules():
    """Reports printed and sent by themselves each half-year once it is over (R56)."""
    form = ScheduleForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                schedule = distribution.new_schedule(form.kind.data, form.every.data, form.language.data,
                                                     form.owners.data, form.committee.data, list(form.departments.data),
                                                     current_user)
            except RuleError as error:
                db.session.rollback()
                flash(str(error), "danger")
            else:
                db.session.commit()
                flash(_("The schedule is saved: it first runs when %(period)s is over.",
                        period=periods.label(periods.next_after(schedule.last_period))), "success")
                return redirect(url_for("reports.schedules"))
        status = 422
    else:
        status = 200
    rows = db.session.scalars(select(ReportSchedule).order_by(ReportSchedule.id)).all()
    return render_template("reports/schedules.html", form=form, rows=rows, kinds=SCHEDULE_KINDS,
                           departments=DEPARTMENTS, label=periods.label, next_after=periods.next_after, every=SCHEDULE_EVERY,
                           toggle=EmptyForm()), status


@bp.route("/schedules/<int:report_schedule_id>/toggle", methods=["POST"])
@access("reports.distribute")
def toggle_schedule(report_schedule_id: int):
    """Pause or resume a schedule."""
    found = db.session.get(ReportSchedule, report_schedule_id)
    if found is None:
        abort(404)
    if EmptyForm().validate_on_submit():
        found.active = not found.active
        db.session.commit()
        flash(_("The schedule is running again.") if found.active else _("The schedule is paused."), "success")
    return redirect(url_for("reports.schedules"))
