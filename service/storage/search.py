"""Finnish-aware search: Snowball stems for inflection, trigrams for parts of compound words."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

import snowballstemmer

from service.storage.db import Database, Dialect, SearchTerm, Writer

_WORD = re.compile(r"\w+", re.UNICODE)
_STEMMER = snowballstemmer.stemmer("finnish")
MAX_TERMS = 8
_TRIGRAM_MIN = 3
_GRADATION_MIN = 6
_GRADATING_END = re.compile(r"[kpt][aeiouyäö]$")


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


@functools.lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    # Snowball in pure Python costs tens of microseconds a word, and a directory import
    # stems the same few thousand words again and again.
    return str(_STEMMER.stemWord(word))


def _stem_all(items: list[str]) -> list[str]:
    return [_stem(item) for item in items]


def stems(text: str) -> list[str]:
    return _stem_all(words(text))


class SearchQuery:
    """A visitor's search text as terms and stems; empty when nothing is searchable."""

    def __init__(self, text: str) -> None:
        self.terms = list(dict.fromkeys(words(text)))[:MAX_TERMS]
        self.stems = _stem_all(self.terms)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def hits_sql(self, dialect: Dialect, index: str = "question") -> tuple[str, list[Any]]:
        """Row ids where every term matches by stem prefix or, for 3+ letters, as a substring.

        `index` names the search tables: the questions' or the services'."""
        terms = [
            SearchTerm(term, stem, _pieces(term, stem))
            for term, stem in zip(self.terms, self.stems, strict=True)
        ]
        return dialect.search_hits(index, terms)


def _substrings(term: str, stem: str) -> list[str]:
    """Pieces to find inside words.

    Snowball does not undo consonant gradation, which changes the end of a stem (palkkatuen ->
    palkkatue, palkkatuki -> palkkatuk; tuki -> tuki, tukea -> tuke). So a long stem is also
    tried without its last letter (palkkatu), and so is a short one that ends in k, p or t and
    a vowel (tuki -> tuk); other short stems would match too many unrelated words."""
    pieces = [term, stem]
    if len(stem) >= _GRADATION_MIN or _GRADATING_END.search(stem) and len(stem) >= 4:
        pieces.append(stem[:-1])
    # Text that holds a piece holds every piece containing it, so only the innermost count.
    return sorted(p for p in set(pieces) if not any(o != p and o in p for o in pieces))


def _document(title: str | None, body: str, answers: Iterable[str]) -> str:
    return "\n".join([title or "", body, *answers])


async def index_document(tx: Writer, index: str, rowid: int, document: str) -> None:
    """Replace one row's entries in the `index` search tables with `document`."""
    await tx.dialect.unindex(tx, index, [rowid])
    await tx.dialect.index_documents(tx, index, [(rowid, document)])


async def unindex(tx: Writer, index: str, rowid: int) -> None:
    await tx.dialect.unindex(tx, index, [rowid])


async def index_question(
    tx: Writer, question_id: int, title: str | None, body: str, answers: Iterable[str]
) -> None:
    """Replace the question's search entries with its current published text."""
    await index_document(tx, "question", question_id, _document(title, body, answers))


async def unindex_question(tx: Writer, question_id: int) -> None:
    await unindex(tx, "question", question_id)


# Similar questions while asking: the few telling words of a question being typed, each matched
# as the board matches it, and the published questions that share the most of them.

