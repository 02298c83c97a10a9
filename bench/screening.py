"""How long screening takes: personal-data detection and watched-word matching on the longest
question (4,000 characters), and the whole screening of typical short chat messages, with the
default watched words of a new install.

    .venv/bin/python bench/screening.py [--runs 200]

The goal is well under 10 ms per question, so checking it before it is stored adds nothing a
writer could notice; a chat message is screened on every send, so its cost is counted in µs."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moderation.filters import personal_data  # noqa: E402
from moderation.filters.watched_words import WatchedWord, Watchlist  # noqa: E402
from moderation.screening import Watch  # noqa: E402
from service.storage.engines.sqlite import migrate_path  # noqa: E402

PROSE = (
    "Hei! Olen 19-vuotias ja etsin kesätöitä. Voinko hakea työkokeiluun ensi kuussa, kun "
    "työttömyysturva loppuu? Minulla on ollut vaikeaa jaksaa, ja mietin työpajaa. "
)
MIXED = (
    "Soita 040 123 4567 tai laita viestiä minna.m@example.com, asun Hämeenkatu 5 B 12. "
    "Tunnus 131052-308T ja tili FI21 1234 5600 0007 85, katso www.example.fi/minna. "
)
# What young people write in the chat: 20-200 characters, few digits, no addresses; the last is
# bench/_sio_frames.py's message, numbered as the load client numbers it.
CHAT = (
    "Hei, mulla on kysymys palkkatuesta, voiko sitä saada jos on ollut työtön puoli vuotta?",
    "Moi! Mä en tiiä mitä tehä kun koulu loppu ja kaikki kaverit on jo töissä",
    "Kiitos paljon avusta!",
    "Onko teillä tietoa oppisopimuksesta, ja miten sitä haetaan? Entä pitääkö olla työpaikka"
    " valmiina ennen kuin voi hakea?",
    "Mä oon ollu tosi väsyny viime aikoina enkä jaksa oikein mitään, mut haluisin silti löytää"
    " jonkun kesätyön",
    "okei, entä jos mulla ei oo ammattikoulututkintoa?",
    "Olen 19-vuotias ja etsin töitä, ehdin aloittaa 3 viikon päästä.",
    "Hei! Etsin kesätyötä ja mietin, miten kirjoitan hyvän työhakemuksen? #1234",
)


def _default_words() -> list[WatchedWord]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite3"
        asyncio.run(migrate_path(path))
        with sqlite3.connect(path) as conn:
            found = conn.execute("SELECT id, phrase, lang, action FROM watched_words").fetchall()
    return [WatchedWord(*row) for row in found]


def _timed(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.95)] * 1000


def _figures(median: float, p95: float) -> str:
    return f"median {median:5.2f} ms  p95 {p95:5.2f} ms"


def _per_message(runs: int, work: Callable[[str], object]) -> tuple[float, float]:
    """Median and p95 in µs of one short chat message's work, over every message of CHAT."""
    for text in CHAT:
        work(text)
    times = []
    for _ in range(runs * 10):
        for text in CHAT:
            started = time.perf_counter()
            work(text)
            times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times) * 1e6, times[int(len(times) * 0.95)] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    words = _default_words()
    watchlist = Watchlist(words)
    texts = {"plain prose": (PROSE * 40)[:4000], "full of details": (MIXED * 30)[:4000]}
    print(f"{len(words)} watched words, texts of 4,000 characters, {runs} runs each")
    for name, text in texts.items():
        found = len(personal_data.find(text))
        median, p95 = _timed(runs, lambda t=text: personal_data.find(t))
        print(f"personal data, {name:16} {found:4} found  {_figures(median, p95)}")
        median, p95 = _timed(runs, lambda t=text: watchlist.match(t))
        print(f"watched words, {name:16}             {_figures(median, p95)}")
    watch = Watch(words)
    lengths = sorted(len(text) for text in CHAT)
    print(f"\n{len(CHAT)} chat messages of {lengths[0]}-{lengths[-1]} characters, {runs * 10} runs")
    parts: dict[str, Callable[[str], object]] = {
        "personal data": personal_data.find,
        "watched words": watchlist.match,
        "whole screening": watch.screen,
    }
    for name, work in parts.items():
        median, p95 = _per_message(runs, work)
        print(f"{name:18} median {median:6.1f} µs  p95 {p95:6.1f} µs")


if __name__ == "__main__":
    main()
