"""Watched words: phrases per language that coordinators set to block, review or crisis."""

from __future__ import annotations

from dataclasses import dataclass

from service.storage.db import Database, Row, Writer

# The same choices as the table's CHECK constraints, in the order pages show them.
LANGS = ("fi", "sv", "en")
ACTIONS = ("block", "review", "crisis")


@dataclass(frozen=True)
class Word:
    """One watched word; `id`, `phrase`, `lang` and `action` are what the matcher reads."""

    id: int
    phrase: str
    lang: str
    action: str
    active: bool = True


_COLUMNS = "id, phrase, lang, action, active"


def _from_row(row: Row) -> Word:
    return Word(row["id"], row["phrase"], row["lang"], row["action"], bool(row["active"]))


async def list_all(db: Database) -> list[Word]:
    """Every word, inactive ones included, for the coordinators' page."""
    rows = await db.fetch_all(f"SELECT {_COLUMNS} FROM watched_words ORDER BY lang, phrase, id")
    return [_from_row(row) for row in rows]


async def list_active(db: Database) -> list[Word]:
    """The words the matcher should watch for now."""
    rows = await db.fetch_all(
        f"SELECT {_COLUMNS} FROM watched_words WHERE active = 1 ORDER BY lang, phrase, id"
    )
    return [_from_row(row) for row in rows]


async def by_id(tx: Writer, word_id: int) -> Word | None:
    row = await tx.fetch_one(f"SELECT {_COLUMNS} FROM watched_words WHERE id = ?", (word_id,))
    return None if row is None else _from_row(row)


async def phrase_taken(tx: Writer, lang: str, phrase: str) -> bool:
    found = await tx.fetch_value(
        "SELECT 1 FROM watched_words WHERE lang = ? AND phrase = ?", (lang, phrase)
    )
    return found is not None


async def insert(tx: Writer, *, phrase: str, lang: str, action: str, at: str) -> int:
    return await tx.insert(
        "INSERT INTO watched_words (phrase, lang, action, created_at) VALUES (?, ?, ?, ?)",
        (phrase, lang, action, at),
    )


async def set_action(tx: Writer, word_id: int, action: str) -> bool:
    changed = await tx.execute(
        "UPDATE watched_words SET action = ? WHERE id = ?", (action, word_id)
    )
    return changed > 0


async def set_active(tx: Writer, word_id: int, active: bool) -> bool:
    changed = await tx.execute(
        "UPDATE watched_words SET active = ? WHERE id = ?", (int(active), word_id)
    )
    return changed > 0


async def delete(tx: Writer, word_id: int) -> bool:
    """A word is configuration with nothing referring to it, so it may go for good."""
    return await tx.execute("DELETE FROM watched_words WHERE id = ?", (word_id,)) > 0
