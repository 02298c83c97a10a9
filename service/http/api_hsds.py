"""The directory's read API as Open Referral HSDS 3.0's OpenAPI writes it.

Every path of the standard's schema/openapi.json, its query parameters where they apply,
lists in the standard's Page wrapper (or as NDJSON with `format=ndjson`), objects in the
shape of the standard's compiled schemas. Koppi's additions are described by /profile."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from service import i18n, keys
from service.directory import standard
from service.directory.hsds import is_uuid
from service.directory.standard import Node
from service.http import hsds_params as params
from service.http.middleware import json_error
from service.storage import directory, hsds_lists, hsds_store
from service.storage.db import Database
from service.storage.directory import Filters
from service.storage.directory_write import CATEGORY_TAXONOMY
from service.storage.search import SearchQuery

PREFIX = "/api/hsds"
_PROFILE = {
    "name": "Koppi profile of HSDS 3.0",
    "description": "Services for young adults (15–29) in Finland. Records are HSDS 3.0 as "
    "imported; text fields hold Finnish. Koppi adds two things, both optional for readers.",
    "extensions": {
        "translations": "An object may carry `translations`: language code → {field name → "
        "text}, for the text fields the object has (name, description, …), in Swedish and "
        "English beside the Finnish.",
        "search": "`search` on /services and /service_at_locations is Finnish-aware (inflected "
        "forms and parts of compound words match) and orders results by relevance: a match "
        "in the service's name first, then its taxonomy terms and description, then its "
        "organization, then its address.",
    },
    "taxonomy": {
        "id": hsds_lists.KOPPI_TAXONOMY_ID,
        "name": CATEGORY_TAXONOMY,
        "description": "Koppi's topic categories; each term's code is the category's slug.",
    },
}

Loader = Callable[[Database, Sequence[str]], Awaitable[list[dict[str, Any]]]]


def _absolute(request: web.Request, path: str) -> str:
    return str(request.url.origin().with_path(path))


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


async def _listing(
    request: web.Request, ids: list[str], total: int, paging: params.Paging, load: Loader
) -> web.StreamResponse:
    """A page of objects, or every one of them as NDJSON, loaded a page at a time."""
    db = keys.db(request)
    if not paging.ndjson:
        contents = await load(db, ids)
        return web.json_response(
            page_of(contents, total=total, page=paging.page, per_page=paging.per_page)
        )
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    for start in range(0, len(ids), params.PER_PAGE_MAX):
        chunk = await load(db, ids[start : start + params.PER_PAGE_MAX])
        lines = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in chunk)
        await response.write(lines.encode("utf-8"))
    await response.write_eof()
    return response


def _one(found: dict[str, Any] | None, missing: str) -> web.Response:
    if found is None:
        return json_error(404, missing)
    return web.json_response(found)


def _loader(node: Node) -> Loader:
    async def load(db: Database, ids: Sequence[str]) -> list[dict[str, Any]]:
        return await hsds_store.nested_list(db, node, ids)

    return load


async def about(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "version": standard.VERSION,
            "profile": _absolute(request, f"{PREFIX}/profile"),
            "openapi_url": _absolute(request, f"{PREFIX}/openapi.json"),
        }
    )


async def profile(_request: web.Request) -> web.Response:
    return web.json_response(_PROFILE)


async def openapi(request: web.Request) -> web.Response:
    """The standard's own description, with this server as its server."""
    description = dict(standard.openapi())
    description["servers"] = [{"url": _absolute(request, PREFIX), "description": "Koppi"}]
    return web.json_response(description)


async def schema_file(request: web.Request) -> web.StreamResponse:
    """The standard's schemas, which the OpenAPI description refers to, served from here too."""
    name = request.match_info["name"]
    folder = standard.SCHEMA_DIR / "compiled" if request.match_info.get("compiled") else None
    path = (folder or standard.SCHEMA_DIR) / name
    if "/" in name or not name.endswith(".json") or not path.is_file():
        return json_error(404, i18n.gettext("No such schema."))
    return web.FileResponse(path, headers={"Content-Type": "application/json"})


def _service_filters(request: web.Request) -> tuple[Filters, str | None, str | None]:
    text = params.text(request)
    filters = Filters(
        query=SearchQuery(text) if text else None,
        term_id=params.uuid(request, "taxonomy_term_id"),
        organization_id=params.uuid(request, "organization_id"),
    )
    return filters, params.uuid(request, "taxonomy_id"), params.moment(request, "modified_after")


async def _matching_services(
    request: web.Request, paging: params.Paging | None
) -> tuple[list[str], int]:
    filters, taxonomy_id, modified_after = _service_filters(request)
    db = keys.db(request)
    if taxonomy_id is None and modified_after is None and paging is not None:
        return await directory.matching_ids(db, filters, limit=paging.limit, offset=paging.offset)
    ids, _total = await directory.matching_ids(db, filters)
    ids = await hsds_lists.services_also(db, ids, taxonomy_id, modified_after)
    if paging is None:
        return ids, len(ids)
    end = None if paging.limit is None else paging.offset + paging.limit
    return ids[paging.offset : end], len(ids)


