"""A staff member's own account: enrolling a second factor and changing the password.

Each change is one transaction with one audit row; the member's other sessions end with it,
and their sockets close once it has committed."""

from __future__ import annotations

from dataclasses import dataclass

from moderation.errors import Conflict, Invalid
from service import auth, passwords, second_factor
from service.clock import Clock, to_iso
from service.i18n import gettext as _
from service.settings import Settings
from service.storage import audit, staff
from service.storage import second_factor as stored_factor
from service.storage.db import Database, Writer
from service.storage.staff import StaffMember

PASSWORD_MAX = 1000  # argon2 takes any length; this only stops a megabyte "password"


@dataclass(frozen=True)
class OwnAccountContext:
    db: Database
    clock: Clock
    settings: Settings


async def _end_other_sessions(tx: Writer, member: StaffMember, token: str) -> None:
    for ended in await staff.delete_other_sessions(tx, member.id, auth.token_hash(token)):
        tx.announce(auth.SessionEnded(ended, member.id))


async def _audit(tx: Writer, ctx: OwnAccountContext, member: StaffMember, action: str) -> None:
    await audit.append(
        tx,
        at=to_iso(ctx.clock()),
        staff_id=member.id,
        action=action,
        target_type="staff",
        target_id=member.id,
    )


async def do_begin_enrolment(ctx: OwnAccountContext, *, acting_staff: StaffMember) -> str:
    """A new secret for the member's app, kept unconfirmed until a code from it is typed.

    Every visit to the enrolment page makes a new one, so a secret is shown only once."""
    secret = second_factor.new_secret()
    async with ctx.db.transaction() as tx:
        if await stored_factor.is_enrolled(tx, acting_staff.id):
            raise Conflict(_("You already have a second factor."), field="code")
        sealed = second_factor.seal(ctx.settings.secret, secret)
        await stored_factor.begin(tx, acting_staff.id, sealed, at=to_iso(ctx.clock()))
    return secret


async def pending_secret(ctx: OwnAccountContext, member: StaffMember) -> str | None:
    """The unconfirmed secret, to show again beside a mistyped confirmation code."""
    found = await stored_factor.get(ctx.db, member.id)
    if found is None or found.confirmed:
        return None
    try:
        return second_factor.unseal(ctx.settings.secret, found.sealed_secret)
    except second_factor.SealBroken:
        return None  # sealed under an earlier KOPPI_SECRET: the page makes a new one


async def do_confirm_enrolment(
    ctx: OwnAccountContext, code: object, *, acting_staff: StaffMember, token: str
) -> list[str]:
    """The typed code proves the app holds the secret: the factor is on, this session counts
    as having passed it, the others end. Returns the ten recovery codes, to show once."""
    if not isinstance(code, str) or not code.strip():
        raise Invalid(_("Type the six-digit code your app shows."), field="code")
    now = ctx.clock()
    codes = second_factor.new_recovery_codes()
    hashes = [
        second_factor.recovery_code_hash(ctx.settings.secret, acting_staff.id, c) for c in codes
    ]
    async with ctx.db.transaction() as tx:
        found = await stored_factor.get(tx, acting_staff.id)
        if found is not None and found.confirmed:
            raise Conflict(_("You already have a second factor."), field="code")
        if found is None:
            raise Conflict(_("Start again: the page shows a new code to scan."), field="code")
        try:
            secret = second_factor.unseal(ctx.settings.secret, found.sealed_secret)
        except second_factor.SealBroken:
            raise Conflict(
                _("Start again: the page shows a new code to scan."), field="code"
            ) from None
        # Here the person holds the secret already, so saying how far their clock is off
        # tells a guesser nothing (at sign-in it would).
        checked = second_factor.check_code(secret, code, now, found.last_step, diagnose_clock=True)
        if checked.outcome is second_factor.CodeCheck.CLOCK_OFF:
            raise Invalid(
                _(
                    "That code is for another time: the clock of your phone or computer is about"
                    " %(minutes)d minutes off. Set it to take the time from the network, then"
                    " try again."
                )
                % {"minutes": abs(checked.minutes_off)},
                field="code",
            )
        if checked.outcome is not second_factor.CodeCheck.ACCEPTED:
            raise Invalid(
                _("That is not the code your app shows now. Check the app and try again."),
                field="code",
            )
        await stored_factor.confirm(
            tx, acting_staff.id, at=to_iso(now), step=checked.step, code_hashes=hashes
        )
        await staff.mark_second_factor(tx, auth.token_hash(token))
        await _end_other_sessions(tx, acting_staff, token)
        await _audit(tx, ctx, acting_staff, "enrol_second_factor")
    return codes


async def do_change_own_password(
    ctx: OwnAccountContext,
    data: dict[str, str],
    *,
    acting_staff: StaffMember,
    token: str,
    address_key: str,
) -> None:
    """The current password, then the new one twice; every other session of the member ends."""
    old, new, again = (data.get(k, "") for k in ("current", "new", "again"))
    if not old:
        raise Invalid(_("Type your current password."), field="current")
    if not new:
        raise Invalid(_("Type a new password."), field="new")
    if len(new) > PASSWORD_MAX:
        raise Invalid(_("That password is too long."), field="new")
    weak = passwords.weakness(new, username=acting_staff.username)
    if weak is passwords.Weakness.SHORT:
        raise Invalid(
            _("Use at least %(count)d characters.") % {"count": passwords.MIN_LENGTH},
            field="new",
        )
    if weak is passwords.Weakness.COMMON:
        raise Invalid(
            _("That password is on a list of common passwords. Choose another."), field="new"
        )
    if weak is not None:
        raise Invalid(_("Your password cannot be your username."), field="new")
    if new != again:
        raise Invalid(_("The two new passwords differ. Type the same one twice."), field="again")
    if new == old:
        raise Invalid(_("The new password is the same as the current one."), field="new")
    refused = await auth.verify_own_password(
        ctx.db, ctx.clock, ctx.settings, acting_staff, old[:PASSWORD_MAX], address_key=address_key
    )
    if refused is auth.Refusal.WRONG:
        raise Invalid(_("Your current password was not right."), field="current")
    if refused is not None:
        raise Invalid(_("Too many wrong passwords. Wait a while and try again."), field="current")
    password_hash = await passwords.hash_async(new)
    async with ctx.db.transaction() as tx:
        await staff.set_password_hash(tx, acting_staff.id, password_hash)
        await _end_other_sessions(tx, acting_staff, token)
        await _audit(tx, ctx, acting_staff, "change_own_password")
