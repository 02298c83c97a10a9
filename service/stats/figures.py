"""Every figure of the statistics page, computed from usage events (never from what anyone
wrote). Each figure's definition is in docs/metrics.md and `service.stats.definitions`."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from service.clock import LOCAL_ZONE, from_iso, to_iso
from service.stats import working_days
from service.stats.period import StatsQuery
from service.storage import events, usage_stats
from service.storage.db import Database, Row
from service.storage.usage_stats import Counts, EventFilter, Spread

WITHIN_DAYS = (1, 5)


@dataclass(frozen=True)
class Share:
    """`count` of `base`; no share when the base is empty."""

    count: int = 0
    base: int = 0

    @property
    def value(self) -> float | None:
        return None if self.base == 0 else self.count / self.base


@dataclass(frozen=True)
class QuestionFigures:
    asked: int = 0
    published: int = 0
    answered_privately: int = 0
    rejected: int = 0
    deleted: int = 0
    first_answer: Spread = Spread()
    within: dict[int, Share] = field(default_factory=dict)


@dataclass(frozen=True)
class ChatFigures:
    attempts: int = 0
    attempts_open: int = 0
    attempts_closed: int = 0
    answered: int = 0
    abandoned: int = 0
    timed_out: int = 0
    converted: int = 0
    transfers: int = 0
    queue_wait: Spread = Spread()
    abandon_wait: Spread = Spread()
    first_response: Spread = Spread()
    handle_time: Spread = Spread()


@dataclass(frozen=True)
class HourCell:
    """One weekday × hour of the Helsinki week: attempts, and staffed hours out of `slots`, the
    hours of the period at this weekday-hour (how many times it occurred; the current hour only
    as far as it has gone)."""

    attempts: int = 0
    attempts_closed: int = 0
    staffed_hours: float = 0.0
    slots: float = 0.0


@dataclass(frozen=True)
class Demand:
    cells: dict[tuple[int, int], HourCell]
    closed_share: Share
    staffed_hours: float


@dataclass(frozen=True)
class Referrals:
    by_service: list[tuple[str, str, int]]
    by_category: list[tuple[str, int]]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.by_category)


@dataclass(frozen=True)
class Ratings:
    rated: int = 0
    helped: Share = Share()
    mean_score: float | None = None
    scored: int = 0
    response: Share = Share()


@dataclass(frozen=True)
class StaffFigures:
    staff_id: int
    name: str
    role: str
    questions_answered: int
    chats_handled: int
    handle_time: Spread


@dataclass(frozen=True)
class Report:
    query: StatsQuery
    computed_at: datetime
    questions: QuestionFigures
    chat: ChatFigures
    demand: Demand
    referrals: Referrals
    ratings: Ratings
    staff: list[StaffFigures]
    # Every category's name in the reader's language, retired ones included.
    category_names: dict[str, str]


def event_filter(query: StatsQuery, now: datetime) -> EventFilter:
    end = min(query.period.end, now + timedelta(seconds=1))
    return EventFilter(to_iso(query.period.start), to_iso(end), query.category, query.channel)


async def compute(
    db: Database, query: StatsQuery, now: datetime, category_names: dict[str, str]
) -> Report:
    """`category_names` are in the reader's language, retired categories included."""
    f = event_filter(query, now)
    counts = await usage_stats.counts(db, f)
    return Report(
        query,
        now,
        await _questions(db, f, counts, now),
        await _chat(db, f, counts),
        await _demand(db, f, now),
        await _referrals(db, f),
        await _ratings(db, f, counts),
        await _staff(db, f),
        category_names,
    )


