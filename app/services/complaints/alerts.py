"""The periodic complaint job: late complaints go up the chain, and notifications are sent.

``tick(now)`` runs every minute in development (the web process's scheduler thread) and from
cron in production (``flask --app wsgi complaints tick``). For every open complaint that is not
waiting on the customer and is past a due time, it works out how many business hours late it is
on the store's clock and tells each escalation level reached since the last run: the franchise
owner, then the regional supervisor, then headquarters (``EscalationLevel``, set by HQ). An
escalated complaint whose headquarters' part is late is reported to headquarters once. Each
level is told once: the level reached is stored on the complaint (without touching its version,
so nobody editing the complaint is told of a conflict), with a line on its timeline.

The lists of late complaints are index ranges over the stored due times; each complaint is
handled in its own short transaction.
"""
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l, lazy_ngettext
from sqlalchemy import select, update

from app.database import writer
from app.extensions import db
from app.models import Complaint, ComplaintEvent, ComplaintTask, Store, User
from app.models.base import utcnow
from app.models.user import user_region, user_store
from app.services import notifications
from app.services.complaints import deadlines, settings
from app.security.tenancy import unscoped
from app.templating import date_text, datetime_text, number


def recipients(complaint: Complaint, role: str) -> list[User]:
    """Who a level of escalation reaches for this complaint."""
    active = User.active.is_(True)
    if role == "franchise_owner":
        stmt = select(User).where(active, User.role == "franchise_owner", User.franchisee_id == complaint.franchisee_id)
    elif role == "hq_supervisor":
        region = select(Store.region_id).where(Store.id == complaint.store_id).scalar_subquery()
        stmt = select(User).join(user_region, user_region.c.user_id == User.id).where(
            active, User.role == "hq_supervisor", user_region.c.region_id == region)
    elif role == "store_manager":
        stmt = select(User).join(user_store, user_store.c.user_id == User.id).where(
            active, User.role == "store_manager", user_store.c.store_id == complaint.store_id,
            User.franchisee_id == complaint.franchisee_id)
    elif role in ("hq_auditor",):
        stmt = select(User).where(active, User.role == "hq_auditor")
    else:
        stmt = select(User).where(active, User.role == "hq_department", User.department == role)
    with unscoped():
        return list(db.session.scalars(stmt.order_by(User.id)).all())


def _link(complaint: Complaint) -> str:
    return f"/complaints/{complaint.id}"


def _about(complaint: Complaint) -> dict:
    """What every complaint message names, as values."""
    return {"ref": complaint.reference, "title": complaint.title, "store": complaint.store.name}


# --- the messages, worded when read (services/notifications.text) -----------------------------

@notifications.message("complaint_late_acknowledge")
def _late_acknowledge(d):
    return (_l("Late complaint %(ref)s", ref=d["ref"]),
            _l("%(ref)s %(title)s (%(store)s) is %(hours)s business hours late: not acknowledged.",
               ref=d["ref"], title=d["title"], store=d["store"], hours=number(d["hours"])))


@notifications.message("complaint_late_resolve")
def _late_resolve(d):
    return (_l("Late complaint %(ref)s", ref=d["ref"]),
            _l("%(ref)s %(title)s (%(store)s) is %(hours)s business hours late: not resolved.",
               ref=d["ref"], title=d["title"], store=d["store"], hours=number(d["hours"])))


@notifications.message("complaint_hq_late")
def _hq_late_text(d):
    return (_l("Headquarters' part late: %(ref)s", ref=d["ref"]),
            _l("%(ref)s %(title)s (%(store)s): headquarters' part of the joint handling was due %(due)s.",
               ref=d["ref"], title=d["title"], store=d["store"], due=datetime_text(_when(d["due"]), "short")))


@notifications.message("complaint_escalated")
def _escalated_text(d):
    reason = d.get("reason") or (_l("Major complaint") if d.get("severity") == "major" else _l("Involves several departments"))
    return (_l("Escalated to headquarters: %(ref)s", ref=d["ref"]),
            _l("%(ref)s %(title)s (%(store)s): %(reason)s", ref=d["ref"], title=d["title"], store=d["store"],
               reason=reason))


@notifications.message("complaint_major")
def _major_text(d):
    return (_l("Major complaint %(ref)s", ref=d["ref"]),
            _l("%(ref)s %(title)s (%(store)s): %(reason)s", ref=d["ref"], title=d["title"], store=d["store"],
               reason=_l("Major complaint")))


