"""Retention: delete what people wrote once its period is over, on a schedule and by command.

Chat transcripts go `chat_days` after the chat ends, privately answered questions
`private_days` after their answer, rejected questions never answered `rejected_days` after the
rejection. Published questions stay; usage events hold no text and stay."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from service import background
from service.clock import LOCAL_ZONE, Clock, to_iso
from service.leadership import Duty
from service.settings import Settings
from service.storage import audit, retention, staff
from service.storage.db import Database

log = logging.getLogger(__name__)

BATCH = 500  # rows per transaction, so the single writer is never held for long
# How often the checkpoint task looks for deleted search entries still in the WAL: an asker's
# deleted question leaves the disk within this, well inside the minute the README promises.
CHECKPOINT_EVERY_S = 20.0
QUIET_HOURS = range(3, 5)  # VACUUM runs between 03:00 and 05:00 Helsinki time
ACTION = "retention_swept"

# In the order swept: chats before visitors, whose rule needs the chats gone.
LABELS = {
    "chats": "chat transcripts",
    "private_questions": "private questions",
    "rejected_questions": "rejected questions",
    "visitors": "chat visitors",
    "audit_rows": "audit log entries",
}


@dataclass(frozen=True)
class Policy:
    """Days each kind is kept."""

    chat_days: int = 30
    private_days: int = 90
    rejected_days: int = 30
    # Who did what stays for two years by default: long enough to look into a complaint.
    audit_days: int = 730
    # Failed sign-ins count for the lock window only, and are kept no longer.
    login_lock_minutes: int = 15

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            chat_days=settings.retain_chat_days,
            private_days=settings.retain_private_days,
            rejected_days=settings.retain_rejected_days,
            audit_days=settings.retain_audit_days,
            login_lock_minutes=settings.login_lock_minutes,
        )

    def cutoffs(self, now: datetime) -> retention.Cutoffs:
        return retention.Cutoffs(
            chat=to_iso(now - timedelta(days=self.chat_days)),
            private=to_iso(now - timedelta(days=self.private_days)),
            rejected=to_iso(now - timedelta(days=self.rejected_days)),
            now=to_iso(now),
            audit=to_iso(now - timedelta(days=self.audit_days)),
        )


@dataclass(frozen=True)
class Swept:
    """Rows deleted per kind, or on a dry run the rows that would be."""

    chats: int = 0
    private_questions: int = 0
    rejected_questions: int = 0
    visitors: int = 0
    audit_rows: int = 0
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k in LABELS}

    @property
    def total(self) -> int:
        return sum(self.counts().values())

    def lines(self) -> list[str]:
        """In plain words, for the command line."""
        verb = "would delete" if self.dry_run else "deleted"
        return [f"{LABELS[kind]}: {n} {verb}" for kind, n in self.counts().items()]


def _swept(counts: dict[str, int], *, dry_run: bool) -> Swept:
    return Swept(
        chats=counts["chats"],
        private_questions=counts["private_questions"],
        rejected_questions=counts["rejected_questions"],
        visitors=counts["visitors"],
        audit_rows=counts["audit_rows"],
        dry_run=dry_run,
    )


async def sweep(db: Database, now: datetime, policy: Policy, *, dry_run: bool = False) -> Swept:
    """Delete everything past its period in batches, one transaction each; a dry run counts."""
    cutoffs = policy.cutoffs(now)
    if dry_run:
        found = {kind: await retention.count(db, kind, cutoffs) for kind in LABELS}
        return _swept(found, dry_run=True)
    deleted = dict.fromkeys(LABELS, 0)
    unindexed = 0
    for kind in LABELS:
        while True:
            async with db.transaction() as tx:
                ids = await retention.expired_ids(tx, kind, cutoffs, BATCH)
                if kind == "chats":
                    deleted[kind] += await retention.delete_chats(tx, ids)
                elif kind == "visitors":
                    deleted[kind] += await retention.delete_visitors(tx, ids)
                elif kind == "audit_rows":
                    deleted[kind] += await retention.delete_audit_rows(tx, ids, cutoffs.audit)
                else:
                    gone, indexed = await retention.delete_questions(tx, ids)
                    deleted[kind] += gone
                    unindexed += indexed
            if len(ids) < BATCH:
                break
    swept = _swept(deleted, dry_run=False)
    at = to_iso(now)
    async with db.transaction() as tx:
        await retention.set_time(tx, retention.LAST_SWEEP, at)
        await staff.forget_failures_before(
            tx, to_iso(now - timedelta(minutes=policy.login_lock_minutes))
        )
        if unindexed:
            await retention.compact_search(tx)
            await retention.set_time(tx, retention.SEARCH_DIRTY, at)
        if swept.total and await retention.get_time(tx, retention.VACUUM_DUE) is None:
            await retention.set_time(tx, retention.VACUUM_DUE, at)
        if swept.total:
            # Counts only: the audit row never says what was deleted.
            await audit.append(
                tx,
                at=at,
                staff_id=None,
                action=ACTION,
                target_type="retention",
                target_id=None,
                detail=swept.counts(),
            )
    if swept.total:
        log.info("retention: %s", ", ".join(swept.lines()))
    else:
        log.info("retention: nothing has expired")
    return swept


async def checkpoint_if_due(db: Database, now: datetime) -> bool:
    """After search entries were deleted: checkpoint, so the WAL's old copies of the index's
    pages (which still hold the words) leave the disk, and schedule a VACUUM for the night."""
    if await retention.get_time(db, retention.SEARCH_DIRTY) is None:
        return False
    async with db.transaction() as tx:
        await retention.clear_time(tx, retention.SEARCH_DIRTY)
        if await retention.get_time(tx, retention.VACUUM_DUE) is None:
            await retention.set_time(tx, retention.VACUUM_DUE, to_iso(now))
    if await retention.checkpoint(db):
        return True
    async with db.transaction() as tx:  # a long read held it up: the next round tries again
        await retention.set_time(tx, retention.SEARCH_DIRTY, to_iso(now))
    return False


async def checkpoint_forever(db: Database, clock: Clock, *, every_s: float) -> None:
    """Look for deleted search entries every `every_s`; a failure is logged and retried."""
    await background.every(
        every_s,
        lambda: checkpoint_if_due(db, clock()),
        "checkpoint after a deletion failed; trying again",
    )


def quiet(now: datetime) -> bool:
    """The night hours when a VACUUM, which holds the writer for its whole run, bothers no one."""
    return now.astimezone(LOCAL_ZONE).hour in QUIET_HOURS


async def vacuum_if_due(db: Database, now: datetime, *, force: bool = False) -> bool:
    """VACUUM once deletions have scheduled it, in the quiet hours unless `force`d."""
    if await retention.get_time(db, retention.VACUUM_DUE) is None:
        return False
    if not (force or quiet(now)):
        return False
    await db.vacuum()
    async with db.transaction() as tx:
        await retention.clear_time(tx, retention.VACUUM_DUE)
    log.info("retention: database vacuumed")
    return True


async def run_forever(
    db: Database, clock: Clock, policy: Policy, *, every_s: float, first_delay_s: float
) -> None:
    """Sweep shortly after start and then every `every_s`; a failure is logged and retried."""
    await asyncio.sleep(first_delay_s)
    while True:
        background.record_run()
        try:
            await sweep(db, clock(), policy)
            await vacuum_if_due(db, clock())
        except Exception:
            background.record_failure()
            log.exception("retention sweep failed; trying again at the next interval")
        await asyncio.sleep(every_s)


def duties(db: Database, clock: Clock, settings: Settings) -> list[Duty]:
    """The sweep (with the nightly vacuum) and the checkpoint, for the one leading process."""
    return [
        (
            "retention",
            lambda: run_forever(
                db,
                clock,
                Policy.from_settings(settings),
                every_s=settings.retention_every_minutes * 60.0,
                first_delay_s=settings.retention_first_delay_seconds,
            ),
        ),
        ("checkpoint", lambda: checkpoint_forever(db, clock, every_s=CHECKPOINT_EVERY_S)),
    ]
