"""Statistics benchmark: one year of generated usage events, then time the figures and the page.

Run from the repository root:

    .venv/bin/python bench/stats.py                    # 1,000,000 events over the last year
    .venv/bin/python bench/stats.py --events 100000 --no-http --engine postgresql

1. Creates a fresh SQLite file with the service's own migrations (`Database.open()`), adds ten
   counsellors and advisers, and bulk-loads N usage events in one transaction with `sqlite3`.
   Questions and chats follow each other coherently (asked → claimed → answered or rejected
   or deleted; requested → assigned → first reply → referrals → ended → rated), in the shape
   of `service/demo_usage.py`, with staff availability shifts on working days. For PostgreSQL
   (`--engine postgresql` or `both`, the default) it starts a throwaway cluster and copies that
   file into it with `python -m service port-db`.
2. Times `figures.compute` in process for the last 30 days and the last 365 days, with and
   without a category filter, on each engine: the first (cold) run on fresh connections, then
   the median of several, and how long each storage query took in the one-year run.
3. Unless `--no-http`, starts the real service on each engine, creates a coordinator with the
   CLI, signs in and times `GET /coordinator/stats` and `GET /api/stats` for both periods.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from functools import wraps
from pathlib import Path
from typing import Any

import _engines
import aiohttp
from board import BENCH_DIR, HOST, free_port, revision, service_env, spawn, stop, timed, wait_ready

from service.clock import LOCAL_ZONE
from service.settings import Settings
from service.stats import figures
from service.stats.period import Period, StatsQuery
from service.stats.working_days import is_working_day
from service.storage import events, usage_stats
from service.storage.db import open_database

DAY = 86_400
DAYS = 365
SEED = 20261124
RUNS = 5
CATEGORY = "tyonhaku"
TARGETS = {30: 1.0, DAYS: 3.0}  # seconds
# The periods each engine is held to a target for; its other figures are for information.
TARGET_DAYS_BY_ENGINE = {"sqlite": {30, DAYS}, "postgresql": {30}}
OPENS, CLOSES = 12, 20  # chat opening hours, Helsinki time
ANSWER_HOURS = (9, 16)
STAFF = [
    ("aino", "counsellor"), ("eero", "counsellor"), ("helmi", "adviser"), ("ilmari", "adviser"),
    ("kaisa", "adviser"), ("lauri", "adviser"), ("minna", "adviser"), ("niko", "adviser"),
    ("oona", "adviser"), ("pekka", "adviser"),
]  # fmt: skip
CATEGORY_WEIGHTS = {
    "tyonhaku": 5, "opiskelu": 3, "raha": 3, "tyopajat": 2, "jaksaminen": 2, "asuminen": 2,
    "muu": 1,
}  # fmt: skip
# Relative demand per Helsinki hour, as in service/demo_usage.py.
HOURLY = [0.2, 0.1, 0.05, 0.0, 0.0, 0.0, 0.05, 0.2, 0.5, 0.8, 1.0, 1.2]
HOURLY += [1.4, 1.5, 1.6, 1.8, 1.9, 1.7, 1.5, 1.3, 1.1, 0.9, 0.6, 0.4]
SERVICES = [f"svc-{n:03d}" for n in range(120)]

# (label, cold or first s, median s, days) of one timed figure
Timing = tuple[str, float, float, int]
# One event before it is written: epoch second, tie-breaker, then the columns after `at`.
Event = tuple[
    int, int, str, str | None, str | None, int | None, int | None, float | None, str | None
]


def _detail(**fields: object) -> str:
    """The detail column as `events.record` writes it."""
    return json.dumps(fields, sort_keys=True)


OPEN = {flag: _detail(open=flag) for flag in (True, False)}
PUBLISH = {flag: _detail(publish=flag) for flag in (True, False)}
ALLOWED = {flag: _detail(publish_allowed=flag) for flag in (True, False)}
BY = {by: _detail(by=by) for by in ("staff", "visitor", "timeout")}
AGAIN = _detail(again=True)
TO_STAFF = _detail(to="staff", role=None)
ON = {flag: _detail(on=flag) for flag in (True, False)}
DELETED = _detail(status="waiting")
RATED = {s: _detail(score=s, helped=s >= 3) for s in range(1, 6)}
REFERRAL = {s: _detail(service_id=s) for s in SERVICES}


class Calendar:
    """The Helsinki days of the year before `now`, with their UTC midnights as epoch seconds."""

    def __init__(self, now: int) -> None:
        today = datetime.fromtimestamp(now, UTC).astimezone(LOCAL_ZONE).date()
        self.days = [today - timedelta(days=DAYS - n) for n in range(DAYS + 8)]
        self.midnights = [
            int(datetime.combine(d, clock_time(), LOCAL_ZONE).timestamp()) for d in self.days
        ]
        self.working = [is_working_day(d) for d in self.days]
        self.now = now

    def local(self, at: int) -> tuple[int, int]:
        """(day index, Helsinki hour) of an epoch second."""
        n = bisect_right(self.midnights, at) - 1
        return n, (at - self.midnights[n]) // 3600

    def is_open(self, at: int) -> bool:
        n, hour = self.local(at)
        return self.working[n] and OPENS <= hour < CLOSES

    def answer_time(self, rng: random.Random, after: int) -> int:
        """A moment in the answering hours of a working day, some while after `after`."""
        at = after + int(rng.lognormvariate(9.6, 1.0))  # median about four hours
        n, hour = self.local(at)
        first, last = ANSWER_HOURS
        if self.working[n] and first <= hour < last:
            return at
        if hour >= first:
            n += 1
        while n < len(self.days) - 1 and not self.working[n]:
            n += 1
        return self.midnights[n] + first * 3600 + rng.randint(0, 3 * 3600)


class History:
    """Events gathered out of time order; those after `now` have not happened yet."""

    def __init__(self, now: int) -> None:
        self.now = now
        self.items: list[Event] = []

    def add(
        self,
        at: int,
        kind: str,
        category: str | None,
        channel: str | None,
        subject: int | None,
        staff: int | None = None,
        seconds: float | None = None,
        detail: str | None = None,
    ) -> None:
        if at <= self.now:
            self.items.append(
                (at, len(self.items), kind, category, channel, subject, staff, seconds, detail)
            )


def _availability(h: History, rng: random.Random, cal: Calendar, staff: Sequence[int]) -> None:
    """Counsellors cover the opening hours; advisers take four-hour shifts on some days."""
    for n, midnight in enumerate(cal.midnights[:-1]):
        if not cal.working[n]:
            continue
        for i, staff_id in enumerate(staff):
            if i < 2:
                start = midnight + (OPENS - 1) * 3600 + rng.randint(50, 59) * 60
                end = midnight + CLOSES * 3600
            elif rng.random() < 0.5:
                first = rng.choice((OPENS, OPENS + 2, OPENS + 4))
                start = midnight + first * 3600 + rng.randint(0, 300)
                end = midnight + (first + 4) * 3600
            else:
                continue
            end += rng.randint(0, 480)
            h.add(start, events.STAFF_AVAILABILITY, None, "chat", None, staff_id, None, ON[True])
            h.add(end, events.STAFF_AVAILABILITY, None, "chat", None, staff_id, None, ON[False])


def _chat(
    h: History, rng: random.Random, cal: Calendar, at: int, slug: str, chat: int, staff: list[int]
) -> bool:
    """One contact attempt and, if the chat was open, everything after it; False if closed."""
    c = "chat"
    if not cal.is_open(at):
        h.add(at, events.CHAT_REQUESTED, slug, c, None, detail=OPEN[False])
        return False
    h.add(at, events.CHAT_REQUESTED, slug, c, chat, detail=OPEN[True])
    wait = int(rng.lognormvariate(4.5, 0.9))
    outcome = rng.random()
    if outcome < 0.08:
        gone = min(wait, rng.randint(0, 400))
        h.add(at + gone, events.CHAT_ABANDONED, slug, c, chat, None, gone, BY["visitor"])
        return True
    if outcome < 0.12:
        gone = wait // 2
        h.add(at + gone, events.CHAT_CONVERTED, slug, c, chat, None, gone, BY["visitor"])
        return True
    staff_id = rng.choice(staff)
    assigned = at + wait
    h.add(assigned, events.CHAT_ASSIGNED, slug, c, chat, staff_id, float(wait))
    reply = rng.randint(8, 120)
    replied = assigned + reply
    h.add(replied, events.CHAT_FIRST_REPLY, slug, c, chat, staff_id, float(reply))
    ended = replied + rng.randint(4 * 60, 40 * 60)
    if rng.random() < 0.08:
        moved = replied + (ended - replied) // 3
        h.add(moved, events.CHAT_TRANSFERRED, slug, c, chat, staff_id, None, TO_STAFF)
        staff_id = rng.choice([s for s in staff if s != staff_id])
        h.add(moved, events.CHAT_ASSIGNED, slug, c, chat, staff_id, float(moved - at), AGAIN)
    if rng.random() < 0.25:
        middle = replied + (ended - replied) // 2
        for n, service in enumerate(rng.sample(SERVICES, rng.choice((1, 1, 2)))):
            h.add(
                middle + n, events.REFERRAL_MADE, slug, c, chat, staff_id, None, REFERRAL[service]
            )
    by = "timeout" if rng.random() < 0.1 else rng.choice(("staff", "staff", "visitor"))
    h.add(ended, events.CHAT_ENDED, slug, c, chat, staff_id, float(ended - assigned), BY[by])
    if by != "timeout" and rng.random() < 0.45:
        score = rng.choices((1, 2, 3, 4, 5), cum_weights=(1, 2, 5, 11, 19))[0]
        h.add(
            ended + rng.randint(20, 240), events.CHAT_RATED, slug, c, chat, None, None, RATED[score]
        )
    return True


def _question(
    h: History, rng: random.Random, cal: Calendar, at: int, slug: str, qid: int, staff: list[int]
) -> None:
    """One question: asked, then deleted by the asker, rejected, or answered (maybe published)."""
    q = "question"
    h.add(at, events.QUESTION_ASKED, slug, q, qid, detail=ALLOWED[rng.random() < 0.8])
    outcome = rng.random()
    if outcome < 0.04:
        h.add(
            at + rng.randint(300, 36_000),
            events.QUESTION_DELETED,
            slug,
            q,
            qid,
            None,
            None,
            DELETED,
        )
        return
    staff_id = rng.choice(staff)
    done = cal.answer_time(rng, at)
    waited = float(done - at)
    if outcome < 0.09:
        h.add(done, events.QUESTION_REJECTED, slug, q, qid, staff_id, waited)
        return
    claimed = done - rng.randint(300, 2400)
    if claimed > at:
        h.add(claimed, events.QUESTION_CLAIMED, slug, q, qid, staff_id, float(claimed - at))
    publish = rng.random() < 0.65
    h.add(done, events.QUESTION_ANSWERED, slug, q, qid, staff_id, waited, PUBLISH[publish])
    if publish:
        h.add(done, events.QUESTION_PUBLISHED, slug, q, qid, staff_id)
    if rng.random() < 0.2:
        service = rng.choice(SERVICES)
        h.add(done, events.REFERRAL_MADE, slug, q, qid, staff_id, None, REFERRAL[service])


def _arrivals(rng: random.Random, cal: Calendar, k: int) -> Iterator[int]:
    """`k` moments in the year, weighted by Helsinki hour, weekends at half the demand."""
    slots: list[int] = []
    weights: list[float] = []
    for n, midnight in enumerate(cal.midnights[:DAYS]):
        weekend = 0.5 if cal.days[n].weekday() >= 5 else 1.0
        for hour, shape in enumerate(HOURLY):
            slots.append(midnight + hour * 3600)
            weights.append(shape * weekend)
    for start in rng.choices(slots, weights, k=k):
        yield start + rng.randint(0, 3599)


def generate(count: int, now: int, staff: list[int]) -> list[Event]:
    """About `count` events (a few more, so the last subject is whole), sorted by time."""
    rng = random.Random(SEED)
    cal = Calendar(now)
    h = History(now)
    _availability(h, rng, cal, staff)
    slugs = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())
    chat_id = question_id = 0
    while len(h.items) < count:
        batch = max(1000, (count - len(h.items)) // 4)
        picks = rng.choices(slugs, weights, k=batch)
        for at, slug in zip(_arrivals(rng, cal, batch), picks, strict=True):
            if len(h.items) >= count:
                break
            if rng.random() < 0.6:
                if _chat(h, rng, cal, at, slug, chat_id + 1, staff):
                    chat_id += 1
            else:
                question_id += 1
                _question(h, rng, cal, at, slug, question_id, staff)
    h.items.sort()
    return h.items


def _iso_rows(items: list[Event]) -> Iterator[tuple[object, ...]]:
    """Rows for usage_events with `at` as fixed-width UTC text, formatted once per minute."""
    minutes: dict[int, str] = {}
    for at, _n, *rest in items:
        minute, second = divmod(at, 60)
        prefix = minutes.get(minute)
        if prefix is None:
            prefix = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))
            minutes[minute] = prefix
        yield (f"{prefix}{second:02d}Z", *rest)


async def build_database(path: Path, count: int, now: int) -> dict[str, int]:
    """Migrate with the service's code, then bulk-load staff and events; returns kind counts."""
    db = open_database(Settings(db_path=path))
    await db.open()
    await db.close()
    return _bulk_load(path, count, now)


