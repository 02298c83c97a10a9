"""Finnish working days: public holidays and working time across weekends and Easter."""

from __future__ import annotations

from datetime import date, datetime

from service.hours import LOCAL_ZONE
from service.stats.working_days import DAY, WorkingTime, holidays, is_working_day


def _moment(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_ZONE).timestamp()


def test_holidays_of_2026() -> None:
    found = holidays(2026)
    for day in ("01-01", "01-06", "04-03", "04-06", "05-01", "05-14", "06-19", "06-20"):
        assert date.fromisoformat(f"2026-{day}") in found, day
    for day in ("10-31", "12-06", "12-24", "12-25", "12-26"):
        assert date.fromisoformat(f"2026-{day}") in found, day
    assert len(found) == 13
    assert not is_working_day(date(2026, 4, 3))  # Good Friday
    assert is_working_day(date(2026, 4, 2))


def test_working_time_skips_weekends_and_holidays() -> None:
    pairs = [
        # Friday 15:00 → Monday 14:00: nine hours on Friday and fourteen on Monday.
        ("2026-11-06T15:00", "2026-11-09T14:00", 23 * 3600),
        # Maundy Thursday 15:00 → Tuesday after Easter 10:00: Good Friday and Easter Monday off.
        ("2026-04-02T15:00", "2026-04-07T10:00", 19 * 3600),
        # Asked on a Saturday, answered on Sunday: no working time at all.
        ("2026-11-14T10:00", "2026-11-15T18:00", 0),
        # Across the autumn clock change (Sunday 25 October): Friday noon → Monday noon.
        ("2026-10-23T12:00", "2026-10-26T12:00", 24 * 3600),
    ]
    for start, end, expected in pairs:
        clock = WorkingTime.spanning([_moment(start), _moment(end)])
        assert clock.seconds(_moment(start), _moment(end)) == expected, start
    clock = WorkingTime.spanning([_moment("2026-11-06T15:00"), _moment("2026-11-16T15:01")])
    assert clock.within(_moment("2026-11-06T15:00"), _moment("2026-11-09T14:00"), 1)
    # Friday 15:00 → the next Friday 15:01 is five working days and a minute.
    assert not clock.within(_moment("2026-11-06T15:00"), _moment("2026-11-13T15:01"), 5)
    assert clock.within(_moment("2026-11-06T15:00"), _moment("2026-11-13T15:00"), 5)
    assert DAY == 24 * 3600