@notifications.message("complaint_task")
def _task_text(d):
    return (_l("New task on %(ref)s", ref=d["ref"]),
            _l("%(task)s (due %(due)s) - %(title)s, %(store)s", task=d["task"], due=date_text(date.fromisoformat(d["due"])),
               title=d["title"], store=d["store"]))


@notifications.message("complaint_public")
def _public_text(d):
    return (_l("New complaint from the store's page: %(ref)s", ref=d["ref"]),
            _l("%(title)s (%(store)s). Answer by %(due)s.", title=d["title"], store=d["store"],
               due=datetime_text(_when(d["due"]), "short") if d.get("due") else "—"))


@notifications.message("complaint_threshold")
def _threshold_text(d):
    return (_l("Complaint warning: %(name)s", name=d["name"]),
            _l("%(name)s: %(complaints)s in %(months)s (the threshold is %(limit)d).", name=d["name"],
               complaints=lazy_ngettext("%(num)d complaint", "%(num)d complaints", d["count"]),
               months=lazy_ngettext("%(num)d month", "%(num)d months", d["months"]), limit=d["limit"]))


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _escalate_level(complaint: Complaint, stage: str, now: datetime) -> int:
    """Notify every level reached since the last run; returns the number of levels told."""
    due = complaint.acknowledge_due_at if stage == "acknowledge" else complaint.resolve_due_at
    done = complaint.ack_alert_level if stage == "acknowledge" else complaint.alert_level
    late = deadlines.store_calendar(complaint.store).elapsed(due, now)
    hours = Decimal(late.total_seconds()) / 3600
    levels = [lv for lv in settings.escalation_levels().get(stage, ()) if lv[0] > done and hours >= lv[2]]
    if not levels:
        return 0
    for level, role, _after in levels:
        people = recipients(complaint, role)
        notifications.notify(people, f"complaint_late_{stage}", _about(complaint) | {"hours": round(float(hours), 1)},
                             url=_link(complaint), complaint_id=complaint.id)
        db.session.add(ComplaintEvent(
            complaint_id=complaint.id, store_id=complaint.store_id, franchisee_id=complaint.franchisee_id,
            kind="alert", at=now,
            data={"level": level, "role": role, "stage": stage, "hours": round(float(hours), 1),
                  "names": [u.display_name for u in people]}))
    if levels[-1][1] == "hq_auditor":
        notifications.notify_group(f"complaint_late_{stage}", _about(complaint) | {"hours": round(float(hours), 1)},
                                   url=_link(complaint))
    column = "ack_alert_level" if stage == "acknowledge" else "alert_level"
    db.session.execute(update(Complaint).where(Complaint.id == complaint.id)
                       .values({column: levels[-1][0]}).execution_options(synchronize_session=False))
    return len(levels)


def _hq_late(complaint: Complaint, now: datetime) -> None:
    notifications.notify(recipients(complaint, "hq_auditor"), "complaint_hq_late",
                         _about(complaint) | {"due": complaint.hq_due_at.isoformat()},
                         url=_link(complaint), complaint_id=complaint.id)
    db.session.execute(update(Complaint).where(Complaint.id == complaint.id).values(hq_alerted_at=now)
                       .execution_options(synchronize_session=False))


def tick(now: datetime | None = None) -> dict:
    """One run of the periodic job; returns what it did (for the log). Each of its short
    transactions takes the write lock first, so on SQLite it waits for the web's writers
    instead of failing with "database is locked" (seen once in a trial)."""
    with writer():
        return _tick(now or utcnow())


