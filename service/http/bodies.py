"""Reading request bodies: a JSON object or a form, with a 400 naming what is wrong."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from moderation.errors import Invalid
from moderation.text import has_lone_surrogate
from service import i18n

FormData = dict[str, str]
_FORM = web.RequestKey("form", dict)


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; JSON is UTF-8 whatever charset the request claims."""
    raw = await request.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # bad JSON or UTF-8, or numbers and nesting too deep
        raise Invalid(i18n.gettext("The body is not valid JSON."), field="body") from None
    if not isinstance(data, dict):
        raise Invalid(i18n.gettext("The body must be a JSON object."), field="body")
    if has_lone_surrogate(data):
        raise Invalid(i18n.gettext("The text has characters that cannot be stored."), field="body")
    return data


async def form(request: web.Request) -> FormData:
    """The submitted form's text fields; files or undecodable text are refused."""
    cached: FormData | None = request.get(_FORM)
    if cached is not None:
        return cached
    try:
        posted = await request.post()
    except (ValueError, LookupError):  # undecodable bytes or an unknown charset
        raise web.HTTPBadRequest(text=i18n.gettext("The form could not be read.")) from None
    fields: FormData = {}
    for name, value in posted.items():
        if not isinstance(value, str) or has_lone_surrogate(value):
            raise web.HTTPBadRequest(
                text=i18n.gettext("The field %(name)s must be text.") % {"name": name[:40]}
            )
        fields[name] = value
    request[_FORM] = fields
    return fields


def created(payload: dict[str, Any]) -> web.Response:
    return web.json_response(payload, status=201)
