"""HTTP limits by route: asking, staff sign-in and searching, per hashed client address, refused
with 429."""

from __future__ import annotations

from aiohttp import web

from service import keys
from service.http.middleware import Handler
from service.rate_limits import Refusal

# (method, path) → (action, count only accepted requests). A young person fixing form errors
# uses none of the asking limit; every sign-in attempt counts, or guessing would be free.
LIMITED_ROUTES: dict[tuple[str, str], tuple[str, bool]] = {
    ("POST", "/ask"): ("ask", True),
    ("POST", "/api/questions"): ("ask", True),
    ("POST", "/staff/login"): ("sign_in", False),
    ("POST", "/api/staff/login"): ("sign_in", False),
    ("POST", "/staff/login/code"): ("sign_in", False),
    # Searches cost the database tens of milliseconds each; the ask page asks as a person types.
    ("GET", "/api/questions/similar"): ("search", False),
}


def too_many(refusal: Refusal) -> web.HTTPTooManyRequests:
    """The 429 the error middleware turns into a page or `{"error": …}`, keeping Retry-After."""
    return web.HTTPTooManyRequests(
        headers={"Retry-After": str(refusal.retry_after)}, text=refusal.message()
    )


@web.middleware
async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count the request before handling it, so parallel requests cannot slip past the limit;
    a refused ask (status 400 and up) is given back afterwards."""
    route = LIMITED_ROUTES.get((request.method, request.path))
    limiter = request.app[keys.RATE_LIMITER]
    if route is None or not limiter.enabled:
        return await handler(request)
    action, only_accepted = route
    now = request.app[keys.CLOCK]()
    by = {"address": request.app[keys.ADDRESS_KEYS].key(request, now)}
    refusal = await limiter.take(action, by, now)
    if refusal is not None:
        raise too_many(refusal)
    if not only_accepted:
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400:
            await limiter.release(action, by, now)
        raise
    except BaseException:
        await limiter.release(action, by, now)
        raise
    if response.status >= 400:
        await limiter.release(action, by, now)
    return response
