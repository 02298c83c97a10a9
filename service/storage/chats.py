"""Chat rows: the queue, assignments, endings, wrap-ups and ratings."""

from __future__ import annotations

from service.storage.db import Database, Row, Writer

_CHAT_COLUMNS = """
c.id, c.visitor_id, c.status, c.requested_at, c.returned, c.wanted_role, c.assigned_to,
c.assigned_at, c.first_assigned_at, c.first_reply_at, c.visitor_away_since, c.ended_at,
c.ended_by, c.handled_by, c.outcome, c.rated_at, c.start_client_id, c.category_id, c.urgent,
c.lang, COALESCE(c.queued_at, c.requested_at) AS queued_at,
k.slug AS category_slug, k.chat_role AS topic_role,
s.role AS staff_role, COALESCE(s.first_name, s.username) AS staff_name
"""
_FROM = (
    " FROM chats c JOIN categories k ON k.id = c.category_id"
    " LEFT JOIN staff s ON s.id = c.assigned_to"
)
# Urgent chats (a crisis word) first, then those sent back to the front, then the oldest.
_QUEUE_ORDER = " ORDER BY c.urgent DESC, c.returned DESC, c.requested_at, c.id"
OPEN = ("waiting", "active")


async def get(db: Database | Writer, chat_id: int) -> Row | None:
    return await db.fetch_one(f"SELECT {_CHAT_COLUMNS}{_FROM} WHERE c.id = ?", (chat_id,))


async def newest_for_visitor(db: Database | Writer, visitor_id: int) -> Row | None:
    return await db.fetch_one(
        f"SELECT {_CHAT_COLUMNS}{_FROM} WHERE c.visitor_id = ? ORDER BY c.id DESC LIMIT 1",
        (visitor_id,),
    )


async def by_start(tx: Writer, visitor_id: int, client_id: str) -> Row | None:
    return await tx.fetch_one(
        f"SELECT {_CHAT_COLUMNS}{_FROM} WHERE c.visitor_id = ? AND c.start_client_id = ?",
        (visitor_id, client_id),
    )


async def waiting(db: Database | Writer) -> list[Row]:
    """Waiting chats in the order they are offered, with their first message.

    A chat whose visitor has no socket open is left out while they are away: it is offered to
    no one, holds no one's capacity and moves no one back in line. It keeps its place (the
    order never changes) for when they come back, or ends after the grace (`left_queue`)."""
    return await db.fetch_all(
        f"SELECT {_CHAT_COLUMNS},"
        " (SELECT m.text FROM chat_messages m WHERE m.chat_id = c.id ORDER BY m.id LIMIT 1)"
        f" AS first_message{_FROM}"
        f" WHERE c.status = 'waiting' AND c.visitor_away_since IS NULL{_QUEUE_ORDER}"
    )


async def for_staff(db: Database, staff_id: int) -> list[Row]:
    """A staff member's open chats and the ended ones still waiting for their wrap-up."""
    return await db.fetch_all(
        f"SELECT {_CHAT_COLUMNS}{_FROM}"
        " WHERE (c.status = 'active' AND c.assigned_to = ?)"
        " OR (c.status = 'ended' AND c.handled_by = ? AND c.outcome IS NULL)"
        " ORDER BY c.id",
        (staff_id, staff_id),
    )


async def notes(db: Database, chat_ids: list[int]) -> list[Row]:
    if not chat_ids:
        return []
    marks = ",".join("?" * len(chat_ids))
    return await db.fetch_all(
        "SELECT n.chat_id, n.text, n.at, COALESCE(s.first_name, s.username) AS by_name"
        f" FROM chat_notes n LEFT JOIN staff s ON s.id = n.staff_id WHERE n.chat_id IN ({marks})"
        " ORDER BY n.id",
        chat_ids,
    )


async def insert(
    tx: Writer,
    *,
    visitor_id: int,
    category_id: int,
    client_id: str,
    at: str,
    urgent: bool = False,
    waiting_key: str | None = None,
    lang: str | None = None,
) -> int:
    return await tx.insert(
        "INSERT INTO chats (visitor_id, category_id, start_client_id, requested_at, queued_at,"
        " urgent, waiting_key, lang) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (visitor_id, category_id, client_id, at, at, int(urgent), waiting_key, lang),
    )


async def waiting_from(tx: Writer, waiting_key: str) -> int:
    """How many chats started from this address key are waiting now."""
    return int(
        await tx.fetch_value(
            "SELECT count(*) FROM chats WHERE waiting_key = ? AND status = 'waiting'",
            (waiting_key,),
        )
    )


async def mark_urgent(tx: Writer, chat_id: int) -> Row | None:
    """Make an open chat urgent; returns it (with `assigned_to`) only if it was not already."""
    return await tx.fetch_one(
        "UPDATE chats SET urgent = 1 WHERE id = ? AND urgent = 0"
        " AND status IN ('waiting', 'active') RETURNING id, assigned_to",
        (chat_id,),
    )


async def assign(tx: Writer, chat_id: int, staff_id: int, at: str) -> None:
    # The address key is only needed while the chat waits: it goes once someone takes it.
    await tx.execute(
        "UPDATE chats SET status = 'active', assigned_to = ?, handled_by = ?, assigned_at = ?,"
        " first_assigned_at = COALESCE(first_assigned_at, ?), returned = 0, wanted_role = NULL,"
        " waiting_key = NULL WHERE id = ?",
        (staff_id, staff_id, at, at, chat_id),
    )


