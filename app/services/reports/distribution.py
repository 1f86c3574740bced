"""Report distribution (R56) and the half-yearly schedules.

A period report goes to the franchise owner it is about, the customer-experience committee and
the departments concerned: each is an addressee (``ReportRecipient``) told in the portal and by
e-mail when SMTP is set (the notification queue), and each answers with its improvement
measures; headquarters sees who has answered. Sending the same report to the same addressee
again tells nobody twice.

A schedule prints a kind of report once a half-year is over and distributes it: store and
franchisee reports as a batch (off the request path, like any batch), the network summary and
the complaint analysis as single reports. ``run_due`` is called by the periodic job."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.models.base import local_today, utcnow
from app.models.report import Report, ReportBatch, ReportRecipient, ReportSchedule
from app.models.user import DEPARTMENTS
from app.security.tenancy import unscoped
from app.services import RuleError, notifications
from app.services import kpis as kpi_service
from app.services.reports import periods


@notifications.message("report_distributed")
def _distributed_text(d):
    return (_l("Report to read: %(title)s", title=d["title"]),
            _l("Please read the report and enter your improvement measures on its page."))


def _users_of(recipient: ReportRecipient) -> list[User]:
    stmt = select(User).where(User.active.is_(True))
    if recipient.kind == "owner":
        stmt = stmt.where(User.role == "franchise_owner", User.franchisee_id == recipient.franchisee_id)
    elif recipient.kind == "committee":
        stmt = stmt.where(User.role == "hq_viewer")
    else:
        stmt = stmt.where(User.role == "hq_department", User.department == recipient.department)
    return db.session.scalars(stmt).all()


def distribute(report: Report, *, owners: bool, committee: bool, departments, user, unreached: list | None = None) -> int:
    """Address ``report`` to its franchise owner (when it is about one franchisee or store), the
    committee and ``departments``; returns how many addressees are new (each is told once).
    ``unreached`` collects the new addressees nobody could be told (no active account yet)."""
    wanted = []
    if owners:
        if report.franchisee_id is None:
            raise RuleError(_("This report is about the whole network: it has no franchise owner to go to."))
        wanted.append((f"owner:{report.franchisee_id}", "owner", report.franchisee_id, None))
    if committee:
        wanted.append(("committee", "committee", None, None))
    for department in departments or ():
        if department not in DEPARTMENTS:
            raise RuleError(_("Unknown department."))
        wanted.append((f"department:{department}", "department", None, department))
    if not wanted:
        raise RuleError(_("Choose at least one addressee."))
    existing = set(db.session.scalars(select(ReportRecipient.key).where(ReportRecipient.report_id == report.id)))
    added = 0
    with unscoped():  # the addressees' users are not the sender's tenant rows
        for key, kind, franchisee_id, department in wanted:
            if key in existing:
                continue
            recipient = ReportRecipient(report_id=report.id, key=key, kind=kind, franchisee_id=franchisee_id,
                                        department=department, sent_by_id=getattr(user, "id", None))
            db.session.add(recipient)
            told = notifications.notify(_users_of(recipient), "report_distributed", {"title": report.title},
                                        url=f"/reports/{report.id}")
            if not told and unreached is not None:
                unreached.append(str(DEPARTMENTS.get(department, department)) if department else str(recipient.kind_label))
            added += 1
    return added


def recipient_for(report: Report, user) -> ReportRecipient | None:
    """The addressee ``user`` answers for on this report (the newest version sent to them), if any."""
    if user.role == "franchise_owner":
        key = f"owner:{user.franchisee_id}"
    elif user.role == "hq_department":
        key = f"department:{user.department}"
    elif user.role == "hq_viewer":
        key = "committee"
    else:
        return None
    return db.session.scalar(select(ReportRecipient).join(Report, Report.id == ReportRecipient.report_id)
                             .where(Report.key == report.key, ReportRecipient.key == key)
                             .order_by(Report.version.desc()).limit(1))


def respond(recipient: ReportRecipient, answer: str, user) -> None:
    recipient.answer = answer
    recipient.answered_at, recipient.answered_by_id = utcnow(), user.id


def inbox(user, limit: int = 20):
    """The reports sent to ``user``'s franchisee, department or committee, unanswered first."""
    keys = []
    if user.role == "franchise_owner":
        keys.append(f"owner:{user.franchisee_id}")
    elif user.role == "hq_department":
        keys.append(f"department:{user.department}")
    elif user.role == "hq_viewer":
        keys.append("committee")
    if not keys:
        return []
    return db.session.execute(
        select(ReportRecipient, Report).join(Report, Report.id == ReportRecipient.report_id)
        .where(ReportRecipient.key.in_(keys))
        .order_by(ReportRecipient.answered_at.is_not(None), ReportRecipient.sent_at.desc(), ReportRecipient.id.desc())
        .limit(limit)).all()


