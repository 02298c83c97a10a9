"""Coordinators' staff page: list accounts, create them, change roles, deactivate, reset passwords.

A new or reset password is shown once on the response page and never stored in clear."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from moderation import staff_admin
from moderation.errors import ActionError
from moderation.staff_admin import StaffContext
from service import keys
from service.http import bodies, notices
from service.http.params import path_id
from service.http.render import render
from service.http.staff_session import require_staff
from service.i18n import N_
from service.storage import staff as stored
from service.storage.staff import MANAGING_ROLES, ROLES, StaffMember

PATH = "/coordinator/staff"
# The notice after a change, by the `done` the redirect carries.
NOTICES = {
    "role": N_("The role was changed."),
    "deactivated": N_("The account was deactivated and its sessions ended."),
    "reactivated": N_("The account was reactivated."),
}


def _context(request: web.Request) -> StaffContext:
    # What a change means for live sockets is told to every process through the change bus.
    return StaffContext(request.app[keys.DB], request.app[keys.CLOCK])


async def _page(
    request: web.Request,
    member: StaffMember,
    *,
    error: ActionError | None = None,
    error_row: int | None = None,
    values: dict[str, str] | None = None,
    issued: tuple[str, str] | None = None,
) -> web.Response:
    """The list and the create form; `issued` is (username, password) to show this once."""
    # Errors of the create form sit by its fields; others by the row they concern.
    on_form = error is not None and error_row is None
    context: dict[str, Any] = {
        "accounts": await stored.list_all(keys.db(request)),
        "roles": ROLES,
        "me": member,
        "error": error,
        "error_row": error_row,
        "errors": {error.field: error.message} if on_form and error and error.field else {},
        "values": values or {"role": "counsellor"},
        "issued": issued,
        "notice": notices.shown(request, NOTICES),
    }
    return render(
        request,
        "coordinator/staff.html",
        context,
        status=error.status if error else 200,
        no_store=True,
    )


@require_staff(*MANAGING_ROLES)
async def page(request: web.Request, member: StaffMember) -> web.Response:
    return await _page(request, member)


@require_staff(*MANAGING_ROLES)
async def create(request: web.Request, member: StaffMember) -> web.Response:
    form = await bodies.form(request)
    values = {name: form.get(name, "") for name in ("username", "first_name", "role")}
    try:
        _, password = await staff_admin.do_create_staff(
            _context(request), values, acting_staff=member
        )
    except ActionError as exc:
        return await _page(request, member, error=exc, values=values)
    return await _page(request, member, issued=(values["username"].strip(), password))


@require_staff(*MANAGING_ROLES)
async def set_role(request: web.Request, member: StaffMember) -> web.Response:
    staff_id = path_id(request)
    form = await bodies.form(request)
    try:
        await staff_admin.do_set_role(
            _context(request), staff_id, form.get("role"), acting_staff=member
        )
    except ActionError as exc:
        return await _page(request, member, error=exc, error_row=staff_id)
    raise notices.after_change(PATH, "role")


@require_staff(*MANAGING_ROLES)
async def set_active(request: web.Request, member: StaffMember) -> web.Response:
    staff_id = path_id(request)
    form = await bodies.form(request)
    try:
        active = bodies.active_choice(form)
        await staff_admin.do_set_active(_context(request), staff_id, active, acting_staff=member)
    except ActionError as exc:
        return await _page(request, member, error=exc, error_row=staff_id)
    raise notices.after_change(PATH, "reactivated" if active else "deactivated")


@require_staff(*MANAGING_ROLES)
async def reset_password(request: web.Request, member: StaffMember) -> web.Response:
    staff_id = path_id(request)
    try:
        target, password = await staff_admin.do_reset_password(
            _context(request), staff_id, acting_staff=member
        )
    except ActionError as exc:
        return await _page(request, member, error=exc, error_row=staff_id)
    return await _page(request, member, issued=(target.username, password))


def routes() -> list[web.RouteDef]:
    return [
        web.get(PATH, page),
        web.post(PATH, create),
        web.post(PATH + "/{id}/role", set_role),
        web.post(PATH + "/{id}/active", set_active),
        web.post(PATH + "/{id}/password", reset_password),
    ]
