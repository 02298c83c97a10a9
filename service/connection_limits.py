"""Open connections, bounded: in total, per client address key, and in file descriptors.

A client that opens connections and never finishes a request holds one file descriptor each;
a thousand of them left the service unable to accept anyone and wrote a traceback per failed
accept. Connections are counted as the kernel hands them over, before a byte is parsed, so a
half-sent request counts as much as a finished one; over a cap the connection is closed at once."""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
from collections.abc import Callable
from typing import Any

from aiohttp import web

from service.log_throttle import Throttled

log = logging.getLogger(__name__)

# File descriptors kept free for what is not a client: the database's files, the listening
# socket, logs, the event loop's own pipes.
RESERVED_FILES = 64
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class ConnectionGate:
    """Counts open connections in total and per address key; refuses those over a cap.

    The per-address counts are keyed by the same daily-salted hash the rate limits use, so the
    raw address is never kept, and a count disappears when its last connection closes."""

    def __init__(
        self, *, total: int, per_address: int | None, key: Callable[[str | None], str]
    ) -> None:
        self.total = total
        self.per_address = per_address
        self._key = key
        self.open = 0
        self._by_key: dict[str, int] = {}
        self._refused = Throttled(log, "connections refused over the connection caps")

    def admit(self, host: str | None) -> str | None:
        """The address key to release later, or None when the connection must be refused."""
        if self.open >= self.total:
            self._refused.note(f"{self.total} open in total")
            return None
        key = self._key(host) if self.per_address is not None else ""
        held = self._by_key.get(key, 0)
        if self.per_address is not None and held >= self.per_address:
            self._refused.note(f"{self.per_address} open from one address")
            return None
        self._by_key[key] = held + 1
        self.open += 1
        return key

    def release(self, key: str) -> None:
        self.open -= 1
        left = self._by_key[key] - 1
        if left:
            self._by_key[key] = left
        else:
            del self._by_key[key]

    def held_by(self, host: str | None) -> int:
        """Open connections from one address (for tests and the operator's curiosity)."""
        return self._by_key.get(self._key(host) if self.per_address is not None else "", 0)


class _Gated(asyncio.Protocol):
    """Admits a connection or closes it, then hands every event on to aiohttp's handler."""

    __slots__ = ("_gate", "_make", "_inner", "_key")  # one per open connection: no __dict__

    def __init__(self, gate: ConnectionGate, make: Callable[[], asyncio.Protocol]) -> None:
        self._gate = gate
        self._make = make
        self._inner: asyncio.Protocol | None = None
        self._key = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        host = peer[0] if isinstance(peer, tuple) and peer else None
        key = self._gate.admit(host)
        if key is None:
            # abort() drops the socket at once (RST): nothing is read from or written to it.
            transport.abort()  # type: ignore[attr-defined]
            return
        self._key = key
        self._inner = self._make()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return None if self._inner is None else self._inner.eof_received()

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is None:
            return
        self._gate.release(self._key)
        self._inner.connection_lost(exc)


class GatedSite(web.BaseSite):
    """aiohttp's TCP site, with each accepted connection passing the gate first."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, gate: ConnectionGate) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self.gate = gate
        self.bound_port = port

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self.bound_port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        if server is None:
            raise RuntimeError("call runner.setup() before starting the site")
        gate = self.gate

        def gated() -> asyncio.Protocol:
            return _Gated(gate, server)

        self._server = await asyncio.get_running_loop().create_server(
            gated, self._host, self._port, backlog=self._backlog
        )
        sockets = self._server.sockets
        if sockets:
            self.bound_port = int(sockets[0].getsockname()[1])


def raise_open_files_limit() -> int:
    """Raise the soft limit on open files to the hard limit; returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("could not raise the open-files limit from %d to %d: %s", soft, target, exc)
        return soft
    return target


def effective_total(wanted: int, open_files: int) -> int:
    """The total cap, lowered to what the open-files limit allows with room to spare."""
    if open_files == resource.RLIM_INFINITY:
        return wanted
    room = max(open_files - RESERVED_FILES, 1)
    if wanted > room:
        log.warning(
            "at most %d connections: the open-files limit is %d (KOPPI_MAX_CONNECTIONS=%d)",
            room,
            open_files,
            wanted,
        )
        return room
    return wanted


class ResourceErrors:
    """A loop exception handler: 'out of file descriptors' once a minute with a count.

    When no descriptor is left, asyncio reports every failed accept with a traceback, about a
    thousand a second; everything else goes to the loop's default handler as before."""

    def __init__(self, *, clock: Callable[[], float] | None = None) -> None:
        what = "cannot accept connections: out of file descriptors or memory"
        self._log = Throttled(log, what) if clock is None else Throttled(log, what, clock=clock)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in _OUT_OF_RESOURCES:
            self._log.note(exc.strerror or str(exc))
            return
        loop.default_exception_handler(context)
