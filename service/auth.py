"""Staff sign-in: password, then the second factor; failures held back per (name, address)
and slowed per name; the sessions it opens."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from service import passwords, second_factor
from service.changes import change_kind
from service.clock import Clock, from_iso, to_iso
from service.settings import Settings
from service.storage import audit, staff
from service.storage import second_factor as stored_factor
from service.storage.db import Database, Writer
from service.storage.staff import Failures, StaffMember


class Refusal(Enum):
    WRONG = "wrong"  # wrong username or password
    BLOCKED = "blocked"  # too many failures from this address for this name
    SLOWED = "slowed"  # too many failures for this name from everywhere: wait a moment
    CODE_NEEDED = "code_needed"  # the password was right; the second factor comes next
    CODE_WRONG = "code_wrong"
    CODE_REUSED = "code_reused"
    RECOVERY_SPENT = "recovery_spent"
    # Too many wrong codes for the member from all addresses: start again with the password
    # once the window has passed.
    CODE_LOCKED = "code_locked"
    # The stored secret cannot be opened (KOPPI_SECRET changed): a coordinator resets it.
    FACTOR_UNUSABLE = "second_factor_unusable"


# Refusals after a right password (or on the code step): about the second factor only.
SECOND_FACTOR_REFUSALS = frozenset(
    {
        Refusal.CODE_NEEDED,
        Refusal.CODE_WRONG,
        Refusal.CODE_REUSED,
        Refusal.RECOVERY_SPENT,
        Refusal.CODE_LOCKED,
        Refusal.FACTOR_UNUSABLE,
    }
)


@dataclass(frozen=True)
class SignIn:
    member: StaffMember | None
    token: str | None = None
    refusal: Refusal | None = None
    wait_seconds: int = 0  # SLOWED: when the next attempt may come

    @property
    def locked(self) -> bool:
        return self.refusal is Refusal.BLOCKED


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _normalised(username: str) -> str:
    return unicodedata.normalize("NFKC", username).casefold()


def failure_key(secret: str, username: str) -> str:
    """What failed sign-ins are counted by: a keyed hash of the name as the lock sees it
    (NFKC, case-folded), so a password typed as the name is never stored, and the hash cannot
    be checked against guesses without the service's secret."""
    name = _normalised(username)
    return hmac.new(secret.encode(), b"login:" + name.encode(), hashlib.sha256).hexdigest()


def _code_key(secret: str, staff_id: int) -> str:
    """Wrong second-factor codes are counted like wrong passwords, under the member's id."""
    return hmac.new(secret.encode(), b"code:%d" % staff_id, hashlib.sha256).hexdigest()


def _pair_key(secret: str, name_hash: str, address_key: str) -> str:
    message = f"pair:{name_hash}:{address_key}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def slow_down_seconds(settings: Settings, failures: int, *, after: int | None = None) -> int:
    """The wait between attempts for a name after `failures` failures from all addresses:
    none up to `after` (login_slow_after), then doubling from one second, at most
    login_slow_max_seconds."""
    over = failures - (settings.login_slow_after if after is None else after)
    if over < 0:
        return 0
    return min(2 ** min(over, 30), settings.login_slow_max_seconds)


# The code step, counted per member over every address. Only someone with the member's password
# reaches it, so a stranger cannot use these limits to lock the member out: after
# CODE_SLOW_AFTER wrong codes every address waits (a fresh address too), and after
# CODE_LOCK_AFTER the code step is closed for the window (login_lock_minutes).
CODE_SLOW_AFTER = 3
CODE_LOCK_AFTER = 10


@dataclass(frozen=True)
class _Gate:
    refusal: Refusal | None
    # What the attempt was counted under, for taking it back when it succeeds.
    pair_key: str
    name_hash: str
    wait_seconds: int = 0
    blocks_now: bool = False
    locks_now: bool = False  # the code step: this attempt, if wrong, closes it for the window


