"""Load-test the public board against bare aiohttp baselines on a generated 100k-question database.

Run: .venv/bin/python bench/board.py [--questions 100000] [--duration 10] [--connections 50]
     [--engine sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote

import _corpus
import _engines
import _wrk
import aiohttp

BENCH_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"
READY_SECONDS = 60.0
CACHED_QUESTIONS = 50
UNCACHED_QUESTIONS = 5000  # more than the 2,000 pages the page cache keeps
DIRECT_SEARCHES = 300
CACHE_FLUSH_SEARCHES = 600  # no-hit searches that push everything out of the search cache
SETTLE_MS = 100.0
# Words visitors search for most; after the first request each is served from the search cache.
POPULAR_SEARCHES = (
    "työpaja",
    "kelan",
    "tuki",
    "palkkatuki",
    "asunto",
    "opiskelu",
    "työpajoissa",
    "asumistuki",
    "työhakemus",
    "ammattikoulu",
)
# Query shapes timed once each at the end, outside the p95 sample, because they may be slow.
PROBES = (
    ("two-letter word", "cv"),
    ("two words", "kela asumistuki"),
    ("three words", "palkkatuki työpaja kela"),
)
PROBE_TIMEOUT = 120.0
TARGET_SHARE = 40.0
TARGET_P99_MS = 30.0
TARGET_SEARCH_P95_MS = 50.0
# Similar questions while asking: questions as typed, up to a pause, answered one at a time.
SIMILAR_PATH = "/api/questions/similar"
SIMILAR_REQUESTS = 300
SIMILAR_SEED = 4242  # not the corpus's seed: typed questions are new, not copies of stored ones
TARGET_SIMILAR_P95_MS = 50.0
# Which targets each engine is held to; the rest of its figures are shown for information.
TARGETS_BY_ENGINE = {
    "sqlite": {"share", "p99", "search", "similar"},
    "postgresql": {"share", "search", "similar"},
}

Probe = tuple[str, str, float | None]


@dataclass(frozen=True)
class Target:
    """One page, or a rotation of paths, to load with wrk."""

    name: str
    port: int
    paths: tuple[str, ...]
    cached: bool = True

    @property
    def url(self) -> str:
        """The first path's full URL (wrk's script, if any, picks the paths)."""
        return f"http://{HOST}:{self.port}{self.paths[0]}"


@dataclass(frozen=True)
class Baselines:
    """Where the bare servers listen; `jinja_pg` only when PostgreSQL is measured."""

    text: int
    jinja: int
    jinja_pg: int | None


@dataclass
class EngineRun:
    """What one engine's service measured: wrk rows, sequential searches, the probes and the
    sequential similar-question look-ups."""

    results: dict[str, _wrk.WrkResult]
    search_ms: list[float]
    probes: list[Probe]
    similar_ms: list[float]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    _engines.add_option(parser)
    args = parser.parse_args(argv)
    if args.questions < 2 * CACHED_QUESTIONS or args.duration < 1:
        parser.error(f"need --questions >= {2 * CACHED_QUESTIONS} and --duration >= 1")
    if args.connections < _wrk.THREADS:
        parser.error(f"need --connections >= {_wrk.THREADS}")
    return args


# The database.


async def wait_ready(
    session: aiohttp.ClientSession, url: str, poll: Callable[[], int | None]
) -> None:
    """Until `url` answers below 500, or the service process (`poll`) has exited; 60 s at most."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if poll() is not None:
            raise RuntimeError("the service exited; see its log")
        try:
            async with session.get(url) as response:
                if response.status < 500:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the service did not answer within 60 s")


async def timed(label: str, step: Callable[[], Awaitable[Any]]) -> Any:
    """Run a step and print how long it took."""
    start = time.perf_counter()
    result = await step()
    print(f"{label}: {time.perf_counter() - start:.1f} s", flush=True)
    return result


