"""The directory read API in Open Referral HSDS 3.0's shape, so other services can read it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from moderation.errors import Invalid
from service import i18n, keys
from service.directory.hsds import is_uuid
from service.http.board import MAX_QUERY
from service.http.middleware import json_error
from service.http.params import page_number
from service.storage import directory
from service.storage.directory import Filters
from service.storage.directory_write import CATEGORY_TAXONOMY
from service.storage.search import SearchQuery

HSDS_VERSION = "3.0"
PER_PAGE_DEFAULT = 50
PER_PAGE_MAX = 100
_PROFILE = {
    "name": "Koppi profile of HSDS 3.0",
    "description": "Services for young adults (15–29). Text fields hold Finnish; objects may "
    "carry `translations` (language code → field → text). Koppi's topic categories are "
    f"taxonomy terms of the taxonomy `{CATEGORY_TAXONOMY}`, with the category slug as code.",
    "extensions": {"translations": "object: language code → {field name → text}"},
    "taxonomy": CATEGORY_TAXONOMY,
}


def _absolute(request: web.Request, path: str) -> str:
    return str(request.url.origin().with_path(path))


def _per_page(request: web.Request) -> int:
    raw = request.query.get("per_page", str(PER_PAGE_DEFAULT))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= PER_PAGE_MAX:
        raise Invalid(
            i18n.gettext("per_page must be a whole number from 1 to %(max)d.")
            % {"max": PER_PAGE_MAX},
            field="per_page",
        )
    return int(raw)


def uuid_param(request: web.Request, name: str) -> str | None:
    raw = request.query.get(name) or None
    if raw is not None and not is_uuid(raw):
        raise Invalid(i18n.gettext("%(name)s must be a UUID.") % {"name": name}, field=name)
    return raw


def page_of(contents: list[Any], *, total: int, page: int, per_page: int) -> dict[str, Any]:
    """HSDS's Page wrapper."""
    pages = max(1, -(-total // per_page))
    return {
        "total_items": total,
        "total_pages": pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= pages,
        "empty": not contents,
        "contents": contents,
    }


async def about(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "version": HSDS_VERSION,
            "profile": _absolute(request, "/api/hsds/profile"),
            "openapi_url": _absolute(request, "/api/openapi.json"),
        }
    )


async def profile(_request: web.Request) -> web.Response:
    return web.json_response(_PROFILE)


async def list_services(request: web.Request) -> web.Response:
    """Services in name order; `search` is Finnish-aware, as on the board."""
    page, per_page = page_number(request), _per_page(request)
    text = request.query.get("search", "").strip()[:MAX_QUERY]
    query = SearchQuery(text) if text else None
    filters = Filters(
        query=query,
        term_id=uuid_param(request, "taxonomy_term_id"),
        organization_id=uuid_param(request, "organization_id"),
    )
    db = keys.db(request)
    ids, total = await directory.matching_ids(
        db, filters, limit=per_page, offset=(page - 1) * per_page
    )
    contents = await directory.load(db, ids)
    return web.json_response(page_of(contents, total=total, page=page, per_page=per_page))


async def get_service(request: web.Request) -> web.Response:
    service_id = request.match_info["id"]
    found = await directory.get(keys.db(request), service_id) if is_uuid(service_id) else None
    if found is None:
        return json_error(404, i18n.gettext("No such service."))
    return web.json_response(found)


async def list_taxonomy_terms(request: web.Request) -> web.Response:
    page, per_page = page_number(request), _per_page(request)
    terms = await directory.taxonomy_terms(keys.db(request))
    start = (page - 1) * per_page
    return web.json_response(
        page_of(terms[start : start + per_page], total=len(terms), page=page, per_page=per_page)
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/hsds/", about),
        web.get("/api/hsds/profile", profile),
        web.get("/api/hsds/services", list_services),
        web.get("/api/hsds/services/{id}", get_service),
        web.get("/api/hsds/taxonomy_terms", list_taxonomy_terms),
    ]
