"""Coordinators' categories page: list, add, edit, deactivate and reactivate topic categories."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from moderation import category_admin
from moderation.errors import ActionError
from service import keys
from service.http import bodies, notices
from service.http.params import path_id
from service.http.render import render
from service.http.staff_session import require_staff
from service.i18n import N_
from service.storage import categories
from service.storage.staff import ANSWERING_ROLES, MANAGING_ROLES, StaffMember

PATH = "/coordinator/categories"
FIELDS = ("slug", "name_fi", "name_sv", "name_en", "chat_role", "position")
NOTICES = {
    "added": N_("The category was added."),
    "edited": N_("The category was saved."),
    "deactivated": N_("The category was deactivated. Its questions stay where they are."),
    "reactivated": N_("The category was reactivated."),
}


async def _page(
    request: web.Request,
    *,
    error: ActionError | None = None,
    error_row: int | None = None,
    values: dict[str, str] | None = None,
    row_values: dict[str, str] | None = None,
) -> web.Response:
    """The list with a form per category and the add form; a refused form keeps what was typed."""
    context: dict[str, Any] = {
        "categories": await categories.list_all(keys.db(request)),
        "chat_roles": ANSWERING_ROLES,
        **notices.refused(error, error_row, values, row_values, {"chat_role": "", "position": "0"}),
        "notice": notices.shown(request, NOTICES),
    }
    return render(
        request,
        "coordinator/categories.html",
        context,
        status=error.status if error else 200,
        no_store=True,
    )


async def _values(request: web.Request) -> dict[str, str]:
    form = await bodies.form(request)
    return {name: form.get(name, "") for name in FIELDS}


@require_staff(*MANAGING_ROLES)
async def page(request: web.Request, member: StaffMember) -> web.Response:
    return await _page(request)


@require_staff(*MANAGING_ROLES)
async def add(request: web.Request, member: StaffMember) -> web.Response:
    values = await _values(request)
    try:
        await category_admin.do_add_category(keys.moderation(request), values, acting_staff=member)
    except ActionError as exc:
        return await _page(request, error=exc, values=values)
    raise notices.after_change(PATH, "added")


@require_staff(*MANAGING_ROLES)
async def edit(request: web.Request, member: StaffMember) -> web.Response:
    category_id = path_id(request)
    values = await _values(request)
    try:
        await category_admin.do_edit_category(
            keys.moderation(request), category_id, values, acting_staff=member
        )
    except ActionError as exc:
        return await _page(request, error=exc, error_row=category_id, row_values=values)
    raise notices.after_change(PATH, "edited")


@require_staff(*MANAGING_ROLES)
async def set_active(request: web.Request, member: StaffMember) -> web.Response:
    category_id = path_id(request)
    form = await bodies.form(request)
    try:
        active = bodies.active_choice(form)
        await category_admin.do_set_active(
            keys.moderation(request), category_id, active, acting_staff=member
        )
    except ActionError as exc:
        return await _page(request, error=exc, error_row=category_id)
    raise notices.after_change(PATH, "reactivated" if active else "deactivated")


def routes() -> list[web.RouteDef]:
    return [
        web.get(PATH, page),
        web.post(PATH, add),
        web.post(PATH + "/{id}", edit),
        web.post(PATH + "/{id}/active", set_active),
    ]
