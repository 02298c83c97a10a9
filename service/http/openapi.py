"""The JSON API's contract as OpenAPI 3.1, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from service.http import openapi_chat, openapi_hsds, openapi_stats
from service.http.openapi_parts import json_body as _json


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_ERROR = _json(_ref("Error"), "Refused; `errors` names each bad field")
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
_NO_SESSION = _json(_ref("Error"), "No staff session")
_WRONG_ROLE = _json(_ref("Error"), "The staff role may not do this")


def _staff_action(summary: str, body: dict[str, Any] | None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": ["staff"],
        "parameters": [_ID],
        "responses": {
            "200": _json(_ref("StaffQuestion"), "The question's new state"),
            "400": _ERROR,
            "401": _NO_SESSION,
            "403": _WRONG_ROLE,
            "404": _ERROR,
            "409": _json(_ref("Error"), "Claimed by someone else, or already handled"),
        },
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return operation


_QUESTION_TEXT: dict[str, Any] = {
    "id": {"type": "integer"},
    "title": {"type": ["string", "null"]},
    "body": {"type": "string"},
    "category": {"type": "string"},
    "asked_at": {"type": "string", "format": "date-time"},
}

# What staff see first about a waiting question (moderation/screening.py).
_SAFETY: dict[str, Any] = {
    "urgent": {"type": "boolean", "description": "a crisis word: first in the queue"},
    "flags": {
        "type": "array",
        "description": "watched words that matched",
        "items": {
            "type": "object",
            "required": ["phrase", "action"],
            "properties": {
                "phrase": {"type": "string"},
                "action": {"type": "string", "enum": ["block", "review", "crisis"]},
                "lang": {
                    "type": "string",
                    "enum": ["fi", "sv", "en"],
                    "description": "crisis words only: the language they were written in",
                },
            },
        },
    },
    "personal_data": {
        "type": "array",
        "description": "kinds of personal details the text seems to hold",
        "items": {"type": "string"},
    },
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "Category": {
        "type": "object",
        "required": ["slug", "name"],
        "properties": {
            "slug": {"type": "string"},
            "name": {
                "type": "string",
                "description": "In the request's language (`?lang=fi|sv|en` or Accept-Language);"
                " the Finnish name when the category has none in that language",
            },
        },
    },
    "Answer": {
        "type": "object",
        "required": ["body", "role", "answered_at"],
        "properties": {
            "body": {"type": "string"},
            "role": {"type": "string", "enum": ["counsellor", "adviser", "coordinator", "admin"]},
            "first_name": {"type": ["string", "null"]},
            "answered_at": {"type": "string", "format": "date-time"},
            "referrals": {
                "type": "array",
                "description": "Ids of directory services the answer refers to; read each"
                " from /api/hsds/services/{id}",
                "items": {"type": "string", "format": "uuid"},
            },
        },
    },
    "Question": {
        "type": "object",
        "required": ["id", "title", "body", "category", "asked_at", "answers"],
        "properties": {**_QUESTION_TEXT, "answers": {"type": "array", "items": _ref("Answer")}},
    },
    "SimilarQuestion": {
        "type": "object",
        "required": ["id", "title", "excerpt", "answer", "category", "category_name", "url"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": ["string", "null"]},
            "excerpt": {"type": "string", "description": "the start of the question"},
            "answer": {
                "type": ["string", "null"],
                "description": "the start of its first answer; the whole question and its"
                " answers are at /api/questions/{id}",
            },
            "category": {"type": "string"},
            "category_name": {"type": "string", "description": "in the request's language"},
            "url": {"type": "string", "description": "its page on the board, /q/{id}"},
        },
    },
    "QuestionPage": {
        "type": "object",
        "required": ["items", "total", "page"],
        "properties": {
            "items": {"type": "array", "items": _ref("Question")},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
        },
    },
    "NewQuestion": {
        "type": "object",
        "required": ["body", "category", "publish"],
        "example": {
            "body": "Miten haen työpajaan, kun en päässyt opiskelemaan?",
            "category": "tyopajat",
            "publish": True,
        },
        "properties": {
            "body": {"type": "string", "minLength": 10, "maxLength": 4000},
            "title": {"type": ["string", "null"], "maxLength": 150},
            "category": {"type": "string"},
            "publish": {"type": "boolean", "description": "may be published anonymously"},
            "personal_data_confirmed": {
                "type": "boolean",
                "default": False,
                "description": "send even though the text looks like it holds personal details"
                " (answered 422 with `personal_data` otherwise)",
            },
        },
    },
    "PersonalDataWarning": {
        "type": "object",
        "required": ["error", "personal_data"],
        "properties": {
            "error": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": {"type": "string"}},
            "personal_data": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["kind", "label", "text"],
                    "properties": {
                        "kind": {
                            "type": "string",
                            "enum": ["identity_code", "phone", "email", "iban", "address", "url"],
                        },
                        "label": {"type": "string"},
                        "text": {"type": "string"},
                    },
                },
            },
            "crisis_help": _ref("CrisisHelp"),
        },
    },
    "CrisisHelp": {
        "type": "object",
        "description": "Shown at once when the text holds a crisis word",
        "required": ["emergency", "crisis_line", "chat_url"],
        "properties": {
            "emergency": {"type": "string"},
            "crisis_line": {"type": "string"},
            "chat_url": {"type": "string", "format": "uri"},
        },
    },
    "Followup": {
        "type": "object",
        "required": ["status", "question"],
        "properties": {
            "status": {"type": "string", "enum": ["pending", "answered", "published", "rejected"]},
            "question": _ref("Question"),
            "reason": {"type": ["string", "null"]},
        },
    },
    "StaffMember": {
        "type": "object",
        "required": ["id", "username", "role"],
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "role": {"type": "string"},
            "first_name": {"type": ["string", "null"]},
        },
    },
    "QueueItem": {
        "type": "object",
        "required": ["id", "body", "category", "asked_at", "publish", "waited_s"],
        "properties": {
            **_QUESTION_TEXT,
            **_SAFETY,
            "waited_s": {"type": "integer", "minimum": 0},
            "publish": {"type": "boolean"},
            "claimed_by": {"type": ["string", "null"]},
            "masked": {
                "type": "boolean",
                "description": "title and body have personal details replaced by [kind]",
            },
        },
    },
    "StaffQuestion": {
        "type": "object",
        "required": ["id", "status", "body", "category", "publish", "answers"],
        "properties": {
            **_QUESTION_TEXT,
            **_SAFETY,
            "status": {"type": "string", "enum": ["pending", "answered", "published", "rejected"]},
            "publish": {"type": "boolean"},
            "claimed_by": {"type": ["string", "null"]},
            "answers": {"type": "array", "items": _ref("Answer")},
            "reason": {"type": ["string", "null"]},
        },
    },
}


_STATE_CHANGING = {"post", "put", "patch", "delete"}
_GUARD_REFUSALS = {
    "403": _json(_ref("Error"), "Sent from another site (a foreign Origin)"),
    "415": _json(_ref("Error"), "Not application/json, even when there is no body"),
}


def _with_guard_refusals(description: dict[str, Any]) -> dict[str, Any]:
    """Every state-changing operation may meet the API guard (middleware.api_guard): a foreign
    Origin is refused, and POST, PUT and PATCH must say application/json."""

    def guarded(method: str, operation: dict[str, Any]) -> dict[str, Any]:
        if method not in _STATE_CHANGING:
            return operation
        names = ("403",) if method == "delete" else ("403", "415")
        responses = operation["responses"]
        extra = {name: _GUARD_REFUSALS[name] for name in names if name not in responses}
        return {**operation, "responses": {**responses, **extra}}

    paths = {
        path: {method: guarded(method, operation) for method, operation in operations.items()}
        for path, operations in description["paths"].items()
    }
    return {**description, "paths": paths}


def spec() -> dict[str, Any]:
    """The description served at /api/openapi.json."""
    return _with_guard_refusals(_paths_and_schemas())


def _paths_and_schemas() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Koppi API",
            "version": "1",
            "description": "Anonymous questions to youth counsellors and employment advisers. "
            "Requests that change state take application/json only and refuse a foreign Origin.",
        },
        "paths": {
            "/api/categories": {
                "get": {
                    "summary": "Topic categories",
                    "tags": ["public"],
                    "responses": {
                        "200": _json({"type": "array", "items": _ref("Category")}, "Categories")
                    },
                }
            },
            "/api/questions": {
                "get": {
                    "summary": "Published questions, newest first; `q` searches Finnish-aware",
                    "tags": ["public"],
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "schema": {"type": "string", "maxLength": 200},
                        },
                        {"name": "category", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "page",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 10000},
                        },
                    ],
                    "responses": {
                        "200": _json(_ref("QuestionPage"), "One page of 20"),
                        "400": _ERROR,
                    },
                },
                "post": {
                    "summary": "Ask anonymously; the returned code is shown once",
                    "tags": ["public"],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("NewQuestion")}},
                    },
                    "responses": {
                        "201": _json(
                            {
                                "type": "object",
                                "required": ["id", "code", "status"],
                                "properties": {
                                    "id": {"type": "integer"},
                                    "code": {"type": "string"},
                                    "status": {"const": "pending"},
                                    "crisis_help": _ref("CrisisHelp"),
                                },
                            },
                            "Stored",
                        ),
                        "400": _ERROR,
                        "422": _json(_ref("PersonalDataWarning"), "Looks like personal details"),
                        "403": _ERROR,
                        "413": _ERROR,
                        "415": _ERROR,
                    },
                },
            },
            "/api/questions/similar": {
                "get": {
                    "summary": "Up to three published questions like a text being typed, the best"
                    " match first: its words matched Finnish-aware as the board's search matches"
                    " them, stop words left out. Fewer than three letters of such words give an"
                    " empty list; rate-limited per address (`search`)",
                    "tags": ["public"],
                    "parameters": [
                        {
                            "name": "text",
                            "in": "query",
                            "description": "the question as typed so far, or its start",
                            "schema": {"type": "string", "maxLength": 500},
                        }
                    ],
                    "responses": {
                        "200": _json(
                            {"type": "array", "maxItems": 3, "items": _ref("SimilarQuestion")},
                            "Matches, perhaps none",
                        ),
                        "400": _json(_ref("Error"), "`text` is longer than 500 characters"),
                        "429": {
                            **_json(_ref("Error"), "Too many searches from this address"),
                            "headers": {
                                "Retry-After": {
                                    "description": "seconds to wait",
                                    "schema": {"type": "integer", "minimum": 1},
                                }
                            },
                        },
                    },
                }
            },
            "/api/questions/{id}": {
                "get": {
                    "summary": "One published question",
                    "tags": ["public"],
                    "parameters": [_ID],
                    "responses": {"200": _json(_ref("Question"), "The question"), "404": _ERROR},
                }
            },
            "/api/followup/{code}": {
                "get": {
                    "summary": "The asker's view by private code",
                    "tags": ["public"],
                    "parameters": [_CODE],
                    "responses": {
                        "200": _json(_ref("Followup"), "Status and answers"),
                        "404": _ERROR,
                    },
                },
                "delete": {
                    "summary": "The asker deletes their question",
                    "tags": ["public"],
                    "parameters": [_CODE],
                    "responses": {"204": {"description": "Deleted"}, "403": _ERROR, "404": _ERROR},
                },
            },
            "/api/staff/login": {
                "post": {
                    "summary": "Sign in; sets the session cookie",
                    "tags": ["staff"],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["username", "password"],
                                    "properties": {
                                        "username": {"type": "string"},
                                        "password": {"type": "string"},
                                        "code": {
                                            "type": "string",
                                            "description": "the authenticator app's six digits"
                                            " or a recovery code; needed when the member has a"
                                            " second factor",
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json(_ref("StaffMember"), "Signed in"),
                        "400": _ERROR,
                        "401": _json(
                            _ref("Error"),
                            "Refused; `second_factor` says why when the code step failed"
                            " (code_needed, code_wrong, code_reused, recovery_spent, code_locked,"
                            " second_factor_unusable)",
                        ),
                        "403": _json(
                            _ref("Error"),
                            "A member without a second factor where one is required:"
                            " `reason` is second_factor_enrolment_required",
                        ),
                        "415": _ERROR,
                    },
                }
            },
            "/api/staff/logout": {
                "post": {
                    "summary": "Sign out",
                    "tags": ["staff"],
                    "responses": {
                        "204": {"description": "Signed out"},
                        "403": _ERROR,
                        "415": _ERROR,
                    },
                }
            },
            "/api/staff/me": {
                "get": {
                    "summary": "The signed-in staff member",
                    "tags": ["staff"],
                    "responses": {"200": _json(_ref("StaffMember"), "Who"), "401": _NO_SESSION},
                }
            },
            "/api/staff/queue": {
                "get": {
                    "summary": "Waiting questions, oldest first",
                    "tags": ["staff"],
                    "responses": {
                        "200": _json({"type": "array", "items": _ref("QueueItem")}, "Queue"),
                        "401": _NO_SESSION,
                        "403": _WRONG_ROLE,
                    },
                }
            },
            "/api/staff/questions/{id}": {
                "get": _staff_action("One question as staff see it", None),
                "patch": _staff_action(
                    "Edit wording, title or category",
                    {
                        "type": "object",
                        "properties": {
                            "body": {"type": "string", "minLength": 10, "maxLength": 4000},
                            "title": {"type": ["string", "null"], "maxLength": 150},
                            "category": {"type": "string"},
                        },
                    },
                ),
            },
            "/api/staff/questions/{id}/claim": {"post": _staff_action("Claim (exclusive)", None)},
            "/api/staff/questions/{id}/release": {"post": _staff_action("Release a claim", None)},
            "/api/staff/questions/{id}/mask": {
                "post": _staff_action(
                    "Mask a personal detail found at a span, or all of them (field `all`)",
                    {
                        "type": "object",
                        "required": ["field"],
                        "properties": {
                            "field": {"type": "string", "enum": ["title", "body", "all"]},
                            "start": {"type": "integer", "minimum": 0},
                            "end": {"type": "integer", "minimum": 0},
                        },
                    },
                )
            },
            "/api/staff/questions/{id}/answer": {
                "post": _staff_action(
                    "Answer; publish or private",
                    {
                        "type": "object",
                        "required": ["body", "publish"],
                        "properties": {
                            "body": {"type": "string"},
                            "publish": {"type": "boolean"},
                            "personal_data_confirmed": {
                                "type": "boolean",
                                "default": False,
                                "description": "publish although the question still seems to"
                                " hold personal details (audited)",
                            },
                            "services": {
                                "type": "array",
                                "maxItems": 5,
                                "items": {"type": "string", "format": "uuid"},
                            },
                        },
                    },
                )
            },
            "/api/staff/questions/{id}/reject": {
                "post": _staff_action(
                    "Reject with a reason",
                    {
                        "type": "object",
                        "required": ["reason"],
                        "properties": {"reason": {"type": "string"}},
                    },
                )
            },
            "/api/staff/questions/{id}/personal-data": {
                "post": {
                    "summary": "The question with its personal details shown (audited), for"
                    " the queue's explicit 'show'",
                    "tags": ["staff"],
                    "parameters": [_ID],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["id", "body", "masked"],
                                "properties": {
                                    **_QUESTION_TEXT,
                                    **_SAFETY,
                                    "masked": {"type": "boolean"},
                                },
                            },
                            "The unmasked question",
                        ),
                        "401": _NO_SESSION,
                        "403": _WRONG_ROLE,
                        "404": _ERROR,
                    },
                }
            },
            "/api/staff/questions/{id}/referral-options": {
                "get": {
                    "summary": "Directory services to refer to: those a search finds, or without"
                    " `find` the services of the question's topic (the answer page's search)",
                    "tags": ["staff"],
                    "parameters": [
                        _ID,
                        {
                            "name": "find",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "maxLength": 200},
                        },
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["find", "total", "message", "services"],
                                "properties": {
                                    "find": {"type": "string"},
                                    "total": {"type": "integer", "minimum": 0},
                                    "message": {
                                        "type": "string",
                                        "description": "how many were found, in the caller's"
                                        " language, for a live region",
                                    },
                                    "services": {
                                        "type": "array",
                                        "maxItems": 8,
                                        "items": {
                                            "type": "object",
                                            "required": ["service_id", "name"],
                                            "properties": {
                                                "service_id": {"type": "string", "format": "uuid"},
                                                "name": {"type": "string"},
                                                "summary": {"type": "string"},
                                            },
                                        },
                                    },
                                },
                            },
                            "Services found",
                        ),
                        "401": _NO_SESSION,
                        "403": _WRONG_ROLE,
                        "404": _ERROR,
                    },
                }
            },
            **openapi_chat.PATHS,
            **openapi_hsds.PATHS,
            **openapi_stats.PATHS,
        },
        "components": {
            "schemas": {
                **_SCHEMAS,
                **openapi_chat.SCHEMAS,
                **openapi_hsds.SCHEMAS,
                **openapi_stats.SCHEMAS,
            }
        },
    }
