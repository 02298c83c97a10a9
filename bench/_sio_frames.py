"""Lean chat load client: Socket.IO frames written by hand over aiohttp websockets.

bench/chat.py runs this in a process of its own, one run per server and pair count. It opens N
staff and N visitor sockets (Engine.IO 4, websocket transport only), pairs them through the
server's `start`/automatic assignment, chats at a fixed rate and then as fast as the echoes come
back, and prints one JSON object with the figures on standard output. python-socketio's own
client costs as much CPU as the server per message, so it would hide the server's tail.

Several server processes: visitors connect to `--url` and staff sign in and connect at
`--staff-url`, so every message crosses from one process to the other; CPU and memory are summed
over every pid in `--server-pid`, and Redis's CPU (`--redis-pid`) is a figure of its own.

Round trip: a visitor `send` (with ack) → the staff socket's `message` → the staff `send` echoes
the text (with ack) → the visitor's `message` from staff. Only that round trip is timed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import aiohttp
from _engines import cluster_cpu_seconds

T = TypeVar("T")
TEXT = aiohttp.WSMsgType.TEXT
PING, PONG = "2", "3"
CONNECT_LIMIT = 32  # handshakes in flight at once
LOGIN_LIMIT = 4  # sign-ins in flight at once (each is an argon2 check on the server)
DRAIN_SECONDS = 10.0
SETUP_SECONDS = 300.0
SLOWEST = 10  # round trips listed by time in the report, to tell stalls from steady queueing
# A realistic first line; the sequence number after it makes each text unique per visitor.
BODY = "Hei! Etsin kesätyötä ja mietin, miten kirjoitan hyvän työhakemuksen? #"
START_TEXT = "Hei, haluaisin jutella työnhausta."
_CLOCK_TICK = os.sysconf("SC_CLK_TCK")
_perf = time.perf_counter
_loads = json.loads
_dumps = json.dumps


class SetupError(RuntimeError):
    """The server refused or never finished a connect, sign-in or chat start."""


# The server process, read from /proc.


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU seconds of a process (all threads) or of one of its threads."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path, encoding="ascii") as handle:
        stat = handle.read()
    fields = stat[stat.rindex(")") + 2 :].split()  # fields[0] is field 3 (state)
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICK  # utime, stime


def rss_kb(pid: int) -> int:
    """Resident set size (VmRSS) of a process in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent on anything but idling, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as handle:
        ticks = [int(n) for n in handle.readline().split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / _CLOCK_TICK  # less idle and iowait


def own_cpu_seconds() -> float:
    """User + system CPU seconds of this client process."""
    times = os.times()
    return times.user + times.system


def servers_cpu_seconds(pids: Sequence[int]) -> float:
    """CPU seconds of every server process together."""
    return sum(cpu_seconds(pid) for pid in pids)


def servers_rss_kb(pids: Sequence[int]) -> int:
    """Resident set size of every server process together, in KiB."""
    return sum(rss_kb(pid) for pid in pids)


@dataclass(frozen=True)
class Watched:
    """The processes whose CPU is read: the server's (one or several), PostgreSQL's postmaster
    and Redis, the last two when the server uses them."""

    servers: tuple[int, ...]
    db: int | None = None
    redis: int | None = None


@dataclass(frozen=True)
class CpuReading:
    """CPU seconds used so far (or, after `since`, over a window)."""

    servers: tuple[float, ...]  # each server process, all its threads
    loops: tuple[float, ...]  # each server process's main thread (its event loop)
    db: float  # PostgreSQL's processes; 0 without it
    redis: float  # redis-server; 0 without it
    client: float  # this load client
    busy: float  # the whole machine

    @classmethod
    def now(cls, watched: Watched) -> CpuReading:
        """Read every figure from /proc."""
        return cls(
            servers=tuple(cpu_seconds(pid) for pid in watched.servers),
            loops=tuple(cpu_seconds(pid, pid) for pid in watched.servers),
            db=cluster_cpu_seconds(watched.db) if watched.db else 0.0,
            redis=cpu_seconds(watched.redis) if watched.redis else 0.0,
            client=own_cpu_seconds(),
            busy=machine_busy_seconds(),
        )

    def since(self, before: CpuReading) -> CpuReading:
        """What was used between `before` and this reading."""
        return CpuReading(
            servers=tuple(a - b for a, b in zip(self.servers, before.servers, strict=True)),
            loops=tuple(a - b for a, b in zip(self.loops, before.loops, strict=True)),
            db=self.db - before.db,
            redis=self.redis - before.redis,
            client=self.client - before.client,
            busy=self.busy - before.busy,
        )


# Sockets.


class Socket:
    """One Engine.IO websocket carrying one Socket.IO namespace; frames go to `on_frame`."""

    __slots__ = (
        "ws",
        "ns",
        "event_prefix",
        "ack_prefix",
        "acks",
        "waiters",
        "on_frame",
        "task",
        "received",
    )

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, ns: str) -> None:
        self.ws = ws
        self.ns = ns
        self.event_prefix = f"42{ns},"
        self.ack_prefix = f"43{ns},"
        self.acks = 0
        self.waiters: dict[int, asyncio.Future[Any]] = {}
        self.on_frame: Callable[[str], str | None] = _ignore
        self.task: asyncio.Task[None] | None = None
        self.received = 0  # bytes of text frames, to show what the server pushes in set-up

    @classmethod
    async def open(
        cls,
        session: aiohttp.ClientSession,
        url: str,
        ns: str,
        auth: str = "",
        headers: dict[str, str] | None = None,
    ) -> Socket:
        """Upgrade, read the Engine.IO open packet and connect the namespace with `auth`."""
        ws = await session.ws_connect(url, headers=headers, max_msg_size=0, autoping=True)
        sock = cls(ws, ns)
        opened = await sock._next_text()
        if not opened.startswith("0{"):
            raise SetupError(f"expected an Engine.IO open packet, got {opened[:80]!r}")
        await ws.send_str(f"40{ns},{auth}")
        while True:
            frame = await sock._next_text()
            if frame.startswith(f"40{ns},"):
                return sock
            if frame.startswith(f"44{ns},"):
                await ws.close()
                raise SetupError(f"{ns} refused the connection: {frame[len(ns) + 3 :][:200]}")
            sock.on_frame(frame)

    async def _next_text(self) -> str:
        """The next text frame during the handshake, answering pings."""
        while True:
            msg = await self.ws.receive()
            if msg.type is not TEXT:
                raise SetupError(f"{self.ns}: socket closed during the handshake ({msg.type})")
            if msg.data == PING:
                await self.ws.send_str(PONG)
                continue
            self.received += len(msg.data)
            return str(msg.data)

    def start(self, on_frame: Callable[[str], str | None]) -> None:
        """Hand every later frame to `on_frame` and send what it returns."""
        self.on_frame = on_frame
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        """The receive loop: pings answered here, awaited acks resolved, the rest passed on."""
        ws, on_frame, ack_prefix, waiters = self.ws, self.on_frame, self.ack_prefix, self.waiters
        receive, send = ws.receive, ws.send_str
        while True:
            msg = await receive()
            if msg.type is not TEXT:
                return
            data: str = msg.data
            if data == PING:
                await send(PONG)
                continue
            self.received += len(data)
            if waiters and data.startswith(ack_prefix):
                self._resolve(data)
            reply = on_frame(data)
            if reply is not None:
                await send(reply)

    def _resolve(self, data: str) -> None:
        """Settle the future waiting for this acknowledgement, if any."""
        body = data[len(self.ack_prefix) :]
        bracket = body.index("[")
        waiter = self.waiters.pop(int(body[:bracket]), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(_loads(body[bracket:])[0])

    def next_ack(self) -> int:
        """A fresh acknowledgement id for this socket."""
        self.acks += 1
        return self.acks

    async def call(self, event: str, payload: dict[str, Any]) -> Any:
        """Emit an event with an acknowledgement and wait for the answer (set-up only)."""
        ack = self.next_ack()
        waiter = asyncio.get_running_loop().create_future()
        self.waiters[ack] = waiter
        await self.ws.send_str(f"{self.event_prefix}{ack}{_dumps([event, payload])}")
        return await asyncio.wait_for(waiter, SETUP_SECONDS)


def _ignore(_frame: str) -> None:
    """The frame handler before a socket has a role."""


# What is measured.


@dataclass
class Phase:
    """One measured window: round trips sent in it are timed, echoes received in it counted."""

    name: str
    start: float
    stop: float
    rtts: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)  # beside rtts, to place the slow ones
    sent: int = 0
    echoes: int = 0

    def record(self, sent_at: float, now: float) -> None:
        """Take one finished round trip."""
        if self.start <= sent_at < self.stop:
            self.rtts.append(now - sent_at)
            self.sent_at.append(sent_at)
        if self.start <= now < self.stop:
            self.echoes += 1


