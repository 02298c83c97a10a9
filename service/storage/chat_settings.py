"""Chat settings coordinators change while the service runs, kept in the database."""

from __future__ import annotations

from dataclasses import dataclass

from service.storage.db import Database, Writer


@dataclass(frozen=True)
class ChatSettings:
    offer_question_after_s: int = 900
    auto_assign: bool = True


async def load(db: Database | Writer) -> ChatSettings:
    values = {row[0]: row[1] for row in await db.fetch_all("SELECT name, value FROM chat_settings")}
    defaults = ChatSettings()
    return ChatSettings(
        offer_question_after_s=int(
            values.get("offer_question_after_s", defaults.offer_question_after_s)
        ),
        auto_assign=bool(values.get("auto_assign", defaults.auto_assign)),
    )


async def save(tx: Writer, settings: ChatSettings) -> None:
    await tx.execute_many(
        "INSERT INTO chat_settings (name, value) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [
            ("offer_question_after_s", settings.offer_question_after_s),
            ("auto_assign", int(settings.auto_assign)),
        ],
    )
