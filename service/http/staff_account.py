"""A staff member's own account: password change and the second factor."""

from __future__ import annotations

from aiohttp import web


def routes() -> list[web.RouteDef]:
    return []
