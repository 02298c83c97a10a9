"""Referral cards for pages: the services answers point to, as the visitor sees them now."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from moderation import referrals
from service import i18n, keys
from service.storage.questions import Question

Cards = dict[str, dict[str, Any]]


async def for_services(request: web.Request, ids: Iterable[str]) -> Cards:
    return await referrals.cards(
        keys.db(request), ids, i18n.current_language(), request.app[keys.CLOCK]()
    )


async def for_questions(request: web.Request, items: Iterable[Question]) -> Cards:
    return await for_services(
        request, (sid for q in items for a in q.answers for sid in a.referrals)
    )


def page_key(request: web.Request) -> tuple[int, int, int]:
    """Part of a cached page's key: changes when any service opens or closes."""
    return keys.directory(request).turns.last_passed(request.app[keys.CLOCK]())
