"""Staff accounts, their sign-in sessions and counted sign-in failures."""

from __future__ import annotations

from dataclasses import dataclass

from service.storage.db import Database, Row, Writer

ROLES = ("counsellor", "adviser", "coordinator", "admin")
ANSWERING_ROLES = ("counsellor", "adviser")
# Coordinators manage staff, categories, the chat's settings, the directory and watched words.
MANAGING_ROLES = ("coordinator", "admin")
# Erased members' usernames begin with this; no account may be given such a name, so an
# erasure never collides with a living account.
ERASED_PREFIX = "poistettu-"


def is_reserved_username(username: str) -> bool:
    return username.casefold().startswith(ERASED_PREFIX)


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


@dataclass(frozen=True)
class StaffSession:
    """A live session: who, until when, whether it passed the second factor, and whether the
    member has one (a session without it then reaches only what a second factor allows)."""

    member: StaffMember
    expires_at: str
    second_factor: bool
    enrolled: bool


async def by_session(db: Database, token_hash: str, now: str) -> StaffSession | None:
    """The signed-in member and their session, for a live session only."""
    row = await db.fetch_one(
        "SELECT s.id, s.username, s.role, s.first_name, s.active, ss.expires_at,"
        " ss.second_factor, EXISTS (SELECT 1 FROM staff_second_factors f"
        "  WHERE f.staff_id = s.id AND f.confirmed_at IS NOT NULL) AS enrolled"
        " FROM staff_sessions ss JOIN staff s ON s.id = ss.staff_id"
        " WHERE ss.token_hash = ? AND ss.expires_at > ? AND s.active = 1",
        (token_hash, now),
    )
    if row is None:
        return None
    return StaffSession(
        _member(row), row["expires_at"], bool(row["second_factor"]), bool(row["enrolled"])
    )


async def create_session(
    tx: Writer,
    token_hash: str,
    staff_id: int,
    *,
    created_at: str,
    expires_at: str,
    second_factor: bool = False,
) -> None:
    await tx.execute("DELETE FROM staff_sessions WHERE expires_at <= ?", (created_at,))
    await tx.execute(
        "INSERT INTO staff_sessions (token_hash, staff_id, created_at, expires_at, second_factor)"
        " VALUES (?, ?, ?, ?, ?)",
        (token_hash, staff_id, created_at, expires_at, int(second_factor)),
    )


async def mark_second_factor(tx: Writer, token_hash: str) -> None:
    """The session has just enrolled a second factor: it counts as having passed it."""
    await tx.execute(
        "UPDATE staff_sessions SET second_factor = 1 WHERE token_hash = ?", (token_hash,)
    )


async def delete_other_sessions(tx: Writer, staff_id: int, keep_token_hash: str) -> list[str]:
    """Sign the member out everywhere but here: the ended sessions' token hashes."""
    found = await tx.fetch_all(
        "SELECT token_hash FROM staff_sessions WHERE staff_id = ? AND token_hash <> ?",
        (staff_id, keep_token_hash),
    )
    await tx.execute(
        "DELETE FROM staff_sessions WHERE staff_id = ? AND token_hash <> ?",
        (staff_id, keep_token_hash),
    )
    return [str(row["token_hash"]) for row in found]


async def password_hash(db: Database | Writer, staff_id: int) -> str | None:
    value = await db.fetch_value("SELECT password_hash FROM staff WHERE id = ?", (staff_id,))
    return None if value is None else str(value)


async def delete_session(tx: Writer, token_hash: str) -> None:
    await tx.execute("DELETE FROM staff_sessions WHERE token_hash = ?", (token_hash,))


@dataclass(frozen=True)
class Failures:
    """Failed attempts counted for a key inside the window, and until when it is held back."""

    failures: int
    held_until: str | None


async def pair_failures(tx: Writer, pair_key: str) -> Failures | None:
    """Failures for one (name, client address) pair; `held_until` is its block's end."""
    row = await tx.fetch_one(
        "SELECT failures, locked_until FROM login_failures WHERE pair_key = ?", (pair_key,)
    )
    return None if row is None else Failures(int(row["failures"]), row["locked_until"])