def service_env(db_path: Path, port: int, database_url: str | None = None) -> dict[str, str]:
    """Environment for `python -m service` on the benchmark database: the SQLite file, or the
    PostgreSQL database at `database_url` (db_path's folder stays the data folder)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPPI_")}
    env.update(
        KOPPI_DB=str(db_path),
        KOPPI_HOST=HOST,
        KOPPI_PORT=str(port),
        KOPPI_SECRET=secrets.token_urlsafe(32),
        # Bench staff sign in with a password only.
        KOPPI_STAFF_2FA="0",
    )
    if database_url:
        env["KOPPI_DATABASE_URL"] = database_url
    # One client sends every look-up: the search budget per address would refuse most of them.
    env["KOPPI_LIMIT_SEARCH_ADDRESS"] = "1000000/60"
    return env


def migrate(db_path: Path) -> None:
    """Create the schema with the service's own CLI."""
    subprocess.run(
        [sys.executable, "-m", "service", "migrate"],
        env=service_env(db_path, 0),
        cwd=BENCH_DIR.parent,
        check=True,
        capture_output=True,
    )


def build_database(folder: Path, count: int) -> Path:
    """Migrate a fresh database with the service's CLI, then bulk-load `count` questions."""
    db_path = folder / "koppi.sqlite3"
    started = time.perf_counter()
    migrate(db_path)
    _corpus.populate(db_path, count)
    size_mb = db_path.stat().st_size / 1e6
    print(f"built {count} questions in {time.perf_counter() - started:.1f} s ({size_mb:.0f} MB)")
    return db_path


def sample_question_ids(db_path: Path, count: int) -> list[int]:
    """Up to `count` distinct random published question ids."""
    conn = sqlite3.connect(db_path)
    try:
        ids = [row[0] for row in conn.execute("SELECT id FROM questions WHERE status='published'")]
    finally:
        conn.close()
    return random.Random(7).sample(ids, min(count, len(ids)))


# The servers.


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def get(url: str, timeout: float = 60.0) -> int:
    """Status of one GET to a loopback server."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback http)
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def spawn(
    argv: list[str], env: dict[str, str], log_path: Path, *, append: bool = False
) -> subprocess.Popen[bytes]:
    """A server subprocess logging to `log_path`, in a session of its own: Ctrl-C reaches only
    this script, which then stops the server."""
    with log_path.open("ab" if append else "wb") as log:
        return subprocess.Popen(
            argv, env=env, cwd=BENCH_DIR.parent, stdout=log, stderr=log, start_new_session=True
        )


@contextmanager
def server(
    name: str, argv: list[str], env: dict[str, str], port: int, logs: Path
) -> Iterator[None]:
    """Run one server subprocess for the block, once it answers on `port`."""
    log_path = logs / f"{name}.log"
    proc = spawn(argv, env, log_path)
    try:
        _wait_ready(proc, f"http://{HOST}:{port}/", log_path)
        yield
    finally:
        stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    """Poll until the server answers, failing fast if it exits."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(f"{url} exited with {proc.returncode}:\n{tail}")
        try:
            if get(url, timeout=2) < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {READY_SECONDS:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a child, killing it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_baselines(stack: ExitStack, db_path: Path, pg_url: str | None, logs: Path) -> Baselines:
    """The bare servers, each on its own free port: text, jinja + sqlite3 and, with a
    PostgreSQL database, jinja + asyncpg."""
    ports = Baselines(free_port(), free_port(), free_port() if pg_url else None)
    python, bare = sys.executable, str(BENCH_DIR / "_bare_servers.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPPI_")}
    text = [python, bare, "text", "--port", str(ports.text)]
    jinja = [python, bare, "jinja", "--port", str(ports.jinja), "--db", str(db_path)]
    stack.enter_context(server("bare-text", text, env, ports.text, logs))
    stack.enter_context(server("bare-jinja", jinja, env, ports.jinja, logs))
    if pg_url and ports.jinja_pg:
        jinja_pg = [python, bare, "jinja-pg", "--port", str(ports.jinja_pg), "--url", pg_url]
        stack.enter_context(server("bare-jinja-pg", jinja_pg, env, ports.jinja_pg, logs))
    return ports


