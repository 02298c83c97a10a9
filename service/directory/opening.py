"""When a service is open, from its HSDS weekly schedules, in Helsinki time."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime

from service.clock import LOCAL_ZONE
from service.directory.hsds import DAYS, Record
from service.hours import DAY_MINUTES, OpeningHours, Span, parse_clock

WEEK_MINUTES = 7 * DAY_MINUTES


def weekly_hours(schedules: Iterable[Record]) -> OpeningHours | None:
    """The weekly hours the schedules give; None when they give none (hours unknown).

    Monthly and undated schedules are left out: a card must not claim "open now" on a guess."""
    weekly: dict[int, list[Span]] = {}
    for schedule in schedules:
        if schedule.get("freq", "WEEKLY") != "WEEKLY":
            continue
        if not schedule.get("byday") or not schedule.get("opens_at"):
            continue
        span = Span(parse_clock(schedule["opens_at"]), parse_clock(schedule["closes_at"]))
        for day in schedule["byday"].split(","):
            weekly.setdefault(DAYS.index(day), []).append(span)
    if not weekly:
        return None
    return OpeningHours(weekly={day: tuple(sorted(spans)) for day, spans in weekly.items()})


def _week_minute(moment: datetime) -> int:
    local = moment.astimezone(LOCAL_ZONE)
    return local.weekday() * DAY_MINUTES + local.hour * 60 + local.minute


class Turns:
    """The minutes of the week at which any service opens or closes.

    Pages that show "open now" are cached; the cache key carries the last turn passed, so a
    cached page is rendered again exactly when some service's state can have changed."""

    def __init__(self, schedules: Iterable[Record] = ()) -> None:
        minutes: set[int] = set()
        for schedule in schedules:
            if schedule.get("byday") and schedule.get("opens_at"):
                for day in schedule["byday"].split(","):
                    base = DAYS.index(day) * DAY_MINUTES
                    for key in ("opens_at", "closes_at"):
                        minutes.add((base + parse_clock(schedule[key])) % WEEK_MINUTES)
        self._minutes = sorted(minutes)

    def last_passed(self, moment: datetime) -> tuple[int, int, int]:
        """(ISO year, week, turns passed that week): equal for two moments with no turn between."""
        year, week, _day = moment.astimezone(LOCAL_ZONE).isocalendar()
        return year, week, bisect_right(self._minutes, _week_minute(moment))
