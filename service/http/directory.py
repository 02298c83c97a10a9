"""The public service directory: search and filters, and a page per service."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from babel import Locale
from babel.dates import get_day_names

from service import i18n, keys
from service.directory.cards import card, translated
from service.directory.hsds import DAYS, Record
from service.directory.opening import weekly_hours
from service.http.api_hsds import page_of
from service.http.board import MAX_QUERY
from service.http.params import page_number
from service.http.render import render
from service.storage import categories, directory
from service.storage.directory import PUBLIC_STATUSES, Filters
from service.storage.directory_write import CATEGORY_TAXONOMY
from service.storage.search import SearchQuery

PER_PAGE = 20


async def _open_now(request: web.Request, ids: list[str]) -> list[str]:
    """The ids whose weekly hours say they are open at this moment."""
    now = request.app[keys.CLOCK]()
    schedules = await directory.schedules_of(keys.db(request), ids)
    found = []
    for service_id in ids:
        hours = weekly_hours(schedules.get(service_id, []))
        if hours is not None and hours.is_open(now):
            found.append(service_id)
    return found


async def index(request: web.Request) -> web.Response:
    db = keys.db(request)
    page = page_number(request)
    text = request.query.get("q", "").strip()[:MAX_QUERY]
    slug = request.query.get("category") or None
    area = request.query.get("area") or None
    open_now = request.query.get("open") == "1"
    all_categories = await categories.list_active(db)
    category = next((c for c in all_categories if c.slug == slug), None)
    if slug and category is None:
        raise web.HTTPNotFound(text=i18n.gettext("No such category."))
    query = SearchQuery(text) if text else None
    filters = Filters(
        query=query,
        term_id=category.term_id if category else None,
        area=area,
        statuses=PUBLIC_STATUSES,
    )
    offset = (page - 1) * PER_PAGE
    if open_now:
        every, _total = await directory.matching_ids(db, filters)
        matching = await _open_now(request, every)
        ids, total = matching[offset : offset + PER_PAGE], len(matching)
    else:
        ids, total = await directory.matching_ids(db, filters, limit=PER_PAGE, offset=offset)
    lang, now = i18n.current_language(), request.app[keys.CLOCK]()
    records = await directory.load(db, ids)
    paging = page_of(records, total=total, page=page, per_page=PER_PAGE)
    return render(
        request,
        "directory/index.html",
        {
            "cards": [card(r, lang, now) for r in records],
            "paging": paging,
            "categories": all_categories,
            "category": category,
            "areas": await directory.areas(db),
            "area": area,
            "search": text,
            "open_now": open_now,
        },
    )


def _day_label(byday: str, lang: str) -> str:
    """'MO,TU,WE,TH' → 'ma–to'; days that do not run on are listed."""
    names = get_day_names("abbreviated", locale=lang)
    days = [DAYS.index(d) for d in byday.split(",")]
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{names[days[0]]}–{names[days[-1]]}"
    return ", ".join(names[d] for d in days)


def _hours_rows(record: Record, lang: str) -> list[dict[str, Any]]:
    rows = []
    for schedule in record.get("schedules", []):
        rows.append(
            {
                "days": _day_label(schedule["byday"], lang) if schedule.get("byday") else "",
                "time": (
                    f"{schedule['opens_at']}–{schedule['closes_at']}"
                    if schedule.get("opens_at")
                    else ""
                ),
                "description": translated(schedule, "description", lang) or "",
            }
        )
    return rows


def _language_names(record: Record, lang: str) -> list[str]:
    names = Locale.parse(lang).languages
    return [names.get(item["code"], item["code"]) for item in record.get("languages", [])]


async def service(request: web.Request) -> web.Response:
    db = keys.db(request)
    found = await directory.get(db, request.match_info["id"])
    if found is None or found["status"] not in PUBLIC_STATUSES:
        raise web.HTTPNotFound(text=i18n.gettext("No such service in the directory."))
    lang = i18n.current_language()
    by_term = {c.term_id: c for c in await categories.list_active(db)}
    topics = [
        by_term[a["taxonomy_term_id"]]
        for a in found.get("attributes", [])
        if a.get("taxonomy_term", {}).get("taxonomy") == CATEGORY_TAXONOMY
        and a["taxonomy_term_id"] in by_term
    ]
    return render(
        request,
        "directory/service.html",
        {
            "service": found,
            "card": card(found, lang, request.app[keys.CLOCK]()),
            "t": lambda item, name: translated(item, name, lang),
            "hours": _hours_rows(found, lang),
            "languages_spoken": _language_names(found, lang),
            "topics": topics,
        },
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/services", index, name="directory"),
        web.get(r"/services/{id:[0-9a-fA-F-]{36}}", service, name="directory_service"),
    ]