@dataclass
class Tally:
    """Counters shared by every pair."""

    pairs: int
    assigned: int = 0
    errors: int = 0
    first_error: str = ""
    all_assigned: asyncio.Event = field(default_factory=asyncio.Event)
    phase: Phase | None = None
    flood: bool = False
    outstanding: int = 0  # messages sent and not yet echoed
    drained: asyncio.Event | None = None

    def error(self, frame: str) -> None:
        """Count an error acknowledgement and keep the first one."""
        self.errors += 1
        if not self.first_error:
            self.first_error = frame[:300]


# The two sides of a pair.


class Visitor:
    """Sends messages and times each until the staff member's echo of it arrives."""

    __slots__ = ("sock", "tally", "seq", "pending", "assigned", "_message", "_assigned", "_send")

    def __init__(self, sock: Socket, tally: Tally) -> None:
        self.sock = sock
        self.tally = tally
        self.seq = 0
        self.pending: dict[str, float] = {}
        self.assigned = False
        self._message = sock.event_prefix + '["message",'
        self._assigned = sock.event_prefix + '["assigned",'
        self._send = sock.event_prefix + '%d["send",{"text":"%s","client_id":"c%d"}]'

    def frame(self) -> str:
        """The next `send` frame; its send time is taken now."""
        self.seq += 1
        seq = self.seq
        text = BODY + str(seq)
        self.pending[text] = _perf()
        self.tally.outstanding += 1
        self.sock.acks += 1
        if self.tally.phase is not None:
            self.tally.phase.sent += 1
        return self._send % (self.sock.acks, text, seq)

    def on_frame(self, data: str) -> str | None:
        """Time echoes from staff (and send the next one when flooding); note assignment."""
        if data.startswith(self._message):
            if '"from":"staff"' not in data:
                return None
            text = _loads(data[len(self.sock.event_prefix) :])[1]["text"]
            sent_at = self.pending.pop(text, None)
            if sent_at is None:
                return None
            tally = self.tally
            tally.outstanding -= 1
            if tally.outstanding == 0 and tally.drained is not None:
                tally.drained.set()
            phase = tally.phase
            if phase is not None:
                now = _perf()
                phase.record(sent_at, now)
                if tally.flood and now < phase.stop:
                    return self.frame()
            return None
        if data.startswith(self._assigned):
            if not self.assigned:
                self.assigned = True
                self.tally.assigned += 1
                if self.tally.assigned >= self.tally.pairs:
                    self.tally.all_assigned.set()
            return None
        if '"error"' in data and data.startswith(self.sock.ack_prefix):
            self.tally.error(data)
        return None

    async def send(self) -> None:
        """Send one message now."""
        await self.sock.ws.send_str(self.frame())