# Words that say nothing about what a question is about: Snowball's Finnish and Swedish stop
# words (as in PostgreSQL's finnish.stop and swedish.stop), then the everyday words young people
# open, frame and close a question with.
_STOP_WORDS = frozenset(
    """
    olla olen olet on olemme olette ovat ole oli olisi olisit olisin olisimme olisitte olisivat
    olit olin olimme olitte olivat ollut olleet en et ei emme ette eivät minä minun minut minua
    minussa minusta minuun minulla minulta minulle sinä sinun sinut sinua sinussa sinusta sinuun
    sinulla sinulta sinulle hän hänen hänet häntä hänessä hänestä häneen hänellä häneltä hänelle
    me meidän meidät meitä meissä meistä meihin meillä meiltä meille te teidän teidät teitä
    teissä teistä teihin teillä teiltä teille he heidän heidät heitä heissä heistä heihin heillä
    heiltä heille tämä tämän tätä tässä tästä tähän tällä tältä tälle tänä täksi tuo tuon tuota
    tuossa tuosta tuohon tuolla tuolta tuolle tuona tuoksi se sen sitä siinä siitä siihen sillä
    siltä sille siksi nämä näiden näitä näissä näistä näihin näillä näiltä näille näinä näiksi
    nuo noiden noita noissa noista noihin noilla noilta noille noina noiksi ne niiden niitä
    niissä niistä niihin niillä niiltä niille niinä niiksi kuka kenen kenet ketä kenessä kenestä
    keneen kenellä keneltä kenelle kenenä keneksi ketkä keiden keitä keissä keistä keihin keillä
    keiltä keille keinä keiksi mikä minkä mitä missä mistä mihin millä miltä mille miksi mitkä
    joka jonka jota jossa josta johon jolla jolta jolle jona joksi jotka joiden joita joissa
    joista joihin joilla joilta joille joina joiksi että ja jos koska kuin mutta niin sekä tai
    vaan vai vaikka kanssa mukaan noin poikki yli kun nyt itse
    och det att i en jag hon som han på den med var sig för så till är men ett om hade de av
    icke mig du henne då sin nu har inte hans honom skulle hennes där min man ej vid kunde något
    från ut när efter upp vi dem vara vad över än dig kan sina här ha mot alla under någon eller
    allt mycket sedan ju denna själv detta åt utan varit hur ingen mitt ni bli blev oss din dessa
    några deras blir mina samma vilken er sådan vår blivit dess inom mellan sådant varför varje
    vilka ditt vem vilket sitta sådana vart dina vars vårt våra ert era vilkas
    mä mää mun mua mulla mulle multa sä sää sun sua sulla sulle sulta tää tän tätä toi ton noi
    nää oon oot ootte onko oisko ois onks eikä enkä eikö myös vain sitten jo vielä aina sit
    niinku ihan tosi vähän aika just jotenkin jotain joku jokin mitään mikään kaikki miten
    milloin voi voin voit voiko voisin voisiko voisitteko voisko pitää pitäisi pitäisikö
    pitäiskö saa saan saanko saako saisin kannattaa kannattaisi haluan haluaisin tiedä tietää
    kysyä kysyisin kysymys hei moi moikka terve heippa kiitos kiitti kiitoksia
    hej hejsan tack också bara redan alltid får fick ska vill ville måste borde finns
    the and or is are am was were be to of in on at for with it this that you my me do does
    did not how what why when can could should would will have has hi hello thanks please
    """.split()
)
# The start of a question says what it is about, and 500 characters always fit in an address:
# percent-encoded, a character takes 12 bytes at most, and aiohttp and nginx read 8 KB of it.
SIMILAR_MAX_TEXT = 500
SIMILAR_TERMS = 6
SIMILAR_MIN_LETTERS = 3
# Each term's newest matches read, per index table: enough to rank by, and a common word costs
# a window instead of every question that has it.
SIMILAR_WINDOW = 500
SIMILAR_EXCERPT = 240  # characters read of a question and of its first answer


class SimilarQuery:
    """A question being typed, as its most telling words: no stop words, no bare numbers, one
    word per stem, the longest first (long words are the rare ones); empty, so the database is
    not asked, when the words kept have fewer than three letters between them."""

    def __init__(self, text: str) -> None:
        candidates = sorted(
            (
                word
                for word in dict.fromkeys(words(unicodedata.normalize("NFC", text)))
                if len(word) >= 2 and not word.isdigit() and word not in _STOP_WORDS
            ),
            key=len,
            reverse=True,
        )
        chosen: dict[str, SearchTerm] = {}
        # Longest first, so only as many words are stemmed as are kept (a 4,000-character
        # question has hundreds).
        for word in candidates:
            stem = _stem_all([word])[0]
            if stem not in chosen:
                chosen[stem] = SearchTerm(word, stem, _pieces(word, stem))
                if len(chosen) == SIMILAR_TERMS:
                    break
        terms = list(chosen.values())
        letters = sum(len(term.term) for term in terms)
        self.terms = terms if letters >= SIMILAR_MIN_LETTERS else []

    def __bool__(self) -> bool:
        return bool(self.terms)