def _bulk_load(path: Path, count: int, now: int) -> dict[str, int]:
    """Staff and `count` events in one transaction each, with the synchronous driver."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 2 * DAYS * DAY))
        with conn:
            conn.executemany(
                "INSERT INTO staff (username, password_hash, role, first_name, created_at)"
                " VALUES (?, '!', ?, ?, ?)",
                [(name, role, name.capitalize(), created) for name, role in STAFF],
            )
        staff = [row[0] for row in conn.execute("SELECT id FROM staff ORDER BY id")]
        started = time.perf_counter()
        items = generate(count, now, staff)
        generated = time.perf_counter()
        with conn:
            conn.executemany(
                "INSERT INTO usage_events (at, kind, category, channel, subject_id, staff_id,"
                " seconds, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                _iso_rows(items),
            )
        loaded = time.perf_counter()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    kinds: dict[str, int] = defaultdict(int)
    for item in items:
        kinds[item[2]] += 1
    print(
        f"generated {len(items):,} events in {generated - started:.1f} s, inserted in"
        f" {loaded - generated:.1f} s ({path.stat().st_size / 1e6:.0f} MB)",
        flush=True,
    )
    return dict(kinds)


# Timing.


def period(now: int, days: int) -> Period:
    today = datetime.fromtimestamp(now, UTC).astimezone(LOCAL_ZONE).date()
    return Period(today - timedelta(days=days - 1), today)


def _instrument(spent: dict[str, float]) -> None:
    """Wrap the storage module's queries so each one's time adds up in `spent`."""
    for name in (
        "counts", "spreads", "per_staff", "asked_with_first_answer", "requests_by_hour",
        "availability", "referrals", "ratings", "service_names", "staff_names",
    ):  # fmt: skip
        original = getattr(usage_stats, name)

        def measured(*args: Any, _name: str = name, _f: Any = original, **kwargs: Any) -> Any:
            @wraps(_f)
            async def run() -> Any:
                start = time.perf_counter()
                try:
                    return await _f(*args, **kwargs)
                finally:
                    spent[_name] += time.perf_counter() - start

            return run()

        setattr(usage_stats, name, measured)


async def time_compute(settings: Settings, now: int, spent: dict[str, float]) -> list[Timing]:
    """(label, cold s, median s, days) per period and filter; prints the query breakdown."""
    moment = datetime.fromtimestamp(now, UTC)
    results = []
    for days in (30, DAYS):
        for category in (None, CATEGORY):
            query = StatsQuery(period(now, days), category)
            db = open_database(settings)
            await db.open()  # fresh connections: the first run reads through a cold cache
            try:
                runs = []
                for _ in range(RUNS + 1):
                    spent.clear()
                    start = time.perf_counter()
                    await figures.compute(db, query, moment, {})
                    runs.append(time.perf_counter() - start)
                    breakdown = dict(spent)
            finally:
                await db.close()
            label = f"{days} days" + (f", category {category}" if category else "")
            results.append((label, runs[0], statistics.median(runs[1:]), days))
            print(
                f"  {label:<28} cold {runs[0]:6.3f} s  median of {RUNS} {results[-1][2]:6.3f} s",
                flush=True,
            )
            if days == DAYS and category is None:
                parts = sorted(breakdown.items(), key=lambda item: -item[1])
                print(
                    "    last run by query: "
                    + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in parts)
                )
    return results


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> None:
    subprocess.run(
        [sys.executable, "-m", "service", *args],
        input=stdin,
        text=True,
        env=env,
        cwd=BENCH_DIR.parent,
        check=True,
        capture_output=True,
        timeout=60,
    )


def _start_service(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """`python -m service serve` in a session of its own."""
    return spawn([sys.executable, "-m", "service", "serve"], env, log_path)


async def time_http(settings: Settings, now: int, logs: Path) -> list[Timing]:
    """(label, first s, median s, days) for the page and the API over real HTTP."""
    port = free_port()
    env = {**service_env(settings.db_path, port, settings.database_url), "KOPPI_DEMO": "0"}
    password = secrets.token_urlsafe(16)
    _cli(env, "create-staff", "bench-coordinator", "--role", "coordinator", stdin=password + "\n")
    engine = "postgresql" if settings.database_url else "sqlite"
    proc = _start_service(env, logs / f"service-{engine}.log")
    base = f"http://{HOST}:{port}"
    results = []
    try:
        jar = aiohttp.CookieJar(unsafe=True)  # cookies from 127.0.0.1
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout) as session:
            await wait_ready(session, f"{base}/staff/login", proc.poll)
            login = {"username": "bench-coordinator", "password": password}
            async with session.post(f"{base}/api/staff/login", json=login) as response:
                if response.status != 200:
                    raise RuntimeError(f"sign-in answered {response.status}")
            for days in (30, DAYS):
                p = period(now, days)
                span = f"from={p.first.isoformat()}&to={p.last.isoformat()}"
                for route in ("/coordinator/stats", "/api/stats"):
                    runs = []
                    for _ in range(RUNS + 1):
                        start = time.perf_counter()
                        async with session.get(f"{base}{route}?{span}") as response:
                            body = await response.read()
                            if response.status != 200:
                                raise RuntimeError(f"{route} answered {response.status}")
                        runs.append(time.perf_counter() - start)
                    label = f"GET {route}, {days} days"
                    results.append((label, runs[0], statistics.median(runs[1:]), days))
                    print(
                        f"  {label:<34} first {runs[0]:6.3f} s  median of {RUNS}"
                        f" {results[-1][2]:6.3f} s  ({len(body) / 1000:.0f} KB)",
                        flush=True,
                    )
    finally:
        stop(proc)
    return results


def print_table(timings: dict[str, list[Timing]]) -> None:
    """Every figure with the engines side by side: the first (cold) run and the median."""
    engines = list(timings)
    print(f"\n{'':<36}" + _engines.header(engines, 24))
    print(f"{'run':<36}" + f"{'first':>11}{'median':>11}  " * len(engines))
    for n, (label, *_rest) in enumerate(timings[engines[0]]):
        cells = "".join(f"{timings[e][n][1]:>10.3f}s{timings[e][n][2]:>10.3f}s  " for e in engines)
        print(f"{label:<36}{cells}")


def print_targets(timings: dict[str, list[Timing]]) -> None:
    """PASS/FAIL per figure and engine, on the slower of the first and the median run."""
    engines = list(timings)
    print("\ntargets (the slower of first and median run; info: not a target on that engine)")
    print(f"{'':<46}" + "".join(f"{_engines.LABELS[e]:>16}" for e in engines))
    for n, (label, _first, _median, days) in enumerate(timings[engines[0]]):
        cells = []
        for e in engines:
            _label, first, median, _days = timings[e][n]
            worst = max(first, median)
            ok = worst < TARGETS[days]
            mark = ("PASS" if ok else "FAIL") if days in TARGET_DAYS_BY_ENGINE[e] else "info"
            cells.append(f"{mark} {worst:.3f} s")
        print(f"  {label + f' < {TARGETS[days]:.0f} s':<44}" + "".join(f"{c:>16}" for c in cells))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--no-http", action="store_true", help="skip the real-server run")
    _engines.add_option(parser)
    args = parser.parse_args(argv)
    if args.events < 1000:
        parser.error("need --events >= 1000")
    return args


async def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    engines = _engines.chosen(args)
    now = int(time.time())
    with tempfile.TemporaryDirectory(prefix="koppi-stats-") as tmp, ExitStack() as stack:
        path = Path(tmp) / "bench.sqlite3"
        kinds = await timed("database", lambda: build_database(path, args.events, now))
        print("  " + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items(), key=lambda i: -i[1])))
        settings = {e: Settings(db_path=path) for e in engines}
        versions = f"SQLite {sqlite3.sqlite_version}"
        if "postgresql" in engines:
            cluster = _engines.start_cluster(stack)
            url = _engines.new_database(cluster, "koppi_stats")
            _engines.port_db(path, url, cluster)
            settings["postgresql"] = Settings(db_path=path, database_url=url)
            versions += f", PostgreSQL {_engines.version(cluster)}"
        print(
            f"\nKoppi statistics benchmark ({revision()}): {sum(kinds.values()):,} events,"
            f" {os.cpu_count()} CPUs, {versions}"
        )
        spent: dict[str, float] = defaultdict(float)
        _instrument(spent)
        timings: dict[str, list[Timing]] = {}
        for engine in engines:
            print(f"{_engines.LABELS[engine]}: figures.compute, in process:", flush=True)
            timings[engine] = await time_compute(settings[engine], now, spent)
            if not args.no_http:
                print(f"{_engines.LABELS[engine]}: HTTP, real server:", flush=True)
                timings[engine] += await time_http(settings[engine], now, Path(tmp))
        print_table(timings)
        print_targets(timings)


if __name__ == "__main__":
    asyncio.run(main())
