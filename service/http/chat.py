"""The chat pages: the visitor's /chat and the staff console /staff/chat (both live over
socket.io; see docs/realtime.md)."""

from __future__ import annotations

from aiohttp import web

from moderation.chat.staff_actions import OUTCOMES
from moderation.chat.visitor_actions import MESSAGE_MAX
from service import i18n, keys
from service.http.after_hours import after_hours_context
from service.http.render import render
from service.http.staff_session import require_staff
from service.i18n import N_
from service.labels import role_label
from service.storage import canned, categories
from service.storage.staff import ANSWERING_ROLES, StaffMember

OUTCOME_LABELS = {
    "advice": N_("Advice given"),
    "referred": N_("Referred to a service"),
    "question": N_("Turned into a question"),
    "no_contact": N_("No contact"),
}


async def visitor_page(request: web.Request) -> web.Response:
    """The chat page; with the chat closed its notice says what helps now (_after_hours.html),
    so that context comes with it whatever the state at load: the socket may close it later."""
    db = keys.db(request)
    return render(
        request,
        "chat/index.html",
        {
            **await after_hours_context(request),
            "categories": await categories.list_active(db),
            "text_max": MESSAGE_MAX,
        },
        no_store=True,
    )


@require_staff(*ANSWERING_ROLES)
async def staff_page(request: web.Request, member: StaffMember) -> web.Response:
    db = keys.db(request)
    return render(
        request,
        "staff/chat.html",
        {
            "categories": await categories.list_active(db),
            "canned": await canned.list_active(db),
            "outcomes": [(value, i18n.gettext(OUTCOME_LABELS[value])) for value in OUTCOMES],
            "roles": [(role, role_label(role)) for role in ANSWERING_ROLES],
            "text_max": MESSAGE_MAX,
        },
        no_store=True,
    )


def routes() -> list[web.RouteDef]:
    return [web.get("/chat", visitor_page), web.get("/staff/chat", staff_page)]
