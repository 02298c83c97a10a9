"""The Socket.IO server Koppi runs: python-socketio's, with two guards it lacks by default.

1. A client may not emit the names of the server's own lifecycle events. python-socketio hands
   a client's `disconnect` event to the namespace's `on_disconnect` like the real one, which
   forgets the socket while it stays connected (every later event then fails).
2. Each socket's send queue is bounded. engine.io queues packets for a socket without limit; a
   reader that stops reading would make the server hold every broadcast for it. A socket that
   falls that far behind is closed instead: its page reconnects and resumes from the last
   message it saw, so nothing is lost by closing it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import engineio
import socketio
from socketio import packet
from socketio.async_pubsub_manager import AsyncPubSubManager

from service import i18n
from service.realtime.acks import invalid

log = logging.getLogger(__name__)

# Socket.IO's reserved event names (the JavaScript client's list) and python-socketio's own.
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)


class _BoundedQueue(asyncio.Queue[Any]):
    """engine.io's queue of packets for one socket; past `limit` the socket is given up.

    Giving up empties the queue and leaves `None`, engine.io's own signal that makes the
    socket's writer stop and close the connection; later packets for it are dropped, and the
    server is told, so the socket is disconnected at once (rooms and state go with it)."""

    def __init__(self, limit: int, overflowed: Callable[[_BoundedQueue], None]) -> None:
        super().__init__()
        self._limit = limit
        self._tell = overflowed
        self.overflowed = False

    def put_nowait(self, item: Any) -> None:
        if self.overflowed:
            if item is None:
                super().put_nowait(item)
            return
        if item is not None and self.qsize() >= self._limit:
            self.overflowed = True
            dropped = self.qsize()
            while not self.empty():
                self.get_nowait()
                self.task_done()
            log.warning("closed a socket that fell %d packets behind", dropped)
            super().put_nowait(None)
            self._tell(self)
            return
        super().put_nowait(item)

    async def put(self, item: Any) -> None:
        self.put_nowait(item)


class _EngineServer(engineio.AsyncServer):  # type: ignore[misc]
    # Set by SocketServer (KOPPI_SOCKET_QUEUE_LIMIT) before any socket exists. A console's
    # greeting is five packets and a resume replays a page of 200 messages, so only a reader
    # that has stopped reading gets near it.
    send_queue_limit: int

    def create_queue(self, *args: Any, **kwargs: Any) -> asyncio.Queue[Any]:
        if args or kwargs:  # engine.io's other queues keep their own shape
            return asyncio.Queue(*args, **kwargs)
        return _BoundedQueue(self.send_queue_limit, self._overflowed)

    # Set by SocketServer: drops the connection under a socket (its writer may be stuck
    # waiting for a peer that does not read, and would never get to close it).
    abort_connection: Callable[[str], None] = staticmethod(lambda _sid: None)

    def _overflowed(self, queue: _BoundedQueue) -> None:
        """Rare: find the socket that owns the queue, disconnect it and drop its connection
        (found by search, not kept in the queue, to keep the hot path as engine.io has it)."""
        for sock in list(self.sockets.values()):
            if sock.queue is queue and not sock.closing:
                reason = self.reason.TRANSPORT_ERROR
                self.start_background_task(sock.close, wait=False, abort=True, reason=reason)
                self.abort_connection(sock.sid)
                return


class SocketServer(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *, send_queue_limit: int, **options: Any):
        super().__init__(**options)
        # Events cross processes (a pub/sub manager): one process has no queue to keep out of.
        self._shared = isinstance(self.manager, AsyncPubSubManager)
        self.eio.send_queue_limit = send_queue_limit
        self.eio.abort_connection = self._abort_connection
        self._stopping: list[Callable[[], Awaitable[None]]] = []

    def when_stopping(self, stop: Callable[[], Awaitable[None]]) -> None:
        """Run `stop` in `shutdown`, before the server's own tasks stop: what pushes to sockets
        on its own (a timer) ends with them, while the database is still open."""
        self._stopping.append(stop)

    async def shutdown(self) -> None:
        for stop in self._stopping:
            await stop()
        await super().shutdown()

    def _abort_connection(self, eio_sid: str) -> None:
        request = self.environ.get(eio_sid, {}).get("aiohttp.request")
        transport = getattr(request, "transport", None)
        if transport is not None:
            transport.abort()

    async def emit(
        self,
        event: str,
        data: Any = None,
        to: str | None = None,
        room: str | None = None,
        skip_sid: str | list[str] | None = None,
        namespace: str | None = None,
        callback: Any = None,
        ignore_queue: bool = False,
    ) -> None:
        """An event for one socket of this process stays in the process: a replay of two
        hundred messages must not cross Redis to every other process for nothing."""
        target = to or room
        if not ignore_queue and self._shared and isinstance(target, str):
            manager = self.manager
            ns = namespace or "/"
            ignore_queue = manager.is_connected(target, ns) or manager.is_pre_connected(target, ns)
        await super().emit(
            event,
            data,
            to=to,
            room=room,
            skip_sid=skip_sid,
            namespace=namespace,
            callback=callback,
            ignore_queue=ignore_queue,
        )

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _EngineServer

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        """Refuse reserved or malformed event names before any handler sees them."""
        name = data[0] if isinstance(data, list) and data else None
        if isinstance(name, str) and name not in RESERVED_EVENTS:
            await super()._handle_event(eio_sid, namespace, id, data)
            return
        if id is not None:
            with i18n.speaking(i18n.DEFAULT_LANGUAGE):
                ack = invalid(i18n.gettext("This event name is reserved."), "event")
            await self._send_packet(
                eio_sid,
                self.packet_class(packet.ACK, namespace=namespace or "/", id=id, data=[ack]),
            )