def _spread(values: list[float]) -> Spread:
    """The same nearest-rank definition as the database's, for figures computed here."""
    if not values:
        return Spread()
    ordered = sorted(values)
    n = len(ordered)
    return Spread(n, ordered[(n + 1) // 2 - 1], ordered[(9 * n + 9) // 10 - 1])


def _epoch(text: str) -> float:
    """Seconds since the epoch of a stored UTC time ('YYYY-MM-DDTHH:MM:SSZ')."""
    return datetime.fromisoformat(text).timestamp()


def _epoch_or_none(text: str | None) -> float | None:
    return None if text is None else _epoch(text)


async def _questions(
    db: Database, f: EventFilter, counts: Counts, now: datetime
) -> QuestionFigures:
    rows = [
        (_epoch(row["asked_at"]), _epoch_or_none(row["answered_at"]), row["closed"])
        for row in await usage_stats.asked_with_first_answer(db, f)
    ]
    until = now.timestamp()
    clock = working_days.WorkingTime.spanning(
        [until, *(moment for row in rows for moment in row[:2] if moment is not None)]
    )
    waits: list[float] = []
    within = {days: [0, 0] for days in WITHIN_DAYS}
    for asked, answered, closed in rows:
        if answered is not None:
            waits.append(answered - asked)
            for days, tally in within.items():
                tally[1] += 1
                tally[0] += clock.within(asked, answered, days)
        elif not closed:
            # Still waiting: it counts against the share once the days have passed.
            for days, tally in within.items():
                if not clock.within(asked, until, days):
                    tally[1] += 1
    return QuestionFigures(
        asked=counts.of(events.QUESTION_ASKED),
        published=counts.of(events.QUESTION_PUBLISHED),
        answered_privately=counts.where(events.QUESTION_ANSWERED, 0),
        rejected=counts.of(events.QUESTION_REJECTED),
        deleted=counts.of(events.QUESTION_DELETED),
        first_answer=_spread(waits),
        within={days: Share(*tally) for days, tally in within.items()},
    )


async def _chat(db: Database, f: EventFilter, counts: Counts) -> ChatFigures:
    async def spread(kind: str, *, first_only: bool = False) -> Spread:
        found = await usage_stats.spreads(db, kind, f, first_only=first_only)
        return found.get(None, Spread())

    return ChatFigures(
        attempts=counts.of(events.CHAT_REQUESTED),
        attempts_open=counts.where(events.CHAT_REQUESTED, 1),
        attempts_closed=counts.where(events.CHAT_REQUESTED, 0),
        answered=counts.of(events.CHAT_FIRST_REPLY),
        abandoned=counts.of(events.CHAT_ABANDONED),
        timed_out=counts.where(events.CHAT_ENDED, "timeout"),
        converted=counts.of(events.CHAT_CONVERTED),
        transfers=counts.of(events.CHAT_TRANSFERRED),
        queue_wait=await spread(events.CHAT_ASSIGNED, first_only=True),
        abandon_wait=await spread(events.CHAT_ABANDONED),
        first_response=await spread(events.CHAT_FIRST_REPLY),
        handle_time=await spread(events.CHAT_ENDED),
    )


def _local_cell(hour_start: datetime) -> tuple[int, int]:
    local = hour_start.astimezone(LOCAL_ZONE)
    return local.weekday(), local.hour


def _hours(start: datetime, end: datetime) -> list[datetime]:
    """The UTC hours the period touches; Helsinki's offset is whole hours, so each is exactly
    one local hour too."""
    first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    count = math.ceil((end - first).total_seconds() / 3600)
    return [first + timedelta(hours=n) for n in range(count)]


def _staffed_spans(
    before: list[Row], changes: list[Row], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The spans in which at least one staff member was available."""
    on = {row["staff_id"] for row in before if row["on_duty"]}
    spans: list[tuple[datetime, datetime]] = []
    since = start if on else None
    for row in changes:
        at = from_iso(row["at"])
        if row["on_duty"]:
            on.add(row["staff_id"])
        else:
            on.discard(row["staff_id"])
        if on and since is None:
            since = at
        elif not on and since is not None:
            spans.append((since, at))
            since = None
    if since is not None:
        spans.append((since, end))
    return spans


def _add_hours(into: dict[tuple[int, int], float], start: datetime, end: datetime) -> None:
    """Add the span's time, in hours, to the weekday-hour cells it covers."""
    for hour in _hours(start, end):
        overlap = min(end, hour + timedelta(hours=1)) - max(start, hour)
        into[_local_cell(hour)] += max(0.0, overlap.total_seconds()) / 3600


async def _demand(db: Database, f: EventFilter, now: datetime) -> Demand:
    start, end = from_iso(f.start), min(from_iso(f.end), now)
    attempts: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    closed = total = 0
    for row in await usage_stats.requests_by_hour(db, f):
        tally = attempts[_local_cell(datetime.fromisoformat(row["hour"] + ":00+00:00"))]
        tally[0] += row["n"]
        total += row["n"]
        if row["open"] == 0:
            tally[1] += row["n"]
            closed += row["n"]
    staffed: dict[tuple[int, int], float] = defaultdict(float)
    slots: dict[tuple[int, int], float] = defaultdict(float)
    _add_hours(slots, start, end)
    before, changes = await usage_stats.availability(db, f)
    for opened, closed_at in _staffed_spans(before, changes, start, end):
        _add_hours(staffed, opened, closed_at)
    cells = {
        (day, hour): HourCell(
            attempts[(day, hour)][0] if (day, hour) in attempts else 0,
            attempts[(day, hour)][1] if (day, hour) in attempts else 0,
            staffed.get((day, hour), 0.0),
            slots.get((day, hour), 0.0),
        )
        for day in range(7)
        for hour in range(24)
    }
    return Demand(cells, Share(closed, total), sum(staffed.values()))


async def _referrals(db: Database, f: EventFilter) -> Referrals:
    by_service, by_category = await usage_stats.referrals(db, f)
    ids = [row["service_id"] for row in by_service]
    names = await usage_stats.service_names(db, ids)
    return Referrals(
        [(sid, names.get(sid, sid), row["n"]) for sid, row in zip(ids, by_service, strict=True)],
        [(row["category"] or "", row["n"]) for row in by_category],
    )


async def _ratings(db: Database, f: EventFilter, counts: Counts) -> Ratings:
    row = await usage_stats.ratings(db, f)
    if row is None or not row["rated"]:
        return Ratings(response=Share(0, counts.of(events.CHAT_ENDED)))
    return Ratings(
        rated=row["rated"],
        helped=Share(row["helped"] or 0, row["said"]),
        mean_score=row["mean_score"],
        scored=row["scored"],
        response=Share(row["rated"], counts.of(events.CHAT_ENDED)),
    )


async def _staff(db: Database, f: EventFilter) -> list[StaffFigures]:
    answered = await usage_stats.per_staff(db, events.QUESTION_ANSWERED, f)
    handled = await usage_stats.per_staff(db, events.CHAT_ENDED, f)
    handle = await usage_stats.spreads(db, events.CHAT_ENDED, f, by_staff=True)
    people = await usage_stats.staff_names(db, set(answered) | set(handled))
    return [
        StaffFigures(
            staff_id,
            name,
            role,
            answered.get(staff_id, 0),
            handled.get(staff_id, 0),
            handle.get(staff_id, Spread()),
        )
        for staff_id, (name, role) in sorted(people.items(), key=lambda item: item[1][0].lower())
    ]
