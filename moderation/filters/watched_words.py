"""Matches coordinator-maintained watched words and phrases in text, tolerating inflection."""

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import snowballstemmer

ACTIONS = ("block", "review", "crisis")
LANGUAGES = ("fi", "sv", "en")

# Which action governs when several words match: a crisis must reach a person before anything.
_PRECEDENCE = {"crisis": 3, "block": 2, "review": 1}
_STEMMERS = {"fi": "finnish", "sv": "swedish", "en": "english"}

MAX_PHRASE_CHARS = 80
MAX_PHRASE_WORDS = 5
MIN_WORD_LETTERS = 3

# Snowball Finnish strips case endings but leaves consonant gradation and vowel changes
# (itsemurha-ajatuksia keeps its compound tail), so a text word that merely starts with the
# entry's stem also counts. The stem must have at least five letters: at four, "kuol" (kuolla)
# would catch "kuollut" and shorter stems catch unrelated words; "huume" (five) does not reach
# "huumori", whose stem is "huumor". Shorter stems must equal the text word's stem exactly.
_MIN_STEM_FOR_PREFIX = 5

_OPENING = 2
# Text words remembered with their folded form, stems and the entries they can begin. Chat
# vocabulary is small, so nearly every word of a message is found here; when full, the oldest
# half is dropped (dicts keep insertion order), never the whole, so nobody pays for a refill.
_TOKEN_CACHE_SIZE = 20_000

# Letters and digits, with hyphens only inside a word (Itsemurha-ajatuksia is one word).
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
# Words a writer may put between the words of a phrase of three or more: "en halua enää elää"
# is "en halua elää". Two-word phrases get no gap: "tappaa aikaa itseni kanssa" is harmless.
MAX_GAP = 1
_GAP_FROM_WORDS = 3
_PHRASE_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*\*?")


@dataclass(frozen=True)
class WatchedWord:
    """A coordinator's entry: a phrase, the language that stems it, and what a match triggers."""

    id: int
    phrase: str
    lang: str
    action: str


@dataclass(frozen=True)
class Match:
    """Where a watched word occurs in a text."""

    word: WatchedWord
    start: int
    end: int


@dataclass(frozen=True)
class _Term:
    """One phrase word, ready to compare: a stem, or a literal prefix typed with "*"."""

    stem: str
    literal_prefix: bool

    def accepts(self, token: str, token_stem: str) -> bool:
        """Whether a casefolded text word and its stem satisfy this phrase word."""
        if self.literal_prefix:
            return token.startswith(self.stem)
        if token_stem == self.stem:
            return True
        return len(self.stem) >= _MIN_STEM_FOR_PREFIX and (
            token.startswith(self.stem) or token_stem.startswith(self.stem)
        )

    @property
    def prefix_key(self) -> str | None:
        """The prefix a text word must start with, or None when only the exact stem will do."""
        if self.literal_prefix or len(self.stem) >= _MIN_STEM_FOR_PREFIX:
            return self.stem
        return None


@dataclass(frozen=True)
class _Entry:
    word: WatchedWord
    terms: tuple[_Term, ...]


@dataclass(frozen=True, slots=True)
class _Token:
    """A text word as matching sees it: NFKC and casefolded, its stem in each watched language
    (in Watchlist._langs order), and the entries whose first phrase word it satisfies."""

    folded: str
    stems: tuple[str, ...]
    starts: tuple[_Entry, ...]


