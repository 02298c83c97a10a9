"""Load-test Koppi's live chat beside a bare python-socketio relay and a raw aiohttp ws relay.

Run: .venv/bin/python bench/chat.py [--pairs 100,500] [--duration 10] [--flood 5] [--quick]
     [--engine sqlite|postgresql|both] [--processes 1|2]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from unittest.mock import patch

import _engines
from board import BENCH_DIR, HOST, READY_SECONDS, free_port, revision, service_env, stop

from service import passwords
from service.auth import create_staff
from service.clock import system_clock
from service.settings import Settings
from service.storage.db import open_database
from tests.redis_server import Redis, running_redis

CLIENT_SECONDS = 900.0  # one client run, sign-ins and set-up included
STAFF_USER = "bench"
STAFF_ROLE = "adviser"  # fits the `tyonhaku` topic the visitors choose
TARGET_P99_MS = 20.0
TARGET_P99_MS_CROSSING = 30.0  # several processes: every message also goes through Redis
TARGET_CPU_PCT = 50.0
TARGET_FLOOD_SHARE = 25.0
TARGET_RSS_KB = 40.0
TARGET_CONNECTIONS = 1000
BUSY_PCT = 40.0  # CPU used by other work during a window above which its row is flagged


PG_TEMPLATE = "koppi_chat_template"
# Which Koppi targets each engine is held to in one process; its other figures are shown for
# information. Several processes are held to their own round trip target only.
TARGETS_BY_ENGINE = {"sqlite": {"p99", "cpu", "flood", "rss"}, "postgresql": {"p99"}}
TARGETS_CROSSING = {"p99"}
PROCESSES = (1, 2)


@dataclass(frozen=True)
class Server:
    """One server under test: its label and, for Koppi, the storage engine it runs on and how
    many processes share it (visitors on the first, staff on the second)."""

    key: str
    label: str
    engine: str | None = None
    processes: int = 1
    heading: str = ""  # its column in the targets

    @property
    def targets(self) -> set[str]:
        """The targets this row is held to (Koppi only)."""
        if self.engine is None:
            return set()
        return TARGETS_CROSSING if self.processes > 1 else TARGETS_BY_ENGINE[self.engine]

    @property
    def p99_ms(self) -> float:
        """The round trip p99 target at 1 msg/s and 1,000 connections."""
        return TARGET_P99_MS_CROSSING if self.processes > 1 else TARGET_P99_MS


SEVERAL = "koppi-postgresql-2p"  # the row --processes 2 adds
SERVERS = {
    "raw": Server("raw", "raw aiohttp ws relay"),
    "sio": Server("sio", "python-socketio relay"),
    **{
        f"koppi-{e}": Server(f"koppi-{e}", f"Koppi, {_engines.LABELS[e]}", e, 1, _engines.LABELS[e])
        for e in _engines.ENGINES
    },
    SEVERAL: Server(
        SEVERAL, "Koppi, PostgreSQL + Redis, 2 processes", "postgresql", 2, "PG + Redis, 2 procs"
    ),
}


@dataclass
class Templates:
    """The staff accounts every Koppi run starts from, on each engine measured."""

    sqlite: Path | None = None
    cluster: _engines.Cluster | None = None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pairs", default="100,500", help="visitor-staff pairs per run, e.g. 100,500"
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds at 1 msg/s per visitor"
    )
    parser.add_argument("--flood", type=float, default=5.0, help="seconds of flood")
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="seconds at 1 msg/s, not measured"
    )
    parser.add_argument("--servers", default="raw,sio,koppi", help="any of raw, sio, koppi")
    _engines.add_option(parser)
    parser.add_argument(
        "--processes",
        type=int,
        choices=PROCESSES,
        default=1,
        help="2 also measures Koppi as two processes on PostgreSQL + Redis, visitors on one and"
        " staff on the other, beside one process on PostgreSQL",
    )
    parser.add_argument(
        "--quick", action="store_true", help="100 pairs, 3 s paced, 2 s flood, 1 s warm-up"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.pairs, args.duration, args.flood, args.warmup = "100", 3.0, 2.0, 1.0
    try:
        args.pairs = [int(n) for n in str(args.pairs).split(",") if n.strip()]
    except ValueError:
        parser.error("--pairs takes whole numbers separated by commas")
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not args.pairs or min(args.pairs) < 1:
        parser.error("need at least one pair")
    if unknown := set(args.servers) - {"raw", "sio", "koppi"}:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    if args.processes > 1:
        if "koppi" not in args.servers:
            parser.error("--processes 2 measures Koppi: keep koppi in --servers")
        if args.engine == "sqlite":
            args.engine = "both"  # several processes run on PostgreSQL, measured beside it
    # Koppi once per engine, SQLite first, after the relays; then several processes.
    koppi = "koppi" in args.servers
    args.servers = [s for s in args.servers if s != "koppi"] + [
        f"koppi-{e}" for e in _engines.chosen(args) if koppi
    ]
    if args.processes > 1:
        args.servers.append(SEVERAL)
    if args.duration < 1 or args.flood < 1 or args.warmup < 0:
        parser.error("need --duration >= 1, --flood >= 1 and --warmup >= 0")
    return args


# Koppi's database: staff accounts made once with Koppi's own code, copied for each run.


def koppi_env(db_path: Path, port: int, database_url: str | None = None) -> dict[str, str]:
    """Environment for `python -m service` with demo content and the visitor rate limit off."""
    env = service_env(db_path, port, database_url)
    env.update(KOPPI_DEMO="0", KOPPI_RATE_LIMITS="0")
    return env


async def _create_accounts(settings: Settings, count: int, password: str) -> None:
    """`count` advisers named bench0 … made by Koppi's create_staff, sharing one argon2 hash."""
    # Each hash costs about 140 ms of CPU here (64 MiB of memory to touch): hashing the shared
    # password once instead of `count` times saves a minute. Sign-in still verifies it.
    shared = await passwords.hash_async(password)

    async def hash_once(_password: str) -> str:
        """The shared hash, in place of a fresh one per account."""
        return shared

    db = open_database(settings)
    await db.open()  # migrates the new database
    try:
        with patch.object(passwords, "hash_async", hash_once):
            for n in range(count):
                await create_staff(
                    db,
                    system_clock,
                    username=f"{STAFF_USER}{n}",
                    password=password,
                    role=STAFF_ROLE,
                    first_name=f"Neuvoja{n}",
                )
    finally:
        await db.close()


