"""Staff pages: sign-in, the moderation queue, and one question's claim-edit-answer page."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from moderation import actions, queue
from moderation.errors import ActionError
from moderation.filters import personal_data
from moderation.filters.personal_data import Finding
from service import i18n, keys, question_json
from service.http import bodies, referral_cards
from service.http.board import MAX_QUERY
from service.http.params import path_id, whole_number
from service.http.render import render
from service.http.staff_session import require_staff
from service.storage import categories, directory, questions
from service.storage.directory import PUBLIC_STATUSES, Filters
from service.storage.search import SearchQuery
from service.storage.staff import ANSWERING_ROLES, StaffMember


@require_staff(*ANSWERING_ROLES)
async def queue_page(request: web.Request, member: StaffMember) -> web.Response:
    ctx = keys.moderation(request)
    items = await question_json.waiting_queue(ctx)
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
    chosen = await bodies.form_values(request, "services") if error else []
    return render(
        request,
        "staff/question.html",
        {
            "question": found,
            "marked": {"title": _marked(found.title), "body": _marked(found.body)},
            "labels": {kind: i18n.gettext(label) for kind, label in personal_data.LABELS.items()},
            "cards": await referral_cards.for_questions(request, [found]),
            "referral_options": await _referral_options(request, found, chosen),
            "chosen": chosen,
            "find": request.query.get("find", "")[:MAX_QUERY],
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


REFERRAL_OPTIONS = 8


async def _referral_options(
    request: web.Request, question: questions.Question, chosen: list[str]
) -> list[dict[str, Any]]:
    """Services to tick: those already chosen, then what staff searched for, or else the
    services of the question's topic."""
    db = keys.db(request)
    text = request.query.get("find", "").strip()[:MAX_QUERY]
    if text:
        filters = Filters(query=SearchQuery(text), statuses=PUBLIC_STATUSES)
    else:
        category = await categories.by_slug(db, question.category_slug)
        term_id = category.term_id if category else None
        filters = Filters(term_id=term_id, statuses=PUBLIC_STATUSES)
    found, _total = await directory.matching_ids(db, filters, limit=REFERRAL_OPTIONS)
    cards = await referral_cards.for_services(request, [*chosen, *found])
    return list(cards.values())


def _marked(text: str | None) -> list[tuple[str, Finding | None]]:
    """The text in pieces, each personal detail the detectors found a piece of its own."""
    if not text:
        return []
    pieces: list[tuple[str, Finding | None]] = []
    at = 0
    for found in personal_data.find(text):
        pieces += [(text[at : found.start], None), (found.text, found)]
        at = found.end
    return [*pieces, (text[at:], None)]


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
        elif action == "mask":
            await actions.do_mask(
                ctx,
                question_id,
                acting_staff=member,
                field=form.get("field", ""),
                start=whole_number(form.get("start")),
                end=whole_number(form.get("end")),
            )
        elif action == "answer":
            await actions.do_answer(
                ctx,
                question_id,
                acting_staff=member,
                body=form.get("body", ""),
                publish=form.get("publish") == "yes",
                services=await bodies.form_values(request, "services"),
                personal_data_confirmed=form.get("personal_data_confirmed") == "yes",
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
        web.get("/staff/queue", queue_page),
        web.get("/staff/questions/{id}", question_page),
        web.post(
            r"/staff/questions/{id}/{action:claim|release|edit|mask|answer|reject}", question_action
        ),
    ]
