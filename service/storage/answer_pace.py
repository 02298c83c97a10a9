"""How fast questions are answered now: the queue of waiting questions and recent reply times."""

from __future__ import annotations

from service.storage.db import Database


async def waiting(db: Database, *, ahead_of: tuple[str, int] | None = None) -> int:
    """Questions waiting for an answer, or only those ahead of the question (asked_at, id) in
    the queue (the id breaks a tie within one second); counted on the queue's index."""
    if ahead_of is None:
        return int(await db.fetch_value("SELECT COUNT(*) FROM questions WHERE status = 'pending'"))
    asked_at, question_id = ahead_of
    return int(
        await db.fetch_value(
            "SELECT COUNT(*) FROM questions WHERE status = 'pending'"
            " AND (asked_at < ? OR (asked_at = ? AND id < ?))",
            (asked_at, asked_at, question_id),
        )
    )


async def replied_since(db: Database, since: str, *, limit: int) -> list[tuple[str, str]]:
    """(asked, first reply) of the questions asked since `since` that staff answered or
    declined, newest first and at most `limit`; the queue's index on (status, asked_at) keeps
    the read to the recent ones."""
    rows = await db.fetch_all(
        "SELECT asked_at, COALESCE(answered_at, rejected_at) AS replied_at FROM questions"
        " WHERE status IN ('answered', 'published', 'rejected') AND asked_at >= ?"
        " ORDER BY asked_at DESC LIMIT ?",
        (since, limit),
    )
    return [(row["asked_at"], row["replied_at"]) for row in rows if row["replied_at"]]
