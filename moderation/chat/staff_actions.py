"""Staff actions on live chats: presence, transfer, ending with a wrap-up, blocking a visitor."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from moderation.chat import system_lines
from moderation.chat.assignment import CapacityFull, assign_and_notify, assign_waiting, hand_over
from moderation.chat.context import ChatChange, ChatContext
from moderation.errors import Conflict, Forbidden, Invalid, NotFound
from moderation.text import (
    REASON_MAX,
    REASON_MIN,
    optional_text_block,
    require_int,
    require_text,
    valid_id,
)
from service.clock import from_iso, to_iso
from service.i18n import gettext as _
from service.storage import categories, chats, events, presence, visitors
from service.storage.chat_messages import Stored
from service.storage.db import Row, Writer
from service.storage.staff import ANSWERING_ROLES, StaffMember

OUTCOMES = ("advice", "referred", "question", "no_contact")
BLOCK_HOURS = (24, 168)
NOTE_MAX = 1000


async def _own_chat(tx: Writer, chat_id: object, staff: StaffMember) -> Row:
    """A chat this staff member holds now, or handled and has not wrapped up yet."""
    chat = await chats.get(tx, valid_id(chat_id, "chat_id"))
    if chat is None or not is_staffs(chat, staff.id):
        raise NotFound(_("No such chat among yours."))
    return chat


def is_staffs(chat: Row, staff_id: int) -> bool:
    """Assigned to them now, or ended in their hands and still waiting for their wrap-up."""
    return chat["assigned_to"] == staff_id or (
        chat["status"] == "ended" and chat["handled_by"] == staff_id and chat["outcome"] is None
    )


def _seconds_between(start: str | None, end: str) -> float | None:
    if start is None:
        return None
    return max(0.0, (from_iso(end) - from_iso(start)).total_seconds())


async def end_chat(
    ctx: ChatContext, tx: Writer, chat: Row, *, by: str, kind: str | None = None
) -> None:
    """End an open chat and record how it ended: `kind`, or ended if someone had taken it and
    abandoned if not yet."""
    now = ctx.now_iso()
    await chats.end(tx, chat["id"], at=now, by=by)
    taken = chat["status"] == "active"
    await events.record(
        tx,
        kind or (events.CHAT_ENDED if taken else events.CHAT_ABANDONED),
        at=now,
        category=chat["category_slug"],
        channel="chat",
        subject_id=chat["id"],
        staff_id=chat["assigned_to"],
        # Handle time runs from the first assignment, so a transferred chat counts whole.
        seconds=_seconds_between(chat["first_assigned_at"] if taken else chat["requested_at"], now),
        detail={"by": by},
    )


async def staff_connected(ctx: ChatContext, staff: StaffMember) -> None:
    async with ctx.db.transaction() as tx:
        await presence.connected(tx, staff.id, ctx.process)
    await assign_and_notify(ctx, ChatChange())


async def staff_disconnected(ctx: ChatContext, staff: StaffMember) -> None:
    """A brief absence keeps the chats; `return_absent_staff_chats` acts after two minutes."""
    async with ctx.db.transaction() as tx:
        await presence.disconnected(tx, staff.id, ctx.process, ctx.now_iso())
        tx.announce(ChatChange())


async def availability_event(
    ctx: ChatContext, tx: Writer, staff_id: int, *, on: bool, at: str | None = None
) -> None:
    """Recorded so that the hours someone was on duty can be counted later; `at` when the
    change is known to have happened earlier than now."""
    await events.record(
        tx,
        events.STAFF_AVAILABILITY,
        at=at or ctx.now_iso(),
        channel="chat",
        staff_id=staff_id,
        detail={"on": on},
    )


async def do_set_available(ctx: ChatContext, on: object, *, acting_staff: StaffMember) -> None:
    if not isinstance(on, bool):
        raise Invalid(_("Choose on or off."), field="on")
    if acting_staff.role not in ANSWERING_ROLES:
        raise Forbidden(_("Only counsellors and advisers take chats."))
    async with ctx.db.transaction() as tx:
        await presence.set_available(tx, acting_staff.id, on)
        await availability_event(ctx, tx, acting_staff.id, on=on)
        assigned = await assign_waiting(ctx, tx) if on else []
        tx.announce(ChatChange(chats=tuple(assigned)))


async def do_transfer(
    ctx: ChatContext,
    chat_id: object,
    *,
    acting_staff: StaffMember,
    to_staff: object = None,
    to_role: object = None,
    note: object = "",
) -> Stored:
    """Hand the chat to a colleague with room, or back to the queue for a role; the note is
    for staff only. The conversation gets a line saying so, in the visitor's language: it is
    returned, stored, for the caller to deliver after the commit."""
    if (to_staff is None) == (to_role is None):
        raise Invalid(_("Choose a colleague or a role."), field="to_staff")
    if to_role is not None and to_role not in ANSWERING_ROLES:
        raise Invalid(_("Choose a role from the list."), field="to_role")
    colleague = None if to_staff is None else valid_id(to_staff, "to_staff")
    text = optional_text_block(note, "note", maximum=NOTE_MAX)
    async with ctx.db.transaction() as tx:
        chat = await _own_chat(tx, chat_id, acting_staff)
        if chat["status"] != "active":
            raise Conflict(_("This chat has ended."))
        now = ctx.now_iso()
        if colleague is not None:
            target = await _transfer_to_colleague(ctx, tx, chat, colleague, acting_staff)
            said = system_lines.transfer_text(
                chat["lang"], role=target["role"], name=target["name"]
            )
        else:
            await chats.requeue(tx, chat["id"], front=True, wanted_role=str(to_role), at=now)
            said = system_lines.transfer_text(chat["lang"], role=str(to_role), name=None)
        line = await system_lines.write(tx, chat, said, now)
        if text is not None:
            await chats.add_note(tx, chat["id"], acting_staff.id, text, now)
        await events.record(
            tx,
            events.CHAT_TRANSFERRED,
            at=now,
            category=chat["category_slug"],
            channel="chat",
            subject_id=chat["id"],
            staff_id=acting_staff.id,
            detail={"to": "staff" if to_staff is not None else "role", "role": to_role},
        )
        await ctx.audit(
            tx,
            acting_staff,
            "chat_transfer",
            "chat",
            chat["id"],
            to_staff=colleague,
            to_role=to_role,
        )
        assigned = await assign_waiting(ctx, tx) if to_role is not None else []
        holder = colleague if colleague is not None else await chats.holder(tx, chat["id"])
        tx.announce(ChatChange(chats=(chat["id"], *assigned), staff=(acting_staff.id,)))
    return replace(line, staff_id=holder)


async def _transfer_to_colleague(
    ctx: ChatContext, tx: Writer, chat: Row, staff_id: int, acting_staff: StaffMember
) -> Row:
    """Give the chat to the colleague; their presence row (name, role)."""
    if staff_id == acting_staff.id:
        raise Invalid(_("Choose someone else."), field="to_staff")
    target = next(
        (
            s
            for s in await presence.staff_rows(tx, ctx.present_cutoff())
            if s["staff_id"] == staff_id
        ),
        None,
    )
    if target is None or not (target["available"] and target["present"]):
        raise Invalid(_("That colleague is not available for chats now."), field="to_staff")
    if target["load"] >= target["capacity"]:
        raise CapacityFull(_("That colleague has no room for another chat."))
    await hand_over(ctx, tx, chat["id"], staff_id)
    return target


def _closing_change(
    chat_id: int, assigned: list[int], staff: StaffMember, *, ended: bool
) -> ChatChange:
    """After a wrap-up or a block: the chat, any chats the freed room went to, and whether
    this change is the one that ended it."""
    return ChatChange(
        chats=(chat_id, *assigned), staff=(staff.id,), ended=(chat_id,) if ended else ()
    )


async def do_end(
    ctx: ChatContext,
    chat_id: object,
    *,
    acting_staff: StaffMember,
    category: object,
    outcome: object,
) -> None:
    """End one's chat with a wrap-up, or add the wrap-up to a chat the visitor ended."""
    if outcome not in OUTCOMES:
        raise Invalid(_("Choose how the chat ended."), field="outcome")
    found = await categories.by_slug(ctx.db, category) if isinstance(category, str) else None
    if found is None:
        raise Invalid(_("Choose a category from the list."), field="category")
    async with ctx.db.transaction() as tx:
        chat = await _own_chat(tx, chat_id, acting_staff)
        if chat["status"] == "ended" and chat["outcome"] is not None:
            raise Conflict(_("This chat has already been wrapped up."))
        ended = chat["status"] == "active"
        if ended:
            await end_chat(ctx, tx, chat, by="staff")
        await chats.wrap_up(tx, chat["id"], category=found.slug, outcome=str(outcome))
        await ctx.audit(tx, acting_staff, "chat_end", "chat", chat["id"], outcome=outcome)
        assigned = await assign_waiting(ctx, tx)
        tx.announce(_closing_change(chat["id"], assigned, acting_staff, ended=ended))


async def do_block(
    ctx: ChatContext, chat_id: object, *, acting_staff: StaffMember, hours: object, reason: object
) -> None:
    """Block the chat's visitor token for a day or a week, ending the chat; always audited."""
    block_hours = require_int(
        hours,
        "hours",
        minimum=1,
        maximum=max(BLOCK_HOURS),
        message=_("Block for 24 hours or 7 days."),
    )
    if block_hours not in BLOCK_HOURS:
        raise Invalid(_("Block for 24 hours or 7 days."), field="hours")
    text = require_text(reason, "reason", minimum=REASON_MIN, maximum=REASON_MAX)
    async with ctx.db.transaction() as tx:
        chat = await _own_chat(tx, chat_id, acting_staff)
        until = to_iso(ctx.clock() + timedelta(hours=block_hours))
        await visitors.block(tx, chat["visitor_id"], until=until, reason=text)
        ended = chat["status"] == "active"
        if ended:
            await end_chat(ctx, tx, chat, by="staff")
        await ctx.audit(
            tx, acting_staff, "chat_block", "chat", chat["id"], hours=block_hours, reason=text
        )
        assigned = await assign_waiting(ctx, tx)
        tx.announce(_closing_change(chat["id"], assigned, acting_staff, ended=ended))
