"""Anonymous chat visitors: a hashed token and, when staff blocked it, until when."""

from __future__ import annotations

from service.storage.db import Database, Row, Writer


async def by_token_hash(db: Database, token_hash: str) -> Row | None:
    return await db.fetch_one(
        "SELECT id, blocked_until, block_reason FROM visitors WHERE token_hash = ?", (token_hash,)
    )


async def ensure(tx: Writer, token_hash: str, at: str) -> int:
    """The visitor's id, creating the row on their first chat."""
    await tx.execute(
        "INSERT INTO visitors (token_hash, created_at) VALUES (?, ?)"
        " ON CONFLICT (token_hash) DO NOTHING",
        (token_hash, at),
    )
    return int(await tx.fetch_value("SELECT id FROM visitors WHERE token_hash = ?", (token_hash,)))


async def blocked_until(tx: Writer, visitor_id: int) -> str | None:
    value = await tx.fetch_value("SELECT blocked_until FROM visitors WHERE id = ?", (visitor_id,))
    return None if value is None else str(value)


async def block(tx: Writer, visitor_id: int, *, until: str, reason: str) -> None:
    await tx.execute(
        "UPDATE visitors SET blocked_until = ?, block_reason = ? WHERE id = ?",
        (until, reason, visitor_id),
    )
