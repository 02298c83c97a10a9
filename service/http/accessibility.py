"""The accessibility statement (Act 306/2019), in the reader's language, in the shape of the EU
model statement (Commission Implementing Decision (EU) 2018/1523)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from aiohttp import web

from service import i18n, keys
from service.http.render import render
from service.settings import DEFAULT_ACCESSIBILITY_AUTHORITY, Settings

# The day of the last accessibility check: the day tests/test_browser_accessibility.py last
# changed. tests/test_accessibility_statement.py keeps the two equal, so the statement cannot
# claim a check that was not made.
ASSESSED_ON = date(2026, 12, 3)
# The day this statement's text was last revised.
UPDATED_ON = date(2026, 12, 3)
# The axe-core vendored in tests/vendor/axe-core; a test compares the two.
AXE_VERSION = "4.14.1"

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _feedback(settings: Settings) -> dict[str, str]:
    """Where feedback goes: an e-mail address, a web form, or failing both the controller."""
    channel = settings.accessibility_feedback
    if channel and _EMAIL.fullmatch(channel):
        return {"kind": "email", "href": "mailto:" + channel, "text": channel}
    if channel.startswith("https://"):
        return {"kind": "url", "href": channel, "text": channel}
    if settings.controller_name or settings.dpo_contact:
        return {
            "kind": "controller",
            "name": settings.controller_name,
            "text": settings.dpo_contact,
        }
    return {"kind": "none"}


def _authority_name(settings: Settings) -> str:
    """The default authority is named in the reader's language; a configured one as written."""
    if settings.accessibility_authority == DEFAULT_ACCESSIBILITY_AUTHORITY:
        return i18n.gettext(
            "Finnish Supervisory Agency (Lupa- ja valvontavirasto), accessibility supervision"
        )
    return settings.accessibility_authority


def statement_context(request: web.Request) -> dict[str, Any]:
    settings = request.app[keys.SETTINGS]
    return {
        "assessed_on": i18n.format_day(ASSESSED_ON),
        "updated_on": i18n.format_day(UPDATED_ON),
        "axe_version": AXE_VERSION,
        "feedback": _feedback(settings),
        "controller_name": settings.controller_name,
        "authority_name": _authority_name(settings),
        "authority_url": settings.accessibility_authority_url,
        # The time limits listed as not accessible, as configured.
        "session_hours": settings.session_hours,
        "chat_idle_minutes": settings.chat_idle_minutes,
    }


async def statement(request: web.Request) -> web.Response:
    return render(request, "accessibility.html", statement_context(request))


def routes() -> list[web.RouteDef]:
    return [web.get("/accessibility", statement, name="accessibility")]
