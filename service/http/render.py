"""Jinja environment and the one function handlers use to answer with a page."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import jinja2
from aiohttp import web
from babel.dates import format_datetime
from yarl import URL

from service import i18n, keys
from service.clock import LOCAL_ZONE, from_iso, to_iso
from service.i18n import N_
from service.labels import role_label, status_label
from service.storage.staff import StaffMember
from web import TEMPLATES_DIR

# The time of day as the status pill writes it (short: no "klo" or "kl.").
_SOON_TIME = {"fi": "H.mm", "sv": "H.mm", "en": "HH:mm"}
_SOON_DAY = {"fi": "d.M.", "sv": "d.M.", "en": "d MMM"}

# Coordinators' pages in the order of the navigation.
COORDINATOR_PAGES = (
    ("/coordinator/stats", N_("Statistics")),
    ("/coordinator/staff", N_("Staff accounts")),
    ("/coordinator/categories", N_("Categories")),
    ("/coordinator/watched-words", N_("Watched words")),
    ("/coordinator/chat", N_("Chat settings")),
    ("/coordinator/directory", N_("Service directory")),
    ("/coordinator/audit", N_("Audit log")),
)


def coordinator_pages() -> list[tuple[str, str]]:
    return [(href, i18n.gettext(label)) for href, label in COORDINATOR_PAGES]


def _when(iso: str | None) -> str:
    return "" if not iso else i18n.format_moment(from_iso(iso))


def soon(moment: datetime, now: datetime) -> str:
    """A coming moment, short enough for the header's chat status: "today 13.00" on the same
    day, "ma 9.00" within a week, "7.12. 9.00" further away (Helsinki time, reader's language)."""
    moment, day = moment.astimezone(LOCAL_ZONE), now.astimezone(LOCAL_ZONE).date()
    locale = i18n.babel_locale()
    time = format_datetime(moment, i18n.in_language(_SOON_TIME), locale=locale)
    if moment.date() == day:
        return i18n.gettext("today %(time)s") % {"time": time}
    pattern = "EEE" if (moment.date() - day).days < 7 else i18n.in_language(_SOON_DAY)
    return format_datetime(moment, pattern, locale=locale) + " " + time


def _tel(number: str) -> str:
    """A phone number as a tel: link wants it: digits and a leading plus only."""
    return re.sub(r"(?!^\+)[^0-9]", "", number.strip())


def create_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # The callables read the request's language from a context variable, so nothing is global.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.filters["when"] = _when
    env.filters["role_label"] = role_label
    env.filters["duration"] = i18n.format_duration
    env.filters["day"] = i18n.format_day
    env.filters["tel"] = _tel
    env.globals["status_label"] = status_label
    env.globals["coordinator_pages"] = coordinator_pages
    env.globals["languages"] = i18n.LANGUAGES
    env.globals["browser_locale"] = i18n.browser_locale
    return env


_KEPT_ON_LANGUAGE_SWITCH = (
    *("q", "category", "page", "new", "area", "open"),
    *("period", "from", "to", "channel", "action", "staff", "target", "before"),
)
# Staff and coordinator pages are never cached, so their switch keeps the whole query
# (`?next=` on the sign-in page, `?find=`, `?done=`); they are noindex, so no hreflang.
STAFF_PREFIXES = ("/staff", "/coordinator")


def is_staff_page(path: str) -> bool:
    return path.startswith(STAFF_PREFIXES)


def _kept_query(request: web.Request) -> dict[str, str]:
    if is_staff_page(request.path):
        return {k: v for k, v in request.query.items() if k != "lang"}
    return {k: v for k, v in request.query.items() if k in _KEPT_ON_LANGUAGE_SWITCH}


def language_links(request: web.Request) -> dict[str, str]:
    """This page in each language: a local path (never `//host`) and, on public pages, only
    known parameters, because cached pages are shared and must not carry one visitor's stray
    parameters."""
    path = "/" + request.path.lstrip("/")
    kept = _kept_query(request)
    return {
        code: str(URL.build(path=path, query={**kept, "lang": code})) for code in i18n.LANGUAGES
    }


def alternate_links(request: web.Request, links: dict[str, str]) -> dict[str, str]:
    """The head's `hreflang` alternates of a public page, root-relative (Koppi does not know
    its public origin): each language (`links`, from language_links), and `x-default`, the
    address without `?lang=` that answers in the browser's language. None for staff pages."""
    if is_staff_page(request.path):
        return {}
    path = "/" + request.path.lstrip("/")
    return {**links, "x-default": str(URL.build(path=path, query=_kept_query(request)))}


def chat_status(request: web.Request) -> dict[str, Any]:
    """Whether the chat is open now and when it next opens, for the banner on every page;
    `opens` is that moment as the header's status pill says it."""
    is_open, next_open = request.app[keys.CHAT_HUB].status()
    return {
        "open": is_open,
        "next_open": None if next_open is None else to_iso(next_open),
        "opens": "" if next_open is None else soon(next_open, request.app[keys.CLOCK]()),
    }


def render_bytes(request: web.Request, template: str, context: dict[str, Any]) -> bytes:
    env = request.app[keys.TEMPLATES]
    staff: StaffMember | None = request.get(keys.STAFF)
    links = language_links(request)
    page = env.get_template(template).render(
        lang=i18n.current_language(),
        chat_status=chat_status(request),
        language_links=links,
        alternate_links=alternate_links(request, links),
        staff=staff,
        request_path=request.path,
        # Staff pages go without the visitors' chrome: quick exit, chat banner, introduction.
        public_page=not is_staff_page(request.path),
        csrf_token=request.get(keys.CSRF_TOKEN, ""),
        **{"cards": {}, **context},
    )
    return page.encode("utf-8")


def html(body: bytes, *, status: int = 200, no_store: bool = False) -> web.Response:
    response = web.Response(body=body, status=status, content_type="text/html", charset="utf-8")
    if no_store:
        response.headers["Cache-Control"] = "no-store"
    return response


def render(
    request: web.Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    no_store: bool = False,
) -> web.Response:
    return html(render_bytes(request, template, context or {}), status=status, no_store=no_store)
