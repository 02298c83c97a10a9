"""The directory routes in the OpenAPI description: HSDS 3.0 reads and the coordinators' import."""

from __future__ import annotations

from typing import Any

from service.http.openapi_parts import json_body as _json

_ERROR = {"$ref": "#/components/schemas/Error"}
_SERVICE = {"$ref": "#/components/schemas/HsdsService"}
_PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000}},
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
]
_UUID = {"type": "string", "format": "uuid"}
_SCHEMA_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
# The collections Koppi's own description names in short; the standard's describes them whole.
_COLLECTIONS = (
    ("organizations", "Organizations"),
    ("taxonomies", "Taxonomies"),
    ("service_at_locations", "Services at locations"),
)


def _page(items: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["total_items", "total_pages", "page_number", "size", "contents"],
        "properties": {
            "total_items": {"type": "integer"},
            "total_pages": {"type": "integer"},
            "page_number": {"type": "integer"},
            "size": {"type": "integer"},
            "first_page": {"type": "boolean"},
            "last_page": {"type": "boolean"},
            "empty": {"type": "boolean"},
            "contents": {"type": "array", "items": items},
        },
    }


def _get(summary: str, ok: dict[str, Any], parameters: list[Any] | None = None) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "tags": ["directory"],
            "parameters": parameters or [],
            "responses": {
                "200": ok,
                "400": _json(_ERROR, "A bad parameter, named"),
                "404": _json(_ERROR, "Not found"),
            },
        }
    }


PATHS: dict[str, Any] = {
    "/api/hsds/": _get(
        "HSDS version, profile and this description's address",
        _json(
            {
                "type": "object",
                "required": ["version"],
                "properties": {
                    "version": {"type": "string"},
                    "profile": {"type": "string", "format": "uri"},
                    "openapi_url": {"type": "string", "format": "uri"},
                },
            },
            "About this API",
        ),
    ),
    "/api/hsds/profile": _get("Koppi's profile of HSDS 3.0", _json({"type": "object"}, "Profile")),
    "/api/hsds/services": _get(
        "Services in name order; `search` is Finnish-aware",
        _json(_page(_SERVICE), "One page of full service records"),
        [
            {"name": "search", "in": "query", "schema": {"type": "string", "maxLength": 200}},
            {"name": "taxonomy_term_id", "in": "query", "schema": _UUID},
            {"name": "organization_id", "in": "query", "schema": _UUID},
            {"name": "full", "in": "query", "schema": {"type": "boolean"}},
            *_PAGING,
        ],
    ),
    "/api/hsds/services/{id}": _get(
        "One full service record",
        _json(_SERVICE, "The service"),
        [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
    ),
    "/api/hsds/taxonomy_terms": _get(
        "Taxonomy terms, Koppi's categories first",
        _json(_page({"$ref": "#/components/schemas/HsdsTaxonomyTerm"}), "One page of terms"),
        _PAGING,
    ),
    **{
        f"/api/hsds/{collection}": _get(
            f"{title}: one page, as HSDS 3.0's own description (/api/hsds/openapi.json) gives"
            " it with all its query parameters",
            _json(_page({"type": "object"}), f"One page of {title.lower()}"),
            _PAGING,
        )
        for collection, title in _COLLECTIONS
    },
    **{
        f"/api/hsds/{collection}/{{id}}": _get(
            f"One of the {title.lower()}, as HSDS 3.0's own description gives it",
            _json({"type": "object"}, "The object"),
            [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        )
        for collection, title in _COLLECTIONS
        if collection != "taxonomy_terms"
    },
    "/api/hsds/taxonomy_terms/{id}": _get(
        "One taxonomy term, as HSDS 3.0's own description gives it",
        _json({"type": "object"}, "The term"),
        [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
    ),
    "/api/hsds/openapi.json": _get(
        "HSDS 3.0's own OpenAPI description, with this service as its server",
        _json({"type": "object"}, "The standard's description"),
    ),
    "/api/hsds/schema/{name}": _get(
        "One of the standard's JSON schemas, as vendored",
        _json({"type": "object"}, "The schema"),
        [_SCHEMA_NAME],
    ),
    "/api/hsds/schema/{compiled}/{name}": _get(
        "One of the standard's compiled (nested) JSON schemas",
        _json({"type": "object"}, "The schema"),
        [
            {
                "name": "compiled",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "enum": ["compiled"]},
            },
            _SCHEMA_NAME,
        ],
    ),
    "/api/coordinator/directory/import": {
        "post": {
            "summary": "Import HSDS service records; each is checked and saved on its own",
            "tags": ["coordinator"],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "array", "items": _SERVICE}}},
            },
            "responses": {
                "200": _json(
                    {"$ref": "#/components/schemas/ImportReport"}, "What became of each record"
                ),
                "400": _json(_ERROR, "Not a list of services"),
                "401": _json(_ERROR, "No staff session"),
                "403": _json(_ERROR, "Only coordinators and administrators"),
                "413": _json(_ERROR, "Over 20 MB"),
                "415": _json(_ERROR, "Not JSON"),
            },
        }
    },
}

SCHEMAS: dict[str, Any] = {
    "HsdsService": {
        "type": "object",
        "description": "An HSDS 3.0 service with its organization, phones, schedules, service "
        "areas, languages, locations and attributes (docs/directory.md).",
        "required": ["id", "name", "status"],
        "properties": {
            "id": _UUID,
            "name": {"type": "string"},
            "status": {"enum": ["active", "inactive", "defunct", "temporarily closed"]},
            "minimum_age": {"type": "integer", "minimum": 0},
            "maximum_age": {"type": "integer", "minimum": 0},
        },
    },
    "HsdsTaxonomyTerm": {
        "type": "object",
        "required": ["id", "name"],
        "properties": {
            "id": _UUID,
            "code": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "taxonomy": {"type": "string"},
        },
    },
    "ImportReport": {
        "type": "object",
        "required": ["created", "updated", "unchanged", "failed", "records"],
        "properties": {
            "created": {"type": "integer"},
            "updated": {"type": "integer"},
            "unchanged": {"type": "integer"},
            "failed": {"type": "integer"},
            "records": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["index", "id", "outcome"],
                    "properties": {
                        "index": {"type": "integer"},
                        "id": {"type": ["string", "null"]},
                        "outcome": {"enum": ["created", "updated", "unchanged", "failed"]},
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "field": {"type": "string"},
                                    "message": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
