"""When a question can expect its answer: working days from the queue and the recent pace.

The expectation is the longer of two figures: how long recent questions took (the median of
their working time from asking to the first reply) and how long the questions already waiting
take at the recent pace (replies per working day). A quiet month says little about how many
questions staff could answer, so the pace is never taken below MIN_PER_DAY."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median

from service.clock import LOCAL_ZONE
from service.stats.working_days import DAY, WorkingTime, is_working_day

HISTORY = timedelta(days=28)
# The newest replies this many at most: a busy month's median and pace need no more.
SAMPLE = 500
# Before there is history: what Koppi always said, "a few working days".
DEFAULT_DAYS = 2.0
MIN_PER_DAY = 2.0
# Fewer replies than this in the history say nothing yet about the typical time.
MIN_SAMPLES = 5
# Past three working weeks a date says nothing useful; the page says "as soon as possible".
MAX_DAYS = 15


@dataclass(frozen=True)
class Pace:
    typical_days: float
    per_day: float


@dataclass(frozen=True)
class Expectation:
    days: int  # working days from `since`
    by: date  # the local day by whose end an answer is expected
    ahead: int  # questions waiting before this one
    overdue: bool  # the day has passed and the question still waits


def pace(replied: Sequence[tuple[datetime, datetime]], now: datetime) -> Pace:
    """The recent pace from (asked, first reply) pairs of the questions asked within HISTORY,
    or of the newest SAMPLE of them: then the pace is over the time that sample spans."""
    if len(replied) < MIN_SAMPLES:
        return Pace(DEFAULT_DAYS, MIN_PER_DAY)
    start = now - HISTORY
    if len(replied) >= SAMPLE:
        start = max(start, min(asked for asked, _ in replied))
    moments = [start.timestamp(), now.timestamp()]
    moments += [m.timestamp() for pair in replied for m in pair]
    clock = WorkingTime.spanning(moments)
    typical = median(clock.seconds(a.timestamp(), r.timestamp()) for a, r in replied) / DAY
    window = clock.seconds(start.timestamp(), now.timestamp()) / DAY
    per_day = len(replied) / window if window > 0 else MIN_PER_DAY
    return Pace(typical, max(per_day, MIN_PER_DAY))


def working_days(found: Pace, ahead: int) -> int:
    """Whole working days until an answer, at least one."""
    days = max(found.typical_days, ahead / found.per_day)
    return max(1, math.ceil(round(days, 6)))


def nth_working_day(start: date, n: int) -> date:
    """The n-th working day after `start` (the day itself does not count)."""
    day = start
    while n > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


def expect(found: Pace, *, ahead: int, since: datetime, now: datetime) -> Expectation | None:
    """For a question sent at `since` with `ahead` questions before it; None when the queue is
    so long that a date would mean nothing."""
    days = working_days(found, ahead)
    if days > MAX_DAYS:
        return None
    by = nth_working_day(since.astimezone(LOCAL_ZONE).date(), days)
    return Expectation(days, by, ahead, overdue=by < now.astimezone(LOCAL_ZONE).date())