def _tick(now: datetime) -> dict:
    told = 0
    with unscoped():
        late_ack = db.session.scalars(
            select(Complaint.id).where(Complaint.is_open.is_(True), Complaint.waiting_since.is_(None),
                                       Complaint.acknowledged_at.is_(None), Complaint.acknowledge_due_at < now,
                                       Complaint.ack_alert_level < 3)).all()
        late = db.session.scalars(
            select(Complaint.id).where(Complaint.is_open.is_(True), Complaint.resolve_due_at < now,
                                       Complaint.waiting_since.is_(None), Complaint.alert_level < 3)).all()
        hq_late = db.session.scalars(
            select(Complaint.id).where(Complaint.escalated.is_(True), Complaint.is_open.is_(True),
                                       Complaint.hq_due_at < now, Complaint.hq_done_at.is_(None),
                                       Complaint.hq_alerted_at.is_(None), Complaint.waiting_since.is_(None))).all()
        db.session.commit()
        for stage, ids in (("acknowledge", late_ack), ("resolve", late)):
            for complaint_id in ids:
                complaint = db.session.get(Complaint, complaint_id)
                told += _escalate_level(complaint, stage, now)
                db.session.commit()
        for complaint_id in hq_late:
            _hq_late(db.session.get(Complaint, complaint_id), now)
            db.session.commit()
    from flask import current_app

    from app.services.complaints import customers as complaint_files

    warned = threshold_warnings(now)

    erased = complaint_files.erase_closed_public(now, current_app.config["PROGRESS_LINK_DAYS"])
    db.session.commit()
    from app.services.audits import alerts as audit_alerts

    audits = audit_alerts.tick(now)
    # Scheduled period reports (issue 13, R56): once a half-year is over. A failure there must not
    # stop the notifications below from going out.
    from app.services.reports import distribution

    try:
        scheduled = distribution.run_due()
    except Exception:  # logged; the schedule is tried again next half-year or by hand
        current_app.logger.exception("scheduled reports failed")
        db.session.rollback()
        scheduled = 0
    # Announcements (issue 15): telling the stores of new ones, reminding those not acknowledged.
    from app.services.governance import announcements, channels

    try:
        with unscoped():
            told_of = announcements.tick(now)
            told_of["channel_reminders"] = channels.remind()
            db.session.commit()
    except Exception:  # logged; tried again at the next run
        current_app.logger.exception("announcement notices failed")
        db.session.rollback()
        told_of = {}
    sent = notifications.deliver_due(now)
    return {**told_of, "erased": erased, "threshold_warnings": warned, "late_ack": len(late_ack), "late": len(late),
            "hq_late": len(hq_late), "levels_told": told, "report_schedules": scheduled, **audits, **sent}


# --- what the workflow tells people as it happens ---------------------------------------------

def escalated(complaint: Complaint) -> None:
    """Headquarters' customer-experience department hears of a complaint escalated to it."""
    notifications.notify(
        recipients(complaint, "hq_auditor"), "complaint_escalated",
        _about(complaint) | {"reason": complaint.escalation_reason, "severity": complaint.severity},
        url=_link(complaint), complaint_id=complaint.id)
    if complaint.severity == "major":
        notifications.notify_group("complaint_major", _about(complaint), url=_link(complaint))


def task_assigned(task: ComplaintTask) -> None:
    complaint = task.complaint
    people = recipients(complaint, "franchise_owner" if task.department == "franchisee" else task.department)
    notifications.notify(people, "complaint_task",
                         _about(complaint) | {"task": task.title, "due": task.due_on.isoformat()},
                         url=_link(complaint), complaint_id=complaint.id)


def received_online(complaint: Complaint) -> None:
    """The store's managers and owner hear of a complaint a customer filed on the public page."""
    people = recipients(complaint, "store_manager") + recipients(complaint, "franchise_owner")
    notifications.notify(
        people, "complaint_public",
        _about(complaint) | {"due": complaint.resolve_due_at.isoformat() if complaint.resolve_due_at else None},
        url=_link(complaint), complaint_id=complaint.id)


def threshold_warnings(now: datetime) -> int:
    """Tell the owner and headquarters once a month that a franchisee is over a complaint
    threshold (the pages show the warning whenever it holds)."""
    from app.models import Franchisee, ThresholdNotice
    from app.models.base import local_date
    from app.services.complaints import stats

    today = local_date(now)
    month = today.year * 100 + today.month
    told = 0
    with unscoped():
        for warning in stats.over_thresholds(today):
            known = db.session.scalar(select(ThresholdNotice.id).where(
                ThresholdNotice.franchisee_id == warning["franchisee_id"],
                ThresholdNotice.threshold_id == warning["threshold_id"], ThresholdNotice.month == month))
            if known:
                continue
            db.session.add(ThresholdNotice(franchisee_id=warning["franchisee_id"], threshold_id=warning["threshold_id"],
                                           month=month, count=warning["count"]))
            franchisee = db.session.get(Franchisee, warning["franchisee_id"])
            people = list(db.session.scalars(select(User).where(
                User.active.is_(True), User.role == "franchise_owner", User.franchisee_id == franchisee.id)))
            people += list(db.session.scalars(select(User).where(User.active.is_(True), User.role == "hq_auditor")))
            notifications.notify(
                people, "complaint_threshold",
                {"name": franchisee.name, "count": warning["count"], "months": warning["months"],
                 "limit": warning["limit"]},
                url=f"/complaints/statistics?group=store&franchisee={franchisee.id}")
            db.session.commit()
            told += 1
    return told
