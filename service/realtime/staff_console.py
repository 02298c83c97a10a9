"""Socket.io namespace /staff: signed-in counsellors and advisers get the live question queue."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import socketio

from moderation.context import ModerationContext
from service import auth
from service.http.serialize import waiting_queue
from service.http.staff_session import STAFF_COOKIE
from service.storage.staff import ANSWERING_ROLES

log = logging.getLogger(__name__)

NAMESPACE = "/staff"
MODERATORS = "moderators"
# Server → client event names.
QUESTIONS = "questions"


@dataclass(frozen=True)
class _Live:
    staff_id: int
    token_hash: str
    expires_at: str


class StaffConsole(socketio.AsyncNamespace):
    def __init__(self, ctx: ModerationContext) -> None:
        super().__init__(NAMESPACE)
        self._ctx = ctx
        self._live: dict[str, _Live] = {}

    async def on_connect(self, sid: str, environ: dict[str, Any], auth_data: Any = None) -> None:
        """Only a live staff session cookie gets in; the role decides which rooms it joins."""
        request = environ.get("aiohttp.request")
        token = request.cookies.get(STAFF_COOKIE) if request is not None else None
        found = await auth.session_for_token(self._ctx.db, self._ctx.clock, token)
        if found is None or token is None:
            raise ConnectionRefusedError("sign in first")
        member, expires_at = found
        if member.role not in ANSWERING_ROLES:
            raise ConnectionRefusedError("your role does not handle questions")
        await self.save_session(sid, {"staff_id": member.id, "role": member.role})
        self._live[sid] = _Live(member.id, auth.token_hash(token), expires_at)
        await self.enter_room(sid, MODERATORS)
        await self.emit(QUESTIONS, {"items": await waiting_queue(self._ctx)}, to=sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._live.pop(sid, None)

    async def push_questions(self) -> None:
        """Send the whole waiting list to every moderator after a change was committed.

        Unpublished text goes out here, so sockets whose session has expired are closed first."""
        now = self._ctx.now_iso()
        await self._close(lambda live: live.expires_at <= now)
        await self.emit(QUESTIONS, {"items": await waiting_queue(self._ctx)}, room=MODERATORS)

    async def end_session(self, token_hash: str) -> None:
        """Signing out closes the sockets opened with that session, not the person's others."""
        await self._close(lambda live: live.token_hash == token_hash)

    async def _close(self, which: Callable[[_Live], bool]) -> None:
        for sid, live in list(self._live.items()):
            if which(live):
                self._live.pop(sid, None)
                await self.disconnect(sid)
