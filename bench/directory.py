"""Service directory benchmark: import 5,000 synthetic HSDS services, then time searches.

Run from the repository root:

    .venv/bin/python bench/directory.py
    .venv/bin/python bench/directory.py --services 1000 --no-http

1. Builds N records in the format of `web/demo/directory.json` by cloning the demo records with
   fresh uuid4 ids everywhere and Finnish names and descriptions built from a word list.
2. Imports them into a fresh temporary SQLite database in-process with `do_import`.
3. Times one search page at the storage layer (`matching_ids` plus `load`) for about 300
   queries, with and without a category filter. The goal is p95 < 20 ms.
4. Unless `--no-http`, starts the real service on that database and times sequential
   `GET /api/hsds/services?search=…` requests.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from board import BENCH_DIR, HOST, free_port, service_env, stop, timed, wait_ready

from moderation.directory import DirectoryContext, do_import
from service.clock import system_clock
from service.storage import directory
from service.storage.db import Database
from service.storage.directory import PUBLIC_STATUSES, Filters
from service.storage.engines.sqlite import SqliteDatabase
from service.storage.search import SearchQuery

DEMO = BENCH_DIR.parent / "web" / "demo" / "directory.json"
# "Työllisyys" in the seeded service categories.
CATEGORY = "c49ddcd3-79d3-58e0-9fb3-cd970d4396bf"
GOAL_MS = 20.0

PLACES = [
    "Koskela", "Järvelä", "Mäntylä", "Rantala", "Kallio", "Harju", "Niemelä", "Lahdenperä",
    "Saarela", "Mäkelä", "Laakso", "Vaara", "Kangas", "Salmi", "Lehtola", "Peltola",
]  # fmt: skip
TOPICS = [
    ("Työpaja", "työpajassa voit harjoitella työtä ja saada palkkatukea"),
    ("Ohjaamo", "Ohjaamosta saat apua työhön, opiskeluun ja arkeen"),
    ("Velkaneuvonta", "velkaneuvonta auttaa, kun velka tai maksuhäiriö painaa"),
    ("Asumisneuvonta", "asumisneuvonta auttaa vuokra-asunnon, asumisen ja häädön uhan kanssa"),
    ("Mielenterveyspalvelut", "mielenterveys ja jaksaminen: keskusteluapua ilman lähetettä"),
    ("Opinto-ohjaus", "opiskelu, koulutus ja opiskelupaikan haku"),
    ("Kriisipuhelin", "kriisi tai hätä: voit soittaa nimettömästi ympäri vuorokauden"),
    ("Kela-neuvonta", "apua Kelan etuuksiin, toimeentulotukeen ja asumistukeen"),
    ("Nuorisotalo", "nuorten kohtaamispaikka, harrastukset ja nuorisotyöntekijät"),
    ("Työnhakuvalmennus", "työnhaku, ansioluettelo ja työhaastattelu"),
    ("Päihdepalvelut", "päihteet, riippuvuus ja anonyymi tuki"),
    ("Kotoutumispalvelut", "suomen kielen opetus ja kotoutuminen maahanmuuttajille"),
    ("Etsivä nuorisotyö", "etsivä nuorisotyö tavoittaa palvelujen ulkopuolelle jääneet"),
    ("Kesätyöpalvelu", "kesätyö ja kesäseteli nuorille"),
    ("Talousneuvonta", "raha-asiat, budjetti ja talouden hallinta"),
    ("Seksuaaliterveys", "ehkäisy, seksuaaliterveys ja nuorten vastaanotto"),
]  # fmt: skip
EXTRAS = [
    "maksuton", "ilman ajanvarausta", "chat", "ryhmätoiminta", "vertaistuki", "yksilöohjaus",
    "kuntouttava työtoiminta", "oppisopimus", "ammatillinen koulutus", "lukio", "asunnottomuus",
    "perheneuvonta", "lastensuojelu", "jälkihuolto", "terveysneuvonta", "harrastustoiminta",
    "digituki", "tulkkaus", "palkkatuki", "työkokeilu", "verkkopalvelu", "vertaisryhmä",
]  # fmt: skip
QUERIES = [
    "työpaja", "työpajat", "työpajassa", "nuorten", "nuoret", "nuorille", "velka", "velkaneuvonta",
    "velat", "kela", "kelan", "asuminen", "asumisneuvonta", "asunto", "mielenterveys",
    "mielenterveyspalvelut", "opiskelu", "opiskeluun", "palkkatuki", "palkkatukea", "ohjaamo",
    "ohjaamosta", "kriisi", "kriisipuhelin", "työ", "työhön", "työnhaku", "kesätyö", "päihteet",
    "riippuvuus", "kotoutuminen", "suomen kieli", "talous", "raha-asiat", "budjetti", "ehkäisy",
    "vertaistuki", "chat", "maksuton", "oppisopimus", "lukio", "koulutus", "asunnottomuus",
    "digituki", "tulkkaus", "työkokeilu", "harrastukset", "etsivä", "jaksaminen", "toimeentulotuki",
    "koskela", "järvelä", "mäntylä", "rantala", "kallio", "harju", "saarela", "peltola",
    "nuorten työpaja", "velka apua", "asuminen nuoret", "kela tuki", "opiskelu ohjaus",
    "kriisi apu", "työ palkkatuki", "mielenterveys nuoret", "ohjaamo koskela", "päihteet tuki",
    "työp", "nuor", "velk", "asum", "opisk", "mielen", "kri", "ohja",
]  # fmt: skip


def _fresh_ids(value: Any) -> Any:
    """Copy of a record with every id replaced, keeping references (organization_id) consistent."""
    mapping: dict[str, str] = {}

    def new(old: str) -> str:
        return mapping.setdefault(old, str(uuid.uuid4()))

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, item in node.items():
                if key in ("id", "organization_id") and isinstance(item, str):
                    out[key] = new(item)
                else:
                    out[key] = walk(item)
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(value)


def make_records(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """`count` HSDS service records cloned from the demo file with varied Finnish text."""
    rng = random.Random(seed)
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    records: list[dict[str, Any]] = []
    for i in range(count):
        record = _fresh_ids(copy.deepcopy(demo[i % len(demo)]))
        place = rng.choice(PLACES)
        topic, text = rng.choice(TOPICS)
        extras = rng.sample(EXTRAS, 3)
        record["name"] = f"{topic} {place} {i + 1}"
        record["description"] = (
            f"{text[0].upper()}{text[1:]}. Palvelu on tarkoitettu {place}n alueen nuorille. "
            f"Tarjolla myös: {', '.join(extras)}."
        )
        record.pop("translations", None)
        organization = record.get("organization")
        if isinstance(organization, dict):
            organization["name"] = (
                f"{place}n {rng.choice(['kaupunki', 'seurakunta', 'yhdistys'])} {i + 1}"
            )
            organization.pop("translations", None)
        records.append(record)
    return records


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": ordered[-1]}


def report(label: str, samples: Sequence[float], goal: float | None = GOAL_MS) -> None:
    p = percentiles(samples)
    line = (
        f"{label:<28} n={len(samples):<4} p50 {p['p50']:6.2f} ms  p95 {p['p95']:6.2f} ms"
        f"  p99 {p['p99']:6.2f} ms  max {p['max']:6.2f} ms"
    )
    if goal is not None:
        line += f"  p95 < {goal:.0f} ms: {'PASS' if p['p95'] < goal else 'FAIL'}"
    print(line, flush=True)


async def time_searches(
    db: Database, queries: Sequence[str], term_id: str | None
) -> tuple[list[float], list[int]]:
    """Milliseconds for one search page per query, and each query's total match count."""
    times: list[float] = []
    totals: list[int] = []
    for q in queries:
        start = time.perf_counter()
        filters = Filters(query=SearchQuery(q), term_id=term_id, statuses=PUBLIC_STATUSES)
        ids, total = await directory.matching_ids(db, filters, limit=20)
        await directory.load(db, ids)
        times.append((time.perf_counter() - start) * 1000)
        totals.append(total)
    return times, totals


