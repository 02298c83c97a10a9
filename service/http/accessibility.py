"""The accessibility statement (Act 306/2019), in the reader's language."""

from __future__ import annotations

from aiohttp import web


def routes() -> list[web.RouteDef]:
    return []
