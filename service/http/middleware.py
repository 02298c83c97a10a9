"""Request-wide concerns: language, error pages, security headers, and the JSON API's guards."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from moderation.errors import ActionError
from service import i18n, keys
from service.http.private_log import mask_path
from service.http.render import render
from service.i18n import N_
from service.storage import database_down, disk_full

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Only sent when the service is configured for TLS: over plain HTTP browsers ignore it anyway.
_HSTS = "max-age=31536000; includeSubDomains"


SOCKET_PATH = "/socket.io/"
# A language chosen once is kept for a year.
_LANG_MAX_AGE = 365 * 24 * 3600


def passing_sockets(middleware: Middleware) -> Middleware:
    """The middleware, except that Socket.IO requests go straight on to the next layer.

    A websocket request stays inside its middlewares for the whole connection, and each
    awaiting middleware keeps a coroutine frame alive meanwhile: five of them cost a chat
    server with a thousand sockets over a megabyte. Returning the next layer's coroutine
    instead of awaiting it leaves no frame behind. Page concerns (language, headers, errors,
    JSON guard, staff cookie) do not apply there; the namespaces check identity themselves."""

    @web.middleware
    @functools.wraps(middleware)
    def wrapped(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
        if request.path.startswith(SOCKET_PATH):
            return handler(request)
        return middleware(request, handler)

    return wrapped


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, message: str, errors: dict[str, str] | None = None) -> web.Response:
    payload: dict[str, object] = {"error": message}
    if errors:
        payload["errors"] = errors
    return web.json_response(payload, status=status)


@web.middleware
async def language(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`?lang=` chooses and remembers the language; otherwise the cookie, then the browser's
    Accept-Language; Finnish by default (i18n.request_language). The choice is remembered on
    redirects too, so `/staff?lang=sv` reaches the sign-in page in Swedish."""
    chosen = request.query.get("lang")
    remember = chosen in i18n.LANGUAGES and not is_api(request)
    try:
        with i18n.speaking(i18n.request_language(request)):
            response = await handler(request)
    except web.HTTPException as exc:
        # Redirects travel as raised exceptions past this middleware (see security_headers).
        if remember:
            set_cookie(request, exc, i18n.LANG_COOKIE, str(chosen), max_age=_LANG_MAX_AGE)
        raise
    if remember:
        set_cookie(request, response, i18n.LANG_COOKIE, str(chosen), max_age=_LANG_MAX_AGE)
    if response.content_type == "text/html":
        # The same address answers in another language for another cookie or browser.
        response.headers.add("Vary", "Cookie, Accept-Language")
    return response


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    samesite: str = "Lax",
) -> None:
    """A cookie that scripts cannot read, Secure when the service is configured for it.
    A raised redirect is a Response too, so this reaches it before it is raised on."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite=samesite,
        secure=request.app[keys.SETTINGS].secure_cookies,
        path="/",
    )


_ERROR_TITLES = {
    400: N_("The request could not be read."),
    401: N_("Please sign in."),
    403: N_("You do not have access to this page."),
    404: N_("Page not found."),
    405: N_("That method is not allowed here."),
    409: N_("Someone else got there first."),
    413: N_("What you sent is too large."),
    415: N_("Send JSON."),
    429: N_("Too many attempts. Please wait a moment and try again."),
}


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a page or a JSON message with its status; never a bare 500 trace."""
    try:
        return await handler(request)
    except ActionError as exc:
        if is_api(request):
            return json_error(
                exc.status, exc.message, {exc.field: exc.message} if exc.field else None
            )
        return _error_page(request, exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.empty_body:
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else None
        message = message or i18n.gettext(_ERROR_TITLES.get(exc.status, exc.reason))
        if is_api(request):
            response = json_error(exc.status, message)
        else:
            response = _error_page(request, exc.status, message)
        for name in ("Allow", "Retry-After", "Location"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except Exception as exc:
        if disk_full.is_disk_full(exc):
            return cannot_save(request, exc)
        if database_down.is_database_down(exc):
            return cannot_reach(request, exc)
        log.exception("unhandled error on %s %s", request.method, mask_path(request.path))
        message = i18n.gettext("Something went wrong on our side. Please try again.")
        if is_api(request):
            return json_error(500, message)
        return _error_page(request, 500, message)


def cannot_save(request: web.Request, exc: BaseException) -> web.Response:
    """507 for a write the full disk refused: the writer may try again; one log line a minute."""
    disk_full.note(exc)
    message = i18n.gettext(disk_full.CANNOT_SAVE)
    if is_api(request):
        response = web.json_response(
            {"error": "unavailable", "message": message}, status=HTTPStatus.INSUFFICIENT_STORAGE
        )
    else:
        response = _error_page(request, HTTPStatus.INSUFFICIENT_STORAGE, message)
    response.headers["Retry-After"] = "60"
    return response


def cannot_reach(request: web.Request, exc: BaseException) -> web.Response:
    """503 while the database server is away: nothing was written, try again in a moment."""
    database_down.note(exc)
    message = i18n.gettext(database_down.CANNOT_REACH)
    if is_api(request):
        response = json_error(HTTPStatus.SERVICE_UNAVAILABLE, message)
    else:
        response = _error_page(request, HTTPStatus.SERVICE_UNAVAILABLE, message)
    response.headers["Retry-After"] = str(database_down.RETRY_AFTER_S)
    return response


def _error_page(request: web.Request, status: int, message: str) -> web.Response:
    return render(
        request, "errors/error.html", {"status": status, "message": message}, status=status
    )


_PRIVATE_PREFIXES = (
    "/f/",
    "/staff",
    "/api/staff",
    "/api/followup",
    "/coordinator",
    "/api/coordinator",
    "/api/stats",
    "/chat",
)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers for every answer, pages, files and errors alike: it wraps the error middleware."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        # Redirects (and bodiless answers) travel as raised exceptions past the error pages.
        _add_security_headers(request, exc.headers)
        raise
    _add_security_headers(request, response.headers)
    return response


def _add_security_headers(request: web.Request, headers: MutableMapping[str, str]) -> None:
    if request.path.startswith(_PRIVATE_PREFIXES):
        # Follow-up pages carry the asker's code in the address; staff pages show unpublished
        # text. Neither may be kept by a shared cache or a search engine.
        headers["Cache-Control"] = "no-store"
        headers["X-Robots-Tag"] = "noindex, nofollow"
    headers.setdefault("Content-Security-Policy", _CSP)
    # same-origin: no other site learns a Koppi address (a follow-up page's holds the asker's
    # code), while our own form posts still carry their real Origin, which the public forms'
    # cross-site check needs from browsers that send no Sec-Fetch-Site (older Safari).
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.app[keys.SETTINGS].tls:
        headers.setdefault("Strict-Transport-Security", _HSTS)


def same_origin(request: web.Request, *, allow_opaque: bool = False) -> bool:
    """A browser's Origin, when sent, must name this host.

    `Origin: null` comes from sandboxed or privacy-minded contexts (and came from our own pages
    under the `no-referrer` policy they had before); HTML forms may accept it (staff forms
    carry a CSRF token), the JSON API does not."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin == "null":
        return allow_opaque
    return urlsplit(origin).netloc.lower() == request.host.lower()


# Both are types a page on another site cannot send without the browser asking first (CORS),
# which Koppi never allows; a directory import may be a tabular package as a zip.
_JSON_ONLY = frozenset({"application/json"})
_API_BODIES = {
    "/api/coordinator/directory/import": frozenset({"application/json", "application/zip"})
}


@web.middleware
async def api_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """State-changing API calls take JSON only and only from this origin."""
    if is_api(request) and request.method in _UNSAFE:
        if not same_origin(request):
            raise web.HTTPForbidden(text=i18n.gettext("Requests from another site are refused."))
        if request.method in {
            "POST",
            "PUT",
            "PATCH",
        } and request.content_type not in _API_BODIES.get(request.path, _JSON_ONLY):
            raise web.HTTPUnsupportedMediaType(text=i18n.gettext("Send JSON (application/json)."))
    elif request.method in _UNSAFE and not same_origin(request, allow_opaque=True):
        raise web.HTTPForbidden(text=i18n.gettext("Requests from another site are refused."))
    return await handler(request)
