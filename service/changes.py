"""The change bus: what a committed transaction announced reaches every process of the service.

A transaction announces a change (`tx.announce(ChatChange(...))`); the database hands what was
announced to the bus after COMMIT and never after a rollback (storage/db.py). The process that
committed handles its changes at once, in the order announced, before its handler goes on; the
others hear them through Redis and handle them the same way: each clears its page caches,
reloads watched words and tells its own sockets what changed. So per-process state (caches, the
chat hub's views, which sockets are whose) is always kept by the process it belongs to.

One process (no KOPPI_REDIS_URL) uses `LocalBus` and never imports redis. Changes cross
processes as JSON: each kind is a frozen dataclass registered with `@change_kind`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from service.log_throttle import Throttled

log = logging.getLogger(__name__)


def channel(redis_url: str, name: str) -> str:
    """A publish/subscribe channel of the installation using `redis_url`. Channels are not
    kept per numbered database in Redis, so the number is part of the name: two installations
    on one Redis server (staging beside production) never hear each other."""
    database = urllib.parse.urlsplit(redis_url).path.strip("/") or "0"
    return f"koppi:{database}:{name}"


_KINDS: dict[str, type] = {}
T = TypeVar("T")
Handler = Callable[[Any], Awaitable[None]]


def change_kind(name: str) -> Callable[[type[T]], type[T]]:
    """Register a frozen dataclass as a change that may cross processes under `name`."""

    def register(cls: type[T]) -> type[T]:
        if name in _KINDS and _KINDS[name] is not cls:
            raise ValueError(f"change kind {name!r} is taken")
        _KINDS[name] = cls
        cls.change_kind = name  # type: ignore[attr-defined]
        return cls

    return register


def encode(changes: Sequence[object]) -> list[list[Any]]:
    return [
        [type(change).change_kind, dataclasses.asdict(change)]  # type: ignore[attr-defined,call-overload]
        for change in changes
    ]


def decode(items: Sequence[Sequence[Any]]) -> list[object]:
    """Changes from another process; kinds this version does not know are skipped (during a
    rolling upgrade a newer process may announce one)."""
    changes: list[object] = []
    for name, fields in items:
        cls = _KINDS.get(name)
        if cls is None:
            log.warning("skipped a change of unknown kind %r from another process", name)
            continue
        changes.append(
            cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
        )
    return changes


class BusUnreachable(Exception):
    """Redis cannot be reached when the process starts; the message is one line."""


def redis_where(url: str) -> str:
    """host:port/db of a Redis URL, without its password, for messages."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or ''}"


class ChangeBus:
    """Handlers per change kind, run in the order they were registered."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = {}
        self._resync: list[Callable[[], Awaitable[None]]] = []

    def on(self, kind: type[T], handler: Callable[[T], Awaitable[None]]) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    def on_resync(self, handler: Callable[[], Awaitable[None]]) -> None:
        """Run after changes may have been missed (Redis was away): as if everything changed."""
        self._resync.append(handler)

    async def publish(self, changes: Sequence[object]) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        """Connect; raises BusUnreachable when the bus cannot be reached at start."""

    async def listen(self) -> None:
        """Hear the other processes' changes from now on (once the handlers can run)."""

    async def stop_listening(self) -> None:
        """No more changes from the others (the process is stopping)."""

    async def stop(self) -> None:
        """Disconnect."""

    async def dispatch(self, changes: Sequence[object]) -> None:
        """Handle changes here; one failing handler does not keep the others from theirs."""
        for change in changes:
            for handler in self._handlers.get(type(change), ()):
                try:
                    await handler(change)
                except Exception:
                    log.exception("handling a %s failed", type(change).__name__)

    async def resync(self) -> None:
        for handler in self._resync:
            try:
                await handler()
            except Exception:
                log.exception("catching up after a lost connection to the bus failed")


class LocalBus(ChangeBus):
    """One process: a change is handled where it was made, at once."""

    async def publish(self, changes: Sequence[object]) -> None:
        await self.dispatch(changes)


# While Redis is away, listening retries at these intervals (seconds), the last one repeating.
RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)


class RedisBus(ChangeBus):
    """Several processes: handled here at once, and published on Redis for the others.

    A publish that fails (Redis away) has still been handled here; the other processes lost
    their subscription too, and when it comes back they resync as if everything changed."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.channel = channel(url, "changes")
        self.host = uuid.uuid4().hex
        self._client: Any = None
        self._listening: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._failed_publish = Throttled(
            log, "cannot publish a change on Redis; the others resync when it is back"
        )
        self.reachable = False

    async def start(self) -> None:
        from redis import asyncio as aioredis

        self._client = aioredis.Redis.from_url(
            self.url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=10
        )
        try:
            await self._client.ping()
        except Exception as exc:
            await self._client.aclose()
            self._client = None
            raise BusUnreachable(
                f"cannot reach Redis at {redis_where(self.url)} (KOPPI_REDIS_URL): {exc}"
            ) from exc
        self.reachable = True

    async def listen(self) -> None:
        from redis import asyncio as aioredis

        # Listening waits for messages as long as it takes: no read timeout on its connection,
        # only TCP keepalive to notice a peer that is gone.
        self._listening = aioredis.Redis.from_url(
            self.url, socket_connect_timeout=2, socket_keepalive=True
        )
        self._listener = asyncio.create_task(self._listen(), name="change-bus")
        # Subscribed before the first request is served: nothing published after start is missed.
        await asyncio.wait_for(self._subscribed.wait(), timeout=5)

    async def stop(self) -> None:
        await self.stop_listening()
        for client in (self._client, self._listening):
            if client is not None:
                await client.aclose()
        self._client = self._listening = None

    async def stop_listening(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def publish(self, changes: Sequence[object]) -> None:
        await self.dispatch(changes)
        message = json.dumps({"host": self.host, "changes": encode(changes)})
        try:
            await self._client.publish(self.channel, message)
        except Exception as exc:
            self.reachable = False
            self._failed_publish.note(type(exc).__name__)

    async def _listen(self) -> None:
        attempt = 0
        lost = False
        while True:
            pubsub = self._listening.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                self.reachable = True
                if lost:
                    log.warning("the change bus is back: catching up")
                    await self.resync()
                    lost = False
                attempt = 0
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        await self._received(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.reachable = False
                if not lost:
                    log.error("lost the change bus on Redis (%s); retrying", exc)
                lost = True
            finally:
                with contextlib.suppress(Exception):  # the connection is gone already
                    await pubsub.aclose()
            await asyncio.sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)])
            attempt += 1

    async def _received(self, data: bytes) -> None:
        try:
            message = json.loads(data)
            if message.get("host") == self.host:
                return  # handled when it was published
            changes = decode(message["changes"])
        except (ValueError, KeyError, TypeError):
            log.warning("skipped a malformed message on the change bus")
            return
        await self.dispatch(changes)


def change_bus(redis_url: str | None) -> ChangeBus:
    return LocalBus() if redis_url is None else RedisBus(redis_url)
