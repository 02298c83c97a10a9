"""Time-driven chat housekeeping: absent staff hand chats back, silent visitors time out."""

from __future__ import annotations

import logging

from moderation.chat.assignment import assign_waiting
from moderation.chat.context import ChatChange, ChatContext
from moderation.chat.staff_actions import availability_event, end_chat
from service.storage import chats, presence, processes
from service.storage.db import Writer
from service.storage.errors import StorageError

log = logging.getLogger(__name__)


async def after_restart(ctx: ChatContext) -> None:
    """This process starts. While other processes run, the service never stopped: nothing to
    do (a predecessor's sockets are forgotten when the leader finds its beat stopped).

    When none runs, the whole service was down and no socket survived: everyone's absence starts
    counting from now. Nobody could be reached meanwhile, so whoever was available goes off
    duty at the last heartbeat and, if they had the console open, back on now: the statistics
    do not count the outage as staffed."""
    now = ctx.now_iso()
    async with ctx.db.transaction() as tx:
        await processes.register(tx, ctx.process, now)
        if await processes.others_alive(tx, ctx.process, ctx.dead_cutoff()):
            return
        await processes.forget_others(tx, ctx.process)
        stopped = await presence.last_beat(tx)
        for staff_id, connected in await presence.available_at_stop(tx):
            if stopped is not None:
                await availability_event(ctx, tx, staff_id, on=False, at=stopped)
            if connected:
                await availability_event(ctx, tx, staff_id, on=True)
        await presence.everyone_gone(tx, now)
        await chats.everyone_away(tx, now)


async def tick(ctx: ChatContext) -> ChatChange:
    """Return chats of staff gone for two minutes to the front of the queue and make them
    unavailable, end chats whose visitor has been gone and silent too long (waiting ones after
    the shorter `queue_grace`, as abandoned), then give waiting chats to whoever has room."""
    changed: list[int] = []
    ended: list[int] = []
    staff: list[int] = []
    async with ctx.db.transaction() as tx:
        # A process killed without a goodbye: its sockets closed at its last beat.
        for process, last_beat in await processes.dead(tx, ctx.process, ctx.dead_cutoff()):
            await processes.forget(tx, process, last_beat)
        for staff_id in await presence.absent_with_chats(tx, ctx.present_cutoff()):
            staff.append(staff_id)
            changed += await _return_chats(ctx, tx, staff_id)
        # Gone for two minutes is not on duty, since they left: the statistics of staffed hours
        # must not count a closed laptop, and coming back means switching availability on again.
        for staff_id, away_since in await presence.absent_but_available(tx, ctx.present_cutoff()):
            await presence.set_available(tx, staff_id, False)
            await availability_event(ctx, tx, staff_id, on=False, at=away_since)
            staff.append(staff_id)
        await presence.beat(tx, ctx.now_iso())
        gone = await chats.gone(
            tx, silent_since=ctx.ago_iso(ctx.idle), left_queue_since=ctx.ago_iso(ctx.queue_grace)
        )
        for chat in gone:
            # Ended while waiting, it counts as abandoned (end_chat), like leaving the queue.
            await end_chat(ctx, tx, chat, by="timeout")
            changed.append(chat["id"])
            ended.append(chat["id"])
            if chat["assigned_to"] is not None:
                staff.append(chat["assigned_to"])
        changed += await assign_waiting(ctx, tx)
        change = ChatChange(chats=tuple(changed), staff=tuple(staff), ended=tuple(ended))
        tx.announce(change)
    return change


async def beat(ctx: ChatContext) -> None:
    """This process is alive (every process beats; the leader's tick also finds dead ones)."""
    async with ctx.db.transaction() as tx:
        await processes.beat(tx, ctx.process, ctx.now_iso())


async def leaving(ctx: ChatContext) -> None:
    """A clean stop while other processes serve: whatever sockets this process still counts
    close now (staff connected elsewhere stay present). The last process to stop leaves its
    rows to `after_restart`, which knows the whole service was down. Best effort: the
    database may be what is stopping."""
    try:
        async with ctx.db.transaction() as tx:
            if await processes.others_alive(tx, ctx.process, ctx.dead_cutoff()):
                await processes.forget(tx, ctx.process, ctx.now_iso())
    except StorageError:
        log.warning("could not record this process's sockets as closed; the leader will")


async def _return_chats(ctx: ChatContext, tx: Writer, staff_id: int) -> list[int]:
    """The staff member's active chats go back to the front of the queue."""
    returned = []
    for chat in await chats.active_of(tx, staff_id):
        await chats.requeue(tx, chat["id"], front=True, wanted_role=None, at=ctx.now_iso())
        returned.append(chat["id"])
    return returned


async def signed_out(ctx: ChatContext, staff_id: int) -> None:
    """Signing out on one's last device is leaving on purpose: no longer available, and the
    chats go back to the queue without two minutes' grace."""
    async with ctx.db.transaction() as tx:
        if await presence.set_available(tx, staff_id, False):
            await availability_event(ctx, tx, staff_id, on=False)
        returned = await _return_chats(ctx, tx, staff_id)
        returned += await assign_waiting(ctx, tx)
        tx.announce(ChatChange(chats=tuple(returned), staff=(staff_id,)))
