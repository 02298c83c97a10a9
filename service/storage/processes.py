"""The service's running processes and the live sockets each holds (migration 0008).

Each process beats while it runs. Presence is counted per (person, process), so a process that
restarts or dies takes only its own sockets with it: staff connected to the others stay present
and keep their chats."""

from __future__ import annotations

from service.storage import chats
from service.storage.db import Writer

STAFF = "staff"
VISITOR = "visitor"


async def register(tx: Writer, process: str, at: str) -> None:
    await tx.execute(
        "INSERT INTO processes (id, started_at, beat_at) VALUES (?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at",
        (process, at, at),
    )


async def beat(tx: Writer, process: str, at: str) -> None:
    """The process is alive at `at` (registering it again if the leader took it for dead)."""
    await register(tx, process, at)


async def others_alive(tx: Writer, process: str, cutoff: str) -> bool:
    """Whether another process has beaten since `cutoff`."""
    found = await tx.fetch_value(
        "SELECT 1 FROM processes WHERE id <> ? AND beat_at > ? LIMIT 1", (process, cutoff)
    )
    return found is not None


async def dead(tx: Writer, process: str, cutoff: str) -> list[tuple[str, str]]:
    """Other processes whose last beat is before `cutoff`, with that beat."""
    rows = await tx.fetch_all(
        "SELECT id, beat_at FROM processes WHERE id <> ? AND beat_at <= ? ORDER BY beat_at",
        (process, cutoff),
    )
    return [(row[0], row[1]) for row in rows]


async def forget(tx: Writer, process: str, at: str) -> None:
    """A process is gone: its sockets close at `at` (its last beat). Staff and visitors with no
    socket left on another process are away from then on."""
    for row in await tx.fetch_all(
        "SELECT kind, who, sockets FROM live_sockets WHERE process_id = ?", (process,)
    ):
        if row["kind"] == STAFF:
            await tx.execute(
                "UPDATE staff_presence"
                " SET connections = CASE WHEN connections > ? THEN connections - ? ELSE 0 END,"
                " away_since = CASE WHEN connections <= ? THEN ? ELSE away_since END"
                " WHERE staff_id = ?",
                (row["sockets"], row["sockets"], row["sockets"], at, row["who"]),
            )
        elif not await _elsewhere(tx, process, VISITOR, row["who"]):
            await chats.visitor_away(tx, row["who"], at)
    await tx.execute("DELETE FROM live_sockets WHERE process_id = ?", (process,))
    await tx.execute("DELETE FROM processes WHERE id = ?", (process,))


async def forget_others(tx: Writer, process: str) -> None:
    """The whole service was down: no other process's sockets survived."""
    await tx.execute("DELETE FROM live_sockets WHERE process_id <> ?", (process,))
    await tx.execute("DELETE FROM processes WHERE id <> ?", (process,))


async def opened(tx: Writer, process: str, kind: str, who: int) -> None:
    await tx.execute(
        "INSERT INTO live_sockets (process_id, kind, who, sockets) VALUES (?, ?, ?, 1)"
        " ON CONFLICT (process_id, kind, who)"
        " DO UPDATE SET sockets = live_sockets.sockets + 1",
        (process, kind, who),
    )


async def closed(tx: Writer, process: str, kind: str, who: int) -> bool:
    """One socket fewer here; True when the person has none left on any process."""
    await tx.execute(
        "UPDATE live_sockets SET sockets = sockets - 1"
        " WHERE process_id = ? AND kind = ? AND who = ?",
        (process, kind, who),
    )
    await tx.execute(
        "DELETE FROM live_sockets WHERE process_id = ? AND kind = ? AND who = ? AND sockets <= 0",
        (process, kind, who),
    )
    return not await _elsewhere(tx, None, kind, who)


async def _elsewhere(tx: Writer, besides: str | None, kind: str, who: int) -> bool:
    found = await tx.fetch_value(
        "SELECT 1 FROM live_sockets WHERE kind = ? AND who = ? AND sockets > 0"
        " AND process_id <> ? LIMIT 1",
        (kind, who, besides or ""),
    )
    return found is not None
