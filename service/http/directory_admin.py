"""Coordinators' directory tools: import an HSDS file (page or JSON) and download the export."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from moderation import directory
from moderation.errors import Invalid
from service import i18n, keys
from service.http import bodies
from service.http.render import render
from service.http.staff_session import require_staff
from service.storage import directory as stored
from service.storage.staff import MANAGING_ROLES, StaffMember


def _parse(text: str, field: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise Invalid(i18n.gettext("The file is not valid JSON."), field=field) from None


async def _page(
    request: web.Request,
    *,
    report: directory.ImportReport | None = None,
    error: Invalid | None = None,
) -> web.Response:
    return render(
        request,
        "coordinator/directory.html",
        {"count": await stored.count(keys.db(request)), "report": report, "error": error},
        status=error.status if error else 200,
        no_store=True,
    )


@require_staff(*MANAGING_ROLES)
async def page(request: web.Request, member: StaffMember) -> web.Response:
    return await _page(request)


@require_staff(*MANAGING_ROLES)
async def upload(request: web.Request, member: StaffMember) -> web.Response:
    form = await bodies.form(request)
    try:
        text = form.get(bodies.UPLOAD_FIELD, "")
        if not text.strip():
            raise Invalid(i18n.gettext("Choose an HSDS JSON file."), field=bodies.UPLOAD_FIELD)
        data = _parse(text, bodies.UPLOAD_FIELD)
        report = await directory.do_import(keys.directory(request), data, acting_staff=member)
    except Invalid as exc:
        return await _page(request, error=exc)
    return await _page(request, report=report)


@require_staff(*MANAGING_ROLES)
async def export(request: web.Request, member: StaffMember) -> web.Response:
    records = await directory.export(keys.db(request))
    return web.Response(
        text=json.dumps(records, ensure_ascii=False, indent=2),
        content_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="koppi-directory-hsds.json"'},
    )


@require_staff(*MANAGING_ROLES)
async def import_json(request: web.Request, member: StaffMember) -> web.Response:
    """The same import for scripts: the body is the list of HSDS service records."""
    raw = await request.clone(client_max_size=bodies.UPLOAD_MAX).read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(i18n.gettext("The body is not valid JSON."), field="body") from None
    report = await directory.do_import(
        keys.directory(request), _parse(text, "body"), acting_staff=member
    )
    return web.json_response(report.as_json())


def routes() -> list[web.RouteDef]:
    return [
        web.get("/coordinator/directory", page),
        web.post(
            "/coordinator/directory",
            upload,
            name="coordinator_directory" + bodies.UPLOAD_ROUTE_SUFFIX,
        ),
        web.get("/coordinator/directory/export.json", export),
        web.post("/api/coordinator/directory/import", import_json),
    ]
