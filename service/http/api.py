"""The public JSON API: categories, the board, asking, and the asker's follow-up."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from moderation import intake
from moderation.errors import Invalid, PersonalDetails
from service import i18n, keys
from service.http.board import MAX_QUERY
from service.http.bodies import created, json_object
from service.http.middleware import json_error
from service.http.openapi import spec
from service.http.params import page_number, path_id
from service.question_json import public_question
from service.storage import categories, questions, search
from service.storage.search import SearchQuery, SimilarQuery, SimilarQuestion

EXCERPT = 160


async def list_categories(request: web.Request) -> web.Response:
    lang = i18n.current_language()
    found = await categories.list_active(keys.db(request))
    return web.json_response([{"slug": c.slug, "name": c.name(lang)} for c in found])


async def list_questions(request: web.Request) -> web.Response:
    db = keys.db(request)
    page = page_number(request)
    slug = request.query.get("category") or None
    category_id = None
    if slug:
        category = await categories.by_slug(db, slug)
        if category is None:
            message = i18n.gettext("No such category.")
            return json_error(400, message, {"category": message})
        category_id = category.id
    text = request.query.get("q", "").strip()[:MAX_QUERY]
    if text:
        items, total = await questions.search_published(
            db, SearchQuery(text), category_id=category_id, page=page
        )
    else:
        items, total = await questions.list_published(db, category_id=category_id, page=page)
    return web.json_response(
        {"items": [public_question(q) for q in items], "total": total, "page": page}
    )


async def get_question(request: web.Request) -> web.Response:
    found = await questions.get_published(keys.db(request), path_id(request))
    if found is None:
        return json_error(404, i18n.gettext("This question is not on the board."))
    return web.json_response(public_question(found))


def _excerpt(text: str) -> str:
    """The start of a text on one line, cut after a whole word."""
    flat = " ".join(text.split())
    if len(flat) <= EXCERPT:
        return flat
    return flat[:EXCERPT].rsplit(" ", 1)[0].rstrip(" ,.;:–-") + "…"


def _similar(item: SimilarQuestion, lang: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "excerpt": _excerpt(item.body),
        "answer": _excerpt(item.answer) if item.answer else None,
        "category": item.category_slug,
        "category_name": categories.localized_name(
            lang, item.category_fi, sv=item.category_sv, en=item.category_en
        ),
        "url": f"/q/{item.id}",
    }


async def similar_questions(request: web.Request) -> web.Response:
    """Answered questions like the one being typed on the ask page, as it is typed.

    The text is a question not yet sent, maybe with personal details: no cache keeps it."""
    text = request.query.get("text", "")
    if len(text) > search.SIMILAR_MAX_TEXT:
        raise Invalid(
            i18n.gettext("Write at most %(n)d characters (now %(len)d).")
            % {"n": search.SIMILAR_MAX_TEXT, "len": len(text)},
            field="text",
        )
    query = SimilarQuery(text)
    found = await search.similar_published(keys.db(request), query) if query else []
    lang = i18n.current_language()
    response = web.json_response([_similar(item, lang) for item in found])
    response.headers["Cache-Control"] = "no-store"
    return response


async def ask(request: web.Request) -> web.Response:
    data = await json_object(request)
    ctx = keys.moderation(request)
    draft, errors = await intake.validate(
        ctx,
        body=data.get("body"),
        title=data.get("title"),
        category=data.get("category"),
        publish=data.get("publish"),
    )
    if draft is None:
        return json_error(400, i18n.gettext("Please check the marked fields."), errors)
    confirmed = data.get("personal_data_confirmed", False)
    if not isinstance(confirmed, bool):
        message = i18n.gettext("Send true or false.")
        return json_error(400, message, {"personal_data_confirmed": message})
    try:
        # A block word is refused by the error middleware: 400 naming the field body.
        screening = intake.admit(ctx, draft, personal_confirmed=confirmed)
    except PersonalDetails as exc:
        # Nothing is stored: the asker removes the details or sends again with the flag.
        message = i18n.gettext(
            "This looks like personal details. Remove them, or send again with"
            " personal_data_confirmed set to true."
        )
        warning: dict[str, Any] = {
            "error": message,
            "errors": {"body": message},
            "personal_data": exc.found,
        }
        if exc.crisis:
            warning["crisis_help"] = request.app[keys.CRISIS].payload(exc.crisis_langs)
        return web.json_response(warning, status=exc.status)
    submitted = await intake.submit(ctx, draft, screening)
    payload: dict[str, Any] = {
        "id": submitted.question_id,
        "code": submitted.code,
        "status": "pending",
    }
    if screening.crisis:
        payload["crisis_help"] = request.app[keys.CRISIS].payload(screening.crisis_languages)
    return created(payload)


async def _owned(request: web.Request) -> questions.Question | None:
    """Typed as loosely as on the follow-up page: any case, spaces, look-alikes, old codes."""
    found = await intake.find_by_code(keys.db(request), request.match_info["code"])
    return None if found is None else found.question


async def followup(request: web.Request) -> web.Response:
    found = await _owned(request)
    if found is None:
        return json_error(404, i18n.gettext("No question has this code."))
    payload: dict[str, Any] = {"status": found.status, "question": public_question(found)}
    if found.status == "rejected":
        payload["reason"] = found.reject_reason
    response = web.json_response(payload)
    response.headers["Cache-Control"] = "no-store"
    return response


async def delete_followup(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    if not await intake.delete_by_code(keys.moderation(request), code):
        return json_error(404, i18n.gettext("No question has this code."))
    return web.Response(status=204)


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(spec())


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/openapi.json", openapi),
        web.get("/api/categories", list_categories),
        web.get("/api/questions", list_questions),
        web.post("/api/questions", ask),
        # Before {id}, which would take "similar" for an id and answer 404.
        web.get("/api/questions/similar", similar_questions),
        web.get("/api/questions/{id}", get_question),
        web.get("/api/followup/{code}", followup),
        web.delete("/api/followup/{code}", delete_followup),
    ]
