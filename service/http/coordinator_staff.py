"""Coordinators' staff page: list accounts, create them, change roles, deactivate, reset passwords
and second factors, export a member's personal data, erase a departed member's name.

A new or reset password is shown once on the response page and never stored in clear. Every
step that cannot be undone, or that signs someone out, goes through a confirmation page first:
the list's buttons open it (a plain link, no script needed) and its button does the change."""

from __future__ import annotations

import json
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
from service.i18n import gettext as _
from service.storage import second_factor as stored_factor
from service.storage import staff as stored
from service.storage.staff import MANAGING_ROLES, ROLES, StaffMember

PATH = "/coordinator/staff"
# The notice after a change, by the `done` the redirect carries.
NOTICES = {
    "role": N_("The role was changed."),
    "deactivated": N_("The account was deactivated and its sessions ended."),
    "reactivated": N_("The account was reactivated."),
    "second_factor": N_(
        "The second factor was reset and the person signed out. They set up a new one at their"
        " next sign-in."
    ),
    "erased": N_(
        "The name and username were replaced by a pseudonym. The audit log keeps its rows."
    ),
}
# The confirmation page of each step that needs one: (question, what follows, button, the
# path under the account that does it, hidden fields).
CONFIRMATIONS: dict[str, tuple[str, str, str, str, dict[str, str]]] = {
    "deactivate": (
        N_("Deactivate %(username)s?"),
        N_(
            "They are signed out at once and cannot sign in until the account is reactivated."
            " Their chats go back to the queue."
        ),
        N_("Deactivate %(username)s"),
        "active",
        {"active": "0"},
    ),
    "password": (
        N_("Reset the password of %(username)s?"),
        N_(
            "Their current password stops working and they are signed out at once. The new"
            " password is shown to you once."
        ),
        N_("Reset the password of %(username)s"),
        "password",
        {},
    ),
    "second-factor": (
        N_("Reset the second factor of %(username)s?"),
        N_(
            "Do this only when they have lost both their phone and their recovery codes, and you"
            " have made sure it is really them asking. They are signed out and set up a new second"
            " factor at their next sign-in."
        ),
        N_("Reset the second factor of %(username)s"),
        "second-factor",
        {},
    ),
    "erase": (
        N_("Erase the name and username of %(username)s?"),
        N_(
            "This cannot be undone. The name and username are replaced by a pseudonym everywhere,"
            " including their published answers; the audit log keeps its rows under the"
            " pseudonym. Export their personal data first if it is needed."
        ),
        N_("Erase %(username)s"),
        "erase",
        {},
    ),
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
        "enrolled": await stored_factor.enrolled_ids(keys.db(request)),
        "roles": ROLES,
        "me": member,
        "error": error,
        "error_row": error_row,
        "errors": notices.field_errors(error) if on_form else {},
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


@require_staff(*MANAGING_ROLES)
async def confirm(request: web.Request, member: StaffMember) -> web.Response:
    """The step between the list's button and the change: says what will happen, and holds
    the form that does it."""
    staff_id = path_id(request)
    step = CONFIRMATIONS.get(request.match_info["action"])
    target = await stored.by_id(keys.db(request), staff_id)
    if step is None or target is None:
        raise web.HTTPNotFound()
    question, consequence, button, action, fields = step
    names = {"username": target.username}
    context = {
        "target": target,
        "question": _(question) % names,
        "consequence": _(consequence),
        "button": _(button) % names,
        "action": f"{PATH}/{staff_id}/{action}",
        "fields": fields,
    }
    return render(request, "coordinator/staff_confirm.html", context, no_store=True)


@require_staff(*MANAGING_ROLES)
async def reset_second_factor(request: web.Request, member: StaffMember) -> web.Response:
    staff_id = path_id(request)
    try:
        await staff_admin.do_reset_second_factor(_context(request), staff_id, acting_staff=member)
    except ActionError as exc:
        return await _page(request, member, error=exc, error_row=staff_id)
    raise notices.after_change(PATH, "second_factor")


@require_staff(*MANAGING_ROLES)
async def export_personal_data(request: web.Request, member: StaffMember) -> web.Response:
    """A JSON file of everything stored about the member; a post, because it is audited."""
    staff_id = path_id(request)
    try:
        data = await staff_admin.do_export_personal_data(
            _context(request), staff_id, acting_staff=member
        )
    except ActionError as exc:
        return await _page(request, member, error=exc, error_row=staff_id)
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    response = web.Response(text=body, content_type="application/json", charset="utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="koppi-staff-{staff_id}-personal-data.json"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@require_staff(*MANAGING_ROLES)
async def erase_personal_data(request: web.Request, member: StaffMember) -> web.Response:
    staff_id = path_id(request)
    try:
        await staff_admin.do_erase_personal_data(_context(request), staff_id, acting_staff=member)
    except ActionError as exc:
        return await _page(request, member, error=exc, error_row=staff_id)
    raise notices.after_change(PATH, "erased")


def routes() -> list[web.RouteDef]:
    return [
        web.get(PATH, page),
        web.post(PATH, create),
        web.post(PATH + "/{id}/role", set_role),
        web.post(PATH + "/{id}/active", set_active),
        web.post(PATH + "/{id}/password", reset_password),
        web.get(PATH + "/{id}/confirm/{action}", confirm),
        web.post(PATH + "/{id}/second-factor", reset_second_factor),
        web.post(PATH + "/{id}/personal-data", export_personal_data),
        web.post(PATH + "/{id}/erase", erase_personal_data),
    ]