def start_koppi(stack: ExitStack, db_path: Path, pg_url: str | None, logs: Path) -> int:
    """The real service on the SQLite file or, given its URL, on PostgreSQL; its port."""
    port = free_port()
    name = "koppi-postgresql" if pg_url else "koppi-sqlite"
    argv = [sys.executable, "-m", "service", "serve"]
    stack.enter_context(server(name, argv, service_env(db_path, port, pg_url), port, logs))
    return port


# What to measure.


def search_path(text: str) -> str:
    """The board search URL path for one query."""
    return "/?q=" + quote(text)


def baseline_targets(ports: Baselines) -> list[Target]:
    """The bare servers' pages, measured once for both engines."""
    found = [
        Target("bare text", ports.text, ("/",)),
        Target("bare jinja+sqlite3", ports.jinja, ("/",)),
    ]
    if ports.jinja_pg:
        found.append(Target("bare jinja+asyncpg", ports.jinja_pg, ("/",)))
    return found


def koppi_targets(port: int, question_ids: Sequence[int], words: Sequence[str]) -> list[Target]:
    """Koppi's pages: cached pages, then uncached pages and searches."""
    cached_ids, uncached_ids = question_ids[:CACHED_QUESTIONS], question_ids[CACHED_QUESTIONS:]
    return [
        Target("board first page", port, ("/",)),
        Target("category page", port, ("/?category=tyonhaku",)),
        Target("question page", port, tuple(f"/q/{i}" for i in cached_ids)),
        Target("question, uncached", port, tuple(f"/q/{i}" for i in uncached_ids), False),
        Target("search, popular", port, tuple(map(search_path, POPULAR_SEARCHES))),
        Target("search, uncached", port, tuple(map(search_path, words)), False),
    ]


def warm_up(target: Target) -> None:
    """Insist on 200 from the paths; only a cached target gets all of them rendered now."""
    for path in target.paths if target.cached else target.paths[:3]:
        status = get(f"http://{HOST}:{target.port}{path}")
        if status != 200:
            raise RuntimeError(f"{target.name}: GET {path} answered {status}")


def settle(port: int) -> None:
    """Wait (at most a minute) until requests left over from wrk have drained from the service."""
    deadline = time.monotonic() + 60
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        started = time.perf_counter()
        get(f"http://{HOST}:{port}{search_path(f'zqsettle{attempt}')}", timeout=60)  # uncached
        if (time.perf_counter() - started) * 1000 < SETTLE_MS:
            return
        time.sleep(0.5)


async def timed_searches(port: int, texts: Sequence[str], limit: float = 30.0) -> list[float]:
    """Milliseconds for each search in turn, one request at a time, each within `limit` s."""
    return await timed_gets(port, [search_path(text) for text in texts], limit)


def typed_questions(count: int, seed: int = SIMILAR_SEED) -> list[str]:
    """Questions as the ask page sends them after a pause: new ones in the corpus's style, each
    cut after a random word (the young person is still typing), 12 characters at least."""
    rng = random.Random(seed)
    texts: list[str] = []
    for item in _corpus.generate(count, seed=seed):
        whole = f"{item.title} {item.body}" if item.title else item.body
        words = whole.split()
        typed = " ".join(words[: rng.randint(min(3, len(words)), len(words))])
        texts.append(typed if len(typed) >= 12 else whole)
    return texts


