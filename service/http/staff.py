"""Staff pages: sign-in, the moderation queue, and one question's claim-edit-answer page."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from moderation import actions, queue
from moderation.errors import ActionError
from service import i18n, keys
from service.http import bodies, serialize
from service.http.params import path_id
from service.http.render import render
from service.http.staff_session import (
    end_session,
    keep_session,
    refusal,
    require_staff,
    start_session,
)
from service.storage import categories, questions
from service.storage.staff import ANSWERING_ROLES, StaffMember


def _safe_next(raw: str | None) -> str:
    """Only a local path may follow sign-in, so the form cannot bounce staff to another site."""
    if raw and raw.startswith("/") and not raw.startswith("//") and not urlsplit(raw).netloc:
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


@require_staff(*ANSWERING_ROLES)
async def queue_page(request: web.Request, member: StaffMember) -> web.Response:
    ctx = keys.moderation(request)
    items = await serialize.waiting_queue(ctx)
    lang = i18n.current_language()
    names = {c.slug: c.name(lang) for c in await categories.list_active(ctx.db)}
    return render(
        request, "staff/queue.html", {"items": items, "category_names": names}, no_store=True
    )


async def _question_page(
    request: web.Request, member: StaffMember, *, error: ActionError | None = None
) -> web.Response:
    ctx = keys.moderation(request)
    found = await questions.get(ctx.db, path_id(request))
    if found is None:
        raise web.HTTPNotFound(text=i18n.gettext("No such question."))
    claimer = queue.active_claimer(ctx, found)
    return render(
        request,
        "staff/question.html",
        {
            "question": found,
            "claimer": claimer,
            "mine": claimer is not None and found.claimed_by == member.id,
            "categories": await categories.list_active(ctx.db),
            "error": error,
            "form": await bodies.form(request) if error else {},
            "failed": request.match_info.get("action") if error else None,
        },
        status=error.status if error else 200,
        no_store=True,
    )


@require_staff(*ANSWERING_ROLES)
async def question_page(request: web.Request, member: StaffMember) -> web.Response:
    return await _question_page(request, member)


@require_staff(*ANSWERING_ROLES)
async def question_action(request: web.Request, member: StaffMember) -> web.StreamResponse:
    """Run one form action; on refusal show the page again with the message and the text kept."""
    ctx = keys.moderation(request)
    question_id = path_id(request)
    form = await bodies.form(request)
    action = request.match_info["action"]
    try:
        if action == "claim":
            await actions.do_claim(ctx, question_id, acting_staff=member)
        elif action == "release":
            await actions.do_release(ctx, question_id, acting_staff=member)
            raise web.HTTPSeeOther("/staff/queue")
        elif action == "edit":
            await actions.do_edit(
                ctx,
                question_id,
                acting_staff=member,
                body=form.get("body", ""),
                title=form.get("title", ""),
                category=form.get("category", ""),
            )
        elif action == "answer":
            await actions.do_answer(
                ctx,
                question_id,
                acting_staff=member,
                body=form.get("body", ""),
                publish=form.get("publish") == "yes",
            )
        elif action == "reject":
            await actions.do_reject(
                ctx, question_id, acting_staff=member, reason=form.get("reason", "")
            )
        else:
            raise web.HTTPNotFound()
    except ActionError as exc:
        return await _question_page(request, member, error=exc)
    raise web.HTTPSeeOther(f"/staff/questions/{question_id}")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/staff/login", login_form),
        web.post("/staff/login", login),
        web.post("/staff/logout", logout),
        web.get("/staff", home),
        web.get("/staff/queue", queue_page),
        web.get("/staff/questions/{id}", question_page),
        web.post(
            r"/staff/questions/{id}/{action:claim|release|edit|answer|reject}", question_action
        ),
    ]