class Staff:
    """Echoes every visitor message back into its chat with `send`."""

    __slots__ = ("sock", "tally", "_message", "_send")

    def __init__(self, sock: Socket, tally: Tally) -> None:
        self.sock = sock
        self.tally = tally
        self._message = sock.event_prefix + '["message",'
        self._send = sock.event_prefix + '%d["send",{"chat_id":%d,"text":%s,"client_id":"s%d"}]'

    def on_frame(self, data: str) -> str | None:
        """Answer a visitor's message with the same text; count error acknowledgements."""
        if data.startswith(self._message):
            if '"from":"visitor"' not in data:
                return None
            message = _loads(data[len(self.sock.event_prefix) :])[1]
            self.sock.acks += 1
            ack = self.sock.acks
            return self._send % (ack, message["chat_id"], _dumps(message["text"]), ack)
        if '"error"' in data and data.startswith(self.sock.ack_prefix):
            self.tally.error(data)
        return None


# Set-up.


async def sign_in(session: aiohttp.ClientSession, base: str, username: str, password: str) -> str:
    """A staff session cookie from POST /api/staff/login."""
    async with session.post(
        f"{base}/api/staff/login", json={"username": username, "password": password}
    ) as response:
        body = await response.text()
        if response.status != 200:
            raise SetupError(f"sign-in as {username} answered {response.status}: {body[:200]}")
        cookie = response.cookies.get("koppi_staff")
        if cookie is None:
            raise SetupError(f"sign-in as {username} set no koppi_staff cookie")
        return f"koppi_staff={cookie.value}"


