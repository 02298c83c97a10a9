"""The chat events of the /staff namespace; every one checks the staff session first."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from moderation import views
from moderation.chat import assignment, referral_cards, staff_actions
from moderation.chat.context import ChatContext
from moderation.chat.visitor_actions import client_id, message_text
from moderation.errors import Conflict, Forbidden, Invalid
from moderation.text import valid_after, valid_id
from service import i18n
from service.realtime import chat_payloads
from service.realtime.acks import Ack, event
from service.realtime.chat_hub import ChatHub, chat_staff_room
from service.realtime.visitor_chat import REPLAY_PAGE, TYPING_EVERY_S
from service.storage import chats
from service.storage.chat_messages import Draft
from service.storage.staff import StaffMember


def _language_of(namespace: StaffChatEvents, sid: str) -> str:
    return namespace.language(sid)


def _chat_id(data: dict[str, Any]) -> int:
    return valid_id(data.get("chat_id"), "chat_id")


class StaffChatEvents:
    """Mixed into the /staff namespace, which supplies `member(sid)` and `emit`."""

    chat: ChatContext
    hub: ChatHub
    typed_at: dict[str, float]

    def language(self, sid: str) -> str:
        raise NotImplementedError

    def resumed(self, sid: str, chat_id: int) -> None:
        """The socket has joined this chat's messages."""
        raise NotImplementedError

    def alone(self, staff_id: int) -> bool:
        """Whether the staff member has just one socket open."""
        raise NotImplementedError

    async def member(self, sid: str) -> StaffMember:
        """The socket's staff member while their session lasts; raises Forbidden after."""
        raise NotImplementedError

    if TYPE_CHECKING:  # supplied by socketio.AsyncNamespace, which comes later in the MRO

        async def emit(
            self, event: str, data: Any = None, to: str | None = None, room: str | None = None
        ) -> None: ...

        async def enter_room(self, sid: str, room: str) -> None: ...

    @event(_language_of)
    async def on_available(self, sid: str, data: dict[str, Any]) -> Ack:
        await staff_actions.do_set_available(
            self.chat, data.get("on"), acting_staff=await self.member(sid)
        )
        return {"ok": True}

    @event(_language_of)
    async def on_accept(self, sid: str, data: dict[str, Any]) -> Ack:
        chat_id = None if data.get("chat_id") is None else _chat_id(data)
        taken = await assignment.do_accept(self.chat, chat_id, acting_staff=await self.member(sid))
        return {"chat_id": taken}

    @event(_language_of)
    async def on_send(self, sid: str, data: dict[str, Any]) -> Ack:
        staff = await self.member(sid)
        chat_id = _chat_id(data)
        text = message_text(data.get("text"))
        draft = Draft(
            chat_id, "staff", staff.id, text, client_id(data.get("client_id")), self.chat.now_iso()
        )
        async with self.hub.delivering(chat_id):
            stored = await self.chat.messages.append(draft)
            if stored is not None and stored.fresh:
                await self.hub.message(stored, skip_sid=sid, sender_alone=self.alone(staff.id))
        if stored is None:
            raise Conflict(i18n.gettext("This chat is not yours or has ended."))
        return {"id": stored.id}

    @event(_language_of)
    async def on_refer(self, sid: str, data: dict[str, Any]) -> Ack:
        """Send a directory service to the visitor as a card of its own."""
        staff = await self.member(sid)
        own = i18n.current_language()
        chat_id = _chat_id(data)
        async with self.hub.delivering(chat_id):
            stored = await referral_cards.do_refer(
                self.chat,
                chat_id,
                data.get("service_id"),
                client_id(data.get("client_id")),
                acting_staff=staff,
                language_of=lambda visitor_id: self.hub.visitor_languages.get(visitor_id, own),
            )
            if stored.fresh:
                await self.hub.message(stored, skip_sid=sid, sender_alone=self.alone(staff.id))
        return {"id": stored.id, "referral": stored.referral}

    @event(_language_of)
    async def on_resume(self, sid: str, data: dict[str, Any]) -> Ack:
        staff = await self.member(sid)
        chat_id = _chat_id(data)
        after = valid_after(data.get("after", 0))
        row = await chats.get(self.chat.db, chat_id)
        if row is None or staff.id not in (row["assigned_to"], row["handled_by"]):
            raise Forbidden(i18n.gettext("This chat is not yours."))
        # Opening a transcript is audited (once in views.VIEW_EVERY, as consoles reconnect).
        await views.record_view(
            self.chat, target_type="chat", target_id=chat_id, acting_staff=staff
        )
        async with self.hub.delivering(chat_id):
            # Joined before the read: what commits after it comes live (see chat_staff_room).
            await self.enter_room(sid, chat_staff_room(chat_id, staff.id))
            self.resumed(sid, chat_id)
            missed = await self.hub.missed(chat_id, after, REPLAY_PAGE)
            cards = await referral_cards.cards_in(self.chat, missed, i18n.current_language())
            for message in missed:
                # Watched words are found again on replay (messages keep no flags of their own).
                flags = (
                    self.chat.watch.screen(message["text"]).flags()
                    if message["sender"] == "visitor"
                    else None
                )
                payload = chat_payloads.message(
                    message, for_sender="staff", chat_id=chat_id, cards=cards, flags=flags
                )
                await self.emit("message", payload, to=sid)
        return {"ok": True, **chat_payloads.replay_cursor(missed, after, REPLAY_PAGE)}

    async def on_typing(self, sid: str, data: Any = None) -> None:
        now = time.monotonic()
        if now - self.typed_at.get(sid, 0.0) < TYPING_EVERY_S:
            return
        self.typed_at[sid] = now
        try:
            staff = await self.member(sid)
        except Forbidden:
            return
        try:
            chat_id = _chat_id(data if isinstance(data, dict) else {})
        except Invalid:
            return
        row = await chats.get(self.chat.db, chat_id)
        if row is not None and row["assigned_to"] == staff.id and row["status"] == "active":
            await self.hub.typing(row, sender="staff")

    @event(_language_of)
    async def on_transfer(self, sid: str, data: dict[str, Any]) -> Ack:
        """The conversation's line about the transfer goes out after the commit, in the chat's
        turn like any message: to the visitor and to whoever holds the chat now."""
        staff = await self.member(sid)
        chat_id = _chat_id(data)
        async with self.hub.delivering(chat_id):
            line = await staff_actions.do_transfer(
                self.chat,
                chat_id,
                acting_staff=staff,
                to_staff=data.get("to_staff"),
                to_role=data.get("to_role"),
                note=data.get("note") or "",
            )
            await self.hub.message(line)
        return {"ok": True}

    @event(_language_of)
    async def on_end(self, sid: str, data: dict[str, Any]) -> Ack:
        await staff_actions.do_end(
            self.chat,
            data.get("chat_id"),
            acting_staff=await self.member(sid),
            category=data.get("category"),
            outcome=data.get("outcome"),
        )
        return {"ok": True}

    @event(_language_of)
    async def on_block(self, sid: str, data: dict[str, Any]) -> Ack:
        await staff_actions.do_block(
            self.chat,
            data.get("chat_id"),
            acting_staff=await self.member(sid),
            hours=data.get("hours"),
            reason=data.get("reason"),
        )
        return {"ok": True}
