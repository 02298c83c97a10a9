"""The coordinators' chat-settings routes in the OpenAPI description."""

from __future__ import annotations

from typing import Any

from service.http.openapi_parts import json_body as _json

_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_CONFIG = {"$ref": "#/components/schemas/ChatConfig"}
_ERROR = {"$ref": "#/components/schemas/Error"}
_HOURS = {
    "type": "array",
    "items": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$"},
}


def _operation(
    summary: str,
    body: dict[str, Any] | None = None,
    *,
    created: bool = False,
    path_id: bool = False,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": ["coordinator"],
        "responses": {
            "201" if created else "200": _json(_CONFIG, "The chat's settings after the change"),
            "400": _json(_ERROR, "Refused; `errors` names the bad field"),
            "401": _json(_ERROR, "No staff session"),
            "403": _json(_ERROR, "Only coordinators and administrators"),
            "404": _json(_ERROR, "No such item"),
        },
    }
    if path_id:
        operation["parameters"] = [_ID]
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return operation


_SETTINGS_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "weekly": {
            "type": "object",
            "description": "Opening hours per weekday in Europe/Helsinki time",
            "propertyNames": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
            "additionalProperties": _HOURS,
        },
        "exceptions": {
            "type": "array",
            "description": "A dated exception replaces that day's hours; no hours = closed",
            "items": {
                "type": "object",
                "required": ["day"],
                "properties": {
                    "day": {"type": "string", "format": "date"},
                    "hours": _HOURS,
                    "note": {"type": ["string", "null"], "maxLength": 200},
                },
            },
        },
        "offer_question_after_s": {"type": "integer", "minimum": 0, "maximum": 86400},
        "auto_assign": {"type": "boolean"},
    },
}
_CANNED_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["title", "body"],
    "properties": {
        "title": {"type": "string", "maxLength": 80},
        "body": {"type": "string", "maxLength": 2000},
        "position": {"type": "integer"},
    },
}

PATHS: dict[str, Any] = {
    "/api/coordinator/chat": {
        "get": _operation("Opening hours, chat settings, staff capacity, canned responses"),
        "put": _operation("Replace opening hours and chat settings", _SETTINGS_BODY),
    },
    "/api/coordinator/staff/{id}/chat-capacity": {
        "put": _operation(
            "Concurrent chats one counsellor or adviser may hold",
            {
                "type": "object",
                "required": ["capacity"],
                "properties": {"capacity": {"type": "integer", "minimum": 0, "maximum": 20}},
            },
            path_id=True,
        )
    },
    "/api/coordinator/canned": {
        "post": _operation("Add a canned response", _CANNED_BODY, created=True)
    },
    "/api/coordinator/canned/{id}": {
        "put": _operation("Change a canned response", _CANNED_BODY, path_id=True),
        "delete": _operation("Retire a canned response", path_id=True),
    },
}

SCHEMAS: dict[str, Any] = {
    "ChatConfig": {
        "type": "object",
        "properties": {
            **_SETTINGS_BODY["properties"],
            "staff": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "role": {"type": "string"},
                        "capacity": {"type": "integer"},
                    },
                },
            },
            "canned": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        **_CANNED_BODY["properties"],
                    },
                },
            },
        },
    }
}
