"""Working time in Finland: weekdays that are not public holidays, counted in Helsinki time.

"Answered within one working day" means at most 24 hours of working-day time passed between
asking and answering, so a question asked on Friday at 15:00 and answered on Monday at 14:00
took 23 working hours: Friday's last nine and Monday's first fourteen."""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime, timedelta
from functools import lru_cache

from service.clock import LOCAL_ZONE, local_midnight

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


class WorkingTime:
    """Working-day seconds counted from one midnight onwards, so the working time between two
    moments (as POSIX seconds) is one subtraction: a year's questions take milliseconds."""

    def __init__(self, first: date, last: date) -> None:
        """Covers the Helsinki days `first` … `last`; moments outside count as on those ends."""
        self.midnights: list[float] = []
        self.before: list[float] = []  # working seconds from the first midnight to each one
        self.working: list[bool] = []
        total, day = 0.0, first
        while day <= last + timedelta(days=1):
            midnight = local_midnight(day).timestamp()
            if self.midnights and self.working[-1]:
                total += midnight - self.midnights[-1]
            self.midnights.append(midnight)
            self.before.append(total)
            self.working.append(is_working_day(day))
            day += timedelta(days=1)

    @classmethod
    def spanning(cls, moments: list[float]) -> WorkingTime:
        """Covering every one of `moments` (at least one)."""
        first, last = (
            datetime.fromtimestamp(m, LOCAL_ZONE).date() for m in (min(moments), max(moments))
        )
        return cls(first, last)

    def at(self, moment: float) -> float:
        n = max(0, bisect_right(self.midnights, moment) - 1)
        return self.before[n] + (moment - self.midnights[n] if self.working[n] else 0.0)

    def seconds(self, start: float, end: float) -> float:
        return max(0.0, self.at(end) - self.at(start))

    def within(self, start: float, end: float, days: int) -> bool:
        """At most `days` × 24 hours of working time passed from `start` to `end`."""
        return self.seconds(start, end) <= days * DAY
