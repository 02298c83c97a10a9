"""The statistics route in the OpenAPI description; figures are defined in docs/metrics.md."""

from __future__ import annotations

from typing import Any

from service.http.openapi_parts import json_body as _json

_ERROR = {"$ref": "#/components/schemas/Error"}
_COUNT = {"type": "integer", "minimum": 0}
_SECONDS = {"type": ["number", "null"], "minimum": 0}
_SPREAD = {
    "type": "object",
    "description": "Seconds: how many cases, and their median and 90th percentile (nearest rank)",
    "required": ["n", "median", "p90"],
    "properties": {"n": _COUNT, "median": _SECONDS, "p90": _SECONDS},
}
_SHARE = {
    "type": "object",
    "description": "`count` of `base`; `value` is their ratio, null when the base is 0",
    "required": ["count", "base", "value"],
    "properties": {
        "count": _COUNT,
        "base": _COUNT,
        "value": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    },
}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": sorted(properties), "properties": properties}


def _counts(*names: str) -> dict[str, Any]:
    return {name: _COUNT for name in names}


def _day(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": "string", "format": "date"},
    }


SCHEMAS: dict[str, Any] = {
    "Stats": _object(
        {
            "period": _object(
                {
                    "from": {"type": "string", "format": "date"},
                    "to": {"type": "string", "format": "date"},
                    "timezone": {"type": "string"},
                }
            ),
            "filters": _object(
                {
                    "category": {"type": ["string", "null"]},
                    "channel": {"type": ["string", "null"], "enum": ["question", "chat", None]},
                }
            ),
            "questions": _object(
                {
                    **_counts("asked", "published", "answered_privately", "rejected", "deleted"),
                    "first_answer": _SPREAD,
                    "within_working_days": _object({"1": _SHARE, "5": _SHARE}),
                }
            ),
            "chat": _object(
                {
                    **_counts(
                        "attempts",
                        "attempts_open",
                        "attempts_closed",
                        "answered",
                        "abandoned",
                        "timed_out",
                        "converted",
                        "transfers",
                    ),
                    **{
                        name: _SPREAD
                        for name in ("queue_wait", "abandon_wait", "first_response", "handle_time")
                    },
                }
            ),
            "demand": _object(
                {
                    "closed_share": _SHARE,
                    "staffed_hours": {"type": "number", "minimum": 0},
                    "cells": {
                        "type": "array",
                        "description": "Weekday (0 = Monday) × hour, Helsinki time",
                        "items": _object(
                            {
                                "weekday": {"type": "integer", "minimum": 0, "maximum": 6},
                                "hour": {"type": "integer", "minimum": 0, "maximum": 23},
                                **_counts("attempts", "attempts_closed"),
                                "staffed_hours": {"type": "number", "minimum": 0},
                                "slots": {"type": "number", "minimum": 0},
                            }
                        ),
                    },
                }
            ),
            "referrals": _object(
                {
                    "by_service": {
                        "type": "array",
                        "items": _object(
                            {
                                "service_id": {"type": ["string", "null"]},
                                "name": {"type": ["string", "null"]},
                                "count": _COUNT,
                            }
                        ),
                    },
                    "by_category": {
                        "type": "array",
                        "items": _object({"category": {"type": "string"}, "count": _COUNT}),
                    },
                }
            ),
            "ratings": _object(
                {
                    "rated": _COUNT,
                    "helped": _SHARE,
                    "mean_score": {"type": ["number", "null"], "minimum": 1, "maximum": 5},
                    "scored": _COUNT,
                    "response": _SHARE,
                }
            ),
            "staff": {
                "type": "array",
                "items": _object(
                    {
                        "staff_id": {"type": "integer"},
                        "name": {"type": "string"},
                        "role": {"type": "string"},
                        **_counts("questions_answered", "chats_handled"),
                        "handle_time": _SPREAD,
                    }
                ),
            },
        }
    )
}

PATHS: dict[str, Any] = {
    "/api/stats": {
        "get": {
            "summary": "Usage statistics for a period (coordinators and administrators)",
            "tags": ["coordinator"],
            "parameters": [
                _day("from", "First Helsinki day; default 29 days before `to`"),
                _day("to", "Last Helsinki day, included; default today"),
                {
                    "name": "period",
                    "in": "query",
                    "description": "A preset instead of from/to",
                    "schema": {"type": "string", "enum": ["week", "30days", "month", "last-month"]},
                },
                {"name": "category", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "channel",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["question", "chat"]},
                },
            ],
            "responses": {
                "200": _json({"$ref": "#/components/schemas/Stats"}, "The figures"),
                "400": _json(_ERROR, "A bad parameter, named"),
                "401": _json(_ERROR, "Not signed in"),
                "403": _json(_ERROR, "Only coordinators and administrators"),
            },
        }
    }
}
