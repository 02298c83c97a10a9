"""Socket.io namespace /chat: an anonymous visitor's one chat, known only by a random token."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import socketio

from moderation.chat import referral_cards, visitor_actions
from moderation.chat.context import ChatContext
from moderation.errors import ActionError, Conflict, PersonalDetails, RateLimited
from moderation.text import valid_after
from service import auth, i18n
from service.client_address import AddressKeys
from service.crisis import CrisisContacts
from service.rate_limits import RateLimiter
from service.realtime import chat_payloads
from service.realtime.acks import Ack, event, refusal
from service.realtime.chat_hub import VISITOR_NAMESPACE, ChatHub, visitor_room
from service.storage import chats, visitors
from service.storage.chat_messages import Draft, Stored

_TOKEN_BYTES = 18  # 144 bits
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what token_urlsafe makes, nothing else
TYPING_EVERY_S = 1.0  # typing notices are dropped faster than this
# Messages one resume replays; a longer transcript comes in pages (`more` in the ack), so a
# replay stays far below a socket's send queue limit even on a slow link.
REPLAY_PAGE = 200


@dataclass(slots=True)
class _Visitor:
    token_hash: str
    lang: str
    # The keyed hash of the client address at connect (never the address itself), for limits.
    address_key: str
    visitor_id: int | None = None
    # The open chat, remembered so a message needs no lookup; the insert checks it anyway.
    chat_id: int | None = None
    typed_at: float = 0.0
    # In the visitor's room: only after this socket's `resume` (or `start`) has read what it
    # missed, so no live message can reach it first and move its last-seen id past a gap.
    in_room: bool = False


def _language_of(namespace: VisitorChat, sid: str) -> str:
    visitor = namespace._visitors.get(sid)
    return visitor.lang if visitor else i18n.DEFAULT_LANGUAGE


class VisitorChat(socketio.AsyncNamespace):
    def __init__(
        self,
        ctx: ChatContext,
        hub: ChatHub,
        *,
        limiter: RateLimiter,
        addresses: AddressKeys,
        crisis: CrisisContacts,
    ) -> None:
        super().__init__(VISITOR_NAMESPACE)
        self._ctx = ctx
        self._hub = hub
        self._limiter = limiter
        self._addresses = addresses
        # Shown beside a crisis word.
        self._crisis = crisis
        self._visitors: dict[str, _Visitor] = {}
        self._sockets: dict[int, int] = {}

    async def on_connect(self, sid: str, environ: dict[str, Any], auth_data: Any = None) -> None:
        """A known token resumes its visitor; anything else gets a fresh token."""
        request = environ.get("aiohttp.request")
        lang = i18n.DEFAULT_LANGUAGE if request is None else i18n.request_language(request)
        offered = auth_data.get("token") if isinstance(auth_data, dict) else None
        row = None
        if isinstance(offered, str) and _TOKEN_SHAPE.fullmatch(offered):
            row = await visitors.by_token_hash(self._ctx.db, auth.token_hash(offered))
        token = offered if row is not None else secrets.token_urlsafe(_TOKEN_BYTES)
        address_key = self._addresses.key(request, self._ctx.clock())
        visitor = _Visitor(auth.token_hash(str(token)), lang, address_key)
        self._visitors[sid] = visitor
        if row is not None:
            await self._register(visitor, row["id"])
        await self.emit("session", {"token": token}, to=sid)
        await self.emit("status", await self._hub.current_status(), to=sid)

    async def _register(self, visitor: _Visitor, visitor_id: int) -> None:
        """Count the socket for presence; it joins the visitor's room later, in `_enter`."""
        visitor.visitor_id = visitor_id
        self._hub.visitor_languages[visitor_id] = visitor.lang
        self._sockets[visitor_id] = self._sockets.get(visitor_id, 0) + 1
        if self._sockets[visitor_id] == 1:
            await self._presence(visitor_id, here=True, lang=visitor.lang)

    async def _enter(self, sid: str, visitor: _Visitor) -> bool:
        """Join the visitor's room before reading what the socket missed: a message committed
        after that read is then delivered live, one committed before it is in the read.
        Whether the socket was outside the room until now."""
        if visitor.in_room or visitor.visitor_id is None:
            return False
        await self.enter_room(sid, visitor_room(visitor.visitor_id))
        visitor.in_room = True
        return True

    async def _presence(self, visitor_id: int, *, here: bool, lang: str | None = None) -> None:
        """Staff see whether their visitor is connected; idle time (and a waiting chat's
        grace) starts when the last socket closes (on any process)."""
        await visitor_actions.visitor_presence(self._ctx, visitor_id, here=here, lang=lang)

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
        await self._presence(visitor.visitor_id, here=False)

    @event(_language_of)
    async def on_start(self, sid: str, data: dict[str, Any]) -> Ack:
        visitor = self._visitors[sid]
        # Counted before the start so parallel starts cannot slip past; a faulty request
        # (`invalid`), a warning about personal details and a queue already holding enough
        # chats from this address are given back, other refusals (closed, blocked,
        # refused_words) stay counted.
        now = self._ctx.clock()
        try:
            await self._limit("chat_start", visitor, now)
        except RateLimited as exc:
            return self._refused_start(exc, data.get("text"))
        try:
            started = await visitor_actions.start(
                self._ctx,
                visitor.token_hash,
                category=data.get("category"),
                text=data.get("text"),
                client=data.get("client_id"),
                personal_ok=data.get("personal_ok", False),
                address_key=visitor.address_key,
                max_waiting=self._limiter.waiting_cap,
                lang=visitor.lang,
            )
        except ActionError as exc:
            if (
                isinstance(exc, PersonalDetails | visitor_actions.QueueFull)
                or exc.code == "invalid"
            ):
                await self._limiter.release("chat_start", self._limit_keys(visitor), now)
            if isinstance(exc, RateLimited):
                return self._refused_start(exc, data.get("text"))
            if isinstance(exc, PersonalDetails):
                # Not sent yet, but a crisis word in it must bring help now, not after
                # "send anyway".
                return self._with_help(refusal(exc), crisis=exc.crisis, languages=exc.crisis_langs)
            raise
        # Kept so that the address's count can be given back if the visitor leaves before
        # anyone takes the chat.
        await self._limiter.hold(
            started.chat_id, "chat_start", {"address": visitor.address_key}, now
        )
        visitor.chat_id = started.chat_id
        if visitor.visitor_id is None:
            await self._register(visitor, started.visitor_id)
        async with self._hub.delivering(started.chat_id):
            joined = await self._enter(sid, visitor)
            if joined:
                # This socket was outside the room when the assignment and any first reply
                # were announced: tell it now.
                row = await chats.get(self._ctx.db, started.chat_id)
                if row is not None and row["status"] == "active":
                    await self.emit("assigned", chat_payloads.assigned(row), to=sid)
                await self._replay(sid, started.chat_id, started.message_id)
        view = await self._hub.view()
        waiting = view.position_of(started.chat_id)
        if waiting is not None and joined:
            position = chat_payloads.queue_position(waiting, self._ctx.clock())
            await self.emit("queue", position, to=sid)
        ack: Ack = {
            "chat_id": started.chat_id,
            "message_id": started.message_id,
            "position": waiting.position if waiting else 0,
            "eta_s": waiting.eta_s if waiting else 0,
        }
        return self._with_help(ack, crisis=started.crisis, languages=started.crisis_langs)

    def _refused_start(self, exc: RateLimited, text: object) -> Ack:
        """Asked to wait: whoever wrote a crisis word still sees crisis help at once."""
        if not isinstance(text, str):
            return refusal(exc)
        screening = self._ctx.watch.screen(text)
        return self._with_help(
            refusal(exc), crisis=screening.crisis, languages=screening.crisis_languages
        )

    def _with_help(self, ack: Ack, *, crisis: bool, languages: tuple[str, ...]) -> Ack:
        """A crisis word: the acknowledgement brings crisis help, shown at once, in the
        socket's language, noting when the crisis words (`languages`) were written in another
        one."""
        if crisis:
            ack["crisis_help"] = self._crisis.payload(languages)
        return ack

    @event(_language_of)
    async def on_send(self, sid: str, data: dict[str, Any]) -> Ack:
        visitor = self._visitors[sid]
        text = visitor_actions.message_text(data.get("text"))
        client_id = visitor_actions.client_id(data.get("client_id"))
        chat_id = visitor.chat_id or await self._open_chat_id(visitor)
        now = self._ctx.clock()
        await self._limit("chat_message", visitor, now)
        try:
            screening = visitor_actions.screen(self._ctx, text, personal_ok=data.get("personal_ok"))
        except PersonalDetails as exc:
            # Only a warning: the same message sent again as it is must not count twice. A
            # crisis word in it brings help at once all the same.
            await self._limiter.release("chat_message", self._limit_keys(visitor), now)
            return self._with_help(refusal(exc), crisis=exc.crisis, languages=exc.crisis_langs)

        async def store_and_deliver(into: int) -> Stored | None:
            async with self._hub.delivering(into):
                stored = await self._store(visitor, into, text, client_id)
                if stored is None:
                    return None
                if screening.crisis:
                    # Stored first, then urgent (also on a resend, in case the first try
                    # stopped between the two), before the acknowledgement and before staff
                    # see it.
                    await visitor_actions.mark_urgent(self._ctx, stored.chat_id)
                if stored.fresh:
                    alone = self._sockets.get(stored.visitor_id, 0) <= 1
                    await self._hub.message(
                        stored, skip_sid=sid, sender_alone=alone, flags=screening.flags()
                    )
                return stored

        stored = await store_and_deliver(chat_id)
        if stored is None and chat_id == visitor.chat_id:
            # The remembered chat may be over while another tab started a new one: look again.
            visitor.chat_id = None
            stored = await store_and_deliver(await self._open_chat_id(visitor))
        if stored is None:
            visitor.chat_id = None
            raise Conflict(i18n.gettext("This chat has ended."))
        return self._with_help(
            {"id": stored.id}, crisis=screening.crisis, languages=screening.crisis_languages
        )

    def _limit_keys(self, visitor: _Visitor) -> dict[str, str]:
        return {"visitor": visitor.token_hash, "address": visitor.address_key}

    async def _limit(self, action: str, visitor: _Visitor, now: datetime) -> None:
        """Count the event, or refuse it with the seconds to wait."""
        refusal = await self._limiter.take(action, self._limit_keys(visitor), now)
        if refusal is not None:
            raise RateLimited(refusal.message(), retry_after=refusal.retry_after)

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
        async with self._hub.delivering(row["id"]):
            await self._enter(sid, visitor)
            # Read again now that the socket is in the room: an assignment or an ending
            # committed from here on is announced to it, one committed before is in this row.
            row = await chats.get(self._ctx.db, row["id"]) or row
            cursor = await self._replay(sid, row["id"], after)
        view = await self._hub.view()
        state = chat_payloads.visitor_state(row, view, self._ctx.clock())
        return {"chat": state, **cursor}

    async def _replay(self, sid: str, chat_id: int, after: int) -> dict[str, Any]:
        """Emit one page of the chat's messages after `after`, in id order; its cursor."""
        missed = await self._hub.missed(chat_id, after, REPLAY_PAGE)
        cards = await referral_cards.cards_in(self._ctx, missed, i18n.current_language())
        for message in missed:
            payload = chat_payloads.message(message, for_sender="visitor", cards=cards)
            await self.emit("message", payload, to=sid)
        return chat_payloads.replay_cursor(missed, after, REPLAY_PAGE)

    @event(_language_of)
    async def on_end(self, sid: str, data: dict[str, Any]) -> Ack:
        ended = await visitor_actions.end(self._ctx, self._visitors[sid].visitor_id)
        if ended is not None and ended.untaken:
            # Left before anyone took it: the start does not use up the address's allowance.
            await self._limiter.give_back(ended.chat_id)
        elif ended is not None:
            await self._limiter.forget(ended.chat_id)
        return {"ok": True}

    @event(_language_of)
    async def on_rate(self, sid: str, data: dict[str, Any]) -> Ack:
        await visitor_actions.rate(
            self._ctx,
            self._visitors[sid].visitor_id,
            score=data.get("score"),
            helped=data.get("helped"),
        )
        return {"ok": True}

    @event(_language_of)
    async def on_convert(self, sid: str, data: dict[str, Any]) -> Ack:
        submitted = await visitor_actions.convert(self._ctx, self._visitors[sid].visitor_id)
        return {"code": submitted.code, "url": f"/f/{submitted.code}"}
