"""The audit log: who did what to which item, and when."""

from __future__ import annotations

import json
from typing import Any

from service.storage.db import Database, Row, Writer


async def append(
    tx: Writer,
    *,
    at: str,
    staff_id: int | None,
    action: str,
    target_type: str,
    target_id: int | None,
    detail: dict[str, Any] | None = None,
) -> None:
    await tx.execute(
        "INSERT INTO audit_log (at, staff_id, action, target_type, target_id, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            at,
            staff_id,
            action,
            target_type,
            target_id,
            None if detail is None else json.dumps(detail, sort_keys=True),
        ),
    )


async def for_target(db: Database, target_type: str, target_id: int) -> list[Row]:
    return await db.fetch_all(
        "SELECT a.at, a.action, a.detail, s.username FROM audit_log a"
        " LEFT JOIN staff s ON s.id = a.staff_id"
        " WHERE a.target_type = ? AND a.target_id = ? ORDER BY a.id",
        (target_type, target_id),
    )


async def last_id(db: Database, action: str) -> int:
    value = await db.fetch_value("SELECT max(id) FROM audit_log WHERE action = ?", (action,))
    return int(value or 0)
