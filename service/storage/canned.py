"""Canned responses staff insert into a chat and edit before sending."""

from __future__ import annotations

from dataclasses import dataclass

from service.storage.db import Database, Writer


@dataclass(frozen=True)
class Canned:
    id: int
    title: str
    body: str
    position: int


async def list_active(db: Database) -> list[Canned]:
    rows = await db.fetch_all(
        "SELECT id, title, body, position FROM canned_responses WHERE active = 1"
        " ORDER BY position, id"
    )
    return [Canned(row[0], row[1], row[2], row[3]) for row in rows]


async def insert(tx: Writer, *, title: str, body: str, position: int) -> int:
    return await tx.insert(
        "INSERT INTO canned_responses (title, body, position) VALUES (?, ?, ?)",
        (title, body, position),
    )


async def update(tx: Writer, canned_id: int, *, title: str, body: str, position: int) -> int:
    return await tx.execute(
        "UPDATE canned_responses SET title = ?, body = ?, position = ? WHERE id = ? AND active = 1",
        (title, body, position, canned_id),
    )


async def retire(tx: Writer, canned_id: int) -> int:
    return await tx.execute(
        "UPDATE canned_responses SET active = 0 WHERE id = ? AND active = 1", (canned_id,)
    )