async def list_services(request: web.Request) -> web.StreamResponse:
    paging = params.paging(request)
    if params.flag(request, "minimal"):
        load: Loader = hsds_lists.minimal_services
    else:
        tree = "service" if params.flag(request, "full") else "service_list"
        load = _loader(standard.tree(tree))
    ids, total = await _matching_services(request, paging)
    return await _listing(request, ids, total, paging, load)


async def get_service(request: web.Request) -> web.Response:
    service_id = request.match_info["id"]
    found = (
        await hsds_store.nested(keys.db(request), standard.tree("service"), [service_id])
        if is_uuid(service_id)
        else {}
    )
    return _one(found.get(service_id), i18n.gettext("No such service."))


def _organization_loader(request: web.Request, *, full: bool) -> Loader:
    node = standard.tree("organization" if full else "organization_list").without("services")
    services = standard.tree("service" if params.flag(request, "full_service") else "service_list")

    async def load(db: Database, ids: Sequence[str]) -> list[dict[str, Any]]:
        found = await hsds_store.nested_list(db, node, ids)
        if full:
            await hsds_lists.add_services(db, found, services.without("organization"))
        return found

    return load


async def list_organizations(request: web.Request) -> web.StreamResponse:
    paging = params.paging(request)
    load = _organization_loader(request, full=params.flag(request, "full"))
    ids, total = await hsds_store.ids_of(
        keys.db(request),
        "organization",
        search=params.text(request),
        limit=paging.limit,
        offset=paging.offset,
    )
    return await _listing(request, ids, total, paging, load)


async def get_organization(request: web.Request) -> web.Response:
    organization_id = request.match_info["id"]
    load = _organization_loader(request, full=True)
    found = await load(keys.db(request), [organization_id]) if is_uuid(organization_id) else []
    return _one(found[0] if found else None, i18n.gettext("No such organization."))


async def list_taxonomies(request: web.Request) -> web.StreamResponse:
    paging = params.paging(request)
    ids, total = await hsds_lists.taxonomy_ids(keys.db(request), params.text(request), paging)
    return await _listing(request, ids, total, paging, hsds_lists.taxonomies)


async def get_taxonomy(request: web.Request) -> web.Response:
    found = await hsds_lists.taxonomies(keys.db(request), [request.match_info["id"]])
    return _one(found[0] if found else None, i18n.gettext("No such taxonomy."))


async def list_taxonomy_terms(request: web.Request) -> web.StreamResponse:
    paging = params.paging(request)
    ids, total = await hsds_lists.term_ids(
        keys.db(request),
        hsds_lists.TermFilters(
            search=params.text(request),
            taxonomy_id=params.uuid(request, "taxonomy_id"),
            parent_id=params.uuid(request, "parent_id"),
            top_only=params.flag(request, "top_only"),
        ),
        paging,
    )
    return await _listing(request, ids, total, paging, hsds_lists.terms)


async def get_taxonomy_term(request: web.Request) -> web.Response:
    term_id = request.match_info["id"]
    found = await hsds_lists.terms(keys.db(request), [term_id]) if is_uuid(term_id) else []
    return _one(found[0] if found else None, i18n.gettext("No such taxonomy term."))


async def list_service_at_locations(request: web.Request) -> web.StreamResponse:
    paging = params.paging(request)
    near = hsds_lists.Near(
        request.query.get("postcode", "").strip()[:20], params.proximity(request)
    )
    services, _total = await _matching_services(request, None)
    ids = await hsds_lists.places_of(keys.db(request), services, near)
    end = None if paging.limit is None else paging.offset + paging.limit
    tree = "service_at_location" if params.flag(request, "full") else "service_at_location_list"
    return await _listing(
        request, ids[paging.offset : end], len(ids), paging, _loader(standard.tree(tree))
    )


async def get_service_at_location(request: web.Request) -> web.Response:
    place_id = request.match_info["id"]
    found = (
        await hsds_store.nested(keys.db(request), standard.tree("service_at_location"), [place_id])
        if is_uuid(place_id)
        else {}
    )
    return _one(found.get(place_id), i18n.gettext("No such service at a location."))


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{PREFIX}/", about),
        web.get(f"{PREFIX}/profile", profile),
        web.get(f"{PREFIX}/openapi.json", openapi),
        web.get(f"{PREFIX}/schema/{{name}}", schema_file),
        web.get(f"{PREFIX}/schema/{{compiled:compiled}}/{{name}}", schema_file),
        web.get(f"{PREFIX}/services", list_services),
        web.get(f"{PREFIX}/services/{{id}}", get_service),
        web.get(f"{PREFIX}/organizations", list_organizations),
        web.get(f"{PREFIX}/organizations/{{id}}", get_organization),
        web.get(f"{PREFIX}/taxonomies", list_taxonomies),
        web.get(f"{PREFIX}/taxonomies/{{id}}", get_taxonomy),
        web.get(f"{PREFIX}/taxonomy_terms", list_taxonomy_terms),
        web.get(f"{PREFIX}/taxonomy_terms/{{id}}", get_taxonomy_term),
        web.get(f"{PREFIX}/service_at_locations", list_service_at_locations),
        web.get(f"{PREFIX}/service_at_locations/{{id}}", get_service_at_location),
    ]