def _pieces(term: str, stem: str) -> list[str]:
    return [p for p in _substrings(term, stem) if len(p) >= _TRIGRAM_MIN]


@dataclass(frozen=True)
class SimilarQuestion:
    """A published question that shares words with the text: its start and its answer's."""

    id: int
    title: str | None
    body: str
    answer: str | None
    category_slug: str
    category_fi: str
    category_sv: str | None
    category_en: str | None


async def similar_published(
    db: Database, query: SimilarQuery, *, limit: int = 3
) -> list[SimilarQuestion]:
    """Published questions that share the query's words: the best match first; among equals,
    the one with the query's longest word, then the newest.

    A question scores the sum of the weights of the terms it matches; a term weighs less the
    more questions have it (1 for a rare one, 0.1 for one every question has). Its share is read
    from its window: a full window of the newest matches spans fewer ids than a word found in
    every question would. A question must score half the query's whole weight, or 0.5 when that
    is less, so a long question is matched by one rare word or several common ones together."""
    if not query:
        return []
    hits, params = db.dialect.similar_hits("question", query.terms, SIMILAR_WINDOW)
    window, count = SIMILAR_WINDOW, len(query.terms)
    rows = await db.fetch_all(
        f"WITH hits(t, id) AS MATERIALIZED ({hits}),"
        " pairs(t, id) AS MATERIALIZED (SELECT DISTINCT t, id FROM hits),"
        " newest(n) AS (SELECT max(id) FROM questions),"
        " weights(t, w) AS MATERIALIZED (SELECT t, 1.0 / (1.0 + 9.0 * count(*) / ("
        f"CASE WHEN count(*) >= {window} THEN (SELECT n FROM newest) - min(id) + 1"
        " ELSE (SELECT n FROM newest) END)) FROM pairs GROUP BY t),"
        f" half(v) AS (SELECT ({count} - count(*) + coalesce(sum(w), 0)) / 2.0 FROM weights),"
        # Rounded, so that equal sums added in another order still compare equal.
        " ranked(id, score, first) AS (SELECT p.id, round(sum(w.w), 6), min(p.t) FROM pairs p"
        " JOIN weights w ON w.t = p.t GROUP BY p.id"
        " HAVING sum(w.w) >= (SELECT CASE WHEN v < 0.5 THEN v ELSE 0.5 END FROM half)"
        f" ORDER BY 2 DESC, 3, 1 DESC LIMIT {int(limit)})"
        f" SELECT q.id, q.title, substr(q.body, 1, {SIMILAR_EXCERPT}) AS body,"
        f" (SELECT substr(a.body, 1, {SIMILAR_EXCERPT}) FROM answers a"
        "  WHERE a.question_id = q.id ORDER BY a.id LIMIT 1) AS answer,"
        " c.slug, c.name_fi, c.name_sv, c.name_en"
        " FROM ranked r JOIN questions q ON q.id = r.id JOIN categories c ON c.id = q.category_id"
        " WHERE q.status = 'published' ORDER BY r.score DESC, r.first, r.id DESC",
        params,
        slow=True,
    )
    return [
        SimilarQuestion(
            row["id"],
            row["title"],
            row["body"],
            row["answer"],
            row["slug"],
            row["name_fi"],
            row["name_sv"],
            row["name_en"],
        )
        for row in rows
    ]


# The service directory ranks a search by where its words matched. Each service is indexed as one
# row per part of it, at row id num * PART_SLOTS + part: a word in the name counts most, then one
# in the taxonomy terms, description or eligibility, then in the organisation's name, and a place
# last. A place matches only as a whole word (equal stems: koskelassa finds Koskela), never as a
# piece of a longer word, so "kela" does not find every service in Koskela.
PART_SLOTS = 8  # room beside the four parts; parts are 1-4, so num 0 is never a service's
NAME_PART, ABOUT_PART, ORGANIZATION_PART, PLACE_PART = 1, 2, 3, 4


