"""The asker's private page: status, answer or reason, and deleting the question."""

from __future__ import annotations

import re

from aiohttp import web

from moderation import intake
from service import i18n, keys
from service.http import bodies, origin, referral_cards
from service.http.render import render
from service.storage import questions

_CODE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _code(raw: str) -> str:
    code = raw.strip()
    if not _CODE.match(code):
        raise web.HTTPNotFound(text=i18n.gettext("No question has this code."))
    return code


async def lookup(request: web.Request) -> web.StreamResponse:
    """A form for typing a saved code; submitting it opens the code's page."""
    raw = request.query.get("code")
    if raw is not None:
        code = raw.strip()
        if _CODE.match(code):
            raise web.HTTPSeeOther(f"/f/{code}")
        return render(
            request,
            "board/followup_lookup.html",
            {"error": i18n.gettext("Check the code: it is the long code you saved.")},
            status=400,
        )
    return render(request, "board/followup_lookup.html", {"error": None})


def _crisis_langs(question: questions.Question) -> tuple[str, ...]:
    """The languages of the question's crisis words, kept with its flags (none for questions
    stored before they were kept)."""
    return tuple(
        flag["lang"] for flag in question.flags if flag.get("action") == "crisis" and "lang" in flag
    )


async def _page(request: web.Request, code: str, delete_error: str | None = None) -> web.Response:
    found = await questions.get_by_code_hash(keys.db(request), intake.hash_code(code))
    if found is None:
        raise web.HTTPNotFound(text=i18n.gettext("No question has this code."))
    return render(
        request,
        "board/followup.html",
        {
            "question": found,
            "cards": await referral_cards.for_questions(request, [found]),
            "code": code,
            "new": request.query.get("new") == "1",
            "crisis_langs": _crisis_langs(found),
            "delete_error": delete_error,
        },
        status=400 if delete_error else 200,
        no_store=True,
    )


async def show(request: web.Request) -> web.Response:
    return await _page(request, _code(request.match_info["code"]))


async def delete(request: web.Request) -> web.Response:
    origin.refuse_other_sites(request)
    code = _code(request.match_info["code"])
    if (await bodies.form(request)).get("confirm") != "yes":
        message = i18n.gettext("Tick the box to confirm that you want to delete the question.")
        return await _page(request, code, message)
    if not await intake.delete_by_code(keys.moderation(request), code):
        raise web.HTTPNotFound(text=i18n.gettext("No question has this code."))
    return render(request, "board/deleted.html", no_store=True)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/f", lookup, name="followup_lookup"),
        web.get("/f/{code}", show, name="followup"),
        web.post("/f/{code}/delete", delete),
    ]
