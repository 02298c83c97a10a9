"""What retention finds expired and deletes, with the search entries, and its named times."""

from __future__ import annotations

from dataclasses import dataclass

from service.storage import search
from service.storage.db import Database, Writer

# Maintenance names: when the last real sweep ran, and since when a VACUUM is due.
LAST_SWEEP = "retention_swept"
VACUUM_DUE = "vacuum_due"
# Search entries were deleted and their segments merged at once, but the WAL still holds the
# pages as they were until a checkpoint copies the new ones over: the checkpoint task
# (moderation/retention.checkpoint_if_due) runs within a minute while this is set.
SEARCH_DIRTY = "search_dirty"
# Audit rows older than this time may be deleted (migration 0010's triggers refuse every other
# deletion). Set and cleared inside the one transaction that deletes them.
AUDIT_KEPT_FROM = "audit_kept_from"


@dataclass(frozen=True)
class Cutoffs:
    """UTC times: anything that ended, was answered or was rejected before these has expired."""

    chat: str
    private: str
    rejected: str
    now: str
    audit: str


# Each kind: its table, the condition on it, and the cutoffs the condition's `?` take in order.
# The conditions use the indexes on chats(ended_at), questions(status, answered_at) and
# questions(status, rejected_at).
_CHATS = ("chats", "status = 'ended' AND ended_at < ?", ("chat",))
# Answered privately. A rejected question that has an answer (no action does that today)
# counts as answered too, so it cannot outlive both rules.
_PRIVATE = (
    "questions",
    "(status = 'answered' AND answered_at < ?) OR (status = 'rejected' AND answered_at < ?)",
    ("private", "private"),
)
_REJECTED = (
    "questions",
    "status = 'rejected' AND rejected_at < ? AND answered_at IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.question_id = questions.id)",
    ("rejected",),
)
# A visitor is only a token hash. It goes once none of its chats outlive this sweep, it was
# created before the chat period began, and any block on it has run out (a block is kept).
_VISITORS = (
    "visitors",
    "created_at < ? AND (blocked_until IS NULL OR blocked_until <= ?)"
    " AND NOT EXISTS (SELECT 1 FROM chats c WHERE c.visitor_id = visitors.id"
    " AND NOT (c.status = 'ended' AND c.ended_at < ?))",
    ("chat", "now", "chat"),
)
# Audit rows by their time alone (the index audit_log_at).
_AUDIT = ("audit_log", "at < ?", ("audit",))
KINDS = {
    "chats": _CHATS,
    "private_questions": _PRIVATE,
    "rejected_questions": _REJECTED,
    "visitors": _VISITORS,
    "audit_rows": _AUDIT,
}


def _condition(kind: str, cutoffs: Cutoffs) -> tuple[str, str, list[str]]:
    table, where, names = KINDS[kind]
    return table, f"({where})", [getattr(cutoffs, name) for name in names]


async def count(db: Database, kind: str, cutoffs: Cutoffs) -> int:
    """How many rows of `kind` have expired (the dry run's answer)."""
    table, where, params = _condition(kind, cutoffs)
    value = await db.fetch_value(f"SELECT count(*) FROM {table} WHERE {where}", params)
    return int(value or 0)


async def expired_ids(tx: Writer, kind: str, cutoffs: Cutoffs, limit: int) -> list[int]:
    table, where, params = _condition(kind, cutoffs)
    rows = await tx.fetch_all(f"SELECT id FROM {table} WHERE {where} LIMIT ?", [*params, limit])
    return [int(row[0]) for row in rows]


def _marks(ids: list[int]) -> str:
    return ",".join("?" * len(ids))


async def delete_chats(tx: Writer, ids: list[int]) -> int:
    """The chats with their transcript: messages and staff notes."""
    if not ids:
        return 0
    marks = _marks(ids)
    await tx.execute(f"DELETE FROM chat_messages WHERE chat_id IN ({marks})", ids)
    await tx.execute(f"DELETE FROM chat_notes WHERE chat_id IN ({marks})", ids)
    return await tx.execute(f"DELETE FROM chats WHERE id IN ({marks})", ids)


async def delete_questions(tx: Writer, ids: list[int]) -> tuple[int, int]:
    """Questions with their answers, follow-up codes and search entries: (deleted, unindexed).

    Only published questions are indexed, and retention keeps those, but a stray entry is
    removed too: the search index must never outlive the text."""
    if not ids:
        return 0, 0
    marks = _marks(ids)
    indexed = await tx.dialect.indexed_count(tx, "question", ids)
    if indexed:
        for question_id in ids:
            await search.unindex_question(tx, question_id)
    # Answers and their referral cards go by ON DELETE CASCADE; chats keep a NULL link.
    deleted = await tx.execute(f"DELETE FROM questions WHERE id IN ({marks})", ids)
    return deleted, indexed


async def delete_visitors(tx: Writer, ids: list[int]) -> int:
    if not ids:
        return 0
    return await tx.execute(f"DELETE FROM visitors WHERE id IN ({_marks(ids)})", ids)


async def delete_audit_rows(tx: Writer, ids: list[int], cutoff: str) -> int:
    """Expired audit rows: the triggers let these through only while the cut-off is recorded,
    and it is recorded for this transaction alone."""
    if not ids:
        return 0
    await set_time(tx, AUDIT_KEPT_FROM, cutoff)
    deleted = await tx.execute(
        f"DELETE FROM audit_log WHERE id IN ({_marks(ids)}) AND at < ?", [*ids, cutoff]
    )
    await clear_time(tx, AUDIT_KEPT_FROM)
    return deleted


async def compact_search(tx: Writer) -> None:
    """Deleted search entries leave the index's stored pages (SQLite), or wait for the quiet
    hours' VACUUM (PostgreSQL: docs/deploy.md)."""
    await tx.dialect.compact_search(tx)


async def checkpoint(db: Database) -> bool:
    """Pages overwritten since the last checkpoint leave the disk's write-ahead log; False when
    a reader kept it from finishing (try again later)."""
    return await db.checkpoint()


async def get_time(db: Database | Writer, name: str) -> str | None:
    value = await db.fetch_value("SELECT at FROM maintenance WHERE name = ?", (name,))
    return None if value is None else str(value)


async def set_time(tx: Writer, name: str, at: str) -> None:
    await tx.execute(
        "INSERT INTO maintenance (name, at) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET at = excluded.at",
        (name, at),
    )


async def clear_time(tx: Writer, name: str) -> None:
    await tx.execute("DELETE FROM maintenance WHERE name = ?", (name,))
