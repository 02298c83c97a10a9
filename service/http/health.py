"""For the proxy and for monitoring: `/healthz` (alive), `/readyz` (can serve), `/metrics`.

None of them is rate-limited or touched by the language choice, and none may be cached. The
figures are for the machine's own monitoring: a request from anywhere else, or through the
proxy (which connects from loopback too, but says whom for), gets the same 404 as an unknown
page, unless it carries the metrics token."""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from service import keys
from service.metrics import OK

NO_STORE = {"Cache-Control": "no-store"}
# Headers a proxy adds for the client it passes on; nginx's shipped config sets the first one.
_PROXIED = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


async def healthz(_request: web.Request) -> web.Response:
    """The process answers: nothing else is asked, so a busy database never fails it."""
    return web.json_response({"status": "ok"}, headers=NO_STORE)


async def readyz(request: web.Request) -> web.Response:
    """200 when the database (and Redis, when configured) answer within a moment; 503 naming
    the check that failed, so the proxy sends visitors to another process meanwhile."""
    checks = await request.app[keys.METRICS].readiness(request.app[keys.DB])
    ready = all(state == OK for state in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
        headers=NO_STORE,
    )


async def metrics(request: web.Request) -> web.Response:
    if not may_read_metrics(request):
        raise web.HTTPNotFound()
    body = await request.app[keys.METRICS].render(request.app)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, **NO_STORE})


def may_read_metrics(request: web.Request) -> bool:
    """The bearer token when one is sent (judged alone); otherwise a direct loopback peer."""
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        token = request.app[keys.SETTINGS].metrics_token
        scheme, _, given = authorization.partition(" ")
        return (
            token is not None
            and scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), token.encode())
        )
    if any(name in request.headers for name in _PROXIED):
        return False
    try:
        peer = ipaddress.ip_address(request.remote or "")
    except ValueError:  # a Unix socket, which the proxy may use too
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return peer.is_loopback


def routes() -> list[web.RouteDef]:
    return [
        web.get("/healthz", healthz, name="healthz"),
        web.get("/readyz", readyz, name="readyz"),
        web.get("/metrics", metrics, name="metrics"),
    ]
