"""Coordinators manage staff accounts: create, role, deactivate, reset the password or the
second factor, export a member's personal data, erase a departed member's name.

Each change is one transaction with one audit row; a password is never written to the audit."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from moderation.errors import Conflict, Forbidden, Invalid, NotFound
from moderation.text import optional_text
from service import passwords
from service.changes import change_kind
from service.clock import Clock, to_iso
from service.i18n import gettext as _
from service.storage import audit, staff, staff_data
from service.storage import second_factor as stored_factor
from service.storage.db import Database, Writer
from service.storage.errors import Duplicate
from service.storage.staff import ANSWERING_ROLES, MANAGING_ROLES, ROLES, StaffMember

USERNAME = re.compile(r"[A-Za-z0-9._-]{3,40}")
FIRST_NAME_MAX = 40


@change_kind("staff")
@dataclass(frozen=True)
class StaffChange:
    """Told to every process after a commit: close the member's console sockets (wherever they
    are connected), and with `signed_out` also take them off the chat as if they had signed
    out."""

    staff_id: int
    signed_out: bool = False


@dataclass(frozen=True)
class StaffContext:
    db: Database
    clock: Clock

    def now_iso(self) -> str:
        return to_iso(self.clock())

    async def audit(
        self,
        tx: Writer,
        acting_staff: StaffMember | None,
        action: str,
        target_id: int,
        **detail: object,
    ) -> None:
        """`acting_staff` None: the system acted (the command line), the row names nobody."""
        await audit.append(
            tx,
            at=self.now_iso(),
            staff_id=None if acting_staff is None else acting_staff.id,
            action=action,
            target_type="staff",
            target_id=target_id,
            detail=detail or None,
        )


def new_password() -> str:
    """A random first password, shown once to the coordinator who hands it over."""
    return secrets.token_urlsafe(12)  # 16 characters, more than passwords.MIN_LENGTH


def _require_manager(acting: StaffMember) -> None:
    if acting.role not in MANAGING_ROLES:
        raise Forbidden(_("Only coordinators manage staff accounts."))


def _role(value: object) -> str:
    if not isinstance(value, str) or value not in ROLES:
        raise Invalid(_("Choose a role from the list."), field="role")
    return value


def _may_grant(acting: StaffMember, role: str, field: str) -> None:
    """Only an administrator makes administrators."""
    if role == "admin" and acting.role != "admin":
        raise Forbidden(_("Only an administrator manages administrators."), field=field)


def _may_manage(acting: StaffMember, target: StaffMember, field: str) -> None:
    """Only an administrator acts on a coordinator's or administrator's account: otherwise one
    coordinator could reset another's password and act in their name."""
    if target.role in MANAGING_ROLES and acting.role != "admin":
        raise Forbidden(
            _("Only an administrator manages coordinators and administrators."), field=field
        )


async def _target(db: Database | Writer, staff_id: int) -> StaffMember:
    member = await staff.by_id(db, staff_id)
    if member is None:
        raise NotFound(_("No staff member with that number."))
    return member


def _not_self(acting: StaffMember, target: StaffMember, message: str, field: str) -> None:
    if acting.id == target.id:
        raise Conflict(message, field=field)


async def do_create_staff(
    ctx: StaffContext, data: dict[str, str], *, acting_staff: StaffMember
) -> tuple[int, str]:
    """A new account with a random password: (its id, the password to show once)."""
    _require_manager(acting_staff)
    username = data.get("username", "").strip()
    if not USERNAME.fullmatch(username):
        raise Invalid(
            _("Use 3–40 letters, digits, dots, hyphens or underscores."), field="username"
        )
    if staff.is_reserved_username(username):
        raise Invalid(
            _("A username cannot begin with “%(prefix)s”: erased accounts are named so.")
            % {"prefix": staff.ERASED_PREFIX},
            field="username",
        )
    first_name = optional_text(data.get("first_name"), "first_name", maximum=FIRST_NAME_MAX)
    role = _role(data.get("role"))
    _may_grant(acting_staff, role, field="role")
    password = new_password()
    password_hash = await passwords.hash_async(password)
    taken = Conflict(_("That username is taken."), field="username")
    try:
        async with ctx.db.transaction() as tx:
            if await staff.id_for_username(tx, username) is not None:
                raise taken
            staff_id = await staff.insert(
                tx,
                username=username,
                password_hash=password_hash,
                role=role,
                first_name=first_name,
                created_at=ctx.now_iso(),
            )
            await ctx.audit(tx, acting_staff, "create_staff", staff_id, role=role)
    except Duplicate:  # created by someone else in the meantime
        raise taken from None
    return staff_id, password


async def do_set_role(
    ctx: StaffContext, staff_id: int, role: object, *, acting_staff: StaffMember
) -> None:
    _require_manager(acting_staff)
    new_role = _role(role)
    async with ctx.db.transaction() as tx:
        target = await _target(tx, staff_id)
        _not_self(acting_staff, target, _("You cannot change your own role."), "role")
        _may_manage(acting_staff, target, field="role")
        _may_grant(acting_staff, new_role, field="role")
        if target.role == new_role:
            return
        await staff.set_role(tx, staff_id, new_role)
        await ctx.audit(
            tx, acting_staff, "staff_role", staff_id, role=new_role, previous=target.role
        )
        # The console re-reads the role on its next connect; a non-answering role leaves the
        # chat.
        tx.announce(StaffChange(staff_id, signed_out=new_role not in ANSWERING_ROLES))


