"""Showing staff a question's masked personal details, on request and audited."""

from __future__ import annotations

from aiohttp import web


def routes() -> list[web.RouteDef]:
    return []