async def _reserve(
    tx: Writer,
    settings: Settings,
    now: datetime,
    name_hash: str,
    address_key: str,
    *,
    code_step: bool = False,
) -> _Gate:
    """Let an attempt through, counted as failed in advance, or hold it back.

    A pair (name, address) that failed login_max_failures times is blocked for
    login_lock_minutes: a stranger can block only their own address. Across addresses the name
    is slowed down, never locked: after login_slow_after failures an address that has itself
    failed waits a growing delay (capped), while an address with no failure for the name in the
    window (the owner at their own desk) is never held back by what others did.

    The code step (`code_step`) is stricter, see CODE_SLOW_AFTER: the name is the member."""
    now_iso = to_iso(now)
    window = timedelta(minutes=settings.login_lock_minutes)
    await staff.forget_failures_before(tx, to_iso(now - window))
    pair_key = _pair_key(settings.secret, name_hash, address_key)
    pair = await staff.pair_failures(tx, pair_key)
    name = await staff.name_failures(tx, name_hash) or Failures(0, None)
    # Failures are forgotten one window after the last, so the lock lasts that long.
    if code_step and name.failures >= CODE_LOCK_AFTER:
        return _Gate(Refusal.CODE_LOCKED, pair_key, name_hash)
    if pair is not None and pair.held_until is not None and pair.held_until > now_iso:
        return _Gate(Refusal.BLOCKED, pair_key, name_hash)
    slowed_here = pair is not None or code_step
    if slowed_here and name.held_until is not None and name.held_until > now_iso:
        wait = math.ceil((from_iso(name.held_until) - now).total_seconds())
        return _Gate(Refusal.SLOWED, pair_key, name_hash, wait_seconds=max(wait, 1))
    pair_count = (pair.failures if pair is not None else 0) + 1
    blocks = pair_count >= settings.login_max_failures
    name_count = name.failures + 1
    delay = slow_down_seconds(settings, name_count, after=CODE_SLOW_AFTER if code_step else None)
    await staff.count_failure(
        tx,
        pair_key,
        name_hash,
        at=now_iso,
        pair=Failures(0, to_iso(now + window)) if blocks else Failures(pair_count, None),
        name=Failures(name_count, to_iso(now + timedelta(seconds=delay)) if delay else None),
    )
    return _Gate(
        None,
        pair_key,
        name_hash,
        blocks_now=blocks,
        locks_now=code_step and name_count >= CODE_LOCK_AFTER,
    )


async def _pass_gate(
    db: Database,
    settings: Settings,
    now: datetime,
    name_hash: str,
    address_key: str,
    *,
    member: int | str,
    code_step: bool = False,
) -> _Gate:
    """`_reserve` in its own transaction, auditing the attempt that blocks the pair against
    `member`: the member's id, or the username typed (looked up only then)."""
    async with db.transaction() as tx:
        gate = await _reserve(tx, settings, now, name_hash, address_key, code_step=code_step)
        if gate.blocks_now:
            if isinstance(member, str):
                await _audit_block(tx, to_iso(now), await staff.id_for_username(tx, member))
            else:
                await _audit_block(tx, to_iso(now), member)
    return gate


async def _take_back(db: Database, gate: _Gate, *, lift_wait: bool = False) -> None:
    """The attempt succeeded: undo what `_reserve` counted in advance. `lift_wait` after the
    code step, see staff.lift_name_wait."""
    async with db.transaction() as tx:
        await staff.take_back_failure(tx, gate.pair_key, gate.name_hash)
        if lift_wait:
            await staff.lift_name_wait(tx, gate.name_hash)


async def _audit_block(
    tx: Writer, now_iso: str, staff_id: int | None, action: str = "sign_in_locked"
) -> None:
    await audit.append(
        tx,
        at=now_iso,
        staff_id=staff_id,
        action=action,
        target_type="staff",
        target_id=staff_id,
    )


