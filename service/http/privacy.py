"""The privacy notice: what Koppi stores, for how long and who sees it, in plain words."""

from __future__ import annotations

from aiohttp import web

from service import keys
from service.http.render import render


async def notice(request: web.Request) -> web.Response:
    """Retention figures come from the running settings, so the page never drifts from them."""
    settings = request.app[keys.SETTINGS]
    return render(
        request,
        "privacy.html",
        {
            "retain_chat_days": settings.retain_chat_days,
            "retain_private_days": settings.retain_private_days,
            "retain_rejected_days": settings.retain_rejected_days,
        },
    )


def routes() -> list[web.RouteDef]:
    return [web.get("/privacy", notice, name="privacy")]
