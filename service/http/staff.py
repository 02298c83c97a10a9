"""Staff pages: sign-in, the moderation queue, and one question's claim-edit-answer page."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from moderation import actions, queue, views
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
    return render(request, "staff/queue.html", await queue_context(request), no_store=True)


async def queue_context(request: web.Request) -> dict[str, Any]:
    """What staff/queue.html needs: the waiting questions, masked, and the topics' names."""
    ctx = keys.moderation(request)
    items = await question_json.waiting_queue(ctx)
    lang = i18n.current_language()
    names = {c.slug: c.name(lang) for c in await categories.list_active(ctx.db)}
    return {"items": items, "category_names": names}


async def _question_page(
    request: web.Request,
    member: StaffMember,
    *,
    error: ActionError | None = None,
    draft: bool = False,
) -> web.Response:
    """The page; after a refusal or a directory search (`draft`), with what was typed kept."""
    ctx = keys.moderation(request)
    found = await questions.get(ctx.db, path_id(request))
    if found is None:
        raise web.HTTPNotFound(text=i18n.gettext("No such question."))
    await views.record_view(ctx, target_type="question", target_id=found.id, acting_staff=member)
    claimer = queue.active_claimer(ctx, found)
    kept = error is not None or draft
    chosen = await bodies.form_values(request, "services") if kept else []
    form = await bodies.form(request) if kept else {}
    find = (form.get("find") if kept else request.query.get("find")) or ""
    options, total = await _referral_options(request, found, chosen, find)
    return render(
        request,
        "staff/question.html",
        {
            "question": found,
            "marked": {"title": _marked(found.title), "body": _marked(found.body)},
            "labels": {kind: i18n.gettext(label) for kind, label in personal_data.LABELS.items()},
            "cards": await referral_cards.for_questions(request, [found]),
            "referral_options": options,
            "chosen": chosen,
            "find": find.strip()[:MAX_QUERY],
            "found_message": _found_message(total) if draft else "",
            "claimer": claimer,
            "mine": claimer is not None and found.claimed_by == member.id,
            "categories": await categories.list_active(ctx.db),
            "error": error,
            "form": form,
            "draft": draft,
            # The answer's draft comes back after a search as after a refused answer.
            "failed": "answer" if draft else request.match_info.get("action") if error else None,
        },
        status=error.status if error else 200,
        no_store=True,
    )


REFERRAL_OPTIONS = 8


async def _found_services(
    request: web.Request, question: questions.Question, text: str
) -> tuple[list[str], int]:
    """Ids of what staff searched for, or else of the services of the question's topic, and
    how many match in all."""
    db = keys.db(request)
    text = text.strip()[:MAX_QUERY]
    if text:
        filters = Filters(query=SearchQuery(text), statuses=PUBLIC_STATUSES)
    else:
        category = await categories.by_slug(db, question.category_slug)
        term_id = category.term_id if category else None
        filters = Filters(term_id=term_id, statuses=PUBLIC_STATUSES)
    return await directory.matching_ids(db, filters, limit=REFERRAL_OPTIONS)


async def _referral_options(
    request: web.Request, question: questions.Question, chosen: list[str], text: str
) -> tuple[list[dict[str, Any]], int]:
    """Services to tick: those already chosen, then those found; and how many were found."""
    found, total = await _found_services(request, question, text)
    cards = await referral_cards.for_services(request, [*chosen, *found])
    return list(cards.values()), total


def _found_message(total: int) -> str:
    """What a screen reader hears after a search: how many services were found."""
    shown = min(total, REFERRAL_OPTIONS)
    message = i18n.ngettext("%(num)d service found.", "%(num)d services found.", total) % {
        "num": total
    }
    if total > shown:
        more = i18n.gettext("The first %(num)d are listed; a narrower search finds the others.")
        message += " " + more % {"num": shown}
    return message


async def referral_search(
    request: web.Request, question: questions.Question, text: str
) -> dict[str, Any]:
    """The services a directory search on the answer page finds, as its script shows them."""
    found, total = await _found_services(request, question, text)
    cards = await referral_cards.for_services(request, found)
    return {
        "find": text.strip()[:MAX_QUERY],
        "total": total,
        "message": _found_message(total),
        "services": list(cards.values()),
    }


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
        elif action == "find":
            # The directory search without JavaScript: the draft comes back, nothing is stored.
            return await _question_page(request, member, draft=True)
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
            r"/staff/questions/{id}/{action:claim|release|edit|mask|answer|find|reject}",
            question_action,
        ),
    ]
