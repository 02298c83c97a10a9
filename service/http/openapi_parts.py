"""Small builders shared by the OpenAPI description's modules."""

from __future__ import annotations

from typing import Any


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A response (or body) carrying JSON of `schema`."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}
