"""Reading query and path parameters with errors that name the parameter."""

from __future__ import annotations

from aiohttp import web

from moderation.errors import Invalid
from service import i18n

MAX_PAGE = 10_000


def _is_number(raw: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts characters such as "²" that int() refuses."""
    return raw.isascii() and raw.isdigit()


def whole_number(raw: str | None, *, max_digits: int = 12) -> int | None:
    """A form or query value as a whole number (ids, row numbers, text positions), or None."""
    if raw is None or not _is_number(raw) or len(raw) > max_digits:
        return None
    return int(raw)


def page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    if not _is_number(raw) or not 1 <= int(raw) <= MAX_PAGE:
        raise Invalid(
            i18n.gettext("page must be a whole number from 1 to %(max)d.") % {"max": MAX_PAGE},
            field="page",
        )
    return int(raw)


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    number = whole_number(raw)
    if number is None:
        raise web.HTTPNotFound()
    return number
