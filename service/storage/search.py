"""Finnish-aware search: Snowball stems for inflection, trigrams for parts of compound words."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import snowballstemmer

from service.storage.db import Dialect, SearchTerm, Writer

_WORD = re.compile(r"\w+", re.UNICODE)
_STEMMER = snowballstemmer.stemmer("finnish")
MAX_TERMS = 8
_TRIGRAM_MIN = 3
_GRADATION_MIN = 6
_GRADATING_END = re.compile(r"[kpt][aeiouyäö]$")


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _stem_all(items: list[str]) -> list[str]:
    return [str(s) for s in _STEMMER.stemWords(items)]


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
            SearchTerm(term, stem, [p for p in _substrings(term, stem) if len(p) >= _TRIGRAM_MIN])
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
    await tx.dialect.unindex(tx, index, rowid)
    await tx.dialect.index_document(tx, index, rowid, document)


async def unindex(tx: Writer, index: str, rowid: int) -> None:
    await tx.dialect.unindex(tx, index, rowid)


async def index_question(
    tx: Writer, question_id: int, title: str | None, body: str, answers: Iterable[str]
) -> None:
    """Replace the question's search entries with its current published text."""
    await index_document(tx, "question", question_id, _document(title, body, answers))


async def unindex_question(tx: Writer, question_id: int) -> None:
    await unindex(tx, "question", question_id)
