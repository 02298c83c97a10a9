"""Tells visitors and staff what changed in the chat, after each commit.

Rooms are chosen so that nothing reaches anyone outside the chat: a visitor's sockets share a
room of their own (`v<visitor id>`), a staff member's sockets one per person (`s<staff id>`)
and one per chat assigned to them (`c<chat id>s<staff id>`); a message goes to the visitor's
room and to the chat room of the staff member it was assigned to when it was stored. Sockets
join the rooms that carry messages only once they have read what they missed (see
docs/realtime.md, "Resuming without gaps"). The queue and presence go to every staff socket.

With several processes, messages and typing notices go through python-socketio's Redis manager
to whichever process holds the room's sockets. What a committed change means is worked out by
every process for its own sockets (the change bus calls `changed` in each), so those pushes
stay in the process (`ignore_queue`): each keeps its own record of what its sockets were sent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import socketio

from moderation.chat import queue_view
from moderation.chat.context import ChatChange, ChatContext
from service import i18n
from service.realtime import chat_payloads
from service.realtime.server import SocketServer
from service.storage import chat_messages, chats
from service.storage.chat_messages import Stored
from service.storage.db import Row

if TYPE_CHECKING:
    from service.realtime.staff_console import StaffConsole

VISITOR_NAMESPACE = "/chat"
STAFF_NAMESPACE = "/staff"
log = logging.getLogger(__name__)
DESK = "desk"  # every staff socket on the chat console
# How far back a resume looks again with several processes (see ChatHub.missed): far
# beyond a publish's delay, and few enough messages to stay well inside one replay page.
REORDER_WINDOW = timedelta(seconds=5)
REORDER_MAX = 20
# A waiting visitor hears of the offer to send their words as a question at most this long
# after their wait reaches the threshold. Between changes only the clock moves the offer, so
# each process looks again this often while an offer is coming (no database read: the view is
# kept until the next change) and pushes only when one came due.
OFFER_CHECK_S = 2.0


def visitor_room(visitor_id: int) -> str:
    return f"v{visitor_id}"


def staff_room(staff_id: int) -> str:
    return f"s{staff_id}"


def chat_staff_room(chat_id: int, staff_id: int) -> str:
    """One chat's messages for the staff member it is assigned to: a socket joins it in
    `resume`, before reading what it missed, or when a chat it never knew of is assigned to its
    person (StaffConsole.join_chat), so a live message cannot overtake a replay."""
    return f"c{chat_id}s{staff_id}"


class ChatHub:
    def __init__(self, sio: socketio.AsyncServer, *, crossing: bool = False) -> None:
        self._sio = sio
        # Several processes: a sender's other sockets may be on another process, so "the
        # sender's only socket" cannot be known here and every copy is sent.
        self.crossing = crossing
        self._ctx: ChatContext | None = None
        self._console: StaffConsole | None = None
        self.visitor_languages: dict[int, str] = {}
        self._status: tuple[bool, datetime | None] = (False, None)
        # The last payload of each kind pushed, to send only changes.
        self._sent: dict[object, dict[str, Any]] = {}
        self._queue_running = False
        self._queue_again = False
        self._view: queue_view.QueueView | None = None
        self._version = 0
        # The waiting list and colleague list as last sent to the desk room, by id; a push
        # sends only the difference, under the lock that also admits new sockets to the room.
        self._desk: dict[str, dict[int, dict[str, Any]]] = {}
        self._desk_lock = asyncio.Lock()
        self._delivery: dict[int, list[Any]] = {}  # chat id -> [lock, users]
        self._offers: asyncio.Task[None] | None = None
        self._stopped = False
        if isinstance(sio, SocketServer):
            sio.when_stopping(self.stop)

    def delivering(self, chat_id: int) -> _Delivery:
        """One chat's message delivery and its resumes take turns: a message is stored and
        emitted wholly before a socket joins the chat and reads what it missed, or wholly
        after that read and its replay. So a socket sees each message once and in id order."""
        return _Delivery(self._delivery, chat_id)

    async def missed(self, chat_id: int, after: int, limit: int) -> list[Row]:
        """The messages a resume replays: at most `limit` after `after`, in id order.

        With several processes two messages of one chat can reach a socket out of id order
        (each process publishes its own after its commit), so a page that saw id 8 may not have
        seen 7 yet when it disconnects: the replay then also covers the last few seconds before
        `after`, and the page drops what it already has."""
        start = after
        if self.crossing and after > 0:
            start = await chat_messages.settled_before(
                self.ctx.db, chat_id, after, self.ctx.ago_iso(REORDER_WINDOW), at_most=REORDER_MAX
            )
        return await chat_messages.after(self.ctx.db, chat_id, start, limit)

    def attach(self, ctx: ChatContext, console: StaffConsole) -> None:
        self._ctx = ctx
        self._console = console

    @property
    def ctx(self) -> ChatContext:
        if self._ctx is None:
            raise RuntimeError("the chat hub is not attached")
        return self._ctx

    def status(self) -> tuple[bool, datetime | None]:
        """Open now, and when it next opens: refreshed on every change and every tick."""
        return self._status

    async def _here(
        self, event: str, payload: Any, namespace: str, *, room: str | None = None
    ) -> None:
        """To this process's sockets only: every process makes the same push for its own."""
        await self._sio.emit(event, payload, room=room, namespace=namespace, ignore_queue=True)

    async def changed(self, change: ChatChange) -> None:
        self._view = None
        self._version += 1
        if not change.queue:
            for staff_id in change.staff:
                await self.push_own_chats(staff_id)
            return
        staff = set(change.staff)
        for chat_id in dict.fromkeys(change.chats + change.ended):
            row = await chats.get(self.ctx.db, chat_id)
            if row is None:
                continue
            if row["status"] == "active":
                if self._console is not None:
                    await self._console.join_chat(row["assigned_to"], chat_id)
                await self._tell_assigned(row)
            elif chat_id in change.ended:
                await self._tell_ended(row)
            staff.update(s for s in (row["assigned_to"], row["handled_by"]) if s is not None)
        for staff_id in staff:
            await self.push_own_chats(staff_id)
        if change.questions and self._console is not None:
            await self._console.push_questions()
        await self.push_queue()

    async def resync(self) -> None:
        """Changes may have been missed (the change bus was away): push everything afresh to
        this process's sockets. The desk lists stay as sent, so the next delta still applies."""
        self._view = None
        self._version += 1
        self._sent = {}
        for staff_id in self._connected_staff():
            await self.push_own_chats(staff_id)
        if self._console is not None:
            await self._console.push_questions()
        await self.push_queue()
        await self.pages_resume()

    async def pages_resume(self) -> None:
        """Messages published while Redis was away reached no other process: every page here
        reads again from its last id, and drops what it already has."""
        for namespace in (VISITOR_NAMESPACE, STAFF_NAMESPACE):
            await self._here("resync", {}, namespace)

    async def _tell_assigned(self, row: Row) -> None:
        with i18n.speaking(self.visitor_languages.get(row["visitor_id"])):
            payload = chat_payloads.assigned(row)
        await self._here(
            "assigned", payload, VISITOR_NAMESPACE, room=visitor_room(row["visitor_id"])
        )

    async def _tell_ended(self, row: Row) -> None:
        """Told once, by the change that ended the chat."""
        await self._here(
            "ended",
            {"by": row["ended_by"]},
            VISITOR_NAMESPACE,
            room=visitor_room(row["visitor_id"]),
        )
        if row["handled_by"] is not None:
            await self._here(
                "ended",
                {"chat_id": row["id"], "by": row["ended_by"]},
                STAFF_NAMESPACE,
                room=staff_room(row["handled_by"]),
            )

    async def message(
        self,
        stored: Stored,
        *,
        skip_sid: str | None = None,
        sender_alone: bool = False,
        flags: list[dict[str, str]] | None = None,
    ) -> None:
        """Deliver a stored message to the visitor's and the assigned staff member's sockets.

        The sender's own socket learns the id from the acknowledgement; when it is the sender's
        only socket, the copy for the sender's side would go to no one and is not even built.
        `flags` (watched words that matched) go to staff only."""
        sender_alone = sender_alone and not self.crossing
        if not (sender_alone and stored.sender == "visitor"):
            await self._sio.emit(
                "message",
                chat_payloads.message(stored, for_sender="visitor"),
                room=visitor_room(stored.visitor_id),
                skip_sid=skip_sid,
                namespace=VISITOR_NAMESPACE,
            )
        if stored.staff_id is not None and not (sender_alone and stored.sender == "staff"):
            await self._close_expired(stored.staff_id)
            await self._sio.emit(
                "message",
                chat_payloads.message(
                    stored, for_sender="staff", chat_id=stored.chat_id, flags=flags
                ),
                room=chat_staff_room(stored.chat_id, stored.staff_id),
                skip_sid=skip_sid,
                namespace=STAFF_NAMESPACE,
            )

    async def typing(self, row: Row, *, sender: str) -> None:
        if sender == "visitor" and row["assigned_to"] is not None:
            await self._sio.emit(
                "typing",
                {"chat_id": row["id"], "from": "visitor"},
                room=staff_room(row["assigned_to"]),
                namespace=STAFF_NAMESPACE,
            )
        elif sender == "staff":
            await self._sio.emit(
                "typing",
                {"from": "staff"},
                room=visitor_room(row["visitor_id"]),
                namespace=VISITOR_NAMESPACE,
            )

    async def push_own_chats(self, staff_id: int, *, to: str | None = None) -> None:
        """A staff member's own chats, to their sockets on this process (or one socket, `to`);
        every process hears each change, so one without their sockets reads nothing."""
        if to is None and staff_id not in self._connected_staff():
            return
        await self._close_expired(staff_id)
        rows = await chats.for_staff(self.ctx.db, staff_id)
        notes = await chats.notes(self.ctx.db, [row["id"] for row in rows])
        await self._here(
            "chats",
            chat_payloads.own_chats(rows, notes),
            STAFF_NAMESPACE,
            room=to or staff_room(staff_id),
        )

    async def push_queue(self) -> None:
        """Positions to waiting visitors, the list and presence to staff, status to everyone.

        Bursts of changes coalesce: while one push runs, further requests make one more."""
        if self._queue_running:
            self._queue_again = True
            return
        self._queue_running = True
        try:
            while True:
                self._queue_again = False
                await self._push_queue_once()
                if not self._queue_again:
                    break
        finally:
            self._queue_running = False

    async def _push_queue_once(self) -> None:
        """Send only what changed since the last push, so a quiet tick costs no traffic."""
        await self._close_expired()
        view = await self.view()
        sent = self._sent
        latest: dict[object, dict[str, Any]] = {}
        now = self.ctx.clock()
        for waiting in view.waiting:
            payload = chat_payloads.queue_position(waiting, now)
            key = ("visitor", waiting.row["id"])
            latest[key] = payload
            if sent.get(key) != payload:
                room = visitor_room(waiting.row["visitor_id"])
                await self._here("queue", payload, VISITOR_NAMESPACE, room=room)
        async with self._desk_lock:
            for name, items in self._desk_lists(view).items():
                delta = _delta(self._desk.get(name, {}), items)
                self._desk[name] = items
                if delta is not None:
                    if name == "queue":
                        delta["items"] = [
                            chat_payloads.waiting_now(item, now) for item in delta["items"]
                        ]
                    await self._here(f"{name}_changed", delta, STAFF_NAMESPACE, room=DESK)
        for staff_id in self._connected_staff():
            payload = chat_payloads.desk(view, staff_id)
            key = ("desk", staff_id)
            latest[key] = payload
            if sent.get(key) != payload:
                await self._here("desk", payload, STAFF_NAMESPACE, room=staff_room(staff_id))
        status = chat_payloads.status(view)
        latest["status"] = status
        if sent.get("status") != status:
            await self._here("status", status, VISITOR_NAMESPACE)
        self._sent = latest
        self._watch_offers(view, now)

    def _watch_offers(self, view: queue_view.QueueView, now: datetime) -> None:
        """While a waiting visitor's offer is still to come, keep one task that pushes the
        queue when it comes due (see OFFER_CHECK_S)."""
        if self._stopped or (self._offers is not None and not self._offers.done()):
            return
        if view.next_offer(now) is not None:
            self._offers = asyncio.create_task(self._offer_when_due(), name="chat-offers")

    async def _offer_when_due(self) -> None:
        due: datetime | None = None
        try:
            while not self._stopped:
                view = await self.view()
                now = self.ctx.clock()
                if due is not None and now >= due:
                    # Pushes only what changed: the offers that came due, to their visitors.
                    await self.push_queue()
                    due = None
                    continue
                due = view.next_offer(now)
                if due is None:
                    return
                await asyncio.sleep(min((due - now).total_seconds(), OFFER_CHECK_S))
        except Exception:
            # The database away: the next change or tick pushes the queue and looks again.
            log.warning("could not tell waiting visitors of the offer", exc_info=True)

    async def stop(self) -> None:
        """The process is stopping: no more pushes of the clock's making."""
        self._stopped = True
        task, self._offers = self._offers, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def greet_staff(self, sid: str, staff_id: int) -> None:
        """Everything a newly connected staff socket needs to draw the console.

        The whole waiting list and colleague list are the ones the last push left, and the
        socket joins the desk room in the same step, so the next change's delta applies to
        exactly what it was given."""
        view = await self.view()
        async with self._desk_lock:
            if not self._desk:
                self._desk = self._desk_lists(view)
            await self._sio.enter_room(sid, DESK, namespace=STAFF_NAMESPACE)
            now = self.ctx.clock()
            queue = [chat_payloads.waiting_now(item, now) for item in self._desk["queue"].values()]
            colleagues = list(self._desk["colleagues"].values())
            await self._sio.emit("queue", {"items": queue}, to=sid, namespace=STAFF_NAMESPACE)
            await self._sio.emit(
                "colleagues", {"items": colleagues}, to=sid, namespace=STAFF_NAMESPACE
            )
        await self._sio.emit(
            "desk", chat_payloads.desk(view, staff_id), to=sid, namespace=STAFF_NAMESPACE
        )
        await self.push_own_chats(staff_id, to=sid)

    @staticmethod
    def _desk_lists(view: queue_view.QueueView) -> dict[str, dict[int, dict[str, Any]]]:
        """The waiting list and the colleagues on the console, by id, in the order shown."""
        return {
            "queue": {item["chat_id"]: item for item in chat_payloads.waiting_items(view)},
            "colleagues": {item["id"]: item for item in chat_payloads.colleagues(view)["items"]},
        }

    async def view(self) -> queue_view.QueueView:
        """The queue as of the last change: reconnect storms read it once, not once each."""
        if self._view is not None:
            return self._view
        version = self._version
        view = await queue_view.view(self.ctx)
        if version == self._version:  # no change committed while it was being read
            self._view = view
            self._status = (view.open, view.next_open)
        return view

    async def current_status(self) -> dict[str, Any]:
        return chat_payloads.status(await self.view())

    async def _close_expired(self, staff_id: int | None = None) -> None:
        """Chat text must not reach a socket whose staff session has run out."""
        if self._console is not None:
            await self._console.close_expired(staff_id)

    def _connected_staff(self) -> set[int]:
        return set() if self._console is None else self._console.connected_staff()