async def timed_gets(port: int, paths: Sequence[str], limit: float = 30.0) -> list[float]:
    """Milliseconds for each GET in turn, one request at a time; each must answer 200."""
    timings: list[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=limit)) as session:
        for path in paths:
            started = time.perf_counter()
            async with session.get(f"http://{HOST}:{port}{path}") as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET {path[:80]} answered {response.status}")
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def similar_paths(texts: Sequence[str]) -> list[str]:
    """The ask page's look-up for each text (the page sends at most 500 characters)."""
    return [f"{SIMILAR_PATH}?text={quote(text[:500])}&lang=fi" for text in texts]


def flush_search_cache(port: int) -> None:
    """Push earlier results out of the service's search cache with cheap searches that miss."""
    asyncio.run(timed_searches(port, [f"zq{n}x" for n in range(CACHE_FLUSH_SEARCHES)]))


async def probe_searches(port: int) -> list[Probe]:
    """Time each probe once; None marks a timeout, after which the rest are skipped."""
    found: list[Probe] = []
    for label, text in PROBES:
        try:
            [ms] = await timed_searches(port, [text], limit=PROBE_TIMEOUT)
        except TimeoutError:
            found.append((label, text, None))
            break
        found.append((label, text, ms))
    return found


def load(wrk: str, target: Target, args: argparse.Namespace, folder: Path) -> _wrk.WrkResult:
    """One wrk run against a target, rotating over its paths when it has several."""
    script = None
    if len(target.paths) > 1:
        name = "".join(c if c.isalnum() else "-" for c in target.name)
        script = _wrk.rotation_script(target.paths, folder / f"{name}.lua")
    return _wrk.run(
        wrk, target.url, connections=args.connections, duration=args.duration, script=script
    )


# The report.


def revision() -> str:
    """The code under test, as `git describe --always --dirty`, or "unknown"."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=BENCH_DIR.parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


def percentile(values: Sequence[float], pct: int) -> float:
    """The pct-th percentile (inclusive method)."""
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def _row(r: _wrk.WrkResult | None) -> str:
    """req/s, p50, p90, p99 and errors of one wrk run, or blanks."""
    if r is None:
        return "".join(f"{'-':>8}" for _ in range(5))
    return f"{r.rps:>8.0f}{r.p50:>8.2f}{r.p90:>8.2f}{r.p99:>8.2f}{r.errors:>8}"


def print_table(
    baselines: dict[str, _wrk.WrkResult], runs: dict[str, EngineRun], args: argparse.Namespace
) -> None:
    """The wrk figures: the bare servers once, then Koppi's pages with the engines side by side."""
    print(f"\nwrk: {_wrk.THREADS} threads, {args.connections} connections, {args.duration} s each")
    header = ("req/s", "p50 ms", "p90 ms", "p99 ms", "errors")
    print(f"{'bare server':<22}" + "".join(f"{h:>8}" for h in header) + f"{'requests':>10}")
    for name, r in baselines.items():
        print(f"{name:<22}{_row(r)}{r.requests:>10}")
    engines = list(runs)
    print(f"\n{'':<22}" + _engines.header(engines, 40 + 2))
    print(f"{'Koppi page':<22}" + f"{''.join(f'{h:>8}' for h in header)}  " * len(engines))
    for name in next(iter(runs.values())).results:
        print(f"{name:<22}" + "".join(f"{_row(runs[e].results.get(name))}  " for e in engines))


def _ms_or_timeout(ms: float | None) -> str:
    return f"{ms:.1f} ms" if ms is not None else f"> {PROBE_TIMEOUT:.0f} s"


