"""The one-line notice a coordinators' page shows after a change: the form posts, the handler
redirects with `?done=<name>`, and the page shows that name's message (post/redirect/get);
and a refused form shown again with what was typed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from moderation.errors import ActionError
from service import i18n


def after_change(path: str, done: str, anchor: str = "") -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{path}?done={done}{anchor}")


def shown(request: web.Request, notices: Mapping[str, str]) -> str | None:
    """The notice the redirect named, translated; an unknown name shows nothing."""
    message = notices.get(request.query.get("done", ""))
    return i18n.gettext(message) if message else None


def field_errors(error: ActionError | None) -> dict[str, str]:
    """A refusal's message by the field it names, for the form to show beside that field."""
    return {error.field: error.message} if error and error.field else {}


def refused(
    error: ActionError | None,
    error_row: int | None,
    values: dict[str, str] | None,
    row_values: dict[str, str] | None,
    defaults: dict[str, str],
) -> dict[str, Any]:
    """What a list page with an add form and a form per row needs to show a refusal: the
    message on the add form, or on the row `error_row`, with what was typed kept."""
    errors = field_errors(error)
    return {
        "error": error,
        "error_row": error_row,
        "errors": errors if error_row is None else {},
        "row_errors": errors if error_row is not None else {},
        "values": values or defaults,
        "row_values": row_values or {},
    }