class ServiceDocument(NamedTuple):
    """A service's searchable text by part, each in every language the record carries."""

    name: str
    about: str  # description and eligibility (taxonomy terms are matched at search time)
    organization: str
    place: str  # service areas and addresses


async def index_services(tx: Writer, documents: Sequence[tuple[int, ServiceDocument]]) -> None:
    """Replace the services' search rows, (num, document) each: one row per part with text."""
    await tx.dialect.unindex(
        tx,
        "service",
        [num * PART_SLOTS + part for num, _ in documents for part in range(PART_SLOTS)],
    )
    await tx.dialect.index_documents(
        tx,
        "service",
        [
            (num * PART_SLOTS + part, text)
            for num, document in documents
            for part, text in enumerate(document, start=NAME_PART)
            if text
        ],
    )


@runtime_checkable
class PartMatching(Protocol):
    """What an engine's dialect gives the directory's ranking beside `search_hits`."""

    def word_hits(self, index: str, term: SearchTerm, *, whole: bool) -> tuple[str, list[Any]]:
        """Row ids (`id`) holding the term's stem as a word prefix, or `whole`: as a word."""
        ...

    def piece_hits(self, index: str, term: SearchTerm) -> tuple[str, list[Any]]:
        """Row ids (`id`) holding any of the term's pieces inside their text."""
        ...


def _part_matching(dialect: Dialect) -> PartMatching:
    if not isinstance(dialect, PartMatching):
        raise TypeError(f"the {dialect.name} dialect cannot rank directory searches")
    return dialect


# A term's best match in a service, best first: 1 a word of the name, 2 a piece of a word of the
# name, 3 and 4 the same in the taxonomy terms, description or eligibility, 5 and 6 in the
# organisation's name, 7 a place. A service scores the sum of its terms' weights; a weight is
# more than MAX_TERMS times the next one's, so a higher score means more terms at the best
# grade, then at the next one, and so on.
_GRADES = 7
_ABOUT_WORD, _ABOUT_PIECE, _PLACE_GRADE = 3, 4, 7


def _weight(grade: int) -> int:
    return int((MAX_TERMS + 1) ** (_GRADES - grade))


def _by_part(word: bool) -> str:
    """The weight of a word (or a piece) match by the row's part: name, about, organisation."""
    first = 1 if word else 2
    return (
        f"CASE id % {PART_SLOTS} WHEN {NAME_PART} THEN {_weight(first)}"
        f" WHEN {ABOUT_PART} THEN {_weight(first + 2)} ELSE {_weight(first + 4)} END"
    )


@dataclass(frozen=True)
class TaxonomyHits:
    """For one search term: the taxonomy terms it matches by a word, and by a piece only."""

    by_word: tuple[str, ...] = ()
    by_piece: tuple[str, ...] = ()


def search_terms(query: SearchQuery) -> list[SearchTerm]:
    return [
        SearchTerm(term, stem, _pieces(term, stem))
        for term, stem in zip(query.terms, query.stems, strict=True)
    ]


