"""Staff sign-in and sign-out, and the staff front page that sends each role to its work."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from aiohttp import web

from service import auth, keys
from service.http import bodies
from service.http.render import render
from service.http.staff_session import (
    address_key,
    end_session,
    keep_session,
    refusal,
    require_staff,
    set_cookie,
    start_session,
)
from service.i18n import gettext as _
from service.storage.staff import ANSWERING_ROLES, StaffMember


def _safe_next(raw: str | None) -> str:
    """Only a local path may follow sign-in, so the form cannot bounce staff to another site.
    Browsers read a backslash as a slash, so `/\\evil.example` would leave the site too."""
    if (
        raw
        and raw.startswith("/")
        and not raw.startswith("//")
        and "\\" not in raw
        and not urlsplit(raw).netloc
    ):
        return raw
    return "/staff"


async def login_form(request: web.Request) -> web.StreamResponse:
    if request.get(keys.STAFF) is not None:
        raise web.HTTPSeeOther("/staff")
    expired = request.query.get("expired") == "1"
    error = _("The code was not given in time. Sign in again.") if expired else None
    return render(
        request, "staff/login.html", {"next": _safe_next(request.query.get("next")), "error": error}
    )


async def login(request: web.Request) -> web.StreamResponse:
    form = await bodies.form(request)
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    result = await start_session(request, username, password)
    next_path = _safe_next(str(form.get("next", "")))
    if result.refusal is auth.Refusal.CODE_NEEDED and result.member is not None:
        # No session yet: a short-lived signed cookie carries the member to the code form.
        app = request.app
        pending = auth.pending_token(app[keys.SETTINGS].secret, result.member.id, app[keys.CLOCK]())
        response = web.HTTPSeeOther(CODE_PATH + "?" + urlencode({"next": next_path}))
        set_cookie(request, response, auth.PENDING_COOKIE, pending, samesite="Strict")
        raise response
    if result.token is None:
        error = refusal(request, result)
        return render(
            request,
            "staff/login.html",
            {"next": next_path, "error": error, "username": username},
            status=401,
        )
    response = web.HTTPSeeOther(next_path)
    keep_session(request, response, result.token)
    raise response


CODE_PATH = "/staff/login/code"


def _pending(request: web.Request) -> int | None:
    app = request.app
    return auth.pending_staff_id(
        app[keys.SETTINGS].secret, request.cookies.get(auth.PENDING_COOKIE), app[keys.CLOCK]()
    )


async def code_form(request: web.Request) -> web.StreamResponse:
    if _pending(request) is None:
        raise web.HTTPSeeOther("/staff/login")
    context = {"next": _safe_next(request.query.get("next")), "error": None}
    return render(request, "staff/login_code.html", context, no_store=True)


async def code(request: web.Request) -> web.StreamResponse:
    """The second step of signing in: a code from the app, or a recovery code."""
    form = await bodies.form(request)
    next_path = _safe_next(str(form.get("next", "")))
    staff_id = _pending(request)
    if staff_id is None:
        # The few minutes after the password have passed: start again from the password.
        raise web.HTTPSeeOther("/staff/login?" + urlencode({"next": next_path, "expired": "1"}))
    typed = str(form.get("code", "")).strip()[:40]
    app = request.app
    result = await auth.complete(
        app[keys.DB],
        app[keys.CLOCK],
        app[keys.SETTINGS],
        staff_id,
        typed,
        address_key=address_key(request),
    )
    if result.refusal is auth.Refusal.CODE_LOCKED:
        # The code step is closed: the pending cookie is worthless, start from the password.
        context = {"next": next_path, "error": refusal(request, result)}
        page = render(request, "staff/login.html", context, status=401, no_store=True)
        page.del_cookie(auth.PENDING_COOKIE, path="/")
        return page
    if result.token is None:
        context = {"next": next_path, "error": refusal(request, result)}
        return render(request, "staff/login_code.html", context, status=401, no_store=True)
    response = web.HTTPSeeOther(next_path)
    response.del_cookie(auth.PENDING_COOKIE, path="/")
    keep_session(request, response, result.token)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther("/staff/login")
    await end_session(request, response)
    raise response


@require_staff()
async def home(request: web.Request, member: StaffMember) -> web.StreamResponse:
    if member.role in ANSWERING_ROLES:
        raise web.HTTPSeeOther("/staff/queue")
    return render(request, "staff/home.html")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/staff/login", login_form),
        web.post("/staff/login", login),
        web.get(CODE_PATH, code_form),
        web.post(CODE_PATH, code),
        web.post("/staff/logout", logout),
        web.get("/staff", home),
    ]
