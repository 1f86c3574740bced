"""Business time for deadlines (issue 9, first part): opening hours, holidays, 调休 working
days and pauses, hand-computed in Shanghai time (stored times are UTC, 8 hours behind)."""
from datetime import date, datetime, time, timedelta

import pytest

from app.services.business_time import EVERY_DAY_10_TO_21, WEEKDAYS_9_TO_18, BusinessCalendar

# National Day week closed (1-8 October), Saturday 10 October worked instead (调休).
OFFICE = BusinessCalendar(WEEKDAYS_9_TO_18, closed=frozenset(date(2026, 10, d) for d in range(1, 9)),
                          extra_workdays=frozenset({date(2026, 10, 10)}))


def utc(local: str) -> datetime:
    """A Shanghai wall-clock time as the naive UTC the database stores."""
    return datetime.fromisoformat(local) - timedelta(hours=8)


@pytest.mark.parametrize("received, hours, due", [
    ("2026-11-27 17:00", 8, "2026-11-30 16:00"),  # Friday 17:00: 1 h on Friday, 7 h on Monday
    ("2026-11-28 11:00", 2, "2026-11-30 11:00"),  # Saturday: the clock starts on Monday at 9:00
    ("2026-11-30 07:30", 1, "2026-11-30 10:00"),  # before opening: from 9:00
    ("2026-11-30 10:00", 8, "2026-11-30 18:00"),  # ends at closing: due at closing, not the next morning
    ("2026-11-30 19:00", 1, "2026-12-01 10:00"),  # after closing: from the next opening
    ("2026-09-30 17:00", 2, "2026-10-09 10:00"),  # 1 h on 30 Sep; 1-8 Oct closed ...
    ("2026-10-09 17:30", 1, "2026-10-10 09:30"),  # ... and Saturday 10 Oct a working day (调休)
    ("2026-11-30 09:00", 45, "2026-12-04 18:00"),  # five working days of 9 hours
])
def test_a_deadline_runs_on_opening_hours(received, hours, due):
    assert OFFICE.add(utc(received), timedelta(hours=hours)) == utc(due)


def test_a_store_open_every_day_counts_the_weekend():
    shop = BusinessCalendar(EVERY_DAY_10_TO_21)
    assert shop.add(utc("2026-11-28 20:00"), timedelta(hours=3)) == utc("2026-11-29 12:00")


def test_elapsed_time_leaves_out_closed_hours_and_pauses():
    start, end = utc("2026-11-30 09:00"), utc("2026-12-01 12:00")
    assert OFFICE.elapsed(start, end) == timedelta(hours=12)  # 9 on Monday, 3 on Tuesday
    # Waiting on the customer from Monday 14:00 to Tuesday 10:00: 4 h + 1 h do not count.
    paused = [(utc("2026-11-30 14:00"), utc("2026-12-01 10:00"))]
    assert OFFICE.elapsed(start, end, paused) == timedelta(hours=7)
    # Overlapping pauses count once; a pause still running stops the clock up to now.
    overlapping = paused + [(utc("2026-11-30 16:00"), utc("2026-11-30 17:00"))]
    assert OFFICE.elapsed(start, end, overlapping) == timedelta(hours=7)
    assert OFFICE.elapsed(start, end, [(utc("2026-12-01 11:00"), None)]) == timedelta(hours=11)
    assert OFFICE.elapsed(end, start) == timedelta(0)


def test_a_calendar_with_no_opening_hours_is_refused_not_looped_forever():
    never = BusinessCalendar({d: None for d in range(7)})
    with pytest.raises(ValueError):
        never.add(utc("2026-11-30 09:00"), timedelta(hours=1), max_days=30)
    assert never.opening(date(2026, 11, 30)) is None and OFFICE.opening(date(2026, 11, 30)) == (
        datetime(2026, 11, 30, 9), datetime.combine(date(2026, 11, 30), time(18)))
