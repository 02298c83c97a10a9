"""Staff accounts, their sign-in sessions and counted sign-in failures."""

from __future__ import annotations

from dataclasses import dataclass

from service.storage.db import Database, Row, Writer

ROLES = ("counsellor", "adviser", "coordinator", "admin")
ANSWERING_ROLES = ("counsellor", "adviser")
# Coordinators manage staff, categories, the chat's settings, the directory and watched words.
MANAGING_ROLES = ("coordinator", "admin")


@dataclass(frozen=True)
class StaffMember:
    id: int
    username: str
    role: str
    first_name: str | None
    active: bool

    @property
    def display_name(self) -> str:
        return self.first_name or self.username


def _member(row: Row) -> StaffMember:
    return StaffMember(
        row["id"], row["username"], row["role"], row["first_name"], bool(row["active"])
    )


async def insert(
    tx: Writer,
    *,
    username: str,
    password_hash: str,
    role: str,
    first_name: str | None,
    created_at: str,
) -> int:
    return await tx.insert(
        "INSERT INTO staff (username, password_hash, role, first_name, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (username, password_hash, role, first_name, created_at),
    )


async def credentials(db: Database, username: str) -> tuple[StaffMember, str] | None:
    row = await db.fetch_one(
        "SELECT id, username, role, first_name, active, password_hash FROM staff"
        " WHERE username = ?",
        (username,),
    )
    return None if row is None else (_member(row), row["password_hash"])


async def set_password_hash(tx: Writer, staff_id: int, password_hash: str) -> None:
    await tx.execute("UPDATE staff SET password_hash = ? WHERE id = ?", (password_hash, staff_id))


async def by_session(db: Database, token_hash: str, now: str) -> tuple[StaffMember, str] | None:
    """The signed-in member and when the session expires, for a live session only."""
    row = await db.fetch_one(
        "SELECT s.id, s.username, s.role, s.first_name, s.active, ss.expires_at"
        " FROM staff_sessions ss JOIN staff s ON s.id = ss.staff_id"
        " WHERE ss.token_hash = ? AND ss.expires_at > ? AND s.active = 1",
        (token_hash, now),
    )
    return None if row is None else (_member(row), row["expires_at"])


async def create_session(
    tx: Writer, token_hash: str, staff_id: int, *, created_at: str, expires_at: str
) -> None:
    await tx.execute("DELETE FROM staff_sessions WHERE expires_at <= ?", (created_at,))
    await tx.execute(
        "INSERT INTO staff_sessions (token_hash, staff_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?)",
        (token_hash, staff_id, created_at, expires_at),
    )


async def delete_session(tx: Writer, token_hash: str) -> None:
    await tx.execute("DELETE FROM staff_sessions WHERE token_hash = ?", (token_hash,))


async def reserve_attempt(
    tx: Writer, name_hash: str, *, at: str, window_start: str, max_failures: int, lock_until: str
) -> tuple[bool, bool]:
    """Count a sign-in attempt as failed before the password is checked: (allowed, locks now).

    Counting first, inside the write transaction, means parallel guesses cannot all slip in
    while the slow password check of the first is still running. Success clears the count.
    `name_hash` is a keyed hash of the name: the table never holds what was typed."""
    await forget_failures_before(tx, window_start)
    row = await tx.fetch_one(
        "SELECT failures, last_failed_at, locked_until FROM login_failures WHERE name_hash = ?",
        (name_hash,),
    )
    if row is not None and row["locked_until"] is not None and row["locked_until"] > at:
        return False, False
    failures = 1
    if row is not None and row["last_failed_at"] > window_start:
        failures = row["failures"] + 1
    locks = failures >= max_failures
    await tx.execute(
        "INSERT INTO login_failures (name_hash, failures, last_failed_at, locked_until)"
        " VALUES (?, ?, ?, ?) ON CONFLICT(name_hash) DO UPDATE SET failures = excluded.failures,"
        " last_failed_at = excluded.last_failed_at, locked_until = excluded.locked_until",
        (name_hash, 0 if locks else failures, at, lock_until if locks else None),
    )
    return True, locks


async def forget_failures_before(tx: Writer, window_start: str) -> int:
    """Failures older than the lock window count for nothing, so they are not kept either.

    A lock ends one window after the failure that set it, so no live lock is deleted."""
    return await tx.execute("DELETE FROM login_failures WHERE last_failed_at <= ?", (window_start,))


async def id_for_username(tx: Writer, username: str) -> int | None:
    value = await tx.fetch_value("SELECT id FROM staff WHERE username = ?", (username,))
    return None if value is None else int(value)


async def clear_failures(tx: Writer, name_hash: str) -> None:
    await tx.execute("DELETE FROM login_failures WHERE name_hash = ?", (name_hash,))


async def by_id(db: Database | Writer, staff_id: int) -> StaffMember | None:
    row = await db.fetch_one(
        "SELECT id, username, role, first_name, active FROM staff WHERE id = ?", (staff_id,)
    )
    return None if row is None else _member(row)


@dataclass(frozen=True)
class StaffListing:
    """One account as the coordinators' staff page lists it."""

    member: StaffMember
    chat_capacity: int
    created_at: str


async def list_all(db: Database) -> list[StaffListing]:
    rows = await db.fetch_all(
        "SELECT id, username, role, first_name, active, chat_capacity, created_at FROM staff"
        " ORDER BY active DESC, username"
    )
    return [StaffListing(_member(row), row["chat_capacity"], row["created_at"]) for row in rows]


async def set_role(tx: Writer, staff_id: int, role: str) -> None:
    await tx.execute("UPDATE staff SET role = ? WHERE id = ?", (role, staff_id))


async def set_active(tx: Writer, staff_id: int, active: bool) -> None:
    await tx.execute("UPDATE staff SET active = ? WHERE id = ?", (int(active), staff_id))


async def delete_sessions(tx: Writer, staff_id: int) -> None:
    """Sign the member out everywhere."""
    await tx.execute("DELETE FROM staff_sessions WHERE staff_id = ?", (staff_id,))