def ranked_services(
    dialect: Dialect, query: SearchQuery, taxonomy: Sequence[TaxonomyHits]
) -> tuple[str, list[Any]]:
    """A common table expression `ranked(num, score)`: the services every term of the query
    matches somewhere, with their score (higher first).

    `taxonomy` holds each term's taxonomy-term matches (`taxonomy_hits`), in term order."""
    engine = _part_matching(dialect)
    slots, text_parts = PART_SLOTS, f"BETWEEN {NAME_PART} AND {ORGANIZATION_PART}"
    branches: list[str] = []
    params: list[Any] = []
    for n, (term, hits) in enumerate(zip(search_terms(query), taxonomy, strict=True)):
        found, found_params = engine.word_hits("service", term, whole=False)
        branches.append(
            f"SELECT {n} AS t, id / {slots} AS num, {_by_part(True)} AS w"
            f" FROM ({found}) AS w{n} WHERE id % {slots} {text_parts}"
        )
        params += found_params
        found, found_params = engine.word_hits("service", term, whole=True)
        branches.append(
            f"SELECT {n}, id / {slots}, {_weight(_PLACE_GRADE)}"
            f" FROM ({found}) AS p{n} WHERE id % {slots} = {PLACE_PART}"
        )
        params += found_params
        if term.pieces:
            found, found_params = engine.piece_hits("service", term)
            branches.append(
                f"SELECT {n}, id / {slots}, {_by_part(False)}"
                f" FROM ({found}) AS s{n} WHERE id % {slots} {text_parts}"
            )
            params += found_params
        for ids, grade in ((hits.by_word, _ABOUT_WORD), (hits.by_piece, _ABOUT_PIECE)):
            if ids:
                branches.append(
                    f"SELECT {n}, s.num, {_weight(grade)} FROM attributes a"
                    " JOIN services s ON s.id = a.service_id"
                    f" WHERE a.taxonomy_term_id IN ({','.join('?' * len(ids))})"
                )
                params += ids
    every_hit = " UNION ALL ".join(branches)
    if len(query.terms) == 1:
        sql = f"ranked(num, score) AS (SELECT num, max(w) FROM ({every_hit}) AS hits GROUP BY num)"
        return sql, params
    # One pass over the hits, grouped by service, each term's best weight in a column of its
    # own: grouping by term and service first, then by service, took twice as long.
    terms = range(len(query.terms))
    best = ", ".join(f"max(CASE t WHEN {n} THEN w ELSE 0 END) AS w{n}" for n in terms)
    sql = (
        f"ranked(num, score) AS (SELECT num, {' + '.join(f'w{n}' for n in terms)}"
        f" FROM (SELECT num, {best} FROM ({every_hit}) AS hits GROUP BY num) AS best"
        f" WHERE {' AND '.join(f'w{n} > 0' for n in terms)})"
    )
    return sql, params


def _folded(text: str) -> str:
    """Without accents, as FTS5's remove_diacritics and PostgreSQL's unaccent compare stems."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


@functools.lru_cache(maxsize=4096)
def _term_text(text: str) -> tuple[frozenset[str], str]:
    """A taxonomy term's name as its folded stems and its lower-case text (names repeat)."""
    return frozenset(_folded(s) for s in stems(text)), text.lower()


def _term_match(term: SearchTerm, names: Sequence[str]) -> int:
    """2 when a word of the names begins with the term's stem, 1 when a piece is inside one of
    them, else 0: the same test the search tables make of a service's text."""
    stem = _folded(term.stem)
    texts = [_term_text(name) for name in names if name]
    if any(word.startswith(stem) for words_of, _lower in texts for word in words_of):
        return 2
    if any(piece in lower for _words, lower in texts for piece in term.pieces):
        return 1
    return 0


async def taxonomy_hits(source: Database | Writer, query: SearchQuery) -> list[TaxonomyHits]:
    """Each term's matches among the taxonomy terms services use, by their names (a topic
    category's in Finnish, Swedish and English). Read at search time, so a renamed category
    is found by its new name at once."""
    rows = await source.fetch_all(
        "SELECT t.id, t.name, c.name_fi, c.name_sv, c.name_en FROM taxonomy_terms t"
        " LEFT JOIN categories c ON c.term_id = t.id"
        " WHERE EXISTS (SELECT 1 FROM attributes a WHERE a.taxonomy_term_id = t.id)"
        " ORDER BY t.id"
    )
    found: list[TaxonomyHits] = []
    for term in search_terms(query):
        grades = {
            row["id"]: _term_match(
                term, (row["name"], row["name_fi"], row["name_sv"], row["name_en"])
            )
            for row in rows
        }
        found.append(
            TaxonomyHits(
                tuple(i for i, g in grades.items() if g == 2),
                tuple(i for i, g in grades.items() if g == 1),
            )
        )
    return found
