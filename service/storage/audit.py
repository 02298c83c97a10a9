"""The audit log: who did what to which item, and when."""

from __future__ import annotations

import json
from dataclasses import dataclass
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


async def done_since(
    db: Database | Writer,
    *,
    staff_id: int,
    action: str,
    target_type: str,
    target_id: int,
    since: str,
) -> bool:
    """Whether this staff member did `action` to this item at or after `since` (UTC)."""
    value = await db.fetch_value(
        "SELECT 1 FROM audit_log WHERE target_type = ? AND target_id = ? AND action = ?"
        " AND staff_id = ? AND at >= ? LIMIT 1",
        (target_type, target_id, action, staff_id, since),
    )
    return value is not None


async def last_id(db: Database, action: str) -> int:
    value = await db.fetch_value("SELECT max(id) FROM audit_log WHERE action = ?", (action,))
    return int(value or 0)


@dataclass(frozen=True)
class LogFilter:
    """What the coordinators' audit page narrows the log to; None leaves a column open."""

    action: str | None = None
    staff_id: int | None = None
    system: bool = False  # only rows no staff member caused
    target_type: str | None = None
    target_id: int | None = None  # only with target_type
    since: str | None = None  # UTC, inclusive
    until: str | None = None  # UTC, exclusive
    before: int | None = None  # keyset paging: rows older than this id


async def page(db: Database, filters: LogFilter, *, limit: int) -> list[Row]:
    """Audit rows newest first; an action or a time range is answered from its index."""
    source = "audit_log a"
    if filters.action is None and (filters.since is not None or filters.until is not None):
        # Without this hint SQLite walks the whole table by id to skip sorting the range.
        source = db.dialect.using_index("audit_log a", "audit_log_at")
    staff_id = None if filters.system else filters.staff_id
    bounds = (
        ("a.action = ?", filters.action),
        ("a.staff_id = ?", staff_id),
        ("a.target_type = ?", filters.target_type),
        ("a.target_id = ?", filters.target_id),
        ("a.at >= ?", filters.since),
        ("a.at < ?", filters.until),
        ("a.id < ?", filters.before),
    )
    where = [sql for sql, value in bounds if value is not None]
    params: list[Any] = [value for _sql, value in bounds if value is not None]
    if filters.system:
        where.append("a.staff_id IS NULL")
    return await db.fetch_all(
        "SELECT a.id, a.at, a.staff_id, a.action, a.target_type, a.target_id, a.detail,"
        " s.username, s.first_name"
        f" FROM {source} LEFT JOIN staff s ON s.id = a.staff_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY a.id DESC LIMIT ?",
        (*params, limit),
    )


async def actions(db: Database) -> list[str]:
    """Every action the log holds, read from the action index alone."""
    rows = await db.fetch_all("SELECT DISTINCT action FROM audit_log ORDER BY action")
    return [row[0] for row in rows]
