"""Append-only usage events: kind, UTC time, category and numbers, never a person's words."""

from __future__ import annotations

import json
from typing import Any

from service.storage.db import Writer

QUESTION_ASKED = "question_asked"
QUESTION_CLAIMED = "question_claimed"
QUESTION_ANSWERED = "question_answered"
QUESTION_PUBLISHED = "question_published"
QUESTION_REJECTED = "question_rejected"
QUESTION_DELETED = "question_deleted"
CHAT_REQUESTED = "chat_requested"
CHAT_ASSIGNED = "chat_assigned"
CHAT_FIRST_REPLY = "chat_first_reply"
CHAT_TRANSFERRED = "chat_transferred"
CHAT_ENDED = "chat_ended"
CHAT_ABANDONED = "chat_abandoned"
CHAT_CONVERTED = "chat_converted_to_question"
CHAT_RATED = "chat_rated"
STAFF_AVAILABILITY = "staff_availability"
REFERRAL_MADE = "referral_made"


async def record(
    tx: Writer,
    kind: str,
    *,
    at: str,
    category: str | None = None,
    channel: str | None = None,
    subject_id: int | None = None,
    staff_id: int | None = None,
    seconds: float | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await tx.execute(
        "INSERT INTO usage_events (at, kind, category, channel, subject_id, staff_id, seconds,"
        " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            at,
            kind,
            category,
            channel,
            subject_id,
            staff_id,
            seconds,
            None if detail is None else json.dumps(detail, sort_keys=True),
        ),
    )
