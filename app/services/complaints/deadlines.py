"""Complaint clocks: due times on business hours, pauses while waiting on the customer, and the
separate clocks of the store and of headquarters.

The store's clock runs on the store's opening hours; closed days are those of headquarters'
calendar marked "stores closed". Headquarters' clock (its part of an escalated complaint) runs
on office hours, Monday to Friday 9:00 to 18:00, with the public holidays closed and the 调休
Saturdays and Sundays worked. Every due time is stored, so the lists of late complaints are
index ranges; a pause pushes the due times of the running clocks by the business time it lasted.
"""
from datetime import datetime, timedelta
from decimal import Decimal

from app.models.base import utcnow
from app.services.business_time import WEEKDAYS_9_TO_18, BusinessCalendar
from app.services.complaints import settings

# Due within this many business hours: "about to breach".
WARNING_HOURS = 2


def store_calendar(store) -> BusinessCalendar:
    days = settings.calendar_days()
    opens = store.opens_at or settings.STORE_OPENS
    closes = store.closes_at or settings.STORE_CLOSES
    closed_weekdays = {int(d) for d in (store.closed_weekdays or "") if d.isdigit()}
    hours = {d: None if d in closed_weekdays else (opens, closes) for d in range(7)}
    return BusinessCalendar(hours=hours, closed=days.closed_stores)


def hq_calendar() -> BusinessCalendar:
    days = settings.calendar_days()
    return BusinessCalendar(hours=WEEKDAYS_9_TO_18, closed=days.closed_hq, extra_workdays=days.workdays)


def hours(value: Decimal) -> timedelta:
    return timedelta(seconds=int(Decimal(value) * 3600))


def promise(complaint) -> None:
    """Set the store's due times from the rule for the complaint's severity and category."""
    rule = settings.allowance(complaint.severity, complaint.category_id)
    calendar = store_calendar(complaint.store)
    complaint.acknowledge_due_at = calendar.add(complaint.received_at, hours(rule.acknowledge))
    complaint.resolve_due_at = calendar.add(complaint.received_at, hours(rule.resolve))


def start_hq_clock(complaint, now: datetime) -> None:
    rule = settings.allowance(complaint.severity, complaint.category_id)
    complaint.hq_due_at = hq_calendar().add(now, hours(rule.hq))


def push_for_pause(complaint, paused_from: datetime, paused_to: datetime) -> dict[str, timedelta]:
    """Move the running clocks' due times on by the business time of the pause; returns how
    much each clock stood still (for the timeline)."""
    stood = {}
    store = store_calendar(complaint.store)
    lost = store.elapsed(paused_from, paused_to)
    stood["store"] = lost
    if lost:
        if complaint.acknowledged_at is None and complaint.acknowledge_due_at:
            complaint.acknowledge_due_at = store.add(complaint.acknowledge_due_at, lost)
        if complaint.resolved_at is None and complaint.resolve_due_at:
            complaint.resolve_due_at = store.add(complaint.resolve_due_at, lost)
    if complaint.escalated and complaint.hq_done_at is None and complaint.hq_due_at:
        hq = hq_calendar()
        lost_hq = hq.elapsed(max(paused_from, complaint.escalated_at or paused_from), paused_to)
        stood["hq"] = lost_hq
        if lost_hq:
            complaint.hq_due_at = hq.add(complaint.hq_due_at, lost_hq)
    return stood


def business_left(complaint, now: datetime | None = None) -> timedelta | None:
    """Business time left on the store's clock (negative: late by that much)."""
    now = now or utcnow()
    if complaint.resolve_due_at is None:
        return None
    calendar = store_calendar(complaint.store)
    if now <= complaint.resolve_due_at:
        return calendar.elapsed(now, complaint.resolve_due_at)
    return -calendar.elapsed(complaint.resolve_due_at, now)


def warning_horizon(now: datetime | None = None) -> datetime:
    """Complaints due before this moment are "about to breach". In wall-clock time (the list is
    one index range over stored due times): the warning hours counted from now."""
    return (now or utcnow()) + timedelta(hours=WARNING_HOURS)
