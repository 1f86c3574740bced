"""The periods a report covers: a half-year (yyyyh, as the KPIs and the evaluation: 20261) or a
quarter (yyyy0q: 202603 is 2026's third quarter). A quarter's complaints, audits and months are
its own; its KPIs and evaluation are those of the half-year it falls in (the evaluation is
half-yearly, R51), and the reports say so."""
from datetime import date

from app.models.base import local_today
from app.services import kpis as kpi_service


def is_quarter(period: int) -> bool:
    return period >= 100000


def parse(value) -> int | None:
    """A period from a form or URL, or None: 5 digits for a half-year, 6 for a quarter."""
    text = str(value or "")
    if not text.isdigit():
        return None
    if len(text) == 5 and text[-1] in "12" and 2000 <= int(text[:4]) <= 2100:
        return int(text)
    if len(text) == 6 and text[4] == "0" and text[5] in "1234" and 2000 <= int(text[:4]) <= 2100:
        return int(text)
    return None


def half_of(period: int) -> int:
    """The half-year of a quarter (a half-year is its own)."""
    if not is_quarter(period):
        return period
    year, quarter = divmod(period, 100)
    return year * 10 + (1 if quarter <= 2 else 2)


def quarters(period: int) -> tuple[int, tuple[int, ...]]:
    """The year and quarters a period covers (for the audit roll-ups)."""
    if is_quarter(period):
        year, quarter = divmod(period, 100)
        return year, (quarter,)
    year, half = divmod(period, 10)
    return year, (1, 2) if half == 1 else (3, 4)


def months(period: int) -> list[int]:
    """The months (yyyymm) a period covers (for the complaint roll-ups)."""
    year, covered = quarters(period)
    return [year * 100 + m for q in covered for m in range(3 * q - 2, 3 * q + 1)]


def bounds(period: int) -> tuple[date, date]:
    if not is_quarter(period):
        return kpi_service.bounds(period)
    year, quarter = divmod(period, 100)
    first = date(year, 3 * quarter - 2, 1)
    last = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, date.fromordinal(last.toordinal() - 1)


def label(period: int) -> str:
    if is_quarter(period):
        year, quarter = divmod(period, 100)
        return f"{year}Q{quarter}"
    return kpi_service.label(period)


def of(day: date, quarter: bool = False) -> int:
    return day.year * 100 + (day.month - 1) // 3 + 1 if quarter else kpi_service.period_of(day)


def previous(period: int) -> int:
    if not is_quarter(period):
        return kpi_service.previous(period)
    year, quarter = divmod(period, 100)
    return (year - 1) * 100 + 4 if quarter == 1 else period - 1


def next_after(period: int) -> int:
    """The period after ``period`` (of the same kind)."""
    if is_quarter(period):
        year, quarter = divmod(period, 100)
        return (year + 1) * 100 + 1 if quarter == 4 else period + 1
    year, half = divmod(period, 10)
    return period + 1 if half == 1 else (year + 1) * 10 + 1


def recent(halves: int = 6, quarters_: int = 4, today: date | None = None) -> list[int]:
    """The periods a report form offers, newest first: half-years and quarters interleaved."""
    today = today or local_today()
    found = [of(today)]
    while len(found) < halves:
        found.append(previous(found[-1]))
    q = [of(today, quarter=True)]
    while len(q) < quarters_:
        q.append(previous(q[-1]))
    return sorted(found + q, key=lambda p: (bounds(p)[1], not is_quarter(p)), reverse=True)


def interim(period: int) -> bool:
    """The period is not over: its figures are as of today."""
    return bounds(period)[1] >= local_today()
