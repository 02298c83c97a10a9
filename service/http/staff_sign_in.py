"""Staff sign-in and sign-out, and the staff front page that sends each role to its work."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from service import keys
from service.http import bodies
from service.http.render import render
from service.http.staff_session import (
    end_session,
    keep_session,
    refusal,
    require_staff,
    start_session,
)
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
    return render(
        request, "staff/login.html", {"next": _safe_next(request.query.get("next")), "error": None}
    )


async def login(request: web.Request) -> web.StreamResponse:
    form = await bodies.form(request)
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    result = await start_session(request, username, password)
    if result.token is None:
        error = refusal(request, result)
        return render(
            request,
            "staff/login.html",
            {"next": _safe_next(str(form.get("next", ""))), "error": error, "username": username},
            status=401,
        )
    response = web.HTTPSeeOther(_safe_next(str(form.get("next", ""))))
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
        web.post("/staff/logout", logout),
        web.get("/staff", home),
    ]
