"""Chat messages, written in group commits: each is stored and has its id before anyone sees it.

One SQLite commit per message caps the chat near four thousand messages a second on this kind
of machine, and with synchronous=FULL every commit is also a flush to disk; messages that arrive
while a commit is running, or within a moment of the previous one while the chat is busy, are
written together in the next one, so a busy chat service pays one commit per batch, and a quiet
one still commits at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from service.clock import from_iso
from service.storage import database_down, disk_full, events
from service.storage.db import Database, Row, Writer

log = logging.getLogger(__name__)

# Seven parameters a row keeps one batch under SQLite's 32,766-parameter limit.
MAX_BATCH = 500
# A commit within the last BUSY_S means messages are flowing: the next batch waits GATHER_S
# for company. Each commit is flushed to disk (about 0.1 ms of CPU and 0.25 ms here), so at a
# thousand messages a second sharing commits saves most of the writer's work for 3 ms of latency;
# a quiet chat still commits at once.
BUSY_S = 0.05
GATHER_S = 0.003
GATHER_ENOUGH = 16  # already this many waiting (a flood): no reason to wait for more

_INSERT_HEAD = "WITH v(n, chat_id, sender, actor, text, at, client_id) AS (VALUES "
# PostgreSQL gives each VALUES column the type of its typed rows: the first row names them.
_FIRST_ROW = (
    "(CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT),"
    " CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT))"
)
_ROW = "(?, ?, ?, ?, ?, ?, ?)"
# A visitor writes only to their own open chat; staff only to an active chat assigned to them.
_INSERT_TAIL = """)
INSERT INTO chat_messages (chat_id, sender, staff_id, text, at, client_id)
SELECT v.chat_id, v.sender, CASE WHEN v.sender = 'staff' THEN v.actor END, v.text, v.at,
       v.client_id
FROM v JOIN chats c ON c.id = v.chat_id
WHERE (v.sender = 'visitor' AND c.visitor_id = v.actor AND c.status IN ('waiting', 'active'))
   OR (v.sender = 'staff' AND c.assigned_to = v.actor AND c.status = 'active')
ORDER BY v.n
ON CONFLICT (chat_id, sender, client_id) DO NOTHING
RETURNING id, chat_id, client_id, sender,
    (SELECT visitor_id FROM chats WHERE chats.id = chat_id) AS visitor_id,
    (SELECT assigned_to FROM chats WHERE chats.id = chat_id) AS staff_id,
    (SELECT first_reply_at IS NULL FROM chats WHERE chats.id = chat_id) AS unreplied,
    (SELECT COALESCE(s.first_name, s.username) FROM staff s WHERE s.id = staff_id) AS name
