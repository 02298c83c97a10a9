"""Topic categories shared by the board, the queue and (later) the chat."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from service.storage.db import Database, Row, Writer
from service.storage.directory_write import CATEGORY_TAXONOMY


@dataclass(frozen=True)
class Category:
    id: int
    slug: str
    name_fi: str
    name_en: str | None
    # The category's HSDS taxonomy term, which ties directory services to it.
    term_id: str | None = None
    name_sv: str | None = None

    def name(self, lang: str) -> str:
        """The name in `lang`, or the Finnish one when the category has none in that language."""
        return localized_name(lang, self.name_fi, sv=self.name_sv, en=self.name_en)


def localized_name(lang: str, name_fi: str, *, sv: str | None, en: str | None) -> str:
    """Finnish is always there; Swedish and English are optional and fall back to it."""
    return {"sv": sv, "en": en}.get(lang) or name_fi


def _from_row(row: Row) -> Category:
    return Category(
        row["id"],
        row["slug"],
        row["name_fi"],
        row["name_en"],
        term_id=row["term_id"],
        name_sv=row["name_sv"],
    )


async def list_active(db: Database) -> list[Category]:
    rows = await db.fetch_all(
        "SELECT id, slug, name_fi, name_sv, name_en, term_id FROM categories WHERE active = 1"
        " ORDER BY position, id"
    )
    return [_from_row(row) for row in rows]


async def by_slug(db: Database, slug: str) -> Category | None:
    row = await db.fetch_one(
        "SELECT id, slug, name_fi, name_sv, name_en, term_id FROM categories"
        " WHERE slug = ? AND active = 1",
        (slug,),
    )
    return None if row is None else _from_row(row)


@dataclass(frozen=True)
class CategoryListing:
    """A category as coordinators manage it, inactive ones included."""

    category: Category
    chat_role: str | None
    position: int
    active: bool


async def list_all(db: Database) -> list[CategoryListing]:
    rows = await db.fetch_all(
        "SELECT id, slug, name_fi, name_sv, name_en, term_id, chat_role, position, active"
        " FROM categories ORDER BY position, id"
    )
    return [
        CategoryListing(_from_row(row), row["chat_role"], row["position"], bool(row["active"]))
        for row in rows
    ]


async def slug_taken(tx: Writer, slug: str) -> bool:
    return await tx.fetch_value("SELECT 1 FROM categories WHERE slug = ?", (slug,)) is not None


async def insert(
    tx: Writer,
    *,
    slug: str,
    name_fi: str,
    name_sv: str | None,
    name_en: str | None,
    chat_role: str | None,
    position: int,
) -> int:
    """A new category with its own directory taxonomy term, which import files can name."""
    term_id = str(uuid.uuid4())
    await tx.execute(
        "INSERT INTO taxonomy_terms (id, code, name, description, taxonomy) VALUES (?, ?, ?, ?, ?)",
        (term_id, slug, name_fi, name_en or name_fi, CATEGORY_TAXONOMY),
    )
    return await tx.insert(
        "INSERT INTO categories (slug, name_fi, name_sv, name_en, chat_role, position, term_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (slug, name_fi, name_sv, name_en, chat_role, position, term_id),
    )


async def update(
    tx: Writer,
    category_id: int,
    *,
    name_fi: str,
    name_sv: str | None,
    name_en: str | None,
    chat_role: str | None,
    position: int,
) -> bool:
    changed = await tx.execute(
        "UPDATE categories SET name_fi = ?, name_sv = ?, name_en = ?, chat_role = ?, position = ?"
        " WHERE id = ?",
        (name_fi, name_sv, name_en, chat_role, position, category_id),
    )
    # The directory's term carries the names too, as the migration that made the terms set them.
    await tx.execute(
        "UPDATE taxonomy_terms SET name = ?, description = ?"
        " WHERE id = (SELECT term_id FROM categories WHERE id = ?)",
        (name_fi, name_en or name_fi, category_id),
    )
    return changed > 0


async def set_active(tx: Writer, category_id: int, active: bool) -> bool:
    changed = await tx.execute(
        "UPDATE categories SET active = ? WHERE id = ?", (int(active), category_id)
    )
    return changed > 0