def print_searches(runs: dict[str, EngineRun]) -> None:
    """The sequential uncached search timings and the one-off probes, per engine."""
    engines = list(runs)
    count = len(next(iter(runs.values())).search_ms)
    print(f"\nsearch, {count} sequential requests for distinct words (uncached)")
    print(f"{'':<46}" + "".join(f"{_engines.LABELS[e]:>24}" for e in engines))
    for label, pct in (("p50", 50), ("p95", 95), ("max", 100)):
        cells = []
        for e in engines:
            ms = runs[e].search_ms
            cells.append(f"{max(ms) if pct == 100 else percentile(ms, pct):>21.1f} ms")
        print(f"  {label:<44}" + "".join(cells))
    print("search query shapes, one uncached request each (not in the p95 sample):")
    for n, (label, text) in enumerate(PROBES):
        cells = []
        for e in engines:
            probes = runs[e].probes
            shown = _ms_or_timeout(probes[n][2]) if n < len(probes) else "skipped (busy)"
            cells.append(f"{shown:>24}")
        print(f"  {label:<16} {text!r:<27}" + "".join(cells))


def _cell(engine: str, kind: str, ok: bool, shown: str) -> str:
    """PASS/FAIL and the value, or just the value where the engine has no such target."""
    mark = verdict(ok) if kind in TARGETS_BY_ENGINE[engine] else "info"
    return f"{mark} {shown}"


def print_similar(runs: dict[str, EngineRun], bare_ms: list[float]) -> None:
    """The sequential similar-question look-ups per engine, beside the bare text handler's
    round trip measured the same way in this run (the floor of an HTTP request here)."""
    engines = list(runs)
    print(
        f"\nsimilar questions while asking, {len(bare_ms)} sequential look-ups of typed questions"
        f" ({SIMILAR_PATH})"
    )
    print(f"{'':<30}{'bare text':>16}" + "".join(f"{_engines.LABELS[e]:>16}" for e in engines))
    for label, pct in (("p50", 50), ("p95", 95), ("max", 100)):
        cells = [max(ms) if pct == 100 else percentile(ms, pct) for ms in (bare_ms,)]
        cells += [
            max(runs[e].similar_ms) if pct == 100 else percentile(runs[e].similar_ms, pct)
            for e in engines
        ]
        print(f"  {label:<28}" + "".join(f"{ms:>13.1f} ms" for ms in cells))


def print_targets(
    baselines: dict[str, _wrk.WrkResult], runs: dict[str, EngineRun], count: int
) -> None:
    """Each target with each engine's value and PASS/FAIL ("info" where it is not a target)."""
    engines = list(runs)
    bare = baselines["bare text"].rps
    lines: list[tuple[str, list[str]]] = []
    cells = []
    for e in engines:
        share = 100 * runs[e].results["board first page"].rps / bare
        cells.append(_cell(e, "share", share >= TARGET_SHARE, f"{share:.1f}%"))
    lines.append((f"board first page >= {TARGET_SHARE:.0f}% of bare text req/s", cells))
    for name in runs[engines[0]].results:
        cells = []
        for e in engines:
            p99 = runs[e].results[name].p99
            cells.append(_cell(e, "p99", p99 < TARGET_P99_MS, f"{p99:.2f} ms"))
        lines.append((f"{name} p99 < {TARGET_P99_MS:.0f} ms", cells))
    cells = []
    for e in engines:
        p95 = percentile(runs[e].search_ms, 95)
        cells.append(_cell(e, "search", p95 < TARGET_SEARCH_P95_MS, f"{p95:.1f} ms"))
    lines.append((f"search p95 < {TARGET_SEARCH_P95_MS:.0f} ms at {count} questions", cells))
    cells = []
    for e in engines:
        p95 = percentile(runs[e].similar_ms, 95)
        cells.append(_cell(e, "similar", p95 < TARGET_SIMILAR_P95_MS, f"{p95:.1f} ms"))
    lines.append((f"similar p95 < {TARGET_SIMILAR_P95_MS:.0f} ms at {count} questions", cells))
    print("\ntargets (info: not a target on that engine)")
    print(f"{'':<50}" + "".join(f"{_engines.LABELS[e]:>16}" for e in engines))
    for label, row in lines:
        print(f"  {label:<48}" + "".join(f"{c:>16}" for c in row))