async def sign_in(
    db: Database,
    clock: Clock,
    settings: Settings,
    username: str,
    password: str,
    *,
    address_key: str,
    code: str | None = None,
) -> SignIn:
    """Check a password unless the pair is blocked or the name slowed; attempts are counted per
    name, known or not. A member with a second factor gets a session only with a code: without
    one the answer is CODE_NEEDED and the caller asks for it (`complete`)."""
    now = clock()
    username = username.strip()[:100]
    name_hash = failure_key(settings.secret, username)
    gate = await _pass_gate(db, settings, now, name_hash, address_key, member=username)
    if gate.refusal is not None:
        return SignIn(None, refusal=gate.refusal, wait_seconds=gate.wait_seconds)
    found = await staff.credentials(db, username) if username else None
    ok = await passwords.verify(found[1] if found else None, password)
    member = found[0] if found else None
    if not ok or member is None or not member.active:
        return SignIn(None, refusal=Refusal.BLOCKED if gate.blocks_now else Refusal.WRONG)
    await _take_back(db, gate)
    if await stored_factor.is_enrolled(db, member.id):
        if code is None:
            return SignIn(member, refusal=Refusal.CODE_NEEDED)
        return await complete(db, clock, settings, member.id, code, address_key=address_key)
    return SignIn(member, await _open_session(db, clock, settings, member, second_factor=False))


async def complete(
    db: Database, clock: Clock, settings: Settings, staff_id: int, code: str, *, address_key: str
) -> SignIn:
    """The second step: a TOTP code or a recovery code, counted like passwords, and per member
    from every address more strictly (see CODE_SLOW_AFTER)."""
    now = clock()
    now_iso = to_iso(now)
    code_hash = _code_key(settings.secret, staff_id)
    gate = await _pass_gate(
        db, settings, now, code_hash, address_key, member=staff_id, code_step=True
    )
    if gate.refusal is not None:
        return SignIn(None, refusal=gate.refusal, wait_seconds=gate.wait_seconds)
    member = await staff.by_id(db, staff_id)
    factor = await stored_factor.get(db, staff_id)
    if member is None or not member.active or factor is None or not factor.confirmed:
        return SignIn(None, refusal=Refusal.WRONG)
    refused = await _check_code(db, settings, factor, code, now)
    if refused is not None:
        if gate.locks_now and refused is not Refusal.FACTOR_UNUSABLE:
            async with db.transaction() as tx:
                await _audit_block(tx, now_iso, staff_id, "second_factor_locked")
            return SignIn(None, refusal=Refusal.CODE_LOCKED)
        return SignIn(None, refusal=Refusal.BLOCKED if gate.blocks_now else refused)
    await _take_back(db, gate, lift_wait=True)
    return SignIn(member, await _open_session(db, clock, settings, member, second_factor=True))


async def verify_own_password(
    db: Database,
    clock: Clock,
    settings: Settings,
    member: StaffMember,
    password: str,
    *,
    address_key: str,
) -> Refusal | None:
    """A signed-in member's current password, checked (before a change) under the same
    counting as sign-in: a borrowed session cannot be used to guess it quickly."""
    now = clock()
    name_hash = failure_key(settings.secret, member.username)
    gate = await _pass_gate(db, settings, now, name_hash, address_key, member=member.id)
    if gate.refusal is not None:
        return gate.refusal
    if not await passwords.verify(await staff.password_hash(db, member.id), password):
        return Refusal.BLOCKED if gate.blocks_now else Refusal.WRONG
    await _take_back(db, gate)
    return None


async def _check_code(
    db: Database,
    settings: Settings,
    factor: stored_factor.StoredFactor,
    code: str,
    now: datetime,
) -> Refusal | None:
    """None when the code is accepted (and spent); otherwise why not.

    A code for a time further off than a step is just wrong here: saying "your clock is N
    minutes off" would confirm a guess that opens the account N minutes later."""
    try:
        secret = second_factor.unseal(settings.secret, factor.sealed_secret)
    except second_factor.SealBroken:
        # Sealed under another KOPPI_SECRET: no code can be checked (recovery codes' hashes
        # are keyed by it too) until a coordinator resets the factor.
        return Refusal.FACTOR_UNUSABLE
    recovery = second_factor.normalised_recovery_code(code)
    if recovery is not None:
        hashed = second_factor.recovery_code_hash(settings.secret, factor.staff_id, recovery)
        async with db.transaction() as tx:
            used = await stored_factor.use_recovery_code(
                tx, factor.staff_id, hashed, at=to_iso(now)
            )
        if used == "used":
            return None
        return Refusal.RECOVERY_SPENT if used == "spent" else Refusal.CODE_WRONG
    checked = second_factor.check_code(secret, code, now, factor.last_step)
    if checked.outcome is second_factor.CodeCheck.REUSED:
        return Refusal.CODE_REUSED
    if checked.outcome is not second_factor.CodeCheck.ACCEPTED:
        return Refusal.CODE_WRONG
    async with db.transaction() as tx:
        if not await stored_factor.use_step(tx, factor.staff_id, checked.step):
            return Refusal.CODE_REUSED  # the same code, in a request that came first
    return None