"""


@dataclass(frozen=True)
class Draft:
    chat_id: int
    sender: str  # "visitor" or "staff"
    actor_id: int  # the visitor's or staff member's id
    text: str
    client_id: str
    at: str


@dataclass(frozen=True)
class Stored:
    id: int
    chat_id: int
    sender: str
    text: str
    at: str
    client_id: str | None
    # False when this client_id was already stored: acknowledge again, deliver nothing new.
    fresh: bool = True
    visitor_id: int = 0
    staff_id: int | None = None
    # The staff member's first name on their messages, so a replay still says who wrote.
    name: str | None = None
    # A referral card: the directory service it points to, and the card as it is shown.
    service_id: str | None = None
    referral: dict[str, Any] | None = None


class MessageLog:
    """Queues drafts and writes them in batches on the database's single writer."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: list[tuple[Draft, asyncio.Future[Stored | None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Fresh messages stored so far, for /metrics (a resend acknowledged again is not one).
        self.stored = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="chat-message-log")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def append(self, draft: Draft) -> Stored | None:
        """Store the message; None when the sender may not write to that chat now."""
        future: asyncio.Future[Stored | None] = asyncio.get_running_loop().create_future()
        self._pending.append((draft, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        committed_at = -1.0
        while True:
            await self._wake.wait()
            self._wake.clear()
            if loop.time() - committed_at < BUSY_S and len(self._pending) < GATHER_ENOUGH:
                # Busy: gather what arrives in the next moment into the same commit, whose
                # flush to disk (synchronous=FULL) then serves them all.
                await asyncio.sleep(GATHER_S)
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                live = [(d, f) for d, f in batch if not f.done()]
                if not live:
                    continue
                try:
                    results = await self._write([d for d, _ in live])
                except Exception as exc:  # every waiting sender hears of the failure
                    # A full disk or an absent database server fails every batch: the senders'
                    # answers count it in a log line once a minute.
                    if not (disk_full.is_disk_full(exc) or database_down.is_database_down(exc)):
                        log.exception("storing %d chat messages failed", len(live))
                    for _, future in live:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                committed_at = loop.time()
                self.stored += sum(1 for r in results if r is not None and r.fresh)
                # Resolve in id order, so the senders broadcast in the order the ids say.
                order = sorted(range(len(live)), key=lambda i: _sort_key(results[i]))
                for i in order:
                    if not live[i][1].done():
                        live[i][1].set_result(results[i])

    async def _write(self, drafts: list[Draft]) -> list[Stored | None]:
        """One INSERT for the whole batch, committed by itself; the recipients come back from
        its RETURNING clause, read in the same statement that checked the sender's right."""
        params: list[object] = []
        for n, d in enumerate(drafts):
            params += (n, d.chat_id, d.sender, d.actor_id, d.text, d.at, d.client_id)
        sql = _INSERT_HEAD + ",".join([_FIRST_ROW] + [_ROW] * (len(drafts) - 1)) + _INSERT_TAIL
        results: list[Stored | None] = []
        first_replies: dict[int, Draft] = {}
        async with self._db.single_statements() as writer:
            inserted = {
                (row["chat_id"], row["sender"], row["client_id"]): row
                for row in await writer.fetch_all(sql, params)
            }
            told: set[tuple[int, str, str]] = set()
            for d in drafts:
                key = (d.chat_id, d.sender, d.client_id)
                row = inserted.get(key)
                # The same client id twice in one batch: only the first one was stored.
                if row is None or key in told:
                    earlier = row["id"] if row is not None else await _existing(writer, d)
                    results.append(None if earlier is None else _resent(d, earlier))
                    continue
                told.add(key)
                if d.sender == "staff" and row["unreplied"]:
                    first_replies.setdefault(d.chat_id, d)
                results.append(
                    Stored(
                        row["id"],
                        d.chat_id,
                        d.sender,
                        d.text,
                        d.at,
                        d.client_id,
                        True,
                        row["visitor_id"],
                        row["staff_id"],
                        row["name"],
                    )
                )
        if first_replies:
            async with self._db.transaction() as tx:
                for d in first_replies.values():
                    await record_first_reply(tx, d)
        return results


def _resent(d: Draft, message_id: int) -> Stored:
    """An acknowledgement for a message stored before: same id, nothing to deliver."""
    return Stored(message_id, d.chat_id, d.sender, d.text, d.at, d.client_id, False)


def _sort_key(stored: Stored | None) -> int:
    return -1 if stored is None else stored.id


async def record_first_reply(tx: Writer, d: Draft) -> None:
    """The first staff message: its time goes on the chat and into a usage event."""
    chat = await tx.fetch_one(
        "UPDATE chats SET first_reply_at = ? WHERE id = ? AND first_reply_at IS NULL"
        " RETURNING assigned_at, (SELECT slug FROM categories WHERE id = category_id)",
        (d.at, d.chat_id),
    )
    if chat is None:
        return
    seconds = None
    if chat[0] is not None:
        seconds = max(0.0, (from_iso(d.at) - from_iso(chat[0])).total_seconds())
    await events.record(
        tx,
        events.CHAT_FIRST_REPLY,
        at=d.at,
        category=chat[1],
        channel="chat",
        subject_id=d.chat_id,
        staff_id=d.actor_id,
        seconds=seconds,
    )


async def _existing(writer: Writer, d: Draft) -> int | None:
    """The id of an earlier copy of this message, if the same sender already stored it."""
    value = await writer.fetch_value(
        "SELECT m.id FROM chat_messages m JOIN chats c ON c.id = m.chat_id"
        " WHERE m.chat_id = ? AND m.sender = ? AND m.client_id = ?"
        " AND ((m.sender = 'visitor' AND c.visitor_id = ?) OR m.staff_id = ?)",
        (d.chat_id, d.sender, d.client_id, d.actor_id, d.actor_id),
    )
    return None if value is None else int(value)


async def insert_referral(tx: Writer, d: Draft, service_id: str) -> Stored | None:
    """A referral card as a staff message of its own; None if the chat is not theirs and
    active. Sent again with the same client id, the earlier copy comes back, not fresh."""
    row = await tx.fetch_one(
        "INSERT INTO chat_messages (chat_id, sender, staff_id, text, at, client_id, service_id)"
        " SELECT c.id, 'staff', c.assigned_to, ?, ?, ?, ? FROM chats c"
        " WHERE c.id = ? AND c.assigned_to = ? AND c.status = 'active'"
        " ON CONFLICT (chat_id, sender, client_id) DO NOTHING"
        " RETURNING id, (SELECT visitor_id FROM chats WHERE chats.id = chat_id) AS visitor_id,"
        " (SELECT first_reply_at IS NULL FROM chats WHERE chats.id = chat_id) AS unreplied,"
        " (SELECT COALESCE(first_name, username) FROM staff WHERE staff.id = staff_id) AS name",
        (d.text, d.at, d.client_id, service_id, d.chat_id, d.actor_id),
    )
    if row is None:
        earlier = await _existing(tx, d)
        return None if earlier is None else _resent(d, earlier)
    if row["unreplied"]:
        await record_first_reply(tx, d)
    return Stored(
        row["id"],
        d.chat_id,
        "staff",
        d.text,
        d.at,
        d.client_id,
        True,
        row["visitor_id"],
        d.actor_id,
        row["name"],
        service_id,
    )


async def after(db: Database, chat_id: int, after_id: int, limit: int) -> list[Row]:
    """At most `limit` of the chat's messages after `after_id`, in id order (a replay page)."""
    return await db.fetch_all(
        "SELECT m.id, m.sender, m.text, m.at, m.client_id, m.service_id,"
        " COALESCE(s.first_name, s.username) AS name FROM chat_messages m"
        " LEFT JOIN staff s ON s.id = m.staff_id WHERE m.chat_id = ? AND m.id > ?"
        " ORDER BY m.id LIMIT ?",
        (chat_id, after_id, limit),
    )


async def settled_before(
    db: Database, chat_id: int, after_id: int, cutoff: str, *, at_most: int
) -> int:
    """The newest message at or before `after_id` written before `cutoff`, or the one
    `at_most` messages back if that is newer: where a replay may safely begin (see
    ChatHub.missed); 0 for the chat's beginning."""
    rows = await db.fetch_all(
        "SELECT id, at FROM chat_messages WHERE chat_id = ? AND id <= ? ORDER BY id DESC LIMIT ?",
        (chat_id, after_id, at_most + 1),
    )
    for row in rows:
        if row["at"] < cutoff:
            return int(row["id"])
    return int(rows[-1]["id"]) if len(rows) > at_most else 0


async def insert_first(tx: Writer, chat_id: int, text: str, at: str, client_id: str) -> int:
    """The visitor's opening message, written in the same transaction as the chat itself."""
    return await tx.insert(
        "INSERT INTO chat_messages (chat_id, sender, text, at, client_id)"
        " VALUES (?, 'visitor', ?, ?, ?)",
        (chat_id, text, at, client_id),
    )


async def insert_system(tx: Writer, chat_id: int, text: str, at: str) -> int:
    """A line the service writes into the conversation (a transfer), in the chat's own
    transaction: no one's to resend, so no client id."""
    return await tx.insert(
        "INSERT INTO chat_messages (chat_id, sender, text, at) VALUES (?, 'system', ?, ?)",
        (chat_id, text, at),
    )


async def visitor_texts(tx: Writer, chat_id: int) -> list[str]:
    rows = await tx.fetch_all(
        "SELECT text FROM chat_messages WHERE chat_id = ? AND sender = 'visitor' ORDER BY id",
        (chat_id,),
    )
    return [row[0] for row in rows]


async def first_id(tx: Writer, chat_id: int) -> int:
    return int(
        await tx.fetch_value("SELECT min(id) FROM chat_messages WHERE chat_id = ?", (chat_id,))
    )
