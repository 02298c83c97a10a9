"""What a young person wrote, read before it is stored: personal details to warn about, and
the watched words that decide whether it is refused, held for review or treated as a crisis."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from moderation.errors import PersonalDetails, RefusedWords
from moderation.filters import personal_data
from moderation.filters.personal_data import Finding
from moderation.filters.watched_words import Match, WatchedWord, Watchlist, strongest
from service.crisis import crisis_languages
from service.i18n import N_
from service.i18n import gettext as _


@dataclass(frozen=True)
class Screening:
    personal: tuple[Finding, ...]
    watched: tuple[Match, ...]

    @property
    def action(self) -> str | None:
        """block, review or crisis: the strongest watched word's action, or None."""
        return strongest(self.watched)

    @property
    def crisis(self) -> bool:
        return self.action == "crisis"

    @property
    def crisis_languages(self) -> tuple[str, ...]:
        """The languages the crisis words were written in: the help notes it when the page's
        language is not among them."""
        return crisis_languages(self.watched)

    def flags(self) -> list[dict[str, str]]:
        """The matched watched words for staff, once each, in the order they were written. A
        crisis word keeps its language too, so the asker's page can word its crisis help note
        for a question stored long ago."""
        seen: dict[tuple[str, str], dict[str, str]] = {}
        for match in self.watched:
            word = match.word
            flag = {"phrase": word.phrase, "action": word.action}
            if word.action == "crisis":
                flag["lang"] = word.lang
            seen.setdefault((word.phrase, word.action), flag)
        return list(seen.values())


class Watch:
    """The active watched words, compiled once and again whenever coordinators change them."""

    def __init__(self, words: Iterable[WatchedWord] = ()) -> None:
        self._list = Watchlist(words)

    def replace(self, words: Iterable[WatchedWord]) -> None:
        self._list = Watchlist(words)

    def screen(self, *texts: str | None) -> Screening:
        """Personal details found in each text, and the watched words in all of them."""
        written = [t for t in texts if t]
        personal = tuple(f for text in written for f in personal_data.find(text))
        watched = tuple(m for text in written for m in self._list.match(text))
        return Screening(personal, watched)

    def _screen_all(self, *texts: str | None) -> Screening:
        """screen() with every detector and every word worked out on every text: what the
        shortcuts that make a common chat message cheap are tested against."""
        written = [t for t in texts if t]
        personal = tuple(f for text in written for f in personal_data._find_all(text))
        watched = tuple(m for text in written for m in self._list._match_all(text))
        return Screening(personal, watched)


UNCONFIRMED = N_(
    "This looks like personal details. Remove them, or send anyway if you want the staff to"
    " see them."
)


def admit(screening: Screening, *, personal_ok: object, field: str, blocked: str) -> Screening:
    """The screening of a text that may be stored: a block word is refused with `blocked`, and
    personal details not yet confirmed come back as a warning. A crisis word is never refused:
    the writer must see help, and staff the item."""
    if screening.action == "block":
        raise RefusedWords(_(blocked), field=field)
    if screening.personal and personal_ok is not True:
        raise PersonalDetails(
            _(UNCONFIRMED),
            found=personal_warnings(screening.personal),
            crisis=screening.crisis,
            crisis_langs=screening.crisis_languages,
            field=field,
        )
    return screening


def personal_warnings(findings: Iterable[Finding]) -> list[dict[str, str]]:
    """What the writer is shown before sending: each kind found and what it looked like."""
    return [
        {"kind": f.kind, "label": _(personal_data.LABELS[f.kind]), "text": f.text} for f in findings
    ]


@functools.lru_cache(maxsize=4096)
def personal_kinds(text: str) -> frozenset[str]:
    """The kinds of personal details in a text, remembered: the staff queue is sent again after
    every change, and its waiting questions' text rarely changes between two sends."""
    return frozenset(f.kind for f in personal_data.find(text))