async def _open_session(
    db: Database, clock: Clock, settings: Settings, member: StaffMember, *, second_factor: bool
) -> str:
    now = clock()
    token = secrets.token_urlsafe(32)
    async with db.transaction() as tx:
        await staff.create_session(
            tx,
            token_hash(token),
            member.id,
            created_at=to_iso(now),
            expires_at=to_iso(now + timedelta(hours=settings.session_hours)),
            second_factor=second_factor,
        )
        await audit.append(
            tx,
            at=to_iso(now),
            staff_id=member.id,
            action="sign_in",
            target_type="staff",
            target_id=member.id,
        )
    return token


# Between the password and the code: a signed cookie naming the member, not a session. It is
# good for a few minutes and opens nothing but the code form.
PENDING_COOKIE = "koppi_staff_pending"
PENDING_MINUTES = 5


def _pending_mac(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), b"pending:" + body.encode(), hashlib.sha256).hexdigest()


def pending_token(secret: str, staff_id: int, now: datetime) -> str:
    expires = int((now + timedelta(minutes=PENDING_MINUTES)).timestamp())
    body = f"{staff_id}.{expires}.{secrets.token_urlsafe(8)}"
    return f"{body}.{_pending_mac(secret, body)}"


def pending_staff_id(secret: str, token: str | None, now: datetime) -> int | None:
    """The member a pending cookie names, if it is genuine and still good."""
    if not token or token.count(".") != 3:
        return None
    body, _, mac = token.rpartition(".")
    if not hmac.compare_digest(mac, _pending_mac(secret, body)):
        return None
    staff_id, expires, _nonce = body.split(".")
    if not (staff_id.isdigit() and expires.isdigit()) or int(expires) < now.timestamp():
        return None
    return int(staff_id)


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


@dataclass(frozen=True)
class LiveSession:
    member: StaffMember
    expires_at: str
    # Signed in with a password only while a second factor is required: the session reaches
    # the enrolment page and sign-out, nothing else (pages, API, the staff socket).
    restricted: bool


async def session_for_token(
    db: Database, clock: Clock, token: str | None, *, second_factor_required: bool
) -> LiveSession | None:
    """The member behind a session cookie, the session's expiry, and whether it is restricted."""
    if not token:
        return None
    found = await staff.by_session(db, token_hash(token), to_iso(clock()))
    if found is None:
        return None
    if found.enrolled and not found.second_factor:
        # Opened with a password only before the member enrolled (enrolment ends the other
        # sessions, so this is a leftover): it counts for nothing.
        return None
    restricted = second_factor_required and not found.second_factor
    return LiveSession(found.member, found.expires_at, restricted)


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
    """Create an account (the CLI and demo use this). With a second factor required, the new
    member is sent to enrolment at their first sign-in."""
    if role not in staff.ROLES:
        raise ValueError(f"role must be one of {', '.join(staff.ROLES)}")
    username = username.strip()
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        raise ValueError("username must be 1-100 characters without spaces")
    if staff.is_reserved_username(username):
        raise ValueError(f"username must not begin with {staff.ERASED_PREFIX!r} (erased accounts)")
    weak = passwords.weakness(password, username=username)
    if weak is passwords.Weakness.SHORT:
        raise ValueError(f"password must be at least {passwords.MIN_LENGTH} characters")
    if weak is not None:
        raise ValueError("password is too easy to guess (a common password or the username)")
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