async def do_set_active(
    ctx: StaffContext, staff_id: int, active: bool, *, acting_staff: StaffMember
) -> None:
    """Deactivating signs the member out everywhere at once; nothing is deleted."""
    _require_manager(acting_staff)
    async with ctx.db.transaction() as tx:
        target = await _target(tx, staff_id)
        _not_self(acting_staff, target, _("You cannot deactivate your own account."), "active")
        _may_manage(acting_staff, target, field="active")
        if target.active == active:
            return
        if active and await staff_data.is_erased(tx, staff_id):
            raise Conflict(_("An erased account cannot be reactivated."), field="active")
        await staff.set_active(tx, staff_id, active)
        if not active:
            await staff.delete_sessions(tx, staff_id)
        action = "staff_reactivate" if active else "staff_deactivate"
        await ctx.audit(tx, acting_staff, action, staff_id)
        if not active:
            tx.announce(StaffChange(staff_id, signed_out=True))


async def do_reset_password(
    ctx: StaffContext, staff_id: int, *, acting_staff: StaffMember
) -> tuple[StaffMember, str]:
    """A new random password that ends the member's sessions: (the member, the password)."""
    _require_manager(acting_staff)
    password = new_password()
    password_hash = await passwords.hash_async(password)
    async with ctx.db.transaction() as tx:
        target = await _target(tx, staff_id)
        _not_self(acting_staff, target, _("You cannot reset your own password here."), "password")
        _may_manage(acting_staff, target, field="password")
        if await staff_data.is_erased(tx, staff_id):
            raise Conflict(_("This account has already been erased."), field="password")
        await staff.set_password_hash(tx, staff_id, password_hash)
        await staff.delete_sessions(tx, staff_id)
        await ctx.audit(tx, acting_staff, "staff_password_reset", staff_id)
        tx.announce(StaffChange(staff_id, signed_out=True))
    return target, password


async def do_reset_second_factor(
    ctx: StaffContext, staff_id: int, *, acting_staff: StaffMember
) -> StaffMember:
    """For a member who lost their phone and their recovery codes: the factor and codes are
    forgotten and the member is signed out; they enrol again at their next sign-in."""
    _require_manager(acting_staff)
    async with ctx.db.transaction() as tx:
        target = await _target(tx, staff_id)
        _not_self(
            acting_staff, target, _("You cannot reset your own second factor."), "second_factor"
        )
        _may_manage(acting_staff, target, field="second_factor")
        await _reset_second_factor(ctx, tx, target, acting_staff)
    return target


async def do_reset_second_factor_by_operator(ctx: StaffContext, username: str) -> StaffMember:
    """The command line's reset (`python -m service reset-second-factor`), for when no
    coordinator can sign in: the last one lost their phone, or KOPPI_SECRET changed. The
    audit row names no staff member: the system did it."""
    async with ctx.db.transaction() as tx:
        staff_id = await staff.id_for_username(tx, username)
        if staff_id is None:
            raise NotFound(_("No staff member with that username."))
        target = await _target(tx, staff_id)
        await _reset_second_factor(ctx, tx, target, None)
    return target


async def _reset_second_factor(
    ctx: StaffContext, tx: Writer, target: StaffMember, acting_staff: StaffMember | None
) -> None:
    """Forget the factor and codes, sign the member out, audit; `acting_staff` None for the
    operator."""
    if not await stored_factor.remove(tx, target.id):
        raise Conflict(
            _("%(username)s has no second factor.") % {"username": target.username},
            field="second_factor",
        )
    await staff.delete_sessions(tx, target.id)
    await ctx.audit(tx, acting_staff, "reset_second_factor", target.id)
    tx.announce(StaffChange(target.id, signed_out=True))


async def do_export_personal_data(
    ctx: StaffContext, staff_id: int, *, acting_staff: StaffMember
) -> dict[str, Any]:
    """Everything Koppi holds about the member (a data-subject access request), audited."""
    _require_manager(acting_staff)
    target = await _target(ctx.db, staff_id)
    _may_manage(acting_staff, target, field="export")
    found = await staff_data.personal_data(ctx.db, staff_id)
    if found is None:
        raise NotFound(_("No staff member with that number."))
    async with ctx.db.transaction() as tx:
        await ctx.audit(tx, acting_staff, "export_personal_data", staff_id)
    return {"exported_at": ctx.now_iso(), "staff_id": staff_id, **found}


def pseudonym(staff_id: int) -> str:
    """What an erased member's username becomes: unique, and the same in every language."""
    return f"{staff.ERASED_PREFIX}{staff_id}"


async def _free_pseudonym(tx: Writer, staff_id: int) -> str:
    """The pseudonym, or with a random tail when an account made before the prefix was
    refused already has that name (the username is UNIQUE)."""
    name = pseudonym(staff_id)
    while (await staff.id_for_username(tx, name)) not in (None, staff_id):
        name = f"{pseudonym(staff_id)}-{secrets.token_hex(3)}"
    return name


async def do_erase_personal_data(
    ctx: StaffContext, staff_id: int, *, acting_staff: StaffMember
) -> StaffMember:
    """A departed member's name and username give way to a pseudonym. Only a deactivated
    account: erasing someone still at work would lock them out under a stranger's name."""
    _require_manager(acting_staff)
    async with ctx.db.transaction() as tx:
        target = await _target(tx, staff_id)
        _not_self(acting_staff, target, _("You cannot erase your own account."), "erase")
        _may_manage(acting_staff, target, field="erase")
        if target.active:
            raise Conflict(_("Deactivate the account first."), field="erase")
        if await staff_data.is_erased(tx, staff_id):
            raise Conflict(_("This account has already been erased."), field="erase")
        await staff_data.erase(tx, staff_id, await _free_pseudonym(tx, staff_id), at=ctx.now_iso())
        await ctx.audit(tx, acting_staff, "erase_personal_data", staff_id)
        tx.announce(StaffChange(staff_id, signed_out=True))
    return target
