"""Coordinators' watched words page: list by language, add, change the action, deactivate,
reactivate and delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from moderation import watched_word_admin
from moderation.errors import ActionError
from service import keys
from service.http import bodies, notices
from service.http.params import path_id
from service.http.render import render
from service.http.staff_session import require_staff
from service.i18n import N_
from service.storage import watched_words
from service.storage.staff import MANAGING_ROLES, StaffMember

PATH = "/coordinator/watched-words"
FIELDS = ("phrase", "lang", "action")
LANG_LABELS = {"fi": N_("Finnish"), "sv": N_("Swedish"), "en": N_("English")}
ACTION_LABELS = {"block": N_("Block"), "review": N_("Review"), "crisis": N_("Crisis")}
ACTION_HINTS = {
    "block": N_("Block: the text is refused and the writer is asked to put it differently."),
    "review": N_("Review: the text is held until a staff member decides on it."),
    "crisis": N_(
        "Crisis: the young person sees crisis help at once, and the item goes to the top"
        " of the staff queue marked urgent."
    ),
}
NOTICES = {
    "added": N_("The word was added."),
    "changed": N_("The word's action was saved."),
    "deactivated": N_("The word was deactivated. It is no longer watched for."),
    "reactivated": N_("The word was reactivated."),
    "deleted": N_("The word was deleted."),
}


async def _page(
    request: web.Request,
    *,
    error: ActionError | None = None,
    error_row: int | None = None,
    values: dict[str, str] | None = None,
    row_values: dict[str, str] | None = None,
) -> web.Response:
    """Words grouped by language with a form per word and the add form; a refused form keeps
    what was typed."""
    listed = await watched_words.list_all(request.app[keys.WATCHLIST].db)
    context: dict[str, Any] = {
        "groups": [(lang, [w for w in listed if w.lang == lang]) for lang in watched_words.LANGS],
        "langs": watched_words.LANGS,
        "actions": watched_words.ACTIONS,
        "lang_labels": LANG_LABELS,
        "action_labels": ACTION_LABELS,
        "action_hints": ACTION_HINTS,
        "phrase_max": watched_word_admin.PHRASE_MAX,
        "words_max": watched_word_admin.WORDS_MAX,
        **notices.refused(
            error, error_row, values, row_values, {"phrase": "", "lang": "fi", "action": "review"}
        ),
        "notice": notices.shown(request, NOTICES),
    }
    return render(
        request,
        "coordinator/watched_words.html",
        context,
        status=error.status if error else 200,
        no_store=True,
    )


@require_staff(*MANAGING_ROLES)
async def page(request: web.Request, member: StaffMember) -> web.Response:
    return await _page(request)


@require_staff(*MANAGING_ROLES)
async def add(request: web.Request, member: StaffMember) -> web.Response:
    form = await bodies.form(request)
    values = {name: form.get(name, "") for name in FIELDS}
    try:
        await watched_word_admin.do_add_word(
            request.app[keys.WATCHLIST], values, acting_staff=member
        )
    except ActionError as exc:
        return await _page(request, error=exc, values=values)
    raise notices.after_change(PATH, "added")


@require_staff(*MANAGING_ROLES)
async def change(request: web.Request, member: StaffMember) -> web.Response:
    word_id = path_id(request)
    form = await bodies.form(request)
    values = {"action": form.get("action", "")}
    try:
        await watched_word_admin.do_change_word(
            request.app[keys.WATCHLIST], word_id, values, acting_staff=member
        )
    except ActionError as exc:
        return await _page(request, error=exc, error_row=word_id, row_values=values)
    raise notices.after_change(PATH, "changed", f"#word-{word_id}")


@require_staff(*MANAGING_ROLES)
async def set_active(request: web.Request, member: StaffMember) -> web.Response:
    word_id = path_id(request)
    form = await bodies.form(request)
    try:
        active = bodies.active_choice(form)
        await watched_word_admin.do_set_word_active(
            request.app[keys.WATCHLIST], word_id, active, acting_staff=member
        )
    except ActionError as exc:
        return await _page(request, error=exc, error_row=word_id)
    raise notices.after_change(PATH, "reactivated" if active else "deactivated", f"#word-{word_id}")


@require_staff(*MANAGING_ROLES)
async def delete(request: web.Request, member: StaffMember) -> web.Response:
    word_id = path_id(request)
    try:
        await watched_word_admin.do_delete_word(
            request.app[keys.WATCHLIST], word_id, acting_staff=member
        )
    except ActionError as exc:
        return await _page(request, error=exc, error_row=word_id)
    raise notices.after_change(PATH, "deleted")


def routes() -> list[web.RouteDef]:
    return [
        web.get(PATH, page),
        web.post(PATH, add),
        web.post(PATH + "/{id}", change),
        web.post(PATH + "/{id}/active", set_active),
        web.post(PATH + "/{id}/delete", delete),
    ]
