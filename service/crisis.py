"""The crisis help a young person sees beside a crisis word: emergency number, crisis line, chat."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service import i18n
from service.settings import Settings

EMERGENCY = "112"


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

    def payload(self) -> dict[str, str]:
        """The same for the JSON API and the chat socket."""
        return {"emergency": EMERGENCY, "crisis_line": self.phone(), "chat_url": self.chat_url}