def measure_baselines(
    wrk: str, ports: Baselines, args: argparse.Namespace, folder: Path
) -> dict[str, _wrk.WrkResult]:
    """wrk against each bare server, once for every engine."""
    results: dict[str, _wrk.WrkResult] = {}
    for target in baseline_targets(ports):
        warm_up(target)
        print(f"wrk {target.name} …", flush=True)
        results[target.name] = load(wrk, target, args, folder)
    return results


def measure_koppi(
    wrk: str, port: int, ids: Sequence[int], args: argparse.Namespace, folder: Path
) -> EngineRun:
    """Every measurement of one running service: searches, wrk per page, then the probes."""
    words = _corpus.vocabulary()
    pages = koppi_targets(port, ids, words)
    for target in pages:
        warm_up(target)
    flush_search_cache(port)
    search_ms = asyncio.run(timed_searches(port, words[:DIRECT_SEARCHES]))
    print("timing similar-question look-ups …", flush=True)
    similar_ms = asyncio.run(timed_gets(port, similar_paths(typed_questions(SIMILAR_REQUESTS))))
    results: dict[str, _wrk.WrkResult] = {}
    for target in pages:
        if target.cached:
            warm_up(target)  # again: an earlier run may have pushed its pages out
        else:
            flush_search_cache(port)
        print(f"wrk {target.name} …", flush=True)
        results[target.name] = load(wrk, target, args, folder)
        settle(port)
    print("probing search query shapes …", flush=True)
    probes = asyncio.run(probe_searches(port))
    return EngineRun(results, search_ms, probes, similar_ms)


def measure(wrk: str, args: argparse.Namespace, folder: Path, stack: ExitStack) -> None:
    """Build the corpus once (ported to PostgreSQL when asked), measure the bare servers, then
    each engine's service in turn on the same data, and print the report."""
    engines = _engines.chosen(args)
    db_path = build_database(folder, args.questions)
    pg_url = pg_version = None
    if "postgresql" in engines:
        cluster = _engines.start_cluster(stack)
        pg_version = _engines.version(cluster)
        pg_url = _engines.new_database(cluster, "koppi_board")
        _engines.port_db(db_path, pg_url, cluster)
    ids = sample_question_ids(db_path, CACHED_QUESTIONS + UNCACHED_QUESTIONS)
    ports = start_baselines(stack, db_path, pg_url, folder)
    baselines = measure_baselines(wrk, ports, args, folder)
    bare_ms = asyncio.run(timed_gets(ports.text, ["/"] * SIMILAR_REQUESTS))
    runs: dict[str, EngineRun] = {}
    for engine in engines:
        print(f"Koppi on {_engines.LABELS[engine]} …", flush=True)
        with ExitStack() as koppi:
            url = pg_url if engine == "postgresql" else None
            runs[engine] = measure_koppi(
                wrk, start_koppi(koppi, db_path, url, folder), ids, args, folder
            )
    versions = f"SQLite {sqlite3.sqlite_version}" + (
        f", PostgreSQL {pg_version}" if pg_version else ""
    )
    print(
        f"\nKoppi board benchmark ({revision()}): {args.questions} questions, "
        f"{os.cpu_count()} CPUs, {versions}, load average {os.getloadavg()[0]:.1f}"
    )
    print_table(baselines, runs, args)
    print_searches(runs)
    print_similar(runs, bare_ms)
    print_targets(baselines, runs, args.questions)


def _terminate(signum: int, _frame: FrameType | None) -> None:
    """Turn SIGTERM into an exit so clean-up blocks run."""
    raise SystemExit(128 + signum)


def main() -> int:
    """Entry point: every child process and the temp folder are gone when this returns."""
    signal.signal(signal.SIGTERM, _terminate)
    args = parse_args()
    wrk = _wrk.ensure_wrk()
    try:
        with tempfile.TemporaryDirectory(prefix="koppi-bench-") as tmp, ExitStack() as stack:
            measure(wrk, args, Path(tmp), stack)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
