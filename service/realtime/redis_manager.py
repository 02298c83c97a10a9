"""Socket.IO events between processes: python-socketio's AsyncRedisManager, with two changes.

1. Fewer, cheaper Redis messages (`_publish` and `_listen`, the two methods python-socketio's
   pub/sub managers are built from). Upstream awaits one PUBLISH per event, and every process
   then reads and decodes every event, its own included; a chat message is two events (the
   visitor's room and the staff room), so with several processes Koppi's CPU per message
   doubled (bench/README.md). Here an event joins an outbox, in order, and one task sends what
   has gathered as one Redis message (a JSON list) marked with this process's id, which the
   others decode once and this process skips undecoded. The sending process delivers to its
   own sockets at once, as upstream does; the others hear it a moment later.
2. After Redis was away it listens again within seconds (upstream's back-off grows to a
   minute), then calls `resubscribed`, so the pages here can read what they missed meanwhile:
   events published while Redis was away reached no one (the database has every message)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import socketio

from service.changes import RETRY_S, channel
from service.log_throttle import Throttled

log = logging.getLogger(__name__)

BATCH = 256  # events per round trip at most
OUTBOX_MAX = 50_000  # past this (Redis hung) the oldest events are dropped; pages resume


class RedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    resubscribed: Callable[[], Awaitable[None]] | None = None

    def __init__(self, url: str) -> None:
        super().__init__(url, channel=channel(url, "socketio"), logger=log)
        self._outbox: collections.deque[str] = collections.deque()
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._publisher: Any = None
        self._lost = Throttled(log, "events for the other processes were lost (Redis away)")
        self._sender_mark = self.host_id + "|"

    async def _publish(self, data: Any) -> None:
        """Queue the event for the other processes; the sender task keeps their order."""
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_forever(), name="socketio-publish")
        if len(self._outbox) >= OUTBOX_MAX:
            self._outbox.popleft()
            self._lost.note("outbox full")
        self._outbox.append(self.json.dumps(data))
        self._wake.set()

    async def _send_forever(self) -> None:
        from redis import asyncio as aioredis

        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                batch = [self._outbox.popleft() for _ in range(min(BATCH, len(self._outbox)))]
                message = self._sender_mark + "[" + ",".join(batch) + "]"
                try:
                    if self._publisher is None:
                        self._publisher = aioredis.Redis.from_url(
                            self.redis_url, socket_connect_timeout=2, socket_timeout=5
                        )
                    await self._publisher.publish(self.channel, message)
                except Exception as exc:
                    self._lost.note(f"{len(batch)} events: {type(exc).__name__}")

    async def _listen(self) -> AsyncIterator[Any]:
        """The other processes' events, one by one, as upstream's listener takes them."""
        channel = self.channel.encode()
        mark = self._sender_mark.encode()
        async for message in self._redis_listen_with_retries():
            if message.get("type") != "message" or message.get("channel") != channel:
                continue
            data = message["data"]
            if data.startswith(mark):
                continue  # delivered here when it was sent
            _sender, _, events = data.partition(b"|")
            try:
                decoded = self.json.loads(events)
            except ValueError:
                log.warning("skipped a malformed Socket.IO message from Redis")
                continue
            for event in decoded if isinstance(decoded, list) else ():
                yield event

    async def close(self) -> None:
        """Stop listening and sending, and close the connections (the app is stopping)."""
        tasks = [t for t in (getattr(self, "thread", None), self._sender) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in (
            getattr(self, "pubsub", None),
            getattr(self, "redis", None),
            self._publisher,
        ):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        attempt = 0
        subscribed = lost = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed = True
                    attempt = 0
                    if lost and self.resubscribed is not None:
                        lost = False
                        await self.resubscribed()
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:
                if not lost:
                    log.error("lost Socket.IO's Redis channel (%s); listening again soon", exc)
                subscribed, lost = False, True
                await asyncio.sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)])
                attempt += 1


def socket_manager(redis_url: str | None) -> socketio.AsyncManager:
    """One process keeps rooms in memory; several share events through Redis."""
    if redis_url is None:
        return socketio.AsyncManager()
    return RedisManager(redis_url)
