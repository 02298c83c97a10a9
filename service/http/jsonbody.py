"""Reading a JSON object from a request body, with a 400 that says what is wrong."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from moderation.errors import Invalid
from service import i18n


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Invalid(i18n.gettext("The body is not valid JSON."), field="body") from None
    if not isinstance(data, dict):
        raise Invalid(i18n.gettext("The body must be a JSON object."), field="body")
    return data


def created(payload: dict[str, Any]) -> web.Response:
    return web.json_response(payload, status=201)
