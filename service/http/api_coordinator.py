"""The coordinators' JSON API for the chat: hours, settings, capacity, canned responses."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from moderation.chat import configuration
from service import keys
from service.http.bodies import json_object
from service.http.params import path_id
from service.http.staff_session import require_staff
from service.storage import canned, presence
from service.storage.staff import MANAGING_ROLES, StaffMember


async def _config(request: web.Request) -> dict[str, Any]:
    chat = request.app[keys.CHAT]
    config = configuration.config_json(await configuration.current(chat))
    staff = await presence.staff_rows(chat.db, chat.present_cutoff())
    config["staff"] = [
        {"id": s["staff_id"], "name": s["name"], "role": s["role"], "capacity": s["capacity"]}
        for s in staff
    ]
    config["canned"] = [
        {"id": c.id, "title": c.title, "body": c.body, "position": c.position}
        for c in await canned.list_active(chat.db)
    ]
    return config


@require_staff(*MANAGING_ROLES)
async def get_config(request: web.Request, member: StaffMember) -> web.Response:
    return web.json_response(await _config(request))


@require_staff(*MANAGING_ROLES)
async def put_config(request: web.Request, member: StaffMember) -> web.Response:
    config = configuration.parse_config(await json_object(request))
    await configuration.do_configure(request.app[keys.CHAT], config, acting_staff=member)
    return web.json_response(await _config(request))


@require_staff(*MANAGING_ROLES)
async def put_capacity(request: web.Request, member: StaffMember) -> web.Response:
    data = await json_object(request)
    await configuration.do_set_capacity(
        request.app[keys.CHAT], path_id(request), data.get("capacity"), acting_staff=member
    )
    return web.json_response(await _config(request))


@require_staff(*MANAGING_ROLES)
async def add_canned(request: web.Request, member: StaffMember) -> web.Response:
    data = await json_object(request)
    await configuration.do_add_canned(request.app[keys.CHAT], data, acting_staff=member)
    return web.json_response(await _config(request), status=201)


@require_staff(*MANAGING_ROLES)
async def edit_canned(request: web.Request, member: StaffMember) -> web.Response:
    data = await json_object(request)
    await configuration.do_edit_canned(
        request.app[keys.CHAT], path_id(request), data, acting_staff=member
    )
    return web.json_response(await _config(request))


@require_staff(*MANAGING_ROLES)
async def retire_canned(request: web.Request, member: StaffMember) -> web.Response:
    await configuration.do_retire_canned(
        request.app[keys.CHAT], path_id(request), acting_staff=member
    )
    return web.json_response(await _config(request))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/coordinator/chat", get_config),
        web.put("/api/coordinator/chat", put_config),
        web.put("/api/coordinator/staff/{id}/chat-capacity", put_capacity),
        web.post("/api/coordinator/canned", add_canned),
        web.put("/api/coordinator/canned/{id}", edit_canned),
        web.delete("/api/coordinator/canned/{id}", retire_canned),
    ]
