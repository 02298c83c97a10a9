"""Service directory benchmark: import 5,000 HSDS services through the running server while a
live chat runs, then time searches.

Run from the repository root:

    .venv/bin/python bench/directory.py
    .venv/bin/python bench/directory.py --services 1000 --baseline 5 --no-search

1. Generates N HSDS service records in the shape of docs/directory.md: an organization, two
   phones, a schedule, a service area, two languages, a physical location with its address, two
   attributes that put the service in two of Koppi's categories, and Swedish and English
   translations, every id a fresh UUID, names and descriptions from a Finnish word list.
2. Migrates a fresh SQLite file, makes a coordinator and a counsellor with Koppi's own
   `create_staff`, and starts `python -m service serve` on it.
3. Opens `--chats` (10) live chats with real socket.io clients: in each, a counsellor signs in
   and goes available, a young person starts a chat on `jaksaminen` and is assigned to her.
   From then on each chat sends a message every `--interval-ms` (200 ms), its two sides
   taking turns (50 messages/s in all), and each message's delay is timed from the send to
   its arrival at the other side. Several chats, not one very fast one: a chat stores and
   delivers its messages one at a time, in order, so one chat sending every 20 ms measures
   that turn rather than how long the import keeps the writer from a message.
4. Times the chat for `--baseline` seconds with nothing else running, then the coordinator
   posts all N records to `POST /api/coordinator/directory/import` in one request while the
   chat goes on, and the chat is timed again over exactly the import.
5. Unless `--no-search`, times one search page at the storage layer (`matching_ids` plus
   `load`) for about 300 queries, with and without a category filter (goal p95 < 20 ms), and
   unless `--no-http`, sequential `GET /api/hsds/services?search=…` to a fresh server.

Targets: the import of 5,000 services takes under 10 s, and no chat message waits more than
50 ms while it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import socketio
from board import HOST, free_port, revision, service_env, spawn, stop, timed, wait_ready

from service.auth import create_staff
from service.clock import system_clock
from service.http.bodies import UPLOAD_MAX
from service.storage import directory
from service.storage.db import Database
from service.storage.directory import PUBLIC_STATUSES, Filters
from service.storage.engines.sqlite import SqliteDatabase
from service.storage.search import SearchQuery

# Koppi's categories as taxonomy terms (docs/directory.md); "Työllisyys" is `tyonhaku`.
CATEGORY = "c49ddcd3-79d3-58e0-9fb3-cd970d4396bf"
CATEGORY_TERMS = (
    CATEGORY,
    "f4d1faea-8c75-56f6-9e40-7a52b751a3e0",  # opiskelu
    "74c6b195-f0ff-5d0f-afe6-f6d7daf7b58b",  # raha
    "018433dc-0531-5907-a583-1db47c7e62c4",  # tyopajat
    "ff5fd4cd-2d44-5185-9c81-4a196cc736d4",  # jaksaminen
    "303a18f1-3a4e-501d-b63b-2bce14517acf",  # asuminen
    "02bbf15c-85f3-548f-b66b-5a28894a0fe3",  # muu
)
GOAL_MS = 20.0
TARGET_IMPORT_S = 10.0
TARGET_CHAT_MAX_MS = 50.0
IMPORT_PATH = "/api/coordinator/directory/import"
PASSWORD = secrets.token_urlsafe(16)
COORDINATOR, COUNSELLOR = "koordinaattori", "neuvoja"
SOCKET_TIMEOUT = 10.0
WARMUP_S = 2.0
DRAIN_S = 3.0
SLOWEST = 8

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
OWNERS = (("kaupunki", "stad", "City of"), ("seurakunta", "församling", "Parish of"))


# The records.


def make_records(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """`count` full HSDS service records, the same ones for the same seed."""
    rng = random.Random(seed)
    return [_record(rng, i) for i in range(count)]


def _record(rng: random.Random, i: int) -> dict[str, Any]:
    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    n = i + 1
    place = rng.choice(PLACES)
    host = place.lower().replace("ä", "a").replace("ö", "o") + ".example.invalid"
    topic, text = rng.choice(TOPICS)
    extras = rng.sample(EXTRAS, 3)
    owner_fi, owner_sv, owner_en = rng.choice(OWNERS)
    organization_id = uid()
    opens = rng.choice(("08:00", "09:00", "10:00", "12:00"))
    return {
        "id": uid(),
        "name": f"{topic} {place} {n}",
        "description": (
            f"{text[0].upper()}{text[1:]}. Palvelu on tarkoitettu {place}n alueen nuorille. "
            f"Tarjolla myös: {', '.join(extras)}."
        ),
        "url": f"https://www.{host}/palvelut/{n}",
        "email": f"palvelu{n}@{host}",
        "status": "active",
        "eligibility_description": f"15–29-vuotiaat {place}n alueella.",
        "minimum_age": 15,
        "maximum_age": 29,
        "organization_id": organization_id,
        "organization": {
            "id": organization_id,
            "name": f"{place}n {owner_fi} {n}",
            "description": f"{place}n {owner_fi} järjestää palveluja nuorille.",
            "email": f"kirjaamo@{host}",
            "website": f"https://www.{host}",
            "translations": {
                "sv": {"name": f"{place} {owner_sv} {n}"},
                "en": {"name": f"{owner_en} {place} {n}"},
            },
        },
        "phones": [
            {
                "id": uid(),
                "number": f"+358 40 {rng.randrange(100, 1000)} {rng.randrange(1000, 10000)}",
                "description": "Ajanvaraus ja neuvonta ma–pe",
                "translations": {
                    "sv": {"description": "Tidsbokning och rådgivning mån–fre"},
                    "en": {"description": "Appointments and advice Mon–Fri"},
                },
            },
            {
                "id": uid(),
                "number": f"+358 50 {rng.randrange(100, 1000)} {rng.randrange(1000, 10000)}",
                "description": "Myös tekstiviestit",
                "translations": {"sv": {"description": "Även textmeddelanden"}},
            },
        ],
        "schedules": [
            {
                "id": uid(),
                "freq": "WEEKLY",
                "byday": rng.choice(("MO,TU,WE,TH,FR", "MO,TU,WE,TH", "TU,TH")),
                "opens_at": opens,
                "closes_at": "16:00",
                "description": "Avoimet ovet ilman ajanvarausta",
                "translations": {
                    "sv": {"description": "Öppet utan tidsbokning"},
                    "en": {"description": "Drop in without an appointment"},
                },
            }
        ],
        "service_areas": [{"id": uid(), "name": place}],
        "languages": [{"id": uid(), "code": "fi"}, {"id": uid(), "code": "sv"}],
        "service_at_locations": [
            {
                "id": uid(),
                "location": {
                    "id": uid(),
                    "location_type": "physical",
                    "name": f"{topic} {place}",
                    "latitude": round(rng.uniform(60.0, 66.0), 5),
                    "longitude": round(rng.uniform(21.0, 30.0), 5),
                    "addresses": [
                        {
                            "id": uid(),
                            "address_1": f"Asemakatu {rng.randrange(1, 60)}",
                            "city": place,
                            "state_province": "Uusimaa",
                            "postal_code": f"{rng.randrange(100, 990) * 100:05d}",
                            "country": "FI",
                            "address_type": "physical",
                        }
                    ],
                },
            }
        ],
        "attributes": [
            {"id": uid(), "taxonomy_term_id": term} for term in rng.sample(CATEGORY_TERMS, 2)
        ],
        "translations": {
            "sv": {"name": f"{topic} {place} {n}", "description": "Tjänst för unga i området."},
            "en": {"name": f"{topic} {place} {n}", "description": "A service for young people."},
        },
    }


# Figures.


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


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, all threads."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        stat = handle.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The live chat.


@dataclass
class Window:
    """A stretch of the chat: messages sent in it are timed."""

    name: str
    start: float
    stop: float = float("inf")


def _client() -> socketio.AsyncClient:
    return socketio.AsyncClient(reconnection=False)


@dataclass
class LiveChat:
    """A young person and a counsellor in one chat, taking turns to send a message every
    `interval` seconds; each message's delay from send to the other side's `message` event."""

    base: str
    staff_cookie: str
    interval: float
    visitor: socketio.AsyncClient = field(
        default_factory=lambda: socketio.AsyncClient(reconnection=False)
    )
    staff: socketio.AsyncClient = field(
        default_factory=lambda: socketio.AsyncClient(reconnection=False)
    )
    chat_id: int = 0
    sent: dict[str, float] = field(default_factory=dict)  # text → when it was sent
    timed: list[tuple[float, float]] = field(default_factory=list)  # (sent at, delay)
    errors: list[Any] = field(default_factory=list)
    lags: list[tuple[float, float]] = field(default_factory=list)  # (due, how late it went)
    stopping: bool = False

    async def open(self) -> None:
        """Counsellor available, a chat started and assigned to her."""
        assigned = asyncio.Event()
        self.visitor.on("assigned", lambda _p: assigned.set(), namespace="/chat")
        self.visitor.on("message", self._arrived("staff"), namespace="/chat")
        self.staff.on("message", self._arrived("visitor"), namespace="/staff")
        await self.staff.connect(
            self.base,
            namespaces=["/staff"],
            headers={"Cookie": self.staff_cookie},
            transports=["websocket"],
            wait_timeout=SOCKET_TIMEOUT,
        )
        answer = await self.staff.call(
            "available", {"on": True}, namespace="/staff", timeout=SOCKET_TIMEOUT
        )
        if answer != {"ok": True}:
            raise RuntimeError(f"available answered {answer!r}")
        await self.visitor.connect(
            self.base,
            namespaces=["/chat"],
            auth={"token": None},
            transports=["websocket"],
            wait_timeout=SOCKET_TIMEOUT,
        )
        start = {"category": "jaksaminen", "text": "Hei, voinko jutella?", "client_id": "start"}
        answer = await self.visitor.call("start", start, namespace="/chat", timeout=SOCKET_TIMEOUT)
        if not isinstance(answer, dict) or "chat_id" not in answer:
            raise RuntimeError(f"start answered {answer!r}")
        self.chat_id = int(answer["chat_id"])
        await asyncio.wait_for(assigned.wait(), SOCKET_TIMEOUT)

    def _arrived(self, sender: str) -> Any:
        async def handle(payload: dict[str, Any]) -> None:
            now = time.perf_counter()
            if payload.get("from") != sender:
                return
            sent_at = self.sent.pop(payload.get("text", ""), None)
            if sent_at is not None:
                self.timed.append((sent_at, now - sent_at))

        return handle

    def _acked(self, answer: Any = None) -> None:
        if isinstance(answer, dict) and "error" in answer:
            self.errors.append(answer)

    async def run(self) -> None:
        """Send on schedule, whatever comes back, until `stopping`."""
        began = time.perf_counter()
        n = 0
        while not self.stopping:
            due = began + n * self.interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            n += 1
            sent_at = time.perf_counter()
            self.lags.append((due, sent_at - due))
            if n % 2:
                text = f"Nuori kirjoittaa, viesti #{n}"
                self.sent[text] = sent_at
                await self.visitor.emit(
                    "send",
                    {"text": text, "client_id": f"v{n}"},
                    namespace="/chat",
                    callback=self._acked,
                )
            else:
                text = f"Neuvoja vastaa, viesti #{n}"
                self.sent[text] = sent_at
                await self.staff.emit(
                    "send",
                    {"chat_id": self.chat_id, "text": text, "client_id": f"s{n}"},
                    namespace="/staff",
                    callback=self._acked,
                )

    def figures(self, window: Window) -> dict[str, Any]:
        """Delays (ms) of the messages sent in the window, the ones that never arrived, and
        how late the client itself was to send (a stall of its own, not the server's)."""
        delays = sorted(
            (d * 1000, at - window.start)
            for at, d in self.timed
            if window.start <= at < window.stop
        )
        lost = sum(1 for at in self.sent.values() if window.start <= at < window.stop)
        lag = max((late for due, late in self.lags if window.start <= due < window.stop), default=0)
        ms = [d for d, _at in delays]
        return {
            "n": len(ms),
            "lost": lost,
            "p50": percentiles(ms)["p50"] if len(ms) > 1 else float("nan"),
            "p99": percentiles(ms)["p99"] if len(ms) > 1 else float("nan"),
            "max": ms[-1] if ms else float("nan"),
            "slowest": sorted(delays, reverse=True)[:SLOWEST],
            "client_lag_ms": lag * 1000,
        }

    async def close(self) -> None:
        for client in (self.visitor, self.staff):
            await client.disconnect()


# The service.


def counsellor(n: int) -> str:
    return f"{COUNSELLOR}{n + 1}"


async def make_accounts(db_path: Path, chats: int) -> None:
    """Migrate the file and make a coordinator and a counsellor per chat with Koppi's own
    code: each counsellor has one chat, so each chat goes to its own counsellor."""
    db = SqliteDatabase(db_path)
    await db.open()
    try:
        accounts = [(COORDINATOR, "coordinator")]
        accounts += [(counsellor(n), "counsellor") for n in range(chats)]
        for username, role in accounts:
            await create_staff(
                db, system_clock, username=username, password=PASSWORD, role=role, first_name=None
            )
    finally:
        await db.close()


def start_service(db_path: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """`python -m service serve` on the benchmark database, in a session of its own: no demo
    content, and no rate limits (the chat clients send faster than any person)."""
    env = service_env(db_path, port)
    env.update(KOPPI_DEMO="0", KOPPI_RATE_LIMITS="0")
    return spawn([sys.executable, "-m", "service", "serve"], env, log_path, append=True)


async def sign_in(session: aiohttp.ClientSession, base: str, username: str) -> str:
    """The `koppi_staff` cookie of a fresh sign-in, as a Cookie header value."""
    async with session.post(
        f"{base}/api/staff/login", json={"username": username, "password": PASSWORD}
    ) as response:
        if response.status != 200:
            raise RuntimeError(f"sign-in as {username}: {response.status} {await response.text()}")
        cookie = response.cookies.get("koppi_staff")
        if cookie is None:
            raise RuntimeError(f"sign-in as {username} set no koppi_staff cookie")
        return f"koppi_staff={cookie.value}"


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """One blocking POST, run in a thread: the chat clients' event loop never writes the
    megabytes of the body itself (it stalled for up to 70 ms doing so), and the thread holds
    the GIL only between system calls."""
    request = urllib.request.Request(url, body, headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 (loopback)
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class ImportRun:
    seconds: float
    counts: dict[str, Any]
    server_cpu_pct: float
    first_failure: Any
    quiet: dict[str, Any]
    during: dict[str, Any]


async def import_while_chatting(
    db_path: Path, body: bytes, count: int, args: argparse.Namespace, logs: Path
) -> ImportRun:
    """The chat alone for `--baseline` seconds, then the same chat over the import request."""
    port = free_port()
    proc = start_service(db_path, port, logs / "service.log")
    base = f"http://{HOST}:{port}"
    chats: list[LiveChat] = []
    senders: list[asyncio.Task[None]] = []
    try:
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await wait_ready(session, f"{base}/healthz", proc.poll)
            coordinator = await sign_in(session, base, COORDINATOR)
            for n in range(args.chats):
                cookie = await sign_in(session, base, counsellor(n))
                chats.append(LiveChat(base, cookie, args.interval_ms / 1000))
                await chats[-1].open()
            for chat in chats:
                # Spread over the interval, so the chats' messages do not all come at once.
                await asyncio.sleep(args.interval_ms / 1000 / len(chats))
                senders.append(asyncio.create_task(chat.run()))
            await asyncio.sleep(WARMUP_S)
            quiet = Window("no import", time.perf_counter())
            await asyncio.sleep(args.baseline)
            quiet.stop = time.perf_counter()
            await asyncio.sleep(0.5)  # the baseline's last messages arrive before the import
            headers = {"Cookie": coordinator, "Content-Type": "application/json"}
            cpu_before = cpu_seconds(proc.pid)
            during = Window("import", time.perf_counter())
            status, answer = await asyncio.to_thread(post, base + IMPORT_PATH, body, headers)
            during.stop = time.perf_counter()
            cpu = cpu_seconds(proc.pid) - cpu_before
            if status != 200:
                raise RuntimeError(f"the import answered {status}: {answer[:300]!r}")
            await asyncio.sleep(DRAIN_S)
            for chat in chats:
                chat.stopping = True
            await asyncio.gather(*senders)
            result = json.loads(answer)
    finally:
        for sender in senders:
            sender.cancel()
        for chat in chats:
            await chat.close()
        stop(proc)
    failures = [r for r in result.get("records", []) if r.get("outcome") == "failed"]
    counts = {k: v for k, v in result.items() if k != "records"}
    errors = [e for chat in chats for e in chat.errors]
    if errors:
        print(f"chat errors: {len(errors)}, first {errors[0]!r}", flush=True)
    every = LiveChat(base, "", args.interval_ms / 1000)  # all chats' timings, to sum up
    for chat in chats:
        every.timed += chat.timed
        every.sent.update({f"{chat.chat_id}:{t}": at for t, at in chat.sent.items()})
        every.lags += chat.lags
    seconds = during.stop - during.start
    return ImportRun(
        seconds=seconds,
        counts=counts,
        server_cpu_pct=100 * cpu / seconds,
        first_failure=failures[0] if failures else None,
        quiet=every.figures(quiet),
        during=every.figures(during),
    )


def print_import(run: ImportRun, count: int, body: bytes, args: argparse.Namespace) -> None:
    print(
        f"import {count} services over HTTP ({len(body) / 1e6:.1f} MB): {run.seconds:.1f} s,"
        f" {count / run.seconds:.0f} records/s, server CPU {run.server_cpu_pct:.0f}% of one core",
        flush=True,
    )
    print(f"import outcomes: {run.counts}", flush=True)
    if run.first_failure:
        print(f"first failure: {run.first_failure}", flush=True)
    print(
        f"chat: {args.chats} chats, each a message every {args.interval_ms:g} ms, its two sides"
        f" taking turns ({args.chats * 1000 / args.interval_ms:.0f} messages/s in all)",
        flush=True,
    )
    for label, figures in (("no import", run.quiet), ("during the import", run.during)):
        print(
            f"  {label:<18} n={figures['n']:<5} p50 {figures['p50']:7.2f} ms"
            f"  p99 {figures['p99']:7.2f} ms  max {figures['max']:7.2f} ms"
            f"  lost {figures['lost']}"
            f"  client's own send lag max {figures['client_lag_ms']:.1f} ms",
            flush=True,
        )
    slowest = ", ".join(f"{d:.0f} ms at {at:.1f} s" for d, at in run.during["slowest"])
    print(f"  slowest during the import: {slowest}", flush=True)
    import_ok = run.seconds < TARGET_IMPORT_S and not run.counts.get("failed")
    worst = run.during["max"] if not run.during["lost"] else float("inf")
    print(
        f"target import of {count} < {TARGET_IMPORT_S:.0f} s: {verdict(import_ok)}"
        f" ({run.seconds:.1f} s)",
        flush=True,
    )
    print(
        f"target chat worst delay during the import <= {TARGET_CHAT_MAX_MS:.0f} ms:"
        f" {verdict(worst <= TARGET_CHAT_MAX_MS)} ({run.during['max']:.1f} ms,"
        f" {run.during['lost']} lost; without the import {run.quiet['max']:.1f} ms)",
        flush=True,
    )


# Searches.


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


async def searches(db_path: Path, rng: random.Random, args: argparse.Namespace) -> None:
    queries = [rng.choice(QUERIES) for _ in range(args.queries)]
    db = SqliteDatabase(db_path)
    await db.open()
    try:
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
        times = await time_http(db_path, http_queries, db_path.parent)
        report("HTTP /api/hsds/services", times, None)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds of chat alone")
    parser.add_argument(
        "--interval-ms", type=float, default=200.0, help="between two messages of a chat"
    )
    parser.add_argument("--chats", type=int, default=10, help="chats at once, one per counsellor")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-search", action="store_true", help="skip the search timings")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP search timings")
    args = parser.parse_args(argv)
    if args.services < 1 or args.chats < 1 or args.baseline <= 0 or args.interval_ms <= 0:
        parser.error("need --services >= 1, --chats >= 1, --baseline > 0 and --interval-ms > 0")
    return args


async def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    print(f"code under test: {revision()}", flush=True)
    records = await timed(
        f"generate {args.services} records", lambda: asyncio.to_thread(make_records, args.services)
    )
    body = json.dumps(records, ensure_ascii=False, separators=(",", ":")).encode()
    del records
    if len(body) > UPLOAD_MAX:
        raise SystemExit(f"{len(body) / 1e6:.1f} MB is over the import's {UPLOAD_MAX} bytes")
    with tempfile.TemporaryDirectory(prefix="koppi-directory-") as tmp:
        db_path = Path(tmp) / "bench.sqlite3"
        await make_accounts(db_path, args.chats)
        run = await import_while_chatting(db_path, body, args.services, args, Path(tmp))
        print_import(run, args.services, body, args)
        if not args.no_search:
            await searches(db_path, random.Random(7), args)


if __name__ == "__main__":
    asyncio.run(main())
