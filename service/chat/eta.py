"""Estimated wait in the chat queue; the formula is written out in docs/realtime.md."""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_HANDLE_S = 600.0


def mean_handle_time(recent_handle_s: Sequence[float]) -> float:
    """Mean of recent handle times, or a ten-minute guess before there is any history."""
    if not recent_handle_s:
        return DEFAULT_HANDLE_S
    return sum(recent_handle_s) / len(recent_handle_s)


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


def offer_question(eta_s: int | None, threshold_s: int) -> bool:
    """Offer to send the text as a question when the wait is unknown or too long."""
    return eta_s is None or eta_s > threshold_s
