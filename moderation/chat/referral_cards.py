"""Referral cards in chat: staff send a directory service as a message of its own."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from moderation import referrals
from moderation.chat.context import ChatContext
from moderation.errors import Conflict, Invalid
from service.i18n import gettext as _
from service.storage import chat_messages, chats
from service.storage.chat_messages import Draft, Stored
from service.storage.db import Row
from service.storage.staff import StaffMember


async def cards_in(ctx: ChatContext, messages: Sequence[Row], lang: str) -> dict[str, Any]:
    """The cards that stored referral messages show, for replaying them."""
    ids = (m["service_id"] for m in messages if m["service_id"])
    return await referrals.cards(ctx.db, ids, lang, ctx.clock())


async def do_refer(
    ctx: ChatContext,
    chat_id: int,
    service_id: object,
    client_id: str,
    *,
    acting_staff: StaffMember,
    language_of: Callable[[int], str],
) -> Stored:
    """Store the card as the staff member's message and count the referral, in one commit.

    The card is built in the language the visitor (by id) reads, for it is theirs."""
    if not isinstance(service_id, str):
        raise Invalid(_("Choose a service from the directory."), field="service_id")
    ids = referrals.service_ids([service_id], field="service_id")
    async with ctx.db.transaction() as tx:
        names = await referrals.require_referable(tx, ids, "service_id")
        now = ctx.now_iso()
        draft = Draft(chat_id, "staff", acting_staff.id, names[ids[0]], client_id, now)
        stored = await chat_messages.insert_referral(tx, draft, ids[0])
        if stored is None:
            raise Conflict(_("This chat is not yours or has ended."))
        if stored.fresh:
            chat = await chats.get(tx, chat_id)
            await referrals.record(
                tx,
                ids,
                at=now,
                channel="chat",
                category=None if chat is None else chat["category_slug"],
                subject_id=chat_id,
                staff_id=acting_staff.id,
            )
    if not stored.fresh:
        return stored
    lang = language_of(stored.visitor_id)
    found = await referrals.cards(ctx.db, ids, lang, ctx.clock())
    return dataclasses.replace(stored, referral=found.get(ids[0]))
