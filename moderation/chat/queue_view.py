"""The chat queue as everyone sees it: positions, estimated waits, who is on duty, open or not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from moderation.chat.context import ChatContext
from moderation.chat.eta import estimate_wait, offer_question_at, typical_handle_time
from moderation.chat.routing import Candidate
from service.clock import from_iso, to_iso
from service.hours import OpeningHours
from service.storage import chat_settings, chats, opening_hours, presence
from service.storage.db import Database, Row, Writer

_HANDLE_HISTORY = timedelta(days=30)


@dataclass(frozen=True)
class Waiting:
    row: Row
    position: int
    eta_s: int | None
    # When the time waited reaches the coordinators' threshold; None when the estimate already
    # passes it (or there is none): offered at once (eta.offer_question_at).
    offer_at: datetime | None

    def offers(self, now: datetime) -> bool:
        """Whether the page offers to send the words as a question now."""
        return self.offer_at is None or now >= self.offer_at


@dataclass
class QueueView:
    waiting: list[Waiting]
    staff: list[Row]
    open: bool
    next_open: datetime | None
    offer_question_after_s: int

    def position_of(self, chat_id: int) -> Waiting | None:
        return next((w for w in self.waiting if w.row["id"] == chat_id), None)

    @cached_property
    def _staff_by_id(self) -> dict[int, Row]:
        return {s["staff_id"]: s for s in self.staff}

    def staff_row(self, staff_id: int) -> Row | None:
        return self._staff_by_id.get(staff_id)

    def next_offer(self, now: datetime) -> datetime | None:
        """The next moment a waiting visitor's wait reaches the threshold, if any is coming."""
        coming = [w.offer_at for w in self.waiting if w.offer_at is not None and now < w.offer_at]
        return min(coming, default=None)


def on_duty(staff_rows: list[Row]) -> list[Row]:
    return [s for s in staff_rows if s["available"] and s["present"]]


def candidates(staff_rows: list[Row]) -> list[Candidate]:
    return [
        Candidate(s["staff_id"], s["role"], s["load"], s["capacity"], s["last_assigned_at"])
        for s in on_duty(staff_rows)
    ]


def is_open(hours: OpeningHours, staff_rows: list[Row], now: datetime) -> bool:
    """Inside the hours (or none set) and someone available and present."""
    return hours.is_open(now) and bool(on_duty(staff_rows))


async def open_now(ctx: ChatContext, db: Database | Writer) -> bool:
    staff_rows = await presence.staff_rows(db, ctx.present_cutoff())
    return is_open(await opening_hours.load(db), staff_rows, ctx.clock())


async def view(ctx: ChatContext) -> QueueView:
    """Everything the queue pushes, read in one go from the database."""
    db = ctx.db
    now = ctx.clock()
    staff_rows = await presence.staff_rows(db, ctx.present_cutoff())
    hours = await opening_hours.load(db)
    settings = await chat_settings.load(db)
    recent = await chats.recent_handle_times(db, to_iso(now - _HANDLE_HISTORY))
    handle_s = typical_handle_time(recent)
    duty = on_duty(staff_rows)
    slots = sum(s["capacity"] for s in duty)
    busy = sum(s["load"] for s in duty)
    threshold = settings.offer_question_after_s
    waiting = []
    for position, row in enumerate(await chats.waiting(db), start=1):
        eta = estimate_wait(position, slots=slots, busy=busy, handle_s=handle_s)
        offer_at = offer_question_at(eta, threshold, from_iso(row["queued_at"]))
        waiting.append(Waiting(row, position, eta, offer_at))
    open_ = is_open(hours, staff_rows, now)
    return QueueView(
        waiting=waiting,
        staff=staff_rows,
        open=open_,
        next_open=None if open_ else hours.next_opening(now),
        offer_question_after_s=threshold,
    )


def waited_s(row: Row | Mapping[str, Any], now: datetime) -> int:
    """Seconds since the chat was requested: of a chat row, or of a waiting-list entry."""
    return max(0, int((now - from_iso(row["requested_at"])).total_seconds()))