async def name_failures(tx: Writer, name_hash: str) -> Failures | None:
    """Failures for a name from every address; `held_until` is when the next may come."""
    row = await tx.fetch_one(
        "SELECT failures, next_attempt_at FROM login_name_failures WHERE name_hash = ?",
        (name_hash,),
    )
    return None if row is None else Failures(int(row["failures"]), row["next_attempt_at"])


async def count_failure(
    tx: Writer, pair_key: str, name_hash: str, *, at: str, pair: Failures, name: Failures
) -> None:
    """Write an attempt as failed before the password is checked (success takes it back).

    Counting first, inside the write transaction, means parallel guesses cannot all slip in
    while the slow password check of the first is still running. Both keys are keyed hashes:
    the tables never hold what was typed, nor an address."""
    await tx.execute(
        "INSERT INTO login_failures (pair_key, failures, last_failed_at, locked_until)"
        " VALUES (?, ?, ?, ?) ON CONFLICT(pair_key) DO UPDATE SET failures = excluded.failures,"
        " last_failed_at = excluded.last_failed_at, locked_until = excluded.locked_until",
        (pair_key, pair.failures, at, pair.held_until),
    )
    await tx.execute(
        "INSERT INTO login_name_failures (name_hash, failures, last_failed_at, next_attempt_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT(name_hash) DO UPDATE SET failures = excluded.failures,"
        " last_failed_at = excluded.last_failed_at, next_attempt_at = excluded.next_attempt_at",
        (name_hash, name.failures, at, name.held_until),
    )


async def take_back_failure(tx: Writer, pair_key: str, name_hash: str) -> None:
    """A right password: the pair starts over, and the name's count loses the attempt counted
    in advance (the others stay: the owner's success does not let a guesser elsewhere speed up)."""
    await tx.execute("DELETE FROM login_failures WHERE pair_key = ?", (pair_key,))
    await tx.execute(
        "UPDATE login_name_failures SET failures = failures - 1"
        " WHERE name_hash = ? AND failures > 0",
        (name_hash,),
    )


async def lift_name_wait(tx: Writer, name_hash: str) -> None:
    """The member passed the code step: their next sign-in need not wait out the slow-down
    that wrong codes (applied to every address) had set; the count itself stays."""
    await tx.execute(
        "UPDATE login_name_failures SET next_attempt_at = NULL WHERE name_hash = ?", (name_hash,)
    )


async def forget_failures_before(tx: Writer, window_start: str) -> int:
    """Failures older than the lock window count for nothing, so they are not kept either.

    A block ends one window after the failure that set it, so no live block is deleted."""
    gone = await tx.execute("DELETE FROM login_failures WHERE last_failed_at <= ?", (window_start,))
    return gone + await tx.execute(
        "DELETE FROM login_name_failures WHERE last_failed_at <= ?", (window_start,)
    )


async def id_for_username(tx: Writer, username: str) -> int | None:
    value = await tx.fetch_value("SELECT id FROM staff WHERE username = ?", (username,))
    return None if value is None else int(value)


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
    erased: bool = False


async def list_all(db: Database) -> list[StaffListing]:
    rows = await db.fetch_all(
        "SELECT id, username, role, first_name, active, chat_capacity, created_at, erased_at"
        " FROM staff ORDER BY active DESC, username"
    )
    return [
        StaffListing(
            _member(row), row["chat_capacity"], row["created_at"], row["erased_at"] is not None
        )
        for row in rows
    ]


async def set_role(tx: Writer, staff_id: int, role: str) -> None:
    await tx.execute("UPDATE staff SET role = ? WHERE id = ?", (role, staff_id))


async def set_active(tx: Writer, staff_id: int, active: bool) -> None:
    await tx.execute("UPDATE staff SET active = ? WHERE id = ?", (int(active), staff_id))


async def delete_sessions(tx: Writer, staff_id: int) -> None:
    """Sign the member out everywhere."""
    await tx.execute("DELETE FROM staff_sessions WHERE staff_id = ?", (staff_id,))
