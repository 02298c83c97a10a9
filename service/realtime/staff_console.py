"""Socket.io namespace /staff: signed-in counsellors and advisers get the question queue and
the chat console."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import socketio

from moderation.chat import staff_actions
from moderation.chat.context import ChatContext
from moderation.context import ModerationContext
from moderation.errors import Forbidden
from service import auth, i18n, keys
from service.clock import from_iso
from service.question_json import waiting_queue
from service.realtime.chat_hub import STAFF_NAMESPACE, ChatHub, chat_staff_room, staff_room
from service.realtime.staff_chat import StaffChatEvents
from service.storage import chats
from service.storage.staff import ANSWERING_ROLES, StaffMember

log = logging.getLogger(__name__)

NAMESPACE = STAFF_NAMESPACE
MODERATORS = "moderators"


def _moderators(lang: str) -> str:
    """The room of the moderators who read in `lang`."""
    return f"{MODERATORS}:{lang}"


# Server → client event names.
QUESTIONS = "questions"


@dataclass(frozen=True, slots=True)
class _Live:
    member: StaffMember
    token_hash: str
    # Parsed once: every message to or from staff checks it against the clock.
    expires_at: datetime
    lang: str
    # Chats this socket knew of when it connected: it gets their messages only after resuming
    # them. A chat assigned later is new to it, so it may hear that chat live at once.
    known: set[int]


class StaffConsole(StaffChatEvents, socketio.AsyncNamespace):
    def __init__(self, ctx: ModerationContext, chat: ChatContext, hub: ChatHub) -> None:
        super().__init__(NAMESPACE)
        self._ctx = ctx
        self.chat = chat
        self.hub = hub
        self._live: dict[str, _Live] = {}
        self._sids_of: dict[int, set[str]] = {}
        self.typed_at = {}

    async def on_connect(self, sid: str, environ: dict[str, Any], auth_data: Any = None) -> None:
        """Only a live staff session cookie gets in; the role decides which rooms it joins."""
        request = environ.get("aiohttp.request")
        token = request.cookies.get(auth.STAFF_COOKIE) if request is not None else None
        if token is None or request is None:
            raise ConnectionRefusedError("sign in first")
        found = await auth.session_for_token(
            self._ctx.db,
            self._ctx.clock,
            token,
            second_factor_required=request.app[keys.SETTINGS].staff_2fa,
        )
        if found is None:
            raise ConnectionRefusedError("sign in first")
        if found.restricted:
            raise ConnectionRefusedError("set up your second factor first")
        member, expires_at = found.member, found.expires_at
        if member.role not in ANSWERING_ROLES:
            raise ConnectionRefusedError("your role does not handle questions")
        # Read before the socket is registered, so no assignment can fall between the two.
        known = {int(row["id"]) for row in await chats.for_staff(self._ctx.db, member.id)}
        self._live[sid] = _Live(
            member,
            auth.token_hash(token),
            from_iso(expires_at),
            i18n.request_language(request),
            known,
        )
        self._sids_of.setdefault(member.id, set()).add(sid)
        # The desk room is joined in greet_staff, together with the lists it is greeted with.
        lang = self._live[sid].lang
        for room in (_moderators(lang), staff_room(member.id)):
            await self.enter_room(sid, room)
        with i18n.speaking(lang):
            await self.emit(QUESTIONS, {"items": await waiting_queue(self._ctx)}, to=sid)
        await self.hub.greet_staff(sid, member.id)
        await staff_actions.staff_connected(self.chat, member)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        live = self._forget(sid)
        if live is not None:
            await staff_actions.staff_disconnected(self.chat, live.member)

    def _forget(self, sid: str) -> _Live | None:
        self.typed_at.pop(sid, None)
        live = self._live.pop(sid, None)
        if live is not None:
            sids = self._sids_of.get(live.member.id, set())
            sids.discard(sid)
            if not sids:
                self._sids_of.pop(live.member.id, None)
        return live

    def language(self, sid: str) -> str:
        live = self._live.get(sid)
        return live.lang if live else i18n.DEFAULT_LANGUAGE

    async def member(self, sid: str) -> StaffMember:
        live = self._live.get(sid)
        if live is None or live.expires_at <= self._ctx.clock():
            await self._close(lambda candidate: candidate is live)
            raise Forbidden(i18n.gettext("Sign in first."))
        return live.member

    def alone(self, staff_id: int) -> bool:
        return len(self._sids_of.get(staff_id, ())) <= 1

    def connected_staff(self) -> set[int]:
        return set(self._sids_of)

    async def join_chat(self, staff_id: int, chat_id: int) -> None:
        """A chat assigned to this person: sockets that never knew of it have missed nothing
        of it, so they receive its messages live from now on (a console still resumes it)."""
        for sid in list(self._sids_of.get(staff_id, ())):
            live = self._live.get(sid)
            if live is not None and chat_id not in live.known:
                live.known.add(chat_id)
                await self.enter_room(sid, chat_staff_room(chat_id, staff_id))

    def resumed(self, sid: str, chat_id: int) -> None:
        live = self._live.get(sid)
        if live is not None:
            live.known.add(chat_id)

    async def push_questions(self) -> None:
        """Send the whole waiting list to every moderator after a change was committed.

        Unpublished text goes out here, so sockets whose session has expired are closed first."""
        await self.close_expired()
        # The list carries labels (masked details, categories): one list per language in use.
        for lang in sorted({live.lang for live in self._live.values()}):
            with i18n.speaking(lang):
                items = await waiting_queue(self._ctx)
            await self.emit(QUESTIONS, {"items": items}, room=_moderators(lang))

    async def close_expired(self, staff_id: int | None = None) -> None:
        """Close sockets whose session has run out: everyone's, or one person's (cheap enough
        to do before every message to them)."""
        now = self._ctx.clock()
        if staff_id is not None:
            sids = self._sids_of.get(staff_id, ())
            if all(self._live[sid].expires_at > now for sid in sids):
                return
        await self._close(lambda live: live.expires_at <= now)

    async def end_session(self, token_hash: str) -> None:
        """Signing out closes the sockets opened with that session, not the person's others."""
        await self._close(lambda live: live.token_hash == token_hash)

    async def close_staff(self, staff_id: int) -> None:
        """Close every socket of one member, after their account or role changed."""
        await self._close(lambda live: live.member.id == staff_id)

    async def _close(self, which: Callable[[_Live], bool]) -> None:
        for sid, live in list(self._live.items()):
            if which(live):
                self._forget(sid)
                await self.disconnect(sid)
                await staff_actions.staff_disconnected(self.chat, live.member)
