"""Everything Koppi stores about one staff member (for a data-subject request), and erasing a
departed member's name while every row that refers to them keeps pointing at the same id."""

from __future__ import annotations

from typing import Any

from service.storage import second_factor, staff
from service.storage.db import Database, Row, Writer


def _plain(rows: list[Row]) -> list[dict[str, Any]]:
    return [dict(row) for row in rows]


async def personal_data(db: Database, staff_id: int) -> dict[str, Any] | None:
    """The member's account and what they did, as ids and times: never the young people's
    words, nor the text the member wrote to them (that belongs to the conversation)."""
    account = await db.fetch_one(
        "SELECT id, username, first_name, role, active, chat_capacity, created_at, erased_at"
        " FROM staff WHERE id = ?",
        (staff_id,),
    )
    if account is None:
        return None
    factor = await db.fetch_one(
        "SELECT created_at, confirmed_at FROM staff_second_factors WHERE staff_id = ?",
        (staff_id,),
    )
    recovery = await db.fetch_one(
        "SELECT count(*) AS made, count(used_at) AS used FROM staff_recovery_codes"
        " WHERE staff_id = ?",
        (staff_id,),
    )
    queries: dict[str, tuple[str, tuple[Any, ...]]] = {
        "sessions": (
            "SELECT created_at, expires_at FROM staff_sessions WHERE staff_id = ?"
            " ORDER BY created_at",
            (staff_id,),
        ),
        "presence": (
            "SELECT * FROM staff_presence WHERE staff_id = ?",
            (staff_id,),
        ),
        "answers": (
            "SELECT id, question_id, answered_at FROM answers WHERE staff_id = ? ORDER BY id",
            (staff_id,),
        ),
        "chat_messages": (
            "SELECT id, chat_id, at FROM chat_messages WHERE staff_id = ? ORDER BY id",
            (staff_id,),
        ),
        "chat_notes": (
            "SELECT id, chat_id, at FROM chat_notes WHERE staff_id = ? ORDER BY id",
            (staff_id,),
        ),
        "chats": (
            "SELECT id, assigned_at, ended_at FROM chats"
            " WHERE assigned_to = ? OR handled_by = ? ORDER BY id",
            (staff_id, staff_id),
        ),
        "usage_events": (
            "SELECT id, kind, at FROM usage_events WHERE staff_id = ? ORDER BY id",
            (staff_id,),
        ),
        "audit_by_them": (
            "SELECT id, at, action, target_type, target_id, detail FROM audit_log"
            " WHERE staff_id = ? ORDER BY id",
            (staff_id,),
        ),
        "audit_about_them": (
            "SELECT id, at, action, staff_id AS by_staff_id, detail FROM audit_log"
            " WHERE target_type = 'staff' AND target_id = ? AND"
            " (staff_id IS NULL OR staff_id <> ?) ORDER BY id",
            (staff_id, staff_id),
        ),
    }
    found: dict[str, Any] = {
        "account": dict(account),
        "second_factor": {
            "enrolled_at": None if factor is None else factor["confirmed_at"],
            "recovery_codes_made": int(recovery["made"]) if recovery else 0,
            "recovery_codes_used": int(recovery["used"]) if recovery else 0,
        },
    }
    for name, (sql, params) in queries.items():
        found[name] = _plain(await db.fetch_all(sql, params))
    return found


async def erase(tx: Writer, staff_id: int, pseudonym: str, *, at: str) -> None:
    """Replace the name and username by `pseudonym`, make the password unusable, and drop what
    signs in as the member. The row stays, so audit rows and answers keep their staff id."""
    await tx.execute(
        "UPDATE staff SET username = ?, first_name = NULL, password_hash = ?, erased_at = ?"
        " WHERE id = ?",
        # Not an argon2 hash: verification fails for every password.
        (pseudonym, "!erased", at, staff_id),
    )
    # The answers signed with the member's first name are shown without it from now on.
    await tx.execute("UPDATE answers SET first_name = NULL WHERE staff_id = ?", (staff_id,))
    await staff.delete_sessions(tx, staff_id)
    await second_factor.remove(tx, staff_id)


async def is_erased(db: Database | Writer, staff_id: int) -> bool:
    value = await db.fetch_value("SELECT erased_at FROM staff WHERE id = ?", (staff_id,))
    return value is not None