class Watchlist:
    """Watched words with their stems computed once, for matching many texts."""

    def __init__(self, words: Iterable[WatchedWord]) -> None:
        """Stem every phrase and index entries by their first word for a quick lookup."""
        self._stemmers = {lang: snowballstemmer.stemmer(name) for lang, name in _STEMMERS.items()}
        self._entries: list[_Entry] = []
        self._by_stem: dict[tuple[str, str], list[_Entry]] = {}
        self._by_prefix: dict[tuple[str, str], list[_Entry]] = {}
        for word in words:
            terms = self._terms(word)
            if not terms:
                continue
            entry = _Entry(word, terms)
            self._entries.append(entry)
            first = terms[0]
            index = self._by_stem if first.prefix_key is None else self._by_prefix
            index.setdefault((word.lang, first.stem), []).append(entry)
        self._prefix_lengths = sorted({len(stem) for _, stem in self._by_prefix})
        self._langs = sorted({e.word.lang for e in self._entries})
        # Snowball only rewrites word endings, so a text word can match a phrase word only if
        # their first two letters agree; other words need no stemming, which is the slow part.
        # A stem shorter than that (none in practice) turns the shortcut off for its language.
        self._openings: dict[str, set[str] | None] = {lang: set() for lang in self._langs}
        for entry in self._entries:
            lang = entry.word.lang
            for term in entry.terms:
                openings = self._openings[lang]
                if openings is not None:
                    if len(term.stem) < _OPENING:
                        self._openings[lang] = None
                    else:
                        openings.add(term.stem[:_OPENING])
        self._tokens: dict[str, _Token] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def _terms(self, word: WatchedWord) -> tuple[_Term, ...]:
        stemmer = self._stemmers.get(word.lang)
        if stemmer is None:
            return ()
        terms = []
        for raw in _PHRASE_WORD.findall(word.phrase.casefold()):
            if raw.endswith("*"):
                terms.append(_Term(raw[:-1], literal_prefix=True))
            else:
                terms.append(_Term(stemmer.stemWord(raw), literal_prefix=False))
        return tuple(terms)

    def match(self, text: str) -> list[Match]:
        """Every occurrence of every entry in text, in every language; sorted by start. Each
        word's entries are remembered, so a text in which no word can begin an entry (most chat
        messages) costs a dictionary lookup per word; the result is that of _match_all."""
        if not self._entries:
            return []
        known = self._tokens.get
        read = [known(word) or self._read(word) for word in _WORD.findall(text)]
        if not any(token.starts for token in read):
            return []
        # Common words begin entries too (Finnish "ennen" and "entä" stem to "en", as in "en
        # halua elää"), so only the languages and the spans actually needed are worked out.
        tokens = [token.folded for token in read]
        stems: dict[str, list[str]] = {}
        spans: list[tuple[int, int]] = []
        matches = []
        for i, token in enumerate(read):
            for entry in token.starts:
                lang = entry.word.lang
                if lang not in stems:
                    n = self._langs.index(lang)
                    stems[lang] = [other.stems[n] for other in read]
                gap = MAX_GAP if len(entry.terms) >= _GAP_FROM_WORDS else 0
                # The first phrase word is known to match here (_Token.starts).
                last = _rest(entry.terms, 1, i + 1, tokens, stems[lang], gap)
                if last is not None:
                    spans = spans or [(m.start(), m.end()) for m in _WORD.finditer(text)]
                    matches.append(Match(entry.word, spans[i][0], spans[last][1]))
        matches.sort(key=lambda m: (m.start, m.end, m.word.id))
        return matches

    def _match_all(self, text: str) -> list[Match]:
        """match() without remembered words: every word folded and stemmed, every entry that
        might begin at it tried; the reference the shortcuts are tested against."""
        if not self._entries:
            return []
        spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        tokens = [_fold(text[s:e]) for s, e in spans]
        # The writer's language is unknown, so the text is stemmed once per watched language.
        stems = {lang: [self._stem(lang, token) for token in tokens] for lang in self._langs}
        matches = []
        for i, entry in self._candidates(tokens, stems):
            gap = MAX_GAP if len(entry.terms) >= _GAP_FROM_WORDS else 0
            last = _last_matched(entry.terms, tokens, stems[entry.word.lang], i, gap=gap)
            if last is not None:
                matches.append(Match(entry.word, spans[i][0], spans[last][1]))
        matches.sort(key=lambda m: (m.start, m.end, m.word.id))
        return matches

    def _read(self, word: str) -> _Token:
        """The word as matching sees it, worked out once and remembered."""
        if len(self._tokens) >= _TOKEN_CACHE_SIZE:
            for old in list(itertools.islice(self._tokens, _TOKEN_CACHE_SIZE // 2)):
                del self._tokens[old]
        folded = _fold(word)
        stems = tuple(self._stem(lang, folded) for lang in self._langs)
        by_lang = dict(zip(self._langs, stems, strict=True))
        starts = tuple(
            entry
            for entry in self._possible(folded, by_lang)
            if entry.terms[0].accepts(folded, by_lang[entry.word.lang])
        )
        token = self._tokens[word] = _Token(folded, stems, starts)
        return token

    def _stem(self, lang: str, token: str) -> str:
        """The token's stem, or the token itself when no first phrase word can start like it."""
        openings = self._openings[lang]
        if openings is not None and token[:_OPENING] not in openings:
            return token
        return str(self._stemmers[lang].stemWord(token))

    def _candidates(
        self, tokens: list[str], stems: dict[str, list[str]]
    ) -> Iterator[tuple[int, _Entry]]:
        """Entries whose first phrase word might match at each token position."""
        for i, token in enumerate(tokens):
            for entry in self._possible(token, {lang: stems[lang][i] for lang in self._langs}):
                yield i, entry

    def _possible(self, token: str, token_stems: dict[str, str]) -> list[_Entry]:
        """Entries whose first phrase word might match this token, given its stem per language."""
        seen: set[int] = set()
        possible = []
        for lang in self._langs:
            openings = self._openings[lang]
            if openings is not None and token[:_OPENING] not in openings:
                continue
            token_stem = token_stems[lang]
            found = list(self._by_stem.get((lang, token_stem), ()))
            for length in self._prefix_lengths:
                if length > len(token) and length > len(token_stem):
                    break
                for key in {token[:length], token_stem[:length]}:
                    found.extend(self._by_prefix.get((lang, key), ()))
            for entry in found:
                if id(entry) not in seen:
                    seen.add(id(entry))
                    possible.append(entry)
        return possible


def _fold(word: str) -> str:
    """A text word compared as letters: NFKC per word keeps the spans in the text as written
    (ｉｔｓｅｍｕｒｈａ is itsemurha), casefolded."""
    return unicodedata.normalize("NFKC", word).casefold()


def _last_matched(
    terms: tuple[_Term, ...], tokens: list[str], stems: list[str], at: int, *, gap: int
) -> int | None:
    """The index of the text word that completes the phrase begun at `at`, or None. The first
    phrase word must be at `at`; each later one may come up to `gap` words after the last."""
    if not terms[0].accepts(tokens[at], stems[at]):
        return None
    return _rest(terms, 1, at + 1, tokens, stems, gap)


def _rest(
    terms: tuple[_Term, ...], k: int, at: int, tokens: list[str], stems: list[str], gap: int
) -> int | None:
    if k == len(terms):
        return at - 1
    for j in range(at, min(at + gap + 1, len(tokens))):
        if terms[k].accepts(tokens[j], stems[j]):
            last = _rest(terms, k + 1, j + 1, tokens, stems, gap)
            if last is not None:
                return last
    return None


def strongest(matches: Iterable[Match]) -> str | None:
    """The action that governs a set of matches: crisis over block over review; None if none."""
    actions = [m.word.action for m in matches]
    if not actions:
        return None
    return max(actions, key=lambda a: _PRECEDENCE.get(a, 0))
