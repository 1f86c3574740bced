"""Time that counts towards a deadline: a store's opening hours, less holidays, less pauses.

Complaint deadlines (issue 9) run on business hours and HQ's holiday calendar: a complaint
received on Friday evening with 8 hours to answer is due on Monday, not on Saturday morning;
the clock stops while the store waits on the customer. China moves working days around public
holidays (调休): a weekend day can be a working day, so the calendar takes closed days and
extra working days alike.

``BusinessCalendar`` works in the stores' local time and takes and returns naive UTC datetimes,
as every timestamp is stored.
"""
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours per weekday (0 = Monday: (opens, closes), or None when closed), the days
    closed although normally open, and the days open although normally closed (with the hours
    of ``workday_hours``)."""

    hours: dict[int, tuple[time, time] | None]
    closed: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    workday_hours: tuple[time, time] = (time(9), time(18))
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    def opening(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's open interval in local time, or None when closed."""
        if day in self.closed:
            return None
        hours = self.workday_hours if day in self.extra_workdays else self.hours.get(day.weekday())
        if not hours:
            return None
        opens, closes = hours
        return datetime.combine(day, opens), datetime.combine(day, closes)

    def _local(self, moment: datetime) -> datetime:
        return moment.replace(tzinfo=UTC).astimezone(self.zone).replace(tzinfo=None)

    def _utc(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone).astimezone(UTC).replace(tzinfo=None)

    def add(self, start: datetime, duration: timedelta, max_days: int = 3660) -> datetime:
        """The moment ``duration`` of business time after ``start`` (naive UTC in, naive UTC out).

        Time before opening or after closing counts from the next opening; a duration that ends
        exactly at closing is due at closing, not at the next opening."""
        if duration <= timedelta(0):
            return start
        left = duration
        local = self._local(start)
        day = local.date()
        for _ in range(max_days):
            interval = self.opening(day)
            if interval is not None:
                opens, closes = interval
                begin = max(local, opens)
                if begin < closes:
                    available = closes - begin
                    if left <= available:
                        return self._utc(begin + left)
                    left -= available
            day += timedelta(days=1)
            local = datetime.combine(day, time(0))
        raise ValueError("no opening hours in the calendar for ten years")

    def elapsed(self, start: datetime, end: datetime, pauses=()) -> timedelta:
        """Business time between ``start`` and ``end`` (naive UTC), less the ``pauses`` given as
        (from, to) pairs (``to`` None: still paused at ``end``)."""
        if end <= start:
            return timedelta(0)
        total = self._open_between(start, end)
        for paused_from, paused_to in _merged(pauses, end):
            lo, hi = max(paused_from, start), min(paused_to, end)
            if lo < hi:
                total -= self._open_between(lo, hi)
        return total

    def _open_between(self, start: datetime, end: datetime) -> timedelta:
        local_start, local_end = self._local(start), self._local(end)
        total = timedelta(0)
        day = local_start.date()
        while day <= local_end.date():
            interval = self.opening(day)
            if interval is not None:
                lo, hi = max(interval[0], local_start), min(interval[1], local_end)
                if lo < hi:
                    total += hi - lo
            day += timedelta(days=1)
        return total


def _merged(pauses, end: datetime) -> list[tuple[datetime, datetime]]:
    """Pauses as non-overlapping intervals (an open pause runs to ``end``)."""
    spans = sorted((start, stop or end) for start, stop in pauses if (stop or end) > start)
    merged: list[tuple[datetime, datetime]] = []
    for start, stop in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


WEEKDAYS_9_TO_18 = {d: (time(9), time(18)) for d in range(5)} | {5: None, 6: None}
# A store's usual hours: open every day, 10:00 to 21:00 (retail).
EVERY_DAY_10_TO_21 = {d: (time(10), time(21)) for d in range(7)}
