"""Topic categories shared by the board, the queue and (later) the chat."""

from __future__ import annotations

from dataclasses import dataclass

from service.storage.db import Database, Row


@dataclass(frozen=True)
class Category:
    id: int
    slug: str
    name_fi: str
    name_en: str | None
    # The category's HSDS taxonomy term, which ties directory services to it.
    term_id: str | None = None

    def name(self, lang: str) -> str:
        if lang == "en" and self.name_en:
            return self.name_en
        return self.name_fi


def _from_row(row: Row) -> Category:
    return Category(row["id"], row["slug"], row["name_fi"], row["name_en"], row["term_id"])


async def list_active(db: Database) -> list[Category]:
    rows = await db.fetch_all(
        "SELECT id, slug, name_fi, name_en, term_id FROM categories WHERE active = 1"
        " ORDER BY position, id"
    )
    return [_from_row(row) for row in rows]


async def by_slug(db: Database, slug: str) -> Category | None:
    row = await db.fetch_one(
        "SELECT id, slug, name_fi, name_en, term_id FROM categories WHERE slug = ? AND active = 1",
        (slug,),
    )
    return None if row is None else _from_row(row)
