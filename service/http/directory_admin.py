"""Coordinators' directory tools: import an HSDS file, JSON or a tabular package (zip), from
the page or a script, and download the directory in either form."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from moderation import directory
from moderation.errors import Invalid
from service import i18n, keys, switching
from service.directory import tabular
from service.directory.json_records import NotRecords, iter_records
from service.http import bodies
from service.http.render import render
from service.http.staff_session import require_staff
from service.storage import directory as stored
from service.storage.staff import MANAGING_ROLES, StaffMember


def _read_through(text: str, field: str) -> None:
    try:
        for _record in iter_records(text, limit=directory.MAX_RECORDS, field=field):
            pass
    except NotRecords as exc:
        raise Invalid(exc.message, field=field) from None


async def _records(text: str, field: str) -> Iterator[Any]:
    """The records of a JSON text, after the whole text has been read once: a file broken
    anywhere is refused before any record of it is stored. The reading runs on a thread, so
    a file of megabytes does not hold up the chat's messages meanwhile."""
    await asyncio.to_thread(_read_through, text, field)
    return iter_records(text, limit=directory.MAX_RECORDS, field=field)


def _tables(raw: bytes, field: str) -> tabular.Tables:
    try:
        return tabular.read_zip(raw)
    except tabular.PackageError as exc:
        raise Invalid(str(exc), field=field) from None


async def _import(
    request: web.Request, member: StaffMember, *, text: str, raw: bytes | None, field: str
) -> directory.ImportReport:
    with switching.brisk():
        return await _import_with(request, member, text=text, raw=raw, field=field)


async def _import_with(
    request: web.Request, member: StaffMember, *, text: str, raw: bytes | None, field: str
) -> directory.ImportReport:
    ctx = keys.directory(request)
    if raw is not None:
        return await directory.do_import_tables(ctx, _tables(raw, field), acting_staff=member)
    if not text.strip():
        raise Invalid(
            i18n.gettext("Choose an HSDS file: JSON, or a tabular package as a zip."), field=field
        )
    return await directory.do_import(ctx, await _records(text, field), acting_staff=member)


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
    try:
        form = await bodies.form(request)
        report = await _import(
            request,
            member,
            text=form.get(bodies.UPLOAD_FIELD, ""),
            raw=bodies.uploaded_zip(request),
            field=bodies.UPLOAD_FIELD,
        )
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
async def export_tabular(request: web.Request, member: StaffMember) -> web.Response:
    tables = await directory.export_tables(keys.db(request))
    return web.Response(
        body=tabular.write_zip(tables),
        content_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="koppi-directory-hsds.zip"'},
    )


@require_staff(*MANAGING_ROLES)
async def import_api(request: web.Request, member: StaffMember) -> web.Response:
    """The same import for scripts: the body is HSDS JSON, or a tabular package as a zip."""
    try:
        raw = await request.clone(client_max_size=bodies.UPLOAD_MAX).read()
    except web.HTTPRequestEntityTooLarge:
        raise bodies.too_large("body") from None
    # Its threads decode the body, read it through and write the report out.
    with switching.brisk():
        if bodies.is_zip(raw):
            report = await _import(request, member, text="", raw=raw, field="body")
        else:
            # Megabytes to decode: on a thread, like the reading after it (_records).
            text = await asyncio.to_thread(_decoded, raw)
            report = await _import(request, member, text=text, raw=None, field="body")
        # A report of thousands of records takes tens of milliseconds to write out.
        body = await asyncio.to_thread(json.dumps, report.as_json(), ensure_ascii=False)
    return web.json_response(text=body)


def _decoded(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(i18n.gettext("The body is not valid JSON."), field="body") from None


def routes() -> list[web.RouteDef]:
    return [
        web.get("/coordinator/directory", page),
        web.post(
            "/coordinator/directory",
            upload,
            name="coordinator_directory" + bodies.UPLOAD_ROUTE_SUFFIX,
        ),
        web.get("/coordinator/directory/export.json", export),
        web.get("/coordinator/directory/export.zip", export_tabular),
        web.post("/api/coordinator/directory/import", import_api),
    ]