def ended(every: str, today=None) -> int:
    """The last half-year (or quarter) that is over."""
    today = today or local_today()
    if every == "quarter":
        return periods.previous(periods.of(today, quarter=True))
    return kpi_service.previous(kpi_service.period_of(today))


def new_schedule(kind: str, every: str, language: str, owners: bool, committee: bool, departments: list, user):
    """A schedule that first runs for the next period to end (the last one is not printed at
    once - trial 19); refused without an addressee, with owners for a network report, or as a
    copy of an active schedule."""
    if owners and kind in ("network", "complaints"):
        raise RuleError(_("A network report has no franchise owner to go to: choose the committee or departments."))
    if not (owners or committee or departments):
        raise RuleError(_("Choose at least one addressee."))
    twin = db.session.scalar(select(ReportSchedule.id).where(
        ReportSchedule.kind == kind, ReportSchedule.every == every, ReportSchedule.language == language,
        ReportSchedule.active.is_(True)).limit(1))
    if twin is not None:
        raise RuleError(_("An active schedule already prints these reports: pause it first or change it."))
    schedule = ReportSchedule(kind=kind, every=every, language=language, to_owners=owners, to_committee=committee,
                              departments=departments, created_by_id=user.id, last_period=ended(every))
    db.session.add(schedule)
    db.session.flush()
    return schedule


def run_due(today=None) -> int:
    """Run every active schedule whose last half-year (or quarter) is over and not yet done; returns how many
    ran. Store and franchisee reports start a batch (its reports are distributed as they finish);
    the network's reports are printed here, in the periodic job."""
    from app.security.scope import NETWORK
    from app.services import reports
    from app.services.reports import batches

    today = today or local_today()
    over = {every: ended(every, today) for every in ("half", "quarter")}
    ran = 0
    with unscoped():
        due = db.session.scalars(select(ReportSchedule).where(ReportSchedule.active.is_(True))).all()
        due = [s for s in due if (s.last_period or 0) < over.get(s.every, over["half"])]
        db.session.commit()
        for schedule in due:
            period = over.get(schedule.every, over["half"])
            schedule.last_period, schedule.last_run_at = period, utcnow()
            db.session.commit()  # claimed first: a second job running meanwhile does not start it again
            if schedule.kind in ("store", "franchisee"):
                try:
                    batches.start(period, schedule.language, None, NETWORK, None, kind=schedule.kind,
                                  schedule_id=schedule.id)
                except batches.AlreadyRunning:
                    pass
            else:
                report = reports.issue("network" if schedule.kind == "network" else "complaints", period=period,
                                       language=schedule.language, network=True)
                distribute_as_scheduled(report, schedule)
                db.session.commit()
            ran += 1
    return ran


def distribute_as_scheduled(report: Report, schedule: ReportSchedule) -> int:
    """Send a scheduled report to the schedule's addressees (owners only of a franchisee's or
    store's report)."""
    owners = schedule.to_owners and report.franchisee_id is not None
    if not (owners or schedule.to_committee or schedule.departments):
        return 0
    return distribute(report, owners=owners, committee=schedule.to_committee, departments=schedule.departments or [],
                      user=None)


def distribute_batch(batch: ReportBatch) -> int:
    """A scheduled batch's finished reports, each to its addressees."""
    schedule = db.session.get(ReportSchedule, batch.schedule_id) if batch.schedule_id else None
    if schedule is None:
        return 0
    told = 0
    for report in db.session.scalars(select(Report).where(Report.batch_id == batch.id)):
        told += distribute_as_scheduled(report, schedule)
    return told
