"""What the chat's actions need from the running service, and the change notice they send."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from moderation.screening import Watch
from service.changes import change_kind
from service.clock import Clock, to_iso
from service.storage import audit
from service.storage.chat_messages import MessageLog
from service.storage.db import Database, Writer
from service.storage.staff import StaffMember

STAFF_GRACE = timedelta(minutes=2)


@change_kind("chat")
@dataclass(frozen=True)
class ChatChange:
    """Announced by a transaction, told to every process's realtime layer after the commit.

    `chats` changed state (assigned, ended, back in the queue); `staff` need a fresh list of
    their own chats besides those chats' staff; `ended` are the chats this change ended (told
    once); `questions` means a chat became a question in the moderation queue. The queue,
    presence and opening status are pushed after every change."""

    chats: tuple[int, ...] = ()
    staff: tuple[int, ...] = ()
    ended: tuple[int, ...] = ()
    questions: bool = False
    # False when only `staff`'s own chat lists changed (a visitor came or went): no queue push.
    queue: bool = True


@dataclass(frozen=True)
class ChatContext:
    db: Database
    clock: Clock
    messages: MessageLog
    idle: timedelta = timedelta(minutes=10)
    # A waiting chat whose visitor has no socket open leaves the queue after this long (ended
    # as abandoned); coming back sooner keeps the place. Long enough for a reload, a lift or a
    # phone switching networks; a closed tab frees the place within it and a tick.
    queue_grace: timedelta = timedelta(seconds=120)
    watch: Watch = field(default_factory=Watch)
    # This process, for the sockets it holds (presence is kept per process), and how long
    # another process may go without a beat before it is taken for dead.
    process: str = "main"
    process_dead_after: timedelta = timedelta(seconds=45)

    def now_iso(self) -> str:
        return to_iso(self.clock())

    def ago_iso(self, delta: timedelta) -> str:
        return to_iso(self.clock() - delta)

    async def audit(
        self,
        tx: Writer,
        staff: StaffMember,
        action: str,
        target_type: str,
        target_id: int | None,
        **detail: object,
    ) -> None:
        """One audit row: who did what to which item, never what a visitor wrote."""
        await audit.append(
            tx,
            at=self.now_iso(),
            staff_id=staff.id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail or None,
        )

    def dead_cutoff(self) -> str:
        """Processes whose last beat is older than this have stopped."""
        return self.ago_iso(self.process_dead_after)

    def present_cutoff(self) -> str:
        """Staff whose last socket closed after this moment still count as present."""
        return self.ago_iso(STAFF_GRACE)