class _Delivery:
    """The turn of one chat (see ChatHub.delivering); a plain class, as it runs on every
    message. The lock is dropped when no one holds or waits for it, so the map holds only
    chats that are busy right now."""

    __slots__ = ("_locks", "_chat_id", "_entry")

    def __init__(self, locks: dict[int, list[Any]], chat_id: int) -> None:
        self._locks = locks
        self._chat_id = chat_id
        entry = locks.get(chat_id)
        if entry is None:
            entry = locks[chat_id] = [asyncio.Lock(), 0]
        self._entry = entry

    async def __aenter__(self) -> None:
        self._entry[1] += 1
        try:
            await self._entry[0].acquire()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, *_exc: object) -> None:
        self._entry[0].release()
        self._leave()

    def _leave(self) -> None:
        self._entry[1] -= 1
        if self._entry[1] == 0 and self._locks.get(self._chat_id) is self._entry:
            del self._locks[self._chat_id]


def _delta(
    before: dict[int, dict[str, Any]], after: dict[int, dict[str, Any]]
) -> dict[str, Any] | None:
    """What changed in a list kept by id: the new or changed entries and the ids gone; None
    when nothing did. One colleague becoming available is one small entry, not the list."""
    items = [item for key, item in after.items() if before.get(key) != item]
    gone = [key for key in before if key not in after]
    return {"items": items, "gone": gone} if items or gone else None