async def requeue(
    tx: Writer, chat_id: int, *, front: bool, wanted_role: str | None, at: str
) -> None:
    """Back to the queue (its wait counting again from `at`); whoever had it loses access.

    A young person away at that moment (a locked phone mid-conversation) gets the queue's
    whole grace from now: the grace was never theirs to use up while someone was talking."""
    await tx.execute(
        "UPDATE chats SET status = 'waiting', assigned_to = NULL, assigned_at = NULL,"
        " handled_by = NULL, returned = ?, wanted_role = ?, queued_at = ?,"
        " visitor_away_since = CASE WHEN visitor_away_since IS NULL THEN NULL ELSE ? END"
        " WHERE id = ?",
        (int(front), wanted_role, at, at, chat_id),
    )


async def holder(tx: Writer, chat_id: int) -> int | None:
    """The staff member the chat is assigned to now, if any."""
    value = await tx.fetch_value("SELECT assigned_to FROM chats WHERE id = ?", (chat_id,))
    return None if value is None else int(value)


async def end(tx: Writer, chat_id: int, *, at: str, by: str) -> None:
    await tx.execute(
        "UPDATE chats SET status = 'ended', ended_at = ?, ended_by = ?, assigned_to = NULL,"
        " waiting_key = NULL WHERE id = ?",
        (at, by, chat_id),
    )


async def wrap_up(tx: Writer, chat_id: int, *, category: str, outcome: str) -> None:
    await tx.execute(
        "UPDATE chats SET wrap_category = ?, outcome = ? WHERE id = ?", (category, outcome, chat_id)
    )


async def rate(tx: Writer, chat_id: int, *, score: int | None, helped: bool | None, at: str) -> int:
    return await tx.execute(
        "UPDATE chats SET rating = ?, helped = ?, rated_at = ? WHERE id = ? AND rated_at IS NULL",
        (score, None if helped is None else int(helped), at, chat_id),
    )


async def link_question(tx: Writer, chat_id: int, question_id: int) -> None:
    await tx.execute("UPDATE chats SET question_id = ? WHERE id = ?", (question_id, chat_id))


async def visitor_away(
    tx: Writer, visitor_id: int, at: str | None, *, lang: str | None = None
) -> list[Row]:
    """Mark the visitor's open chats as left (at) or back (None, on a page in `lang`); returns
    the `status` and `assigned_to` of those whose state changed (staff see whether their
    visitor is connected; a waiting chat leaves or rejoins the line). A chat already away
    keeps the moment its visitor left."""
    still = "IS NOT NULL" if at is None else "IS NULL"
    return await tx.fetch_all(
        "UPDATE chats SET visitor_away_since = ?, lang = COALESCE(?, lang)"
        " WHERE visitor_id = ? AND status IN ('waiting', 'active')"
        f" AND visitor_away_since {still} RETURNING status, assigned_to",
        (at, lang, visitor_id),
    )


async def everyone_away(tx: Writer, at: str) -> None:
    """After a restart no visitor is connected yet; their idle time starts now."""
    await tx.execute(
        "UPDATE chats SET visitor_away_since = COALESCE(visitor_away_since, ?)"
        " WHERE status IN ('waiting', 'active')",
        (at,),
    )


async def gone(tx: Writer, *, silent_since: str, left_queue_since: str) -> list[Row]:
    """Open chats whose visitor has been away since `silent_since`, and waiting ones whose
    visitor left the queue before `left_queue_since` (a shorter grace: no one has their words
    yet, and the place in line is someone else's turn)."""
    return await tx.fetch_all(
        f"SELECT {_CHAT_COLUMNS}{_FROM} WHERE c.visitor_away_since IS NOT NULL AND ("
        " (c.status IN ('waiting', 'active') AND c.visitor_away_since <= ?)"
        " OR (c.status = 'waiting' AND c.visitor_away_since <= ?))",
        (silent_since, left_queue_since),
    )


async def active_of(tx: Writer, staff_id: int) -> list[Row]:
    return await tx.fetch_all(
        f"SELECT {_CHAT_COLUMNS}{_FROM} WHERE c.status = 'active' AND c.assigned_to = ?",
        (staff_id,),
    )


async def recent_handle_times(db: Database | Writer, since: str, limit: int = 20) -> list[float]:
    """Seconds from assignment to end for the latest chats in which staff wrote at least once.

    A chat left before any staff reply (however many, however fast) says nothing about how long
    a conversation takes, so it does not count."""
    rows = await db.fetch_all(
        f"SELECT {db.dialect.seconds_between('ended_at', 'assigned_at')} FROM chats"
        " WHERE status = 'ended' AND assigned_at IS NOT NULL AND first_reply_at IS NOT NULL"
        " AND ended_at >= ?"
        " ORDER BY ended_at DESC LIMIT ?",
        (since, limit),
    )
    return [max(0.0, float(row[0])) for row in rows]


async def add_note(tx: Writer, chat_id: int, staff_id: int, text: str, at: str) -> None:
    await tx.execute(
        "INSERT INTO chat_notes (chat_id, staff_id, text, at) VALUES (?, ?, ?, ?)",
        (chat_id, staff_id, text, at),
    )


async def open_counts(db: Database) -> tuple[dict[str, int], str | None]:
    """Chats waiting and active now, and when the longest-waiting one asked."""
    rows = await db.fetch_all(
        "SELECT status, count(*), min(requested_at) FROM chats"
        " WHERE status IN ('waiting', 'active') GROUP BY status"
    )
    counts = {"waiting": 0, "active": 0}
    oldest = None
    for status, count, first in rows:
        counts[status] = int(count)
        if status == "waiting":
            oldest = first
    return counts, oldest
