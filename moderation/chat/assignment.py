"""Giving waiting chats to staff: automatically, or when a staff member accepts one by hand.

Both run inside one `BEGIN IMMEDIATE` transaction that reads the chat's state and every staff
member's load and then writes the assignment, so concurrent accepts are decided by SQLite:
one chat never goes to two people and no one goes over their capacity."""

from __future__ import annotations

from dataclasses import replace

from moderation.chat.context import ChatChange, ChatContext
from moderation.chat.queue_view import candidates
from moderation.chat.routing import Candidate, choose
from moderation.errors import Conflict, NotFound
from service.clock import from_iso
from service.i18n import gettext as _
from service.i18n import ngettext
from service.storage import chat_settings, chats, events, presence
from service.storage.db import Row, Writer
from service.storage.staff import StaffMember


class CapacityFull(Conflict):
    """The staff member already holds as many chats as their capacity allows."""

    code = "capacity"


async def hand_over(ctx: ChatContext, tx: Writer, chat_id: int, staff_id: int) -> None:
    """Make the staff member the chat's holder, and note when they last got one."""
    now = ctx.now_iso()
    await chats.assign(tx, chat_id, staff_id, now)
    await presence.assigned_now(tx, staff_id, now)


async def _assign(ctx: ChatContext, tx: Writer, chat: Row, staff_id: int) -> None:
    """Give a waiting chat to a staff member, recording how long it waited."""
    now = ctx.now_iso()
    await hand_over(ctx, tx, chat["id"], staff_id)
    first = chat["first_assigned_at"] is None
    await events.record(
        tx,
        events.CHAT_ASSIGNED,
        at=now,
        category=chat["category_slug"],
        channel="chat",
        subject_id=chat["id"],
        staff_id=staff_id,
        seconds=max(0.0, (ctx.clock() - from_iso(chat["requested_at"])).total_seconds()),
        detail=None if first else {"again": True},
    )


async def assign_waiting(ctx: ChatContext, tx: Writer) -> list[int]:
    """Give waiting chats, oldest first, to available staff with room; returns the chat ids."""
    if not (await chat_settings.load(tx)).auto_assign:
        return []
    pool = candidates(await presence.staff_rows(tx, ctx.present_cutoff()))
    assigned: list[int] = []
    for chat in await chats.waiting(tx):
        if not any(c.free > 0 for c in pool):
            break
        picked = choose(pool, topic_role=chat["topic_role"], wanted_role=chat["wanted_role"])
        if picked is None:
            continue
        await _assign(ctx, tx, chat, picked.staff_id)
        pool = [_loaded(c, ctx.now_iso()) if c is picked else c for c in pool]
        assigned.append(chat["id"])
    return assigned


def _loaded(candidate: Candidate, at: str) -> Candidate:
    return replace(candidate, load=candidate.load + 1, last_assigned_at=at)


async def assign_and_notify(ctx: ChatContext, change: ChatChange) -> None:
    """Run automatic assignment after something freed room or brought someone on duty."""
    async with ctx.db.transaction() as tx:
        assigned = await assign_waiting(ctx, tx)
        tx.announce(ChatChange(chats=change.chats + tuple(assigned), staff=change.staff))


async def do_accept(ctx: ChatContext, chat_id: int | None, *, acting_staff: StaffMember) -> int:
    """Take a waiting chat (the next one when `chat_id` is None) within one's capacity."""
    async with ctx.db.transaction() as tx:
        if chat_id is None:
            fitting = [
                c for c in await chats.waiting(tx) if c["wanted_role"] in (None, acting_staff.role)
            ]
            if not fitting:
                raise NotFound(_("No one is waiting."))
            chat = fitting[0]
        else:
            found = await chats.get(tx, chat_id)
            if found is None:
                raise NotFound(_("No such chat."))
            chat = found
        if chat["status"] != "waiting":
            raise Conflict(_("Someone else has already taken this chat."))
        if chat["visitor_away_since"] is not None:
            # Out of the line while away (chats.waiting): taking it would hold a place for
            # someone who may not come back.
            raise Conflict(_("The young person has left the queue."))
        if chat["wanted_role"] not in (None, acting_staff.role):
            raise Conflict(_("This chat was transferred to another role."))
        load, capacity = await presence.load_and_capacity(tx, acting_staff.id)
        if load >= capacity:
            raise CapacityFull(
                ngettext(
                    "You already have %(n)d chat open, your limit.",
                    "You already have %(n)d chats open, your limit.",
                    capacity,
                )
                % {"n": capacity}
            )
        await _assign(ctx, tx, chat, acting_staff.id)
        await ctx.audit(tx, acting_staff, "chat_accept", "chat", chat["id"])
        tx.announce(ChatChange(chats=(chat["id"],)))
    return int(chat["id"])
