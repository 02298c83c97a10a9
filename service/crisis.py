"""The crisis help a young person sees beside a crisis word: emergency number, crisis line, chat."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from moderation.filters.watched_words import Match
from service import i18n
from service.i18n import N_
from service.settings import Settings

EMERGENCY = "112"

# Said above the help when the crisis words were written in another language than the page's:
# the writer should know we understood them, and that the help is in the page's language. Whole
# sentences, because each language inflects the other language's name differently.
_WRITTEN_IN = {
    "fi": N_(
        "We saw words in Finnish that may point to a crisis. The help is shown in the language"
        " of this page."
    ),
    "sv": N_(
        "We saw words in Swedish that may point to a crisis. The help is shown in the language"
        " of this page."
    ),
    "en": N_(
        "We saw words in English that may point to a crisis. The help is shown in the language"
        " of this page."
    ),
}


def crisis_languages(watched: Iterable[Match]) -> tuple[str, ...]:
    """The languages of the crisis phrases that matched, in the language switch's order."""
    found = {m.word.lang for m in watched if m.word.action == "crisis"}
    return tuple(lang for lang in i18n.LANGUAGES if lang in found)


@dataclass(frozen=True)
class CrisisContacts:
    phones: Mapping[str, str]
    chat_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> CrisisContacts:
        return cls(settings.crisis_phones, settings.crisis_chat_url)

    @property
    def emergency(self) -> str:
        return EMERGENCY

    def phone(self) -> str:
        """The crisis line that answers in the reader's language."""
        return self.phones.get(i18n.current_language()) or self.phones[i18n.DEFAULT_LANGUAGE]

    def note(self, languages: Iterable[str] = ()) -> str:
        """A line saying the crisis words were in another language than the page's; "" when
        any of them was in the page's language (or none is known)."""
        wanted = set(languages)
        found = [lang for lang in i18n.LANGUAGES if lang in wanted]
        if not found or i18n.current_language() in found:
            return ""
        return " ".join(i18n.gettext(_WRITTEN_IN[lang]) for lang in found)

    def payload(self, languages: Iterable[str] = ()) -> dict[str, str]:
        """The same for the JSON API and the chat socket; `note` only when the crisis words
        were in another language than the reader's."""
        help_ = {"emergency": EMERGENCY, "crisis_line": self.phone(), "chat_url": self.chat_url}
        note = self.note(languages)
        if note:
            help_["note"] = note
        return help_
