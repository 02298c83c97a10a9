"""The HSDS 3.0 API's query parameters, read with errors that name the parameter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from moderation.errors import Invalid
from service import i18n
from service.clock import LOCAL_ZONE, to_iso
from service.directory.hsds import is_uuid
from service.http.board import MAX_QUERY
from service.http.params import page_number

PER_PAGE_DEFAULT = 50
PER_PAGE_MAX = 100
FORMATS = ("json", "ndjson")
MAX_PROXIMITY_METRES = 1_000_000


def per_page(request: web.Request) -> int:
    raw = request.query.get("per_page", str(PER_PAGE_DEFAULT))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= PER_PAGE_MAX:
        raise Invalid(
            i18n.gettext("per_page must be a whole number from 1 to %(max)d.")
            % {"max": PER_PAGE_MAX},
            field="per_page",
        )
    return int(raw)


def uuid(request: web.Request, name: str) -> str | None:
    raw = request.query.get(name) or None
    if raw is not None and not is_uuid(raw):
        raise Invalid(i18n.gettext("%(name)s must be a UUID.") % {"name": name}, field=name)
    return raw


def flag(request: web.Request, name: str) -> bool:
    raw = request.query.get(name, "false").strip().lower()
    if raw not in ("true", "false", "1", "0", ""):
        raise Invalid(i18n.gettext("%(name)s must be true or false.") % {"name": name}, field=name)
    return raw in ("true", "1")


def text(request: web.Request, name: str = "search") -> str:
    return request.query.get(name, "").strip()[:MAX_QUERY]


def moment(request: web.Request, name: str) -> str | None:
    """An ISO 8601 date or time, as the stored times are written (UTC, to the second)."""
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(
            i18n.gettext("%(name)s must be a date or time such as 2026-01-31T12:00:00Z.")
            % {"name": name},
            field=name,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_ZONE)
    return to_iso(parsed)


def proximity(request: web.Request) -> float | None:
    raw = request.query.get("proximity", "").strip()
    if not raw:
        return None
    try:
        metres = float(raw)
    except ValueError:
        metres = -1.0
    if not 0 <= metres <= MAX_PROXIMITY_METRES:
        raise Invalid(
            i18n.gettext("proximity must be a distance in metres from 0 to %(max)d.")
            % {"max": MAX_PROXIMITY_METRES},
            field="proximity",
        )
    if not request.query.get("postcode", "").strip():
        raise Invalid(i18n.gettext("proximity needs a postcode."), field="postcode")
    return metres


def output_format(request: web.Request) -> str:
    raw = request.query.get("format", "json").strip().lower() or "json"
    if raw not in FORMATS:
        raise Invalid(
            i18n.gettext("format must be one of: %(options)s.") % {"options": ", ".join(FORMATS)},
            field="format",
        )
    return raw


@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int
    ndjson: bool

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def limit(self) -> int | None:
        return None if self.ndjson else self.per_page


def paging(request: web.Request) -> Paging:
    return Paging(page_number(request), per_page(request), output_format(request) == "ndjson")
