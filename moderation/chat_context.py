"""What the chat's actions need from the running service, and the change notice they send."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from service.clock import Clock, to_iso
from service.storage.chat_messages import MessageLog
from service.storage.db import Database

STAFF_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class ChatChange:
    """Told to the realtime layer after a commit.

    `chats` changed state (assigned, ended, back in the queue); `staff` need a fresh list of
    their own chats besides those chats' staff; `presence` means availability or opening;
    `questions` that a chat became a question in the moderation queue."""

    chats: tuple[int, ...] = ()
    staff: tuple[int, ...] = ()
    presence: bool = False
    questions: bool = False


@dataclass(frozen=True)
class ChatContext:
    db: Database
    clock: Clock
    messages: MessageLog
    after_commit: Callable[[ChatChange], Awaitable[None]]
    idle: timedelta = timedelta(minutes=10)

    def now_iso(self) -> str:
        return to_iso(self.clock())

    def ago_iso(self, delta: timedelta) -> str:
        return to_iso(self.clock() - delta)

    def present_cutoff(self) -> str:
        """Staff whose last socket closed after this moment still count as present."""
        return self.ago_iso(STAFF_GRACE)
