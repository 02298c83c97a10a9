"""Working time in Finland: weekdays that are not public holidays, counted in Helsinki time.

"Answered within one working day" means at most 24 hours of working-day time passed between
asking and answering, so a question asked on Friday at 15:00 and answered on Monday at 14:00
took 23 working hours: Friday's last nine and Monday's first fourteen."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

from service.chat.hours import LOCAL_ZONE

DAY = 24 * 3600


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    lo = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * lo) // 451
    month, day = divmod(h + lo - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _saturday_between(year: int, month: int, first: int) -> date:
    start = date(year, month, first)
    return start + timedelta(days=(5 - start.weekday()) % 7)


@lru_cache(maxsize=64)
def holidays(year: int) -> frozenset[date]:
    """Finnish public holidays on weekdays matter; Midsummer Eve and Christmas Eve are included
    because offices are closed on them although they are not statutory holidays."""
    easter = _easter(year)
    midsummer = _saturday_between(year, 6, 20)
    all_saints = _saturday_between(year, 10, 31)
    return frozenset(
        {
            date(year, 1, 1),
            date(year, 1, 6),
            easter - timedelta(days=2),
            easter + timedelta(days=1),
            date(year, 5, 1),
            easter + timedelta(days=39),
            midsummer - timedelta(days=1),
            midsummer,
            all_saints,
            date(year, 12, 6),
            date(year, 12, 24),
            date(year, 12, 25),
            date(year, 12, 26),
        }
    )


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in holidays(day.year)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), LOCAL_ZONE)


def working_seconds(start: datetime, end: datetime, *, stop_after: float | None = None) -> float:
    """Seconds of working-day time between two moments (zero if `end` is not after `start`);
    counting may stop once `stop_after` is exceeded, for old questions still waiting."""
    if end <= start:
        return 0.0
    last = end.astimezone(LOCAL_ZONE).date()
    total = 0.0
    day = start.astimezone(LOCAL_ZONE).date()
    while day <= last and (stop_after is None or total <= stop_after):
        if is_working_day(day):
            opens = max(start, _local_midnight(day))
            closes = min(end, _local_midnight(day + timedelta(days=1)))
            total += max(0.0, (closes - opens).total_seconds())
        day += timedelta(days=1)
    return total


def within(start: datetime, end: datetime, days: int) -> bool:
    return working_seconds(start, end, stop_after=days * DAY) <= days * DAY
