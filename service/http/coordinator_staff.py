"""Placeholder until this coordinators' page lands."""

from __future__ import annotations

from aiohttp import web


def routes() -> list[web.RouteDef]:
    return []
