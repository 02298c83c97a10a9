"""Estimated wait in the chat queue; the formula is written out in docs/realtime.md."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from statistics import median

DEFAULT_HANDLE_S = 600.0
# A chat in which staff wrote holds its place for at least this long (read, answer, the
# visitor's reply, goodbye); shorter figures are noise, and promising less would let a run of
# very short chats tell everyone waiting that the queue moves faster than people can talk.
HANDLE_FLOOR_S = 120.0


def typical_handle_time(recent_handle_s: Sequence[float]) -> float:
    """The median of recent handle times, never below the floor; ten minutes before there is
    any history. A median moves only when most recent chats change, not with a few outliers."""
    if not recent_handle_s:
        return DEFAULT_HANDLE_S
    return max(HANDLE_FLOOR_S, float(median(recent_handle_s)))


def estimate_wait(position: int, *, slots: int, busy: int, handle_s: float) -> int | None:
    """Seconds until a chat at `position` (1 = next) is likely taken; None if no one is on duty.

    `slots` is the total capacity of staff available now and `busy` the chats they hold. Each
    slot frees on average every `handle_s` seconds, so the queue moves `slots / handle_s`
    chats a second and this chat waits for `position − free` of those turns."""
    if slots <= 0:
        return None
    free = max(0, slots - busy)
    if position <= free:
        return 0
    return round(handle_s * (position - free) / slots)


def offer_question_at(eta_s: int | None, threshold_s: int, queued_at: datetime) -> datetime | None:
    """When to offer sending the text as a question, for a chat that joined the queue at
    `queued_at`: once the visitor has waited `threshold_s`, or at once (None) when the
    estimated wait is unknown or longer than that. Time alone can only turn the offer on, so a
    page is told when this moment passes, not on every tick."""
    if eta_s is None or eta_s > threshold_s:
        return None
    return queued_at + timedelta(seconds=threshold_s)