def start_service(db_path: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """`python -m service serve` on the benchmark database, in a session of its own."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "service", "serve"],
            env=service_env(db_path, port),
            cwd=BENCH_DIR.parent,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )


async def time_http(db_path: Path, queries: Sequence[str], logs: Path) -> list[float]:
    """Milliseconds per sequential search request against the real service."""
    port = free_port()
    proc = start_service(db_path, port, logs / "service.log")
    base = f"http://{HOST}:{port}"
    times: list[float] = []
    try:
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, f"{base}/api/hsds/services?per_page=1", proc.poll)
            for q in queries:
                url = f"{base}/api/hsds/services?search={quote(q)}&per_page=20"
                start = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{url} answered {response.status}")
                times.append((time.perf_counter() - start) * 1000)
    finally:
        stop(proc)
    return times


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-http", action="store_true", help="skip the real-server run")
    return parser.parse_args(argv)


async def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    rng = random.Random(7)
    records = make_records(args.services)
    queries = [rng.choice(QUERIES) for _ in range(args.queries)]
    with tempfile.TemporaryDirectory(prefix="koppi-directory-") as tmp:
        db_path = Path(tmp) / "bench.sqlite3"
        db = SqliteDatabase(db_path)
        await db.open()
        try:
            ctx = DirectoryContext(db, system_clock)
            result = await timed(
                f"import {len(records)} services",
                lambda: do_import(ctx, records, acting_staff=None),
            )
            print(f"import outcomes: {result.counts}", flush=True)
            if result.count("failed"):
                first = next(r for r in result.records if r.outcome == "failed")
                print(f"first failure: {first.as_json()}", flush=True)
            await time_searches(db, QUERIES, None)  # warm the page cache
            times, totals = await time_searches(db, queries, None)
            print(f"median matches per query: {statistics.median(totals):.0f}", flush=True)
            report("search page", times)
            times, totals = await time_searches(db, queries, CATEGORY)
            print(f"median matches with category: {statistics.median(totals):.0f}", flush=True)
            report("search page + category", times)
        finally:
            await db.close()
        if not args.no_http:
            http_queries = [rng.choice(QUERIES) for _ in range(args.requests)]
            report(
                "HTTP /api/hsds/services", await time_http(db_path, http_queries, Path(tmp)), None
            )


if __name__ == "__main__":
    asyncio.run(main())