def build_templates(
    folder: Path, engines: Sequence[str], count: int, password: str, stack: ExitStack
) -> Templates:
    """Per engine, a migrated database with `count` staff accounts made with Koppi's code: a
    SQLite file, or a PostgreSQL database that each run's database is created from."""
    found = Templates()
    for engine in engines:
        started = time.perf_counter()
        if engine == "sqlite":
            found.sqlite = folder / "template.sqlite3"
            settings = Settings(db_path=found.sqlite)
        else:
            found.cluster = _engines.start_cluster(stack)
            url = _engines.new_database(found.cluster, PG_TEMPLATE)
            settings = Settings(db_path=folder / "pg-template" / "unused", database_url=url)
        asyncio.run(_create_accounts(settings, count, password))
        print(
            f"created {count} staff accounts on {_engines.LABELS[engine]} in"
            f" {time.perf_counter() - started:.1f} s",
            flush=True,
        )
    return found


def fresh_copy(template: Path, target: Path) -> Path:
    """A consistent copy of the template, so each run starts with no chats and no sessions."""
    with closing(sqlite3.connect(template)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return target


# The servers.


def _ready(url: str) -> bool:
    """Whether a GET of `url` answers below 500."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback http)
            response.read()
            return int(response.status) < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


@contextmanager
def running(argv: list[str], env: dict[str, str], port: int, log_path: Path) -> Iterator[int]:
    """Run one server subprocess for the block, yielding its pid once it answers on `port`."""
    with log_path.open("wb") as log:
        # A session of its own: Ctrl-C reaches only this script, which then stops the server.
        proc = subprocess.Popen(
            argv, env=env, cwd=BENCH_DIR.parent, stdout=log, stderr=log, start_new_session=True
        )
    try:
        deadline = time.monotonic() + READY_SECONDS
        while not _ready(f"http://{HOST}:{port}/"):
            if proc.poll() is not None:
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
                raise RuntimeError(f"{argv[-3:]} exited with {proc.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{argv} did not answer within {READY_SECONDS:.0f} s")
            time.sleep(0.2)
        yield proc.pid
    finally:
        stop(proc)


def server_commands(
    server: Server,
    ports: Sequence[int],
    folder: Path,
    pairs: int,
    templates: Templates,
    redis_url: str | None,
) -> list[tuple[list[str], dict[str, str]]]:
    """The argv and environment of each process that makes up `server`, one per port."""
    python = sys.executable
    serve = [python, "-m", "service", "serve"]
    if server.engine == "sqlite":
        assert templates.sqlite is not None
        db_path = fresh_copy(templates.sqlite, folder / f"koppi-{pairs}.sqlite3")
        return [(serve, koppi_env(db_path, ports[0]))]
    if server.engine == "postgresql" and server.processes == 1:
        assert templates.cluster is not None
        url = _engines.new_database(templates.cluster, f"koppi_chat_{pairs}", PG_TEMPLATE)
        data = folder / f"koppi-pg-{pairs}" / "unused.sqlite3"  # the data folder only
        return [(serve, koppi_env(data, ports[0], url))]
    if server.engine == "postgresql":
        assert templates.cluster is not None and redis_url is not None
        name = f"koppi_chat_{pairs}_{server.processes}p"
        url = _engines.new_database(templates.cluster, name, PG_TEMPLATE)
        # One database, one Redis and one secret (a session cookie is good on either process);
        # a data folder each.
        secret = secrets.token_urlsafe(32)
        commands = []
        for n, port in enumerate(ports):
            env = koppi_env(folder / f"{name}-{n}" / "unused.sqlite3", port, url)
            env.update(KOPPI_REDIS_URL=redis_url, KOPPI_SECRET=secret)
            commands.append((serve, env))
        return commands
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPPI_")}
    relay = [python, str(BENCH_DIR / "_chat_relays.py"), server.key, "--port", str(ports[0])]
    return [(relay, env)]


def free_ports(count: int) -> list[int]:
    """`count` different loopback ports nobody listens on right now."""
    ports: list[int] = []
    while len(ports) < count:
        if (port := free_port()) not in ports:
            ports.append(port)
    return ports


def redis_version() -> str:
    """The redis-server version, such as "7.0.15", or "?"."""
    done = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    found = [w for w in done.stdout.split() if w.startswith("v=")]
    return found[0][2:] if found else "?"


def load(
    server: Server,
    pids: Sequence[int],
    ports: Sequence[int],
    pairs: int,
    args: argparse.Namespace,
    password: str,
    templates: Templates,
    redis: Redis | None,
) -> dict[str, Any]:
    """One run of the load client in its own process; its JSON report (or {"error": …}).
    With two processes, visitors use the first and staff the second."""
    argv = [sys.executable, str(BENCH_DIR / "_sio_frames.py")]
    argv += ["--url", f"http://{HOST}:{ports[0]}"]
    if len(ports) > 1:
        argv += ["--staff-url", f"http://{HOST}:{ports[1]}"]
    argv += ["--server-pid", ",".join(str(pid) for pid in pids)]
    argv += ["--pairs", str(pairs), "--warmup", str(args.warmup)]
    argv += ["--duration", str(args.duration), "--flood", str(args.flood)]
    if server.engine:
        argv += ["--staff-user", STAFF_USER, "--staff-password", password]
    if server.engine == "postgresql" and templates.cluster is not None:
        argv += ["--db-pid", str(_engines.postmaster_pid(templates.cluster))]
    if server.processes > 1 and redis is not None and redis.process is not None:
        argv += ["--redis-pid", str(redis.process.pid)]
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=CLIENT_SECONDS,
            start_new_session=True,  # on Ctrl-C, subprocess.run kills it
        )
    except subprocess.TimeoutExpired:
        return {"error": f"the load client took over {CLIENT_SECONDS:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        return {"error": f"the load client exited with {done.returncode}:\n{tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# The report.


def _ms(value: float | None) -> str:
    """A latency for the table, or "-" when there was none."""
    return "-" if value is None else f"{value:.2f}"


def _per_rt(p: dict[str, Any], pct: float) -> float:
    """A CPU figure (% of a core) as µs per round trip in the same window."""
    rtps = p["round_trips_per_s"]
    return 1e4 * pct / rtps if rtps else float("nan")


def _us_per_rt(p: dict[str, Any]) -> float:
    """Server CPU per round trip: every Koppi process, PostgreSQL's processes and Redis."""
    return _per_rt(p, p["server_cpu_pct"] + p["db_cpu_pct"] + p["redis_cpu_pct"])


def _pct_or_dash(shown: bool, pct: float) -> str:
    """A CPU cell, or "-" where the row has no such process."""
    return f"{pct:>8.1f}%" if shown else f"{'-':>9}"


def print_table(results: dict[tuple[str, int], dict[str, Any]], phase: str, title: str) -> None:
    """One row per server and pair count for the `paced` or `flood` phase."""
    print(f"\n{title}")
    width = max([22, *(len(SERVERS[key].label) + 2 for key, _ in results)])
    header = "pairs conns p50_ms p99_ms max_ms msgs/s srv_CPU loop db redis client other µs/rt"
    header += " RSS/conn lost errors"
    print(f"{'server':<{width}}" + "".join(f"{h.replace('_', ' '):>9}" for h in header.split()))
    for (key, pairs), r in results.items():
        server = SERVERS[key]
        name = server.label
        if "error" in r:
            print(f"{name:<{width}}{pairs:>9}  failed: {r['error'].splitlines()[0][:90]}")
            continue
        p = r[phase]
        db = _pct_or_dash(server.engine == "postgresql", p["db_cpu_pct"])
        redis = _pct_or_dash(server.processes > 1, p["redis_cpu_pct"])
        print(
            f"{name:<{width}}{pairs:>9}{r['connections']:>9}{_ms(p['rtt_p50_ms']):>9}"
            f"{_ms(p['rtt_p99_ms']):>9}{_ms(p['rtt_max_ms']):>9}{p['messages_per_s']:>9.0f}"
            f"{p['server_cpu_pct']:>8.1f}%{p['server_loop_cpu_pct']:>8.1f}%{db}{redis}"
            f"{p['client_cpu_pct']:>8.1f}%{p['other_cpu_pct']:>8.1f}"
            f"{'!' if p['other_cpu_pct'] > BUSY_PCT else '%'}{_us_per_rt(p):>9.0f}"
            f"{r['rss_per_connection_kb']:>7.1f}KB{p['lost']:>9}{r['errors']:>9}"
        )


def print_notes(results: dict[tuple[str, int], dict[str, Any]]) -> None:
    """Flag runs disturbed by other work, and show when Koppi's slowest round trips happened."""
    busy = [
        f"{SERVERS[key].label} at {pairs} pairs ({phase})"
        for (key, pairs), r in results.items()
        if "error" not in r
        for phase in ("paced", "flood")
        if r[phase]["other_cpu_pct"] > BUSY_PCT
    ]
    if busy:
        print(
            f"\n! other work used more than {BUSY_PCT:.0f}% of a core during: "
            + "; ".join(busy)
            + ". Those figures are not the server's own: run again on a quiet machine."
        )
    for (key, pairs), r in results.items():
        if SERVERS[key].engine and "error" not in r:
            slow = ", ".join(f"{ms:.0f} ms at {at:.2f} s" for at, ms in r["paced"]["slowest"])
            print(f"slowest round trips at 1 msg/s, {SERVERS[key].label}, {pairs} pairs: {slow}")


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def _cell(server: Server, kind: str, ok: bool, shown: str) -> str:
    """PASS/FAIL and the value, or just the value where the row has no such target."""
    mark = verdict(ok) if kind in server.targets else "info"
    return f"{mark} {shown}"


def _target_lines(
    results: dict[tuple[str, int], dict[str, Any]],
    server: Server,
    pair_counts: Sequence[int],
) -> dict[str, str]:
    """One Koppi row's cell per target line; a line it has no figure for is left out."""
    koppi = {n: r for (key, n), r in results.items() if key == server.key and "error" not in r}
    if not koppi:
        return {}
    n = TARGET_CONNECTIONS // 2 if TARGET_CONNECTIONS // 2 in koppi else max(koppi)
    r = koppi[n]
    at = f"at {r['connections']} connections"
    if r["connections"] != TARGET_CONNECTIONS:
        at += f" (the target is set at {TARGET_CONNECTIONS})"
    paced = r["paced"]
    p99 = paced["rtt_p99_ms"]
    cpu = paced["server_cpu_pct"]
    crossing = ", crossing processes" if server.processes > 1 else ""
    lines = {
        f"rtt p99 <= {server.p99_ms:.0f} ms at 1 msg/s {at}{crossing}": _cell(
            server, "p99", p99 is not None and p99 <= server.p99_ms, f"{_ms(p99)} ms"
        ),
        f"rtt p50 at 1 msg/s {at}": f"info {_ms(paced['rtt_p50_ms'])} ms",
        f"server CPU <= {TARGET_CPU_PCT:.0f}% of a core at 1 msg/s {at}": _cell(
            server, "cpu", cpu <= TARGET_CPU_PCT, f"{cpu:.1f}%"
        ),
    }
    if server.engine == "postgresql":
        every = cpu + paced["db_cpu_pct"] + paced["redis_cpu_pct"]
        lines[f"server + PostgreSQL (+ Redis) CPU at 1 msg/s {at}"] = f"info {every:.1f}%"
    lines[f"server CPU µs per round trip at 1 msg/s {at}"] = f"info {_us_per_rt(paced):.0f}"
    for _pairs, run in sorted(koppi.items()):
        flood = run["flood"]
        lines[f"flood msgs/s, µs per round trip at {run['connections']} connections"] = (
            f"info {flood['messages_per_s']:.0f}, {_us_per_rt(flood):.0f}"
        )
    for pairs in pair_counts:
        raw = results.get(("raw", pairs))
        if pairs not in koppi or raw is None or "error" in raw:
            continue
        mine, theirs = koppi[pairs]["flood"], raw["flood"]
        share = 100 * mine["messages_per_s"] / theirs["messages_per_s"]
        label = (
            f"flood msgs/s >= {TARGET_FLOOD_SHARE:.0f}% of the raw relay at {pairs} pairs"
            f" (raw: {theirs['messages_per_s']:.0f}, its client {theirs['client_cpu_pct']:.0f}%)"
        )
        lines[label] = _cell(
            server,
            "flood",
            share >= TARGET_FLOOD_SHARE,
            f"{share:.1f}% {mine['messages_per_s']:.0f}",
        )
    for _pairs, r in sorted(koppi.items()):
        kb = r["rss_per_connection_kb"]
        label = (
            f"server memory <= {TARGET_RSS_KB:.0f} KB per connection at"
            f" {r['connections']} connections"
        )
        lines[label] = _cell(server, "rss", kb <= TARGET_RSS_KB, f"{kb:.1f} KB")
    return lines


def _merged(columns: Sequence[Sequence[str]]) -> list[str]:
    """Every column's labels in one list, each column's order kept: a label only some columns
    have goes just before the next label of its own column that is already placed."""
    labels: list[str] = []
    for column in columns:
        following = len(labels)
        for label in reversed(column):
            if label in labels:
                following = labels.index(label)
            else:
                labels.insert(following, label)
    return labels


def print_targets(results: dict[tuple[str, int], dict[str, Any]], args: argparse.Namespace) -> None:
    """Koppi's figures against the targets, its rows (engines, processes) side by side."""
    rows = [SERVERS[key] for key in args.servers if SERVERS[key].engine]
    columns = {s.key: _target_lines(results, s, args.pairs) for s in rows}
    measured = [s for s in rows if columns[s.key]]
    print("\ntargets (info: not a target for that row)")
    if not measured:
        print("  Koppi was not measured")
        return
    labels = _merged([list(columns[s.key]) for s in measured])
    width = max(len(label) for label in labels) + 2
    cell = max([18, *(len(s.heading) + 2 for s in measured)])
    print(f"{'':<{width + 2}}" + "".join(f"{s.heading:>{cell}}" for s in measured))
    for label in labels:
        cells = "".join(f"{columns[s.key].get(label, '-'):>{cell}}" for s in measured)
        print(f"  {label:<{width}}{cells}")


def _split(p: dict[str, Any]) -> tuple[float, float, float]:
    """µs per round trip of the Koppi processes, PostgreSQL and Redis."""
    return (
        _per_rt(p, p["server_cpu_pct"]),
        _per_rt(p, p["db_cpu_pct"]),
        _per_rt(p, p["redis_cpu_pct"]),
    )


def print_crossing_cost(
    results: dict[tuple[str, int], dict[str, Any]], pair_counts: Sequence[int]
) -> None:
    """What the second process costs per round trip, and in which processes the CPU went:
    one Koppi process on PostgreSQL against two on PostgreSQL + Redis, the same run."""
    found = [
        (one, two)
        for pairs in pair_counts
        if (one := results.get(("koppi-postgresql", pairs))) is not None
        and (two := results.get((SEVERAL, pairs))) is not None
        and "error" not in one
        and "error" not in two
    ]
    if not found:
        return
    print(
        "\nwhat the second process costs: server CPU µs per round trip, Koppi processes +"
        " PostgreSQL + Redis (with 2 processes: the visitors' / the staff's process in brackets)"
    )
    for one, two in found:
        for phase, name in (("paced", "1 msg/s"), ("flood", "flood")):
            a, b = one[phase], two[phase]
            koppi_a, db_a, _ = _split(a)
            koppi_b, db_b, redis_b = _split(b)
            each = " / ".join(f"{_per_rt(b, pct):.0f}" for pct in b["server_cpu_pct_each"])
            total_a, total_b = _us_per_rt(a), _us_per_rt(b)
            change = 100 * (total_b - total_a) / total_a if total_a else float("nan")
            print(
                f"  {two['connections']} conns, {name}: 1 process {koppi_a:.0f} + {db_a:.0f}"
                f" = {total_a:.0f}; 2 processes {koppi_b:.0f} ({each}) + {db_b:.0f} +"
                f" {redis_b:.0f} = {total_b:.0f}; difference {total_b - total_a:+.0f}"
                f" ({change:+.0f}%): Koppi {koppi_b - koppi_a:+.0f}, PostgreSQL"
                f" {db_b - db_a:+.0f}, Redis {redis_b:+.0f}"
            )


def print_report(
    results: dict[tuple[str, int], dict[str, Any]], args: argparse.Namespace, versions: str
) -> None:
    """Both phase tables and the targets."""
    print(
        f"\nKoppi chat benchmark ({revision()}): {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}, {versions}"
    )
    print(
        "round trip = visitor send -> staff receives -> staff echoes -> visitor receives; "
        "msgs/s counts chat messages both ways (2 per round trip)\n"
        "CPU in % of one core over the window: srv = the whole server process, loop = its "
        "main thread, db = PostgreSQL's server processes (SQLite runs inside srv), client = "
        "the load client, other = the rest of the machine (kernel softirq and anything else "
        "running)\n"
        "µs/rt = server CPU (srv + db + redis) per round trip; RSS/conn = server RSS growth "
        "while the sockets connected and warmed up, per connection\n"
        "2 processes: visitors on one, staff on the other, so every message crosses through "
        "Redis; srv, loop and RSS are both processes together, redis = redis-server"
    )
    print_table(
        results,
        "paced",
        f"1 msg/s per visitor, {args.duration:g} s after {args.warmup:g} s of warm-up",
    )
    print_table(
        results, "flood", f"flood: each visitor sends again when its echo arrives, {args.flood:g} s"
    )
    print_notes(results)
    print_crossing_cost(results, args.pairs)
    print_targets(results, args)


def print_log_tail(log_path: Path, lines: int = 40) -> None:
    """The end of a server process's log, indented, after a failed run."""
    tail = log_path.read_text(errors="replace").splitlines()[-lines:]
    if tail:
        print(f"  {log_path.name} ended with:\n    " + "\n    ".join(tail), flush=True)


def print_progress(result: dict[str, Any], started: float) -> None:
    """Set-up times and memory of one finished run."""
    base = result["rss_before_kb"]
    both = " (both processes)" if result["server_processes"] > 1 else ""
    print(
        f"  sign-in {result['sign_in_s']:.1f} s; staff connected and available in "
        f"{result['staff_connect_s']:.1f} s (server CPU "
        f"{result['staff_connect_cpu_s']:.1f} s), visitors connected and assigned in "
        f"{result['visitor_start_s']:.1f} s (server CPU{both} "
        f"{result['visitor_start_cpu_s']:.1f} s); staff sockets received "
        f"{result['staff_setup_bytes'] / 1e6:.1f} MB in set-up; whole run "
        f"{time.perf_counter() - started:.0f} s\n "
        f" server RSS{both} {base / 1024:.0f} MB before the sockets, "
        f"+{(result['rss_connected_kb'] - base) / 1024:.1f} MB connected, "
        f"+{(result['rss_after_kb'] - base) / 1024:.1f} MB after warm-up, "
        f"+{(result['rss_end_kb'] - base) / 1024:.1f} MB at the end",
        flush=True,
    )
    if result["errors"]:
        print(f"  {result['errors']} error acks, first: {result['first_error']}")


def measure(args: argparse.Namespace, folder: Path, stack: ExitStack) -> None:
    """Run every server at every pair count, one at a time, and print the report."""
    password = secrets.token_urlsafe(12)
    engines = list(dict.fromkeys(e for key in args.servers if (e := SERVERS[key].engine)))
    templates = build_templates(folder, engines, max(args.pairs), password, stack)
    versions = f"SQLite {sqlite3.sqlite_version}"
    if templates.cluster is not None:
        versions += f", PostgreSQL {_engines.version(templates.cluster)}"
    redis: Redis | None = None
    if any(SERVERS[key].processes > 1 for key in args.servers):
        redis = stack.enter_context(running_redis())
        versions += f", Redis {redis_version()}"
    redis_dbs = itertools.count(1)  # a fresh Redis database for each run
    results: dict[tuple[str, int], dict[str, Any]] = {}
    for pairs in args.pairs:
        for key in args.servers:
            server = SERVERS[key]
            ports = free_ports(server.processes)
            redis_url = redis.url(next(redis_dbs)) if redis and server.processes > 1 else None
            commands = server_commands(server, ports, folder, pairs, templates, redis_url)
            print(f"{server.label}, {pairs} pairs …", flush=True)
            started = time.perf_counter()
            log_paths = [folder / f"{key}-{pairs}-{n}.log" for n in range(len(commands))]
            with ExitStack() as processes:
                pids = [
                    processes.enter_context(running(argv, env, port, log_path))
                    for (argv, env), port, log_path in zip(commands, ports, log_paths, strict=True)
                ]
                result = load(server, pids, ports, pairs, args, password, templates, redis)
            results[(key, pairs)] = result
            if "error" in result:
                print(f"  failed: {result['error']}", flush=True)
                for log_path in log_paths:
                    print_log_tail(log_path)
            else:
                print_progress(result, started)
    print_report(results, args, versions)


def _terminate(signum: int, _frame: FrameType | None) -> None:
    """Turn SIGTERM into an exit so clean-up blocks run."""
    raise SystemExit(128 + signum)


def main() -> int:
    """Entry point: every child process and the temp folder are gone when this returns."""
    signal.signal(signal.SIGTERM, _terminate)
    args = parse_args()
    try:
        with tempfile.TemporaryDirectory(prefix="koppi-chat-bench-") as tmp, ExitStack() as stack:
            measure(args, Path(tmp), stack)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
