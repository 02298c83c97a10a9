"""Staff sign-in with a lock after repeated failures, and the sessions it opens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from service import passwords
from service.changes import change_kind
from service.clock import Clock, to_iso
from service.settings import Settings
from service.storage import audit, staff
from service.storage.db import Database
from service.storage.staff import StaffMember


@dataclass(frozen=True)
class SignIn:
    member: StaffMember | None
    token: str | None = None
    locked: bool = False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def failure_key(secret: str, username: str) -> str:
    """What failed sign-ins are counted by: a keyed hash of the name as the lock sees it
    (NFKC, case-folded), so a password typed as the name is never stored, and the hash cannot
    be checked against guesses without the service's secret."""
    name = unicodedata.normalize("NFKC", username).casefold()
    return hmac.new(secret.encode(), b"login:" + name.encode(), hashlib.sha256).hexdigest()


async def sign_in(
    db: Database, clock: Clock, settings: Settings, username: str, password: str
) -> SignIn:
    """Check a password unless the name is locked; attempts are counted per name, known or not."""
    now = clock()
    now_iso = to_iso(now)
    username = username.strip()[:100]
    lock = timedelta(minutes=settings.login_lock_minutes)
    name_hash = failure_key(settings.secret, username)
    async with db.transaction() as tx:
        allowed, locks_now = await staff.reserve_attempt(
            tx,
            name_hash,
            at=now_iso,
            window_start=to_iso(now - lock),
            max_failures=settings.login_max_failures,
            lock_until=to_iso(now + lock),
        )
        if locks_now:
            staff_id = await staff.id_for_username(tx, username)
            await audit.append(
                tx,
                at=now_iso,
                staff_id=staff_id,
                action="sign_in_locked",
                target_type="staff",
                target_id=staff_id,
            )
    if not allowed:
        return SignIn(None, locked=True)
    found = await staff.credentials(db, username) if username else None
    ok = await passwords.verify(found[1] if found else None, password)
    member = found[0] if found else None
    if not ok or member is None or not member.active:
        return SignIn(None, locked=locks_now)
    token = secrets.token_urlsafe(32)
    async with db.transaction() as tx:
        await staff.clear_failures(tx, name_hash)
        await staff.create_session(
            tx,
            token_hash(token),
            member.id,
            created_at=now_iso,
            expires_at=to_iso(now + timedelta(hours=settings.session_hours)),
        )
        await audit.append(
            tx,
            at=now_iso,
            staff_id=member.id,
            action="sign_in",
            target_type="staff",
            target_id=member.id,
        )
    return SignIn(member, token)


# The staff session's cookie: pages and the staff console's socket read the same one.
STAFF_COOKIE = "koppi_staff"


@change_kind("session_ended")
@dataclass(frozen=True)
class SessionEnded:
    """A staff session was signed out: every process closes the sockets opened with it."""

    token_hash: str
    staff_id: int | None


async def sign_out(db: Database, clock: Clock, token: str, member: StaffMember | None) -> None:
    async with db.transaction() as tx:
        await staff.delete_session(tx, token_hash(token))
        tx.announce(SessionEnded(token_hash(token), None if member is None else member.id))
        if member is not None:
            await audit.append(
                tx,
                at=to_iso(clock()),
                staff_id=member.id,
                action="sign_out",
                target_type="staff",
                target_id=member.id,
            )


async def session_for_token(
    db: Database, clock: Clock, token: str | None
) -> tuple[StaffMember, str] | None:
    """The member behind a session cookie and the session's expiry time."""
    if not token:
        return None
    return await staff.by_session(db, token_hash(token), to_iso(clock()))


async def staff_for_token(db: Database, clock: Clock, token: str | None) -> StaffMember | None:
    found = await session_for_token(db, clock, token)
    return None if found is None else found[0]


def csrf_token(secret: str, anchor: str) -> str:
    """The form token is a keyed hash of the browser's CSRF cookie (signed double submit)."""
    return hmac.new(secret.encode(), b"csrf:" + anchor.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: str, anchor: str | None, token: object) -> bool:
    if not anchor or not isinstance(token, str):
        return False
    return hmac.compare_digest(csrf_token(secret, anchor), token)


async def create_staff(
    db: Database,
    clock: Clock,
    *,
    username: str,
    password: str,
    role: str,
    first_name: str | None,
    acting_staff_id: int | None = None,
) -> int:
    """Create an account (the CLI and demo use this; coordinators will too)."""
    if role not in staff.ROLES:
        raise ValueError(f"role must be one of {', '.join(staff.ROLES)}")
    username = username.strip()
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        raise ValueError("username must be 1-100 characters without spaces")
    if len(password) < passwords.MIN_LENGTH:
        raise ValueError(f"password must be at least {passwords.MIN_LENGTH} characters")
    password_hash = await passwords.hash_async(password)
    now = to_iso(clock())
    async with db.transaction() as tx:
        if await staff.id_for_username(tx, username) is not None:
            raise ValueError(f"username {username!r} is taken")
        staff_id = await staff.insert(
            tx,
            username=username,
            password_hash=password_hash,
            role=role,
            first_name=(first_name or "").strip() or None,
            created_at=now,
        )
        await audit.append(
            tx,
            at=now,
            staff_id=acting_staff_id,
            action="create_staff",
            target_type="staff",
            target_id=staff_id,
            detail={"role": role},
        )
    return staff_id
