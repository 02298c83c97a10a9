"""Coordinators' statistics: the page with charts and tables, CSV per table, and the JSON API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from moderation.errors import Invalid, NotFound
from service import i18n, keys
from service.http.render import render
from service.http.staff_session import require_staff
from service.stats import charts, export, figures, period, tables
from service.stats.figures import Report
from service.stats.shown import on_page
from service.storage import categories
from service.storage.staff import MANAGING_ROLES, StaffMember


async def _category_names(request: web.Request) -> dict[str, str]:
    """Every category in the reader's language, retired ones too: old events still name them."""
    lang = i18n.current_language()
    return {
        listed.category.slug: listed.category.name(lang)
        for listed in await categories.list_all(keys.db(request))
    }


async def _report(request: web.Request, names: dict[str, str]) -> Report:
    now = request.app[keys.CLOCK]()
    query = period.parse(request.query, now, set(names))
    return await figures.compute(keys.db(request), query, now, names)


def _sections(report: Report) -> list[dict[str, Any]]:
    """Each table with the chart drawn from it, if any, in page order."""
    sections = []
    for table in tables.all_tables(report):
        chart: Any = None
        if table.key == "questions":
            chart = charts.bars(table, i18n.gettext("Questions by outcome"), first_rows=5)
        elif table.key == "chat":
            chart = charts.bars(table, i18n.gettext("Chats by outcome"), first_rows=8)
        elif table.key in ("demand.attempts", "demand.staffed"):
            chart = charts.heatmap(table, table.title, percent=table.key == "demand.staffed")
        elif table.key.startswith("referrals."):
            chart = charts.bars(table, table.title, first_rows=10)
        sections.append({"table": table, "chart": chart})
    return sections


def _preset_links(request: web.Request) -> list[tuple[str, str]]:
    """(preset, its address): choosing a period keeps the category and channel chosen."""
    kept = {k: request.query[k] for k in ("category", "channel") if request.query.get(k)}
    return [
        (name, "/coordinator/stats?" + urlencode({"period": name, **kept}))
        for name in period.PRESETS
    ]


@require_staff(*MANAGING_ROLES)
async def page(request: web.Request, member: StaffMember) -> web.Response:
    names = await _category_names(request)
    context: dict[str, Any] = {
        "categories": names,
        "channels": period.CHANNELS,
        "presets": _preset_links(request),
        "form": request.query,
        "shown": on_page,
    }
    try:
        report = await _report(request, names)
    except Invalid as exc:
        return render(request, "coordinator/stats.html", {**context, "error": exc}, status=400)
    context.update(
        report=report,
        sections=_sections(report),
        params=report.query.as_params(),
    )
    return render(request, "coordinator/stats.html", context, no_store=True)


@require_staff(*MANAGING_ROLES)
async def table_csv(request: web.Request, member: StaffMember) -> web.Response:
    report = await _report(request, await _category_names(request))
    wanted = request.match_info["table"]
    for table in tables.all_tables(report):
        if table.key == wanted:
            first, last = report.query.period.first, report.query.period.last
            return web.Response(
                text=export.csv_text(table, report.query),
                content_type="text/csv",
                charset="utf-8",
                headers={
                    "Content-Disposition": (
                        f'attachment; filename="koppi-{table.key}-{first}-{last}.csv"'
                    ),
                    "Cache-Control": "no-store",
                },
            )
    raise NotFound(i18n.gettext("No such table."), field="table")


@require_staff(*MANAGING_ROLES)
async def api_stats(request: web.Request, member: StaffMember) -> web.Response:
    report = await _report(request, await _category_names(request))
    return web.json_response(export.report_json(report))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/coordinator/stats", page),
        web.get("/coordinator/stats/{table}.csv", table_csv),
        web.get("/api/stats", api_stats),
    ]
