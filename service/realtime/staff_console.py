"""Socket.io namespace /staff: signed-in counsellors and advisers get the live question queue."""

from __future__ import annotations

import logging
from collections import defaultdict
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


class StaffConsole(socketio.AsyncNamespace):
    def __init__(self, ctx: ModerationContext) -> None:
        super().__init__(NAMESPACE)
        self._ctx = ctx
        self._sids: defaultdict[int, set[str]] = defaultdict(set)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth_data: Any = None) -> None:
        """Only a live staff session cookie gets in; the role decides which rooms it joins."""
        request = environ.get("aiohttp.request")
        token = request.cookies.get(STAFF_COOKIE) if request is not None else None
        member = await auth.staff_for_token(self._ctx.db, self._ctx.clock, token)
        if member is None:
            raise ConnectionRefusedError("sign in first")
        if member.role not in ANSWERING_ROLES:
            raise ConnectionRefusedError("your role does not handle questions")
        await self.save_session(sid, {"staff_id": member.id, "role": member.role})
        self._sids[member.id].add(sid)
        await self.enter_room(sid, MODERATORS)
        await self.emit(QUESTIONS, {"items": await waiting_queue(self._ctx)}, to=sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        for sids in self._sids.values():
            sids.discard(sid)

    async def push_questions(self) -> None:
        """Send the whole waiting list to every moderator after a change was committed."""
        await self.emit(QUESTIONS, {"items": await waiting_queue(self._ctx)}, room=MODERATORS)

    async def disconnect_staff(self, staff_id: int) -> None:
        """Signing out ends that person's live connections too."""
        for sid in list(self._sids.pop(staff_id, set())):
            await self.disconnect(sid)
