"""Socket.io namespace /chat: an anonymous visitor's one chat, known only by a random token."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import socketio

from moderation import chat_referrals, chat_visitor
from moderation.chat_context import ChatContext
from moderation.errors import Conflict, RateLimited
from moderation.text import valid_after
from service import auth, i18n
from service.chat.limits import SlidingWindow
from service.http.middleware import request_language
from service.realtime import chat_payloads
from service.realtime.acks import Ack, event
from service.realtime.chat_hub import VISITOR_NAMESPACE, ChatHub, visitor_room
from service.storage import chat_messages, chats, visitors
from service.storage.chat_messages import Draft, Stored

_TOKEN_BYTES = 18  # 144 bits
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what token_urlsafe makes, nothing else
TYPING_EVERY_S = 1.0  # typing notices are dropped faster than this
MESSAGES_PER_MINUTE = 20


@dataclass(slots=True)
class _Visitor:
    token_hash: str
    lang: str
    visitor_id: int | None = None
    # The open chat, remembered so a message needs no lookup; the insert checks it anyway.
    chat_id: int | None = None
    typed_at: float = 0.0


def _language_of(namespace: VisitorChat, sid: str) -> str:
    visitor = namespace._visitors.get(sid)
    return visitor.lang if visitor else i18n.DEFAULT_LANGUAGE


class VisitorChat(socketio.AsyncNamespace):
    def __init__(self, ctx: ChatContext, hub: ChatHub, *, rate_limits: bool = True) -> None:
        super().__init__(VISITOR_NAMESPACE)
        self._ctx = ctx
        self._hub = hub
        self._visitors: dict[str, _Visitor] = {}
        self._sockets: dict[int, int] = {}
        self._pruned_at = 0.0
        self._limit = SlidingWindow(MESSAGES_PER_MINUTE, 60.0) if rate_limits else None

    async def on_connect(self, sid: str, environ: dict[str, Any], auth_data: Any = None) -> None:
        """A known token resumes its visitor; anything else gets a fresh token."""
        request = environ.get("aiohttp.request")
        lang = i18n.DEFAULT_LANGUAGE if request is None else request_language(request)
        offered = auth_data.get("token") if isinstance(auth_data, dict) else None
        row = None
        if isinstance(offered, str) and _TOKEN_SHAPE.fullmatch(offered):
            row = await visitors.by_token_hash(self._ctx.db, auth.token_hash(offered))
        token = offered if row is not None else secrets.token_urlsafe(_TOKEN_BYTES)
        visitor = _Visitor(auth.token_hash(str(token)), lang)
        self._visitors[sid] = visitor
        if row is not None:
            await self._join(sid, visitor, row["id"])
        await self.emit("session", {"token": token}, to=sid)
        await self.emit("status", await self._hub.current_status(), to=sid)

    async def _join(self, sid: str, visitor: _Visitor, visitor_id: int) -> None:
        visitor.visitor_id = visitor_id
        self._hub.visitor_languages[visitor_id] = visitor.lang
        await self.enter_room(sid, visitor_room(visitor_id))
        self._sockets[visitor_id] = self._sockets.get(visitor_id, 0) + 1
        if self._sockets[visitor_id] == 1:
            await self._presence(visitor_id, here=True)

    async def _presence(self, visitor_id: int, *, here: bool) -> None:
        """Staff see whether their visitor is connected; idle time starts when the last socket
        closes."""
        for chat_id in await chat_visitor.visitor_presence(self._ctx, visitor_id, here=here):
            row = await chats.get(self._ctx.db, chat_id)
            if row is not None and row["assigned_to"] is not None:
                await self._hub.push_own_chats(row["assigned_to"])

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        visitor = self._visitors.pop(sid, None)
        if visitor is None or visitor.visitor_id is None:
            return
        left = self._sockets.get(visitor.visitor_id, 1) - 1
        if left > 0:
            self._sockets[visitor.visitor_id] = left
            return
        self._sockets.pop(visitor.visitor_id, None)
        self._hub.visitor_languages.pop(visitor.visitor_id, None)
        now = time.monotonic()
        if self._limit is not None and now - self._pruned_at > 60:
            # Not forgotten on disconnect, or reconnecting would reset the limit.
            self._limit.prune(now)
            self._pruned_at = now
        await self._presence(visitor.visitor_id, here=False)

    @event(_language_of)
    async def on_start(self, sid: str, data: dict[str, Any]) -> Ack:
        visitor = self._visitors[sid]
        started = await chat_visitor.start(
            self._ctx,
            visitor.token_hash,
            category=data.get("category"),
            text=data.get("text"),
            client=data.get("client_id"),
        )
        visitor.chat_id = started.chat_id
        joined = visitor.visitor_id is None
        if joined:
            # The room did not exist when the assignment was announced: tell this socket.
            await self._join(sid, visitor, started.visitor_id)
            row = await chats.get(self._ctx.db, started.chat_id)
            if row is not None and row["status"] == "active":
                await self.emit("assigned", chat_payloads.assigned(row), to=sid)
        view = await self._hub.view()
        waiting = view.position_of(started.chat_id)
        if waiting is not None and joined:
            await self.emit("queue", chat_payloads.queue_position(waiting), to=sid)
        return {
            "chat_id": started.chat_id,
            "message_id": started.message_id,
            "position": waiting.position if waiting else 0,
            "eta_s": waiting.eta_s if waiting else 0,
        }

    @event(_language_of)
    async def on_send(self, sid: str, data: dict[str, Any]) -> Ack:
        visitor = self._visitors[sid]
        text = chat_visitor.message_text(data.get("text"))
        client_id = chat_visitor.client_id(data.get("client_id"))
        chat_id = visitor.chat_id or await self._open_chat_id(visitor)
        if self._limit is not None:
            wait = self._limit.retry_after(visitor.visitor_id, time.monotonic())
            if wait:
                raise RateLimited(
                    i18n.gettext("You are sending messages very fast. Wait a moment."),
                    retry_after=wait,
                )
        stored = await self._store(visitor, chat_id, text, client_id)
        if stored is None and chat_id == visitor.chat_id:
            # The remembered chat may be over while another tab started a new one: look again.
            visitor.chat_id = None
            stored = await self._store(visitor, await self._open_chat_id(visitor), text, client_id)
        if stored is None:
            visitor.chat_id = None
            raise Conflict(i18n.gettext("This chat has ended."))
        if stored.fresh:
            alone = self._sockets.get(stored.visitor_id, 0) <= 1
            await self._hub.message(stored, skip_sid=sid, sender_alone=alone)
        return {"id": stored.id}

    async def _store(
        self, visitor: _Visitor, chat_id: int, text: str, client_id: str
    ) -> Stored | None:
        draft = Draft(
            chat_id, "visitor", int(visitor.visitor_id or 0), text, client_id, self._ctx.now_iso()
        )
        return await self._ctx.messages.append(draft)

    async def _open_chat_id(self, visitor: _Visitor) -> int:
        row = None
        if visitor.visitor_id is not None:
            row = await chats.newest_for_visitor(self._ctx.db, visitor.visitor_id)
        if row is None or row["status"] not in chats.OPEN:
            raise Conflict(i18n.gettext("You have no open chat."))
        visitor.chat_id = int(row["id"])
        return visitor.chat_id

    async def on_typing(self, sid: str, data: Any = None) -> None:
        visitor = self._visitors.get(sid)
        if visitor is None or visitor.visitor_id is None or visitor.chat_id is None:
            return
        now = time.monotonic()
        if now - visitor.typed_at < TYPING_EVERY_S:
            return
        visitor.typed_at = now
        row = await chats.get(self._ctx.db, visitor.chat_id)
        if row is not None and row["status"] == "active":
            await self._hub.typing(row, sender="visitor")

    @event(_language_of)
    async def on_resume(self, sid: str, data: dict[str, Any]) -> Ack:
        """Missed messages first, in id order, then the chat's state in the acknowledgement."""
        after = valid_after(data.get("after", 0))
        visitor = self._visitors[sid]
        row = None
        if visitor.visitor_id is not None:
            row = await chats.newest_for_visitor(self._ctx.db, visitor.visitor_id)
        if row is None:
            return {"chat": None}
        if row["status"] in chats.OPEN:
            visitor.chat_id = int(row["id"])
        missed = await chat_messages.after(self._ctx.db, row["id"], after)
        cards = await chat_referrals.cards_in(self._ctx, missed, i18n.current_language())
        for message in missed:
            payload = chat_payloads.message(message, for_sender="visitor", cards=cards)
            await self.emit("message", payload, to=sid)
        return {"chat": chat_payloads.visitor_state(row, await self._hub.view())}

    @event(_language_of)
    async def on_end(self, sid: str, data: dict[str, Any]) -> Ack:
        await chat_visitor.end(self._ctx, self._visitors[sid].visitor_id)
        return {"ok": True}

    @event(_language_of)
    async def on_rate(self, sid: str, data: dict[str, Any]) -> Ack:
        await chat_visitor.rate(
            self._ctx,
            self._visitors[sid].visitor_id,
            score=data.get("score"),
            helped=data.get("helped"),
        )
        return {"ok": True}

    @event(_language_of)
    async def on_convert(self, sid: str, data: dict[str, Any]) -> Ack:
        submitted = await chat_visitor.convert(self._ctx, self._visitors[sid].visitor_id)
        return {"code": submitted.code, "url": f"/f/{submitted.code}"}
