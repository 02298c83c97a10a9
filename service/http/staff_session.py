"""Who the staff caller is (session cookie), CSRF on staff forms, and per-route role checks."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from service import auth, i18n, keys
from service.http import bodies
from service.http.middleware import Handler, is_api, set_cookie
from service.storage.staff import StaffMember

CSRF_COOKIE = "koppi_csrf"
_STAFF_PREFIXES = ("/staff", "/api/staff", "/coordinator", "/api/coordinator", "/api/stats")
# Where a session without the required second factor is sent, and all it may reach.
ENROL_PATH = "/staff/second-factor"
_OPEN_TO_RESTRICTED = frozenset({ENROL_PATH, "/staff/logout", "/api/staff/logout"})
# The reason a restricted session's API call is refused, for programs to act on.
ENROL_REASON = "second_factor_enrolment_required"


def _is_staff_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in _STAFF_PREFIXES)


@web.middleware
async def staff_identity(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the session on staff routes only, so public pages never touch the session table."""
    if not _is_staff_path(request.path):
        return await handler(request)
    app = request.app
    session = await auth.session_for_token(
        app[keys.DB],
        app[keys.CLOCK],
        request.cookies.get(auth.STAFF_COOKIE),
        second_factor_required=app[keys.SETTINGS].staff_2fa,
    )
    request[keys.STAFF] = None if session is None else session.member
    if session is not None and session.restricted and request.path not in _OPEN_TO_RESTRICTED:
        return _send_to_enrolment(request)
    if is_api(request):
        return await handler(request)
    anchor = request.cookies.get(CSRF_COOKIE)
    new_anchor = None
    if not anchor:
        anchor = new_anchor = secrets.token_urlsafe(24)
    secret = app[keys.SETTINGS].secret
    request[keys.CSRF_TOKEN] = auth.csrf_token(secret, anchor)
    if request.method == "POST":
        form = await bodies.form(request)
        if not auth.csrf_ok(secret, request.cookies.get(CSRF_COOKIE), form.get("csrf_token")):
            raise web.HTTPForbidden(
                text=i18n.gettext("The form had expired. Go back, reload the page and try again.")
            )
    response = await handler(request)
    if new_anchor:
        set_cookie(request, response, CSRF_COOKIE, new_anchor, samesite="Strict")
    return response


def _send_to_enrolment(request: web.Request) -> web.Response:
    """A session opened with a password only, while a second factor is required."""
    if is_api(request):
        message = i18n.gettext("Set up your second factor first: an authenticator app's codes.")
        return web.json_response({"error": message, "reason": ENROL_REASON}, status=403)
    raise web.HTTPSeeOther(ENROL_PATH)


StaffHandler = Callable[[web.Request, StaffMember], Awaitable[web.StreamResponse]]


def require_staff(*roles: str) -> Callable[[StaffHandler], Handler]:
    """401 (or the sign-in page) without a session, 403 for a role not in `roles`."""

    def decorate(handler: StaffHandler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            member: StaffMember | None = request.get(keys.STAFF)
            if member is None:
                if is_api(request):
                    raise web.HTTPUnauthorized(text=i18n.gettext("Sign in first."))
                raise web.HTTPFound("/staff/login?next=" + quote(request.path_qs, safe="/"))
            if roles and member.role not in roles:
                raise web.HTTPForbidden(text=i18n.gettext("Your role does not allow this."))
            return await handler(request, member)

        return wrapped

    return decorate


def renew_csrf_anchor(request: web.Request, response: web.StreamResponse) -> None:
    """A new anchor at sign-in and sign-out, so a form token seen before (or planted by
    someone who set the cookie) is worthless in the new session."""
    set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(24), samesite="Strict")


async def end_session(request: web.Request, response: web.StreamResponse) -> None:
    """Delete the session row and cookie, and close the sockets opened with this session."""
    response.del_cookie(auth.STAFF_COOKIE, path="/")
    renew_csrf_anchor(request, response)
    token = request.cookies.get(auth.STAFF_COOKIE)
    member: StaffMember | None = request.get(keys.STAFF)
    if token:
        # Every process closes the session's sockets when the sign-out is announced.
        await auth.sign_out(request.app[keys.DB], request.app[keys.CLOCK], token, member)


def address_key(request: web.Request) -> str:
    """The client address as sign-in failures are counted by: a keyed hash, never the address."""
    return request.app[keys.ADDRESS_KEYS].key(request, request.app[keys.CLOCK]())


async def start_session(
    request: web.Request, username: str, password: str, code: str | None = None
) -> auth.SignIn:
    """Check the credentials; the caller sets the cookie with `keep_session` on success."""
    app = request.app
    return await auth.sign_in(
        app[keys.DB],
        app[keys.CLOCK],
        app[keys.SETTINGS],
        username,
        password,
        address_key=address_key(request),
        code=code,
    )


def keep_session(request: web.Request, response: web.StreamResponse, token: str) -> None:
    hours = request.app[keys.SETTINGS].session_hours
    set_cookie(request, response, auth.STAFF_COOKIE, token, max_age=hours * 3600)
    renew_csrf_anchor(request, response)


def refusal(request: web.Request, result: auth.SignIn) -> str:
    """Why a sign-in step was refused, in words that say what to do next."""
    why = result.refusal
    if why is auth.Refusal.BLOCKED:
        minutes = request.app[keys.SETTINGS].login_lock_minutes
        return i18n.gettext(
            "Too many failed attempts from this address. Signing in to this account from here"
            " is locked for %(minutes)d minutes."
        ) % {"minutes": minutes}
    if why is auth.Refusal.SLOWED:
        return i18n.gettext(
            "There have been many failed attempts to sign in to this account. Wait %(seconds)d"
            " seconds and try again."
        ) % {"seconds": result.wait_seconds}
    if why is auth.Refusal.CODE_NEEDED:
        return i18n.gettext("Give the code from your authenticator app, or a recovery code.")
    if why is auth.Refusal.CODE_WRONG:
        # Also a code for another time: naming the clock's drift would confirm a guess.
        return i18n.gettext(
            "The code is not right. Type the six digits your authenticator app shows now, or an"
            " unused recovery code. If this keeps happening, check that your phone's clock is"
            " set automatically."
        )
    if why is auth.Refusal.CODE_REUSED:
        return i18n.gettext(
            "That code has already been used. Wait until your app shows the next code and type"
            " that."
        )
    if why is auth.Refusal.CODE_LOCKED:
        minutes = request.app[keys.SETTINGS].login_lock_minutes
        return i18n.gettext(
            "Too many wrong codes for this account. Wait %(minutes)d minutes, then sign in again"
            " from the start with your password."
        ) % {"minutes": minutes}
    if why is auth.Refusal.FACTOR_UNUSABLE:
        return i18n.gettext(
            "Your second factor can no longer be checked. Ask a coordinator to reset it."
        )
    if why is auth.Refusal.RECOVERY_SPENT:
        return i18n.gettext(
            "That recovery code has already been used. Each recovery code works only once."
        )
    return i18n.gettext("Wrong username or password.")
