"""The asker's private page: status, answer or reason, and deleting the question.

A code is found whatever its case, spacing or dashes (moderation/followup_codes.py); a wrong
one gets the lookup form again with what a code looks like, never a dead end."""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from moderation import followup_codes, intake
from service import i18n, keys
from service.http import after_hours, bodies, origin, referral_cards
from service.http.render import render
from service.storage import questions


def public_url(request: web.Request, path: str) -> str:
    """An absolute address for the asker to keep: the host the browser asked for (the proxy
    passes it on, deploy/nginx), over HTTPS when Koppi is served so (KOPPI_TLS)."""
    settings = request.app[keys.SETTINGS]
    scheme = request.scheme
    if settings.tls:
        scheme = "https"
    elif settings.trust_forwarded:
        forwarded = request.headers.get("X-Forwarded-Proto", "").strip().lower()
        scheme = forwarded if forwarded in {"http", "https"} else scheme
    try:
        return str(URL.build(scheme=scheme, authority=request.host, path=path, encoded=False))
    except ValueError:  # a Host header no browser sends: the path alone still works here
        return path


def _lookup_page(
    request: web.Request, *, typed: str = "", error: str | None = None
) -> web.Response:
    """The form for a saved code; with an error, the typed text again and how codes look.
    Never stored by a cache: what was typed may be someone's code."""
    status = 200
    if error is not None:
        status = 400 if not typed.strip() else 404
    return render(
        request,
        "board/followup_lookup.html",
        {
            "error": error,
            "typed": typed[: followup_codes.MAX_TYPED],
            "example": followup_codes.EXAMPLE,
        },
        status=status,
        no_store=True,
    )


def _not_found(request: web.Request, typed: str) -> web.Response:
    return _lookup_page(request, typed=typed, error=i18n.gettext("No question has this code."))


async def lookup(request: web.Request) -> web.StreamResponse:
    """A form for typing a saved code; submitting it opens the code's page."""
    typed = request.query.get("code")
    if typed is None:
        return _lookup_page(request)
    if not typed.strip():
        return _lookup_page(request, typed=typed, error=i18n.gettext("Write your code in the box."))
    found = await intake.find_by_code(keys.db(request), typed)
    if found is None:
        return _not_found(request, typed)
    raise web.HTTPSeeOther(_path(found.code))


def _path(code: str) -> str:
    return str(URL.build(path=f"/f/{code}", encoded=False))


def _crisis_langs(question: questions.Question) -> tuple[str, ...]:
    """The languages of the question's crisis words, kept with its flags (none for questions
    stored before they were kept)."""
    return tuple(
        flag["lang"] for flag in question.flags if flag.get("action") == "crisis" and "lang" in flag
    )


async def _page(
    request: web.Request, found: intake.Found, delete_error: str | None = None
) -> web.Response:
    question = found.question
    expectation = None
    if question.status == "pending":
        expectation = await after_hours.expectation_for(request, question)
    return render(
        request,
        "board/followup.html",
        {
            "question": question,
            "cards": await referral_cards.for_questions(request, [question]),
            "code": found.code,
            "followup_url": public_url(request, _path(found.code)),
            "new": request.query.get("new") == "1",
            "crisis_langs": _crisis_langs(question),
            "delete_error": delete_error,
            "expectation": expectation,
            "answer_by": "" if expectation is None else after_hours.day_words(expectation.by),
        },
        status=400 if delete_error else 200,
        no_store=True,
    )


async def show(request: web.Request) -> web.StreamResponse:
    typed = request.match_info["code"]
    found = await intake.find_by_code(keys.db(request), typed)
    if found is None:
        return _not_found(request, typed)
    if typed != found.code:
        # Typed in small letters or with spaces: the address to keep is the code as shown.
        raise web.HTTPFound(str(URL(_path(found.code)).with_query(request.query)))
    return await _page(request, found)


async def delete(request: web.Request) -> web.Response:
    origin.refuse_other_sites(request)
    typed = request.match_info["code"]
    found = await intake.find_by_code(keys.db(request), typed)
    if found is None:
        return _not_found(request, typed)
    if (await bodies.form(request)).get("confirm") != "yes":
        message = i18n.gettext("Tick the box to confirm that you want to delete the question.")
        return await _page(request, found, message)
    if not await intake.delete_by_code(keys.moderation(request), found.code):
        return _not_found(request, typed)
    return render(request, "board/deleted.html", no_store=True)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/f", lookup, name="followup_lookup"),
        web.get("/f/{code}", show, name="followup"),
        web.post("/f/{code}/delete", delete),
    ]
