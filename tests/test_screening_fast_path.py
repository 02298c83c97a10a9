"""Screening's shortcuts for the common chat message (detectors skipped when a text lacks what
they need, remembered words) find exactly what running every detector on every word finds."""

import asyncio
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.filters import personal_data
from moderation.filters.watched_words import _TOKEN_CACHE_SIZE, WatchedWord, Watchlist
from moderation.screening import Watch
from service.storage.engines.sqlite import migrate_path

# Plain words, words that begin a default entry's first word or stem like one ("ennen" and "entä"
# stem to "en"), their inflections, and near misses.
WORDS = [
    "hei", "mulla", "on", "kysymys", "palkkatuesta", "voiko", "sitä", "saada", "jos", "ollut",
    "työtön", "puoli", "vuotta", "kiitos", "katu", "tie", "kesätyö", "www", "http", "fi", "se",
    "en", "ennen", "entä", "ensi", "halua", "haluan", "haluun", "jaksa", "elää", "enää",
    "itsemurha", "itsemurhasta", "Itsemurha-ajatuksia", "itse", "murha", "itsetuhoinen",
    "tappaa", "tapan", "tappaisin", "itseni", "itteni", "satuttaa", "satutan", "itseäni",
    "itseään", "kuolla", "kuolen", "päättää", "päätän", "päiväni", "viiltelen", "viillellyt",
    "huume", "huumeita", "huumori", "väkivaltaa", "självmordet", "ta", "livet", "av", "mig",
    "vill", "dö", "inte", "leva", "döda", "själv", "skada", "självskadebeteende", "knark",
    "narkotika", "våld", "suicidal", "kill", "killing", "myself", "want", "to", "die", "end",
    "my", "life", "self-harm", "self", "harm", "hurt", "drugs", "violence", "Street", "Baker",
]  # fmt: skip
# Personal details and their near misses, in ASCII and in forms Unicode also calls digits or dots.
DETAILS = [
    "040 123 4567", "+358 40 1234567", "(09) 123 4567", "0401234567", "01.06.2024",
    "klo 09.00-16.00", "131052-308T", "131052A308T", "FI21 1234 5600 0007 85",
    "FI2112345600000785", "minna.m@example.com", "a@b.fi", "Hämeenkatu 5 B 12",
    "Mannerheimintiellä 12", "Hämeenkadulla 5", "tie 3", "5 Baker Street", "12 High Road",
    "www.example.fi/minna", "https://koppi.fi/a(b)", "example.com", "v. 2024.fi", "töitä.Se",
    "koppi.FI", "０４０ １２３ ４５６７", "１３１０５２－３０８Ｔ", "minna＠example．com",
    "example。fi", "٠٤٠ ١٢٣ ٤٥٦٧", "Hämeenkatu ５", "ｗｗｗ．ｅｘａｍｐｌｅ．ｆｉ", "²³",
    "https://koppi.app/x", "http://192.168.0.1/", "HTTPS://KOPPI.APP", "WWW.KOPPI.APP",
    "GB82WEST12345698765432",
]  # fmt: skip
SEPARATORS = [" ", "  ", ", ", ". ", ".", "! ", "? ", "\n", "", "-", ":", "/", "\u3000", "\u00a0"]
ODD = "0123456789０１９٣²@＠.．。:/-+()# aAäÖﬁſK\u00a0\u3000"


def fullwidth(text: str) -> str:
    """The text in full-width forms, which NFKC folds back to ASCII."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


CASES = st.sampled_from([str, str.upper, str.title, fullwidth])
PIECE = st.one_of(
    st.builds(lambda word, case: case(word), st.sampled_from(WORDS), CASES),
    st.sampled_from(DETAILS),
    st.text(alphabet=ODD, max_size=10),
    st.text(alphabet="0123456789 -", min_size=5, max_size=14),
)
PIECES = st.tuples(PIECE, st.sampled_from(SEPARATORS))
# Short texts most: a detector's threshold is tested where a text holds just what one finding needs.
TEXT = st.builds(
    lambda pieces: "".join(p + s for p, s in pieces),
    st.one_of(st.lists(PIECES, max_size=3), st.lists(PIECES, max_size=24)),
)


@pytest.fixture(scope="module")
def defaults(tmp_path_factory: pytest.TempPathFactory) -> list[WatchedWord]:
    """The watched words a new install starts with, read from a freshly migrated database."""
    path = tmp_path_factory.mktemp("screening") / "koppi.sqlite3"
    asyncio.run(migrate_path(path))
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT id, phrase, lang, action FROM watched_words").fetchall()
    conn.close()
    assert rows
    return [WatchedWord(*row) for row in rows]


@pytest.fixture(scope="module")
def watch(defaults: list[WatchedWord]) -> Watch:
    # One watch for every example, so words remembered from earlier texts are used again.
    return Watch(defaults)


@given(text=TEXT)
@settings(max_examples=600, deadline=None)
def test_personal_data_skips_nothing_it_would_find(text: str) -> None:
    assert personal_data.find(text) == personal_data._find_all(text)


@given(text=TEXT)
@settings(max_examples=600, deadline=None)
def test_screening_equals_the_full_path(watch: Watch, text: str) -> None:
    assert watch.screen(text) == watch._screen_all(text)


@given(first=TEXT, second=TEXT)
@settings(max_examples=200, deadline=None)
def test_screening_several_texts_equals_the_full_path(
    watch: Watch, first: str, second: str
) -> None:
    assert watch.screen(first, None, second) == watch._screen_all(first, None, second)


@pytest.mark.parametrize(
    "text",
    [
        "Hei, mulla on kysymys palkkatuesta, voiko sitä saada jos on ollut työtön puoli vuotta?",
        "en tiedä, ennen kaikkea en halua enää elää",
        "ＥＮ ＨＡＬＵＡ ＥＬÄÄ ja ｉｔｓｅｍｕｒｈａ-ajatuksia",
        "soita 040 123 4567 tai minna.m@example.com, Hämeenkatu 5 B 12, www.example.fi",
    ],
)
def test_common_messages_equal_the_full_path(watch: Watch, text: str) -> None:
    # Twice: once as words are first seen, once from what was remembered.
    for _ in range(2):
        assert watch.screen(text) == watch._screen_all(text)


def test_remembered_words_are_dropped_when_full_and_matching_stays_exact(
    defaults: list[WatchedWord],
) -> None:
    watchlist = Watchlist(defaults)
    crisis = "en halua enää elää, itsemurha"
    watchlist.match(crisis)
    # More distinct words than are remembered, "xq…" so that none needs stemming.
    flood = " ".join(f"xq{n}" for n in range(_TOKEN_CACHE_SIZE + _TOKEN_CACHE_SIZE // 4))
    assert watchlist.match(flood) == []
    assert len(watchlist._tokens) <= _TOKEN_CACHE_SIZE
    for text in (crisis, f"{flood} {crisis}"):
        assert watchlist.match(text) == watchlist._match_all(text)
        assert [m.word.phrase for m in watchlist.match(text)] == ["en halua elää", "itsemurha"]
