"""Chat messages, written in group commits: each is stored and has its id before anyone sees it.

One SQLite commit per message caps the chat near four thousand messages a second on this kind
of machine; messages that arrive while a commit is running are written together in the next
one, so a busy chat service pays one commit per batch, and a quiet one still commits at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from service.clock import from_iso
from service.storage import events
from service.storage.db import Database, Row, Writer

log = logging.getLogger(__name__)

# Seven parameters a row keeps one batch under SQLite's 32,766-parameter limit.
MAX_BATCH = 500

_INSERT_HEAD = "WITH v(n, chat_id, sender, actor, text, at, client_id) AS (VALUES "
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
RETURNING id, chat_id, client_id, sender
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


class MessageLog:
    """Queues drafts and writes them in batches on the database's single writer."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: list[tuple[Draft, asyncio.Future[Stored | None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

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
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                live = [(d, f) for d, f in batch if not f.done()]
                if not live:
                    continue
                try:
                    results = await self._write([d for d, _ in live])
                except Exception as exc:  # every waiting sender hears of the failure
                    log.exception("storing %d chat messages failed", len(live))
                    for _, future in live:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                # Resolve in id order, so the senders broadcast in the order the ids say.
                order = sorted(range(len(live)), key=lambda i: _sort_key(results[i]))
                for i in order:
                    if not live[i][1].done():
                        live[i][1].set_result(results[i])

    async def _write(self, drafts: list[Draft]) -> list[Stored | None]:
        params: list[object] = []
        for n, d in enumerate(drafts):
            params += (n, d.chat_id, d.sender, d.actor_id, d.text, d.at, d.client_id)
        sql = _INSERT_HEAD + ",".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(drafts)) + _INSERT_TAIL
        async with self._db.transaction() as tx:
            inserted = {
                (row["chat_id"], row["sender"], row["client_id"]): row["id"]
                for row in await tx.fetch_all(sql, params)
            }
            routes = await _routes(tx, {d.chat_id for d in drafts})
            results: list[Stored | None] = []
            texts: dict[tuple[int, str, str], str] = {}
            for d in drafts:
                key = (d.chat_id, d.sender, d.client_id)
                # The same client id twice in one batch: only the first one was stored.
                fresh = key in inserted and key not in texts
                texts.setdefault(key, d.text)
                message_id = inserted.get(key) or await _existing(tx, d, routes)
                if message_id is None:
                    results.append(None)
                    continue
                route = routes[d.chat_id]
                if fresh and d.sender == "staff" and not route.replied:
                    route.replied = True
                    await _first_reply(tx, d, route)
                results.append(
                    Stored(
                        message_id,
                        d.chat_id,
                        d.sender,
                        texts[key] if fresh else d.text,
                        d.at,
                        d.client_id,
                        fresh,
                        route.visitor_id,
                        route.staff_id,
                    )
                )
        return results


def _sort_key(stored: Stored | None) -> int:
    return -1 if stored is None else stored.id


@dataclass
class _Route:
    """Who is in a chat and whether staff have replied yet."""

    visitor_id: int
    staff_id: int | None
    replied: bool
    category: str
    assigned_at: str | None


async def _routes(tx: Writer, chat_ids: set[int]) -> dict[int, _Route]:
    marks = ",".join("?" * len(chat_ids))
    rows = await tx.fetch_all(
        "SELECT c.id, c.visitor_id, c.assigned_to, c.first_reply_at IS NOT NULL, k.slug,"
        " c.assigned_at FROM chats c JOIN categories k ON k.id = c.category_id"
        f" WHERE c.id IN ({marks})",
        list(chat_ids),
    )
    return {row[0]: _Route(row[1], row[2], bool(row[3]), row[4], row[5]) for row in rows}


async def _first_reply(tx: Writer, d: Draft, route: _Route) -> None:
    """The first staff message: its time goes on the chat and into a usage event."""
    await tx.execute(
        "UPDATE chats SET first_reply_at = ? WHERE id = ? AND first_reply_at IS NULL",
        (d.at, d.chat_id),
    )
    seconds = None
    if route.assigned_at is not None:
        seconds = max(0.0, (from_iso(d.at) - from_iso(route.assigned_at)).total_seconds())
    await events.record(
        tx,
        events.CHAT_FIRST_REPLY,
        at=d.at,
        category=route.category,
        channel="chat",
        subject_id=d.chat_id,
        staff_id=d.actor_id,
        seconds=seconds,
    )


async def _existing(tx: Writer, d: Draft, routes: dict[int, _Route]) -> int | None:
    """The id of an earlier copy of this message, if the same sender already stored it."""
    route = routes.get(d.chat_id)
    if route is None or (d.sender == "visitor" and route.visitor_id != d.actor_id):
        return None
    row = await tx.fetch_one(
        "SELECT id, staff_id FROM chat_messages WHERE chat_id = ? AND sender = ? AND client_id = ?",
        (d.chat_id, d.sender, d.client_id),
    )
    if row is None or (d.sender == "staff" and row["staff_id"] != d.actor_id):
        return None
    return int(row["id"])


async def after(db: Database, chat_id: int, after_id: int) -> list[Row]:
    return await db.fetch_all(
        "SELECT id, sender, text, at, client_id FROM chat_messages"
        " WHERE chat_id = ? AND id > ? ORDER BY id",
        (chat_id, after_id),
    )


async def insert_first(tx: Writer, chat_id: int, text: str, at: str, client_id: str) -> int:
    """The visitor's opening message, written in the same transaction as the chat itself."""
    return await tx.insert(
        "INSERT INTO chat_messages (chat_id, sender, text, at, client_id)"
        " VALUES (?, 'visitor', ?, ?, ?)",
        (chat_id, text, at, client_id),
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