async def gather_limited(limit: int, makers: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run coroutine factories with at most `limit` in flight, results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(make: Callable[[], Awaitable[T]]) -> T:
        """One factory's coroutine, inside the gate."""
        async with gate:
            return await make()

    return list(await asyncio.gather(*(one(make) for make in makers)))


async def open_staff(
    session: aiohttp.ClientSession, url: str, tally: Tally, cookie: str | None
) -> Staff:
    """A staff socket that is marked available."""
    headers = {"Cookie": cookie} if cookie else None
    sock = await Socket.open(session, url, "/staff", headers=headers)
    staff = Staff(sock, tally)
    sock.start(staff.on_frame)
    answer = await sock.call("available", {"on": True})
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        raise SetupError(f"available answered {answer!r}")
    return staff


async def open_visitor(session: aiohttp.ClientSession, url: str, tally: Tally, n: int) -> Visitor:
    """A visitor socket with a chat started (assignment is awaited separately)."""
    sock = await Socket.open(session, url, "/chat", auth='{"token":null}')
    visitor = Visitor(sock, tally)
    sock.start(visitor.on_frame)
    start = {"category": "tyonhaku", "text": START_TEXT, "client_id": f"start{n}"}
    answer = await sock.call("start", start)
    if not isinstance(answer, dict) or "chat_id" not in answer:
        raise SetupError(f"start answered {answer!r}")
    return visitor


# The load.


async def paced(visitors: Sequence[Visitor], start: float, stop: float, rate: float) -> None:
    """Each visitor sends `rate` messages a second, phases spread evenly, whatever comes back."""
    interval = 1.0 / rate
    step = interval / len(visitors)
    tick = 0
    while True:
        base = start + tick * interval
        for i, visitor in enumerate(visitors):
            due = base + i * step
            if due >= stop:
                return
            delay = due - _perf()
            if delay > 0.0005:
                await asyncio.sleep(delay)
            await visitor.send()
        tick += 1


async def drain(tally: Tally) -> None:
    """Wait (a while) for the echoes still out; any that do not come count as lost."""
    tally.drained = asyncio.Event()
    if tally.outstanding:
        try:
            await asyncio.wait_for(tally.drained.wait(), DRAIN_SECONDS)
        except TimeoutError:
            pass
    tally.drained = None


def summary(phase: Phase, used: CpuReading) -> dict[str, Any]:
    """The figures of one phase, latencies in ms and CPU (seconds given) as % of one core."""
    seconds = phase.stop - phase.start
    server = sum(used.servers)
    measured = server + used.db + used.redis + used.client
    rtts = sorted(phase.rtts)
    slowest = sorted(zip(phase.rtts, phase.sent_at, strict=True), reverse=True)[:SLOWEST]

    def pct(p: float) -> float | None:
        """The p-quantile in ms (nearest rank), or None without samples."""
        return rtts[min(len(rtts) - 1, int(p * len(rtts)))] * 1000 if rtts else None

    return {
        "seconds": seconds,
        "sent": phase.sent,
        "timed": len(rtts),
        "lost": phase.sent - len(rtts),
        "round_trips_per_s": phase.echoes / seconds,
        "messages_per_s": 2 * phase.echoes / seconds,
        "rtt_p50_ms": pct(0.50),
        "rtt_p99_ms": pct(0.99),
        "rtt_max_ms": rtts[-1] * 1000 if rtts else None,
        # When the slowest round trips were sent (s into the window) and how long they took.
        "slowest": [(round(at - phase.start, 3), round(rtt * 1000, 2)) for rtt, at in slowest],
        # Every server process together, then each (in --server-pid order).
        "server_cpu_pct": 100 * server / seconds,
        "server_cpu_pct_each": [100 * s / seconds for s in used.servers],
        "server_loop_cpu_pct": 100 * sum(used.loops) / seconds,
        "db_cpu_pct": 100 * used.db / seconds,
        "redis_cpu_pct": 100 * used.redis / seconds,
        "client_cpu_pct": 100 * used.client / seconds,
        "other_cpu_pct": 100 * max(0.0, used.busy - measured) / seconds,
    }


async def measure(
    visitors: Sequence[Visitor],
    tally: Tally,
    watched: Watched,
    name: str,
    seconds: float,
    flood: bool,
) -> dict[str, Any]:
    """Run one phase (paced or flood) and read the server's CPU around exactly that window."""
    start = _perf() + 0.05
    phase = Phase(name, start, start + seconds)
    tally.phase, tally.flood = phase, flood
    await asyncio.sleep(start - _perf())
    before = CpuReading.now(watched)
    if flood:
        for visitor in visitors:
            await visitor.send()
        await asyncio.sleep(max(0.0, phase.stop - _perf()))
    else:
        await paced(visitors, start, phase.stop, 1.0)
        await asyncio.sleep(max(0.0, phase.stop - _perf()))
    used = CpuReading.now(watched).since(before)
    tally.flood = False
    await drain(tally)
    tally.phase, tally.outstanding = None, 0
    for visitor in visitors:
        visitor.pending.clear()
    return summary(phase, used)


def socket_url(base: str) -> str:
    """The Engine.IO websocket address of the server at `base` (http://host:port)."""
    return base.replace("http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Set up the pairs, warm up, measure the paced and flood phases, and report."""
    base = args.url.rstrip("/")
    staff_base = (args.staff_url or args.url).rstrip("/")
    url, staff_url = socket_url(base), socket_url(staff_base)
    pids = args.server_pid
    watched = Watched(pids, args.db_pid, args.redis_pid)
    tally = Tally(args.pairs)
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        began = _perf()
        cookies: list[str | None] = [None] * args.pairs
        if args.staff_user:
            cookies = list(
                await gather_limited(
                    LOGIN_LIMIT,
                    [
                        partial(
                            sign_in,
                            session,
                            staff_base,
                            f"{args.staff_user}{n}",
                            args.staff_password,
                        )
                        for n in range(args.pairs)
                    ],
                )
            )
        signed_in = _perf()
        await asyncio.sleep(0.5)
        rss_before = servers_rss_kb(pids)
        cpu_signed_in = servers_cpu_seconds(pids)
        staff = await gather_limited(
            CONNECT_LIMIT, [partial(open_staff, session, staff_url, tally, c) for c in cookies]
        )
        staff_ready = _perf()
        cpu_staff_ready = servers_cpu_seconds(pids)
        visitors = await gather_limited(
            CONNECT_LIMIT,
            [partial(open_visitor, session, url, tally, n) for n in range(args.pairs)],
        )
        try:
            await asyncio.wait_for(tally.all_assigned.wait(), SETUP_SECONDS)
        except TimeoutError:
            raise SetupError(f"only {tally.assigned} of {args.pairs} chats were assigned") from None
        ready = _perf()
        cpu_ready = servers_cpu_seconds(pids)
        staff_setup_bytes = sum(s.sock.received for s in staff)
        rss_connected = servers_rss_kb(pids)
        await measure(visitors, tally, watched, "warm-up", args.warmup, flood=False)
        rss_after = servers_rss_kb(pids)
        paced_figures = await measure(visitors, tally, watched, "paced", args.duration, flood=False)
        flood_figures = await measure(visitors, tally, watched, "flood", args.flood, flood=True)
        rss_end = servers_rss_kb(pids)
        for sock in [s.sock for s in staff] + [v.sock for v in visitors]:
            if sock.task is not None:
                sock.task.cancel()
    connections = 2 * args.pairs
    return {
        "pairs": args.pairs,
        "connections": connections,
        "server_processes": len(pids),
        "sign_in_s": signed_in - began,
        "connect_s": ready - signed_in,
        "staff_connect_s": staff_ready - signed_in,
        "visitor_start_s": ready - staff_ready,
        "staff_connect_cpu_s": cpu_staff_ready - cpu_signed_in,
        "visitor_start_cpu_s": cpu_ready - cpu_staff_ready,
        "staff_setup_bytes": staff_setup_bytes,
        "rss_before_kb": rss_before,
        "rss_connected_kb": rss_connected,
        "rss_after_kb": rss_after,
        "rss_end_kb": rss_end,
        "rss_per_connection_kb": (rss_after - rss_before) / connections,
        "errors": tally.errors,
        "first_error": tally.first_error,
        "paced": paced_figures,
        "flood": flood_figures,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line options (bench/chat.py passes all of them)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT (visitors)")
    parser.add_argument(
        "--staff-url", help="where staff sign in and connect (default: --url), another process"
    )
    parser.add_argument(
        "--server-pid",
        type=_pids,
        required=True,
        help="the server's pid, or several comma-separated: CPU and memory are their sum",
    )
    parser.add_argument(
        "--db-pid", type=int, help="PostgreSQL's postmaster: its processes' CPU is the db column"
    )
    parser.add_argument("--redis-pid", type=int, help="redis-server: its CPU is the redis column")
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--flood", type=float, default=5.0)
    parser.add_argument("--staff-user", help="sign in as <prefix>0 … <prefix>N-1 (Koppi)")
    parser.add_argument("--staff-password", default="")
    return parser.parse_args(argv)


def _pids(text: str) -> tuple[int, ...]:
    """Comma-separated process ids, at least one."""
    try:
        pids = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("pids are whole numbers separated by commas") from None
    if not pids:
        raise argparse.ArgumentTypeError("give at least one pid")
    return pids


def main() -> int:
    """Entry point: one JSON object on standard output, or an error on standard error."""
    args = parse_args()
    try:
        result = asyncio.run(run(args))
    except SetupError as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
