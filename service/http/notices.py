"""The one-line notice a coordinators' page shows after a change: the form posts, the handler
redirects with `?done=<name>`, and the page shows that name's message (post/redirect/get)."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from service import i18n


def after_change(path: str, done: str, anchor: str = "") -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{path}?done={done}{anchor}")


def shown(request: web.Request, notices: Mapping[str, str]) -> str | None:
    """The notice the redirect named, translated; an unknown name shows nothing."""
    message = notices.get(request.query.get("done", ""))
    return i18n.gettext(message) if message else None
