"""What a moderation step needs from the running service, passed in rather than imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from moderation.screening import Watch
from service.changes import change_kind
from service.clock import Clock, to_iso
from service.storage.db import Database


@change_kind("board")
@dataclass(frozen=True)
class Change:
    """Announced by a transaction, told to every process after the commit: which question
    changed, if one did, and whether the public board's pages must be rendered again."""

    question_id: int | None = None
    board: bool = False


@dataclass(frozen=True)
class ModerationContext:
    db: Database
    clock: Clock
    claim_idle: timedelta = timedelta(minutes=30)
    watch: Watch = field(default_factory=Watch)

    def now(self) -> datetime:
        return self.clock()

    def now_iso(self) -> str:
        return to_iso(self.clock())

    def claim_cutoff_iso(self) -> str:
        """Claims touched before this moment have lapsed."""
        return to_iso(self.clock() - self.claim_idle)
