"""Staff on the chat: availability, live sockets, absence and capacity."""

from __future__ import annotations

from service.storage import processes
from service.storage.db import Database, Row, Writer

_PRESENCE_SQL = """
SELECT s.id AS staff_id, s.role, COALESCE(s.first_name, s.username) AS name,
       s.chat_capacity AS capacity, COALESCE(p.available, 0) AS available,
       (COALESCE(p.connections, 0) > 0 OR p.away_since > ?) AS present,
       COALESCE(p.last_assigned_at, '') AS last_assigned_at,
       (SELECT count(*) FROM chats c WHERE c.assigned_to = s.id AND c.status = 'active') AS load
FROM staff s LEFT JOIN staff_presence p ON p.staff_id = s.id
WHERE s.active = 1 AND s.role IN ('counsellor', 'adviser')
"""


async def staff_rows(db: Database | Writer, present_cutoff: str) -> list[Row]:
    """Every answering staff member with availability, presence and current chat load.

    Present means a live socket, or the last one closed after `present_cutoff`."""
    return await db.fetch_all(_PRESENCE_SQL + " ORDER BY s.id", (present_cutoff,))


async def connected(tx: Writer, staff_id: int, process: str) -> None:
    """One more console socket, on `process`; `connections` counts them on all processes."""
    await processes.opened(tx, process, processes.STAFF, staff_id)
    await tx.execute(
        "INSERT INTO staff_presence (staff_id, connections) VALUES (?, 1)"
        " ON CONFLICT (staff_id) DO UPDATE SET connections = staff_presence.connections + 1,"
        " away_since = NULL",
        (staff_id,),
    )


async def disconnected(tx: Writer, staff_id: int, process: str, at: str) -> None:
    await processes.closed(tx, process, processes.STAFF, staff_id)
    await tx.execute(
        "UPDATE staff_presence"
        " SET connections = CASE WHEN connections > 1 THEN connections - 1 ELSE 0 END,"
        " away_since = CASE WHEN connections <= 1 THEN ? ELSE away_since END"
        " WHERE staff_id = ?",
        (at, staff_id),
    )


async def connected_anywhere(db: Database, staff_id: int) -> bool:
    """Whether the member has a console socket open on any process."""
    value = await db.fetch_value(
        "SELECT connections FROM staff_presence WHERE staff_id = ?", (staff_id,)
    )
    return bool(value)


async def set_available(tx: Writer, staff_id: int, on: bool) -> bool:
    """Switch availability; True if it changed."""
    before = await tx.fetch_value(
        "SELECT available FROM staff_presence WHERE staff_id = ?", (staff_id,)
    )
    await tx.execute(
        "INSERT INTO staff_presence (staff_id, available) VALUES (?, ?)"
        " ON CONFLICT (staff_id) DO UPDATE SET available = excluded.available",
        (staff_id, int(on)),
    )
    return bool(before) != on


async def load_and_capacity(tx: Writer, staff_id: int) -> tuple[int, int]:
    """How many chats the staff member holds now, and how many they may hold."""
    row = await tx.fetch_one(
        "SELECT (SELECT count(*) FROM chats WHERE assigned_to = s.id AND status = 'active'),"
        " s.chat_capacity FROM staff s WHERE s.id = ?",
        (staff_id,),
    )
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


async def assigned_now(tx: Writer, staff_id: int, at: str) -> None:
    await tx.execute(
        "INSERT INTO staff_presence (staff_id, last_assigned_at) VALUES (?, ?)"
        " ON CONFLICT (staff_id) DO UPDATE SET last_assigned_at = excluded.last_assigned_at",
        (staff_id, at),
    )


async def everyone_gone(tx: Writer, at: str) -> None:
    """After a restart no socket is live; everyone's absence starts counting now."""
    await tx.execute(
        "UPDATE staff_presence SET connections = 0, away_since = COALESCE(away_since, ?)", (at,)
    )


async def absent_with_chats(tx: Writer, cutoff: str) -> list[int]:
    """Staff gone since before `cutoff` who still hold active chats."""
    rows = await tx.fetch_all(
        "SELECT DISTINCT c.assigned_to FROM chats c"
        " JOIN staff_presence p ON p.staff_id = c.assigned_to"
        " WHERE c.status = 'active' AND p.connections = 0 AND p.away_since <= ?",
        (cutoff,),
    )
    return [row[0] for row in rows]


async def absent_but_available(tx: Writer, cutoff: str) -> list[tuple[int, str]]:
    """Staff still marked available whose last socket closed before `cutoff`, and when."""
    rows = await tx.fetch_all(
        "SELECT staff_id, away_since FROM staff_presence"
        " WHERE available = 1 AND connections = 0 AND away_since <= ?",
        (cutoff,),
    )
    return [(row[0], row[1]) for row in rows]


async def available_at_stop(tx: Writer) -> list[tuple[int, bool]]:
    """Before `everyone_gone`: who is marked available, and whether they had a socket open."""
    rows = await tx.fetch_all(
        "SELECT staff_id, connections > 0 FROM staff_presence WHERE available = 1"
    )
    return [(row[0], bool(row[1])) for row in rows]


async def beat(tx: Writer, at: str) -> None:
    await tx.execute(
        "INSERT INTO heartbeat (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = ?",
        (at, at),
    )


async def last_beat(tx: Writer) -> str | None:
    value = await tx.fetch_value("SELECT at FROM heartbeat WHERE id = 1")
    return None if value is None else str(value)


async def set_capacity(tx: Writer, staff_id: int, capacity: int) -> int:
    return await tx.execute(
        "UPDATE staff SET chat_capacity = ? WHERE id = ? AND role IN ('counsellor', 'adviser')",
        (capacity, staff_id),
    )
