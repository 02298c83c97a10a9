"""The chat's pure rules: opening hours in Helsinki time, routing, estimated wait, limits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from moderation.chat.eta import (
    DEFAULT_HANDLE_S,
    HANDLE_FLOOR_S,
    estimate_wait,
    offer_question_at,
    typical_handle_time,
)
from moderation.chat.routing import Candidate, choose
from service.hours import OpeningHours, Span, parse_clock
from service.rate_limits import SlidingWindow
from service.settings import Settings, SettingsError

# Weekdays 9–16, Tuesday also 18–21 (several ranges a day); weekends closed.
WEEK = OpeningHours(
    weekly={
        0: (Span(540, 960),),
        1: (Span(540, 960), Span(1080, 1260)),
        2: (Span(540, 960),),
        3: (Span(540, 960),),
        4: (Span(540, 960),),
    },
    exceptions={
        date(2026, 12, 24): (),  # Christmas Eve: closed
        date(2026, 12, 27): (Span(720, 900),),  # an extra Sunday shift 12–15
    },
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (utc(2026, 11, 24, 6, 59), False),  # Tue 08:59 Helsinki (UTC+2)
        (utc(2026, 11, 24, 7, 0), True),  # Tue 09:00
        (utc(2026, 11, 24, 13, 59), True),  # Tue 15:59
        (utc(2026, 11, 24, 14, 0), False),  # Tue 16:00, closes is exclusive
        (utc(2026, 11, 24, 17, 30), True),  # Tue 19:30, the evening range
        (utc(2026, 11, 29, 10, 0), False),  # Sunday
        (utc(2026, 12, 24, 10, 0), False),  # Thursday, but a holiday
        (utc(2026, 12, 27, 10, 30), True),  # Sunday 12:30, extra shift
        (utc(2026, 6, 1, 6, 0), True),  # Mon 09:00 in summer time (UTC+3)
        (utc(2026, 6, 1, 5, 59), False),
    ],
)
def test_is_open_in_helsinki_time(moment: datetime, is_open: bool) -> None:
    assert WEEK.is_open(moment) is is_open


def test_next_opening() -> None:
    # Tue 16:30 → Tue 18:00 local (16:00 UTC).
    assert WEEK.next_opening(utc(2026, 11, 24, 14, 30)) == utc(2026, 11, 24, 16, 0)
    # Friday evening → Monday 09:00.
    assert WEEK.next_opening(utc(2026, 11, 27, 18, 0)) == utc(2026, 11, 30, 7, 0)
    # Wed 23 Dec evening → skips the Christmas Eve holiday → Fri 25 Dec 09:00.
    assert WEEK.next_opening(utc(2026, 12, 23, 18, 0)) == utc(2026, 12, 25, 7, 0)
    # Across the change to summer time: Sat 28 Mar → Mon 30 Mar 09:00 EEST = 06:00 UTC.
    assert WEEK.next_opening(utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 30, 6, 0)


def test_no_hours_means_open_whenever_staffed() -> None:
    empty = OpeningHours()
    assert not empty.is_set
    assert empty.is_open(utc(2026, 11, 29, 3, 0))
    assert empty.next_opening(utc(2026, 11, 29, 3, 0)) is None


def test_a_holiday_alone_closes_only_that_day() -> None:
    holiday = OpeningHours(exceptions={date(2026, 12, 24): ()})
    assert not holiday.is_open(utc(2026, 12, 24, 10, 0))
    assert holiday.is_open(utc(2026, 12, 23, 10, 0))
    assert holiday.next_opening(utc(2026, 12, 24, 10, 0)) == utc(2026, 12, 24, 22, 0)


def test_parse_clock() -> None:
    assert parse_clock("08:30") == 510
    assert parse_clock("24:00") == 1440
    for bad in ("8", "25:00", "12:60", "aa:bb", "12:5", "24:01"):
        with pytest.raises(ValueError):
            parse_clock(bad)
    with pytest.raises(ValueError):
        Span(600, 600)


@pytest.mark.parametrize(
    ("position", "slots", "busy", "handle_s", "expected"),
    [
        (1, 2, 0, 600, 0),  # a free slot: taken at once
        (2, 2, 1, 600, 300),  # one free slot, second in line: 600 × (2 − 1) / 2
        (1, 2, 2, 600, 300),  # all busy: half a handle time
        (3, 2, 2, 600, 900),
        (1, 1, 1, 900, 900),
        (4, 3, 3, 420, 560),  # 420 × 4 / 3
        (1, 0, 0, 600, None),  # no one on duty: unknown
    ],
)
def test_estimated_wait_formula(
    position: int, slots: int, busy: int, handle_s: float, expected: int | None
) -> None:
    assert estimate_wait(position, slots=slots, busy=busy, handle_s=handle_s) == expected


def test_handle_time_and_offer() -> None:
    assert typical_handle_time([]) == DEFAULT_HANDLE_S
    assert typical_handle_time([300, 600, 900]) == 600
    # A few very short or very long chats do not move the median; it never drops below the floor.
    assert typical_handle_time([0, 0, 600, 700, 9000]) == 600
    assert typical_handle_time([5, 10, 15]) == HANDLE_FLOOR_S
    # The time actually waited brings the offer, or the estimate at once when it is longer.
    queued = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert offer_question_at(0, 60, queued) == datetime(2026, 11, 24, 10, 1, tzinfo=UTC)
    assert offer_question_at(61, 60, queued) is None, "the estimate passes it: at once"
    assert offer_question_at(None, 60, queued) is None


def test_routing_prefers_the_fitting_role_then_the_least_loaded() -> None:
    sanna = Candidate(1, "counsellor", load=0, capacity=2)
    mikko = Candidate(2, "adviser", load=1, capacity=2)
    liisa = Candidate(3, "adviser", load=0, capacity=2, last_assigned_at="2026-11-24T09:00:00Z")
    pekka = Candidate(4, "adviser", load=0, capacity=2, last_assigned_at="2026-11-24T08:00:00Z")
    assert choose([sanna, mikko], topic_role="adviser", wanted_role=None) is mikko
    assert choose([sanna, mikko, liisa], topic_role="adviser", wanted_role=None) is liisa
    # Equal load: whoever has waited longest since their last chat.
    assert choose([liisa, pekka], topic_role="adviser", wanted_role=None) is pekka
    # No topic role: least loaded.
    assert choose([sanna, mikko], topic_role=None, wanted_role=None) is sanna
    # The fitting role is full: someone else takes it rather than let it wait.
    full = Candidate(2, "adviser", load=2, capacity=2)
    assert choose([sanna, full], topic_role="adviser", wanted_role=None) is sanna
    # A transfer to a role waits for that role.
    assert choose([sanna, full], topic_role=None, wanted_role="adviser") is None
    assert choose([], topic_role=None, wanted_role=None) is None


def test_sliding_window() -> None:
    window = SlidingWindow(limit=3, window_s=60)
    assert [window.retry_after("v", t) for t in (0, 1, 2)] == [0, 0, 0]
    assert window.retry_after("v", 3) == 57
    assert window.retry_after("w", 3) == 0, "each sender has their own window"
    assert window.retry_after("v", 60.5) == 0, "the first one has left the window"


def test_chat_settings_from_the_environment(tmp_path: Path) -> None:
    base = {"KOPPI_DB": str(tmp_path / "k.sqlite3"), "KOPPI_SECRET": "s"}
    defaults = Settings.from_env(base)
    assert (defaults.chat_idle_minutes, defaults.rate_limits) == (10, True)
    chosen = Settings.from_env({**base, "KOPPI_CHAT_IDLE_MINUTES": "3", "KOPPI_RATE_LIMITS": "0"})
    assert (chosen.chat_idle_minutes, chosen.rate_limits) == (3, False)
    for bad in ("0", "-5", "ten"):
        with pytest.raises(SettingsError, match="KOPPI_CHAT_IDLE_MINUTES"):
            Settings.from_env({**base, "KOPPI_CHAT_IDLE_MINUTES": bad})
