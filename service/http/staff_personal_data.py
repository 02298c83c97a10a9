"""Showing staff a question's masked personal details, on request and audited.

The queue masks personal details for everyone. "Show" (a form post, or the staff API) writes
an audit row and then shows that one question unmasked to the one who asked, for as long as
moderation/views.SHOWN_FOR allows: the audit row is the permission, nothing else is kept."""

from __future__ import annotations

from aiohttp import web

from moderation import views
from service import keys, question_json
from service.http.params import path_id
from service.http.render import render
from service.http.staff import queue_context
from service.http.staff_session import require_staff
from service.storage import questions
from service.storage.staff import ANSWERING_ROLES, StaffMember

SHOW = "/staff/questions/{id}/show-personal-data"
SHOWN = "/staff/queue/shown/{id}"
API_SHOW = "/api/staff/questions/{id}/personal-data"


def shown_path(question_id: int) -> str:
    return SHOWN.format(id=question_id)


@require_staff(*ANSWERING_ROLES)
async def show(request: web.Request, member: StaffMember) -> web.StreamResponse:
    """Audit the request, then back to the queue with this question unmasked."""
    question_id = path_id(request)
    await views.do_show_personal_data(keys.moderation(request), question_id, acting_staff=member)
    raise web.HTTPSeeOther(shown_path(question_id) + f"#shown-{question_id}")


@require_staff(*ANSWERING_ROLES)
async def shown_queue(request: web.Request, member: StaffMember) -> web.StreamResponse:
    """The queue with one question unmasked, while its "show" is fresh; after, the plain queue.

    The unmasked question stands above the table, which stays masked: the live queue script
    redraws the table from the socket's list, which goes to every moderator."""
    ctx = keys.moderation(request)
    question_id = path_id(request)
    if not await views.shown_lately(ctx, question_id, acting_staff=member):
        raise web.HTTPSeeOther("/staff/queue")
    shown = await questions.get(ctx.db, question_id)
    context = {**await queue_context(request), "shown": shown, "shown_id": question_id}
    return render(request, "staff/queue.html", context, no_store=True)


@require_staff(*ANSWERING_ROLES)
async def show_json(request: web.Request, member: StaffMember) -> web.Response:
    """The staff API's "show": audited like the form, answered with the unmasked text."""
    ctx = keys.moderation(request)
    found = await views.do_show_personal_data(ctx, path_id(request), acting_staff=member)
    item = question_json.queue_item(found, claimed_by=None, now_iso=ctx.now_iso(), shown=True)
    return web.json_response(
        {key: item[key] for key in ("id", "title", "body", "personal_data", "masked")},
        headers={"Cache-Control": "no-store"},
    )


def routes() -> list[web.RouteDef]:
    return [
        web.post(SHOW, show),
        web.get(SHOWN, shown_queue),
        web.post(API_SHOW, show_json),
    ]
