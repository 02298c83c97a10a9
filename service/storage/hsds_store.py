"""The directory's HSDS objects as imported, and the nested records the API builds from them.

See migrations/*/0013_hsds_objects.sql. Writing replaces one record as a whole; reading
nests objects by their links, level by level for many records at once, as a compiled schema
of the standard draws the tree (service.directory.standard.tree)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from service.directory.records import Flat
from service.directory.standard import Node, link_fields, many_link, one_link, own_fields
from service.storage.db import Database, Writer
from service.storage.directory_write import CATEGORY_TAXONOMY, KOPPI_TAXONOMY_ID, fetch_in

Source = Database | Writer
_CHUNK = 500


def _marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


async def replace_records(tx: Writer, flats: Sequence[Flat], *, at: str) -> list[str]:
    """Store each record in place of its earlier version, all in a few statements:
    'created', 'updated' or 'unchanged' for each."""
    names = [flat.name for flat in flats]
    prints = [flat.fingerprint for flat in flats]
    known = {
        row["record"]: row["fingerprint"]
        for row in await fetch_in(
            tx, "SELECT record, fingerprint FROM hsds_records WHERE record IN ({ids})", names
        )
    }
    outcomes = [
        "unchanged" if known.get(n) == p else ("created" if n not in known else "updated")
        for n, p in zip(names, prints, strict=True)
    ]
    changed = [f for f, o in zip(flats, outcomes, strict=True) if o != "unchanged"]
    if not changed:
        return outcomes
    # A new record has no members or links to remove.
    changed_names = [flat.name for flat in changed if flat.name in known]
    before = {
        (row["entity"], row["id"])
        for row in await fetch_in(
            tx, "SELECT entity, id FROM hsds_members WHERE record IN ({ids})", changed_names
        )
    }
    for table in ("hsds_links", "hsds_members"):
        for start in range(0, len(changed_names), _CHUNK):
            chunk = changed_names[start : start + _CHUNK]
            await tx.execute(f"DELETE FROM {table} WHERE record IN ({_marks(chunk)})", chunk)
    await tx.execute_many(
        "INSERT INTO hsds_objects (entity, id, body, modified_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (entity, id) DO UPDATE SET body = excluded.body,"
        " modified_at = CASE WHEN hsds_objects.body = excluded.body"
        " THEN hsds_objects.modified_at ELSE excluded.modified_at END",
        [
            (entity, id_, body, at)
            for flat in changed
            for (entity, id_), body in flat.encoded.items()
        ],
    )
    await tx.execute_many(
        "INSERT INTO hsds_members (record, entity, id) VALUES (?, ?, ?)",
        [(flat.name, entity, id_) for flat in changed for entity, id_ in flat.objects],
    )
    await tx.execute_many(
        "INSERT INTO hsds_links (record, entity, id, field, target, position)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(flat.name, *link, position) for flat in changed for link, position in flat.links.items()],
    )
    kept = {key for flat in changed for key in flat.objects}
    await _forget(tx, before - kept)
    await tx.execute_many(
        "INSERT INTO hsds_records (record, entity, id, fingerprint, modified_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (record) DO UPDATE SET"
        " fingerprint = excluded.fingerprint, modified_at = excluded.modified_at",
        [
            (flat.name, *flat.root, fp, at)
            for flat, fp, outcome in zip(flats, prints, outcomes, strict=True)
            if outcome != "unchanged"
        ],
    )
    return outcomes


async def _forget(tx: Writer, gone: set[tuple[str, str]]) -> None:
    """Delete the objects that no record holds any more; an object several records
    share stays while one of them still holds it."""
    by_entity: dict[str, list[str]] = defaultdict(list)
    for entity, id_ in gone:
        by_entity[entity].append(id_)
    for entity, ids in by_entity.items():
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            await tx.execute(
                f"DELETE FROM hsds_objects WHERE entity = ? AND id IN ({_marks(chunk)})"
                " AND NOT EXISTS (SELECT 1 FROM hsds_members m"
                " WHERE m.entity = hsds_objects.entity AND m.id = hsds_objects.id)",
                [entity, *chunk],
            )


async def replace_record(tx: Writer, flat: Flat, *, at: str) -> str:
    return (await replace_records(tx, [flat], at=at))[0]


async def record_count(db: Database) -> int:
    return int(await db.fetch_value("SELECT count(*) FROM hsds_records"))


# Reading: bodies and links, a level of the tree at a time.


async def _bodies(source: Source, entity: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for row in await source.fetch_all(
            f"SELECT id, body FROM hsds_objects WHERE entity = ? AND id IN ({_marks(chunk)})",
            [entity, *chunk],
        ):
            found[row["id"]] = json.loads(row["body"])
    if entity == "taxonomy_term" and len(found) < len(ids):
        found.update(await koppi_terms(source, [i for i in ids if i not in found]))
    return found


async def koppi_terms(source: Source, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Koppi's own category terms, which files name by id without bringing them, as HSDS
    terms of Koppi's taxonomy, named as Koppi names them now."""
    rows = await source.fetch_all(
        "SELECT id, code, name, description FROM taxonomy_terms"
        f" WHERE taxonomy = ? AND id IN ({_marks(ids)})",
        [CATEGORY_TAXONOMY, *ids],
    )
    return {
        row["id"]: {
            "id": row["id"],
            "code": row["code"],
            "name": row["name"],
            "description": row["description"] or "",
            "taxonomy": CATEGORY_TAXONOMY,
            "taxonomy_id": KOPPI_TAXONOMY_ID,
        }
        for row in rows
    }


async def _children(
    source: Source, entity: str, field: str, parents: Sequence[str]
) -> dict[str, list[str]]:
    """parent id → the ids of `entity` objects whose `field` names it, in their order."""
    found: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(parents), _CHUNK):
        chunk = parents[start : start + _CHUNK]
        rows = await source.fetch_all(
            "SELECT target, id, min(position) AS position FROM hsds_links"
            f" WHERE field = ? AND entity = ? AND target IN ({_marks(chunk)})"
            " GROUP BY target, id ORDER BY target, position, id",
            [field, entity, *chunk],
        )
        for row in rows:
            found[row["target"]].append(row["id"])
    return found


async def _targets(source: Source, entity: str, field: str, ids: Sequence[str]) -> dict[str, str]:
    """object id → the id its `field` names (the first, should a record name two)."""
    found: dict[str, str] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = await source.fetch_all(
            "SELECT id, target FROM hsds_links"
            f" WHERE entity = ? AND field = ? AND id IN ({_marks(chunk)})"
            " ORDER BY id, position, record",
            [entity, field, *chunk],
        )
        for row in rows:
            found.setdefault(row["id"], row["target"])
    return found


def _in_order(body: dict[str, Any], node: Node) -> dict[str, Any]:
    ordered = {name: body[name] for name in node.fields if name in body}
    ordered.update((k, v) for k, v in body.items() if k not in ordered)
    return ordered


async def nested(source: Source, node: Node, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """id → the object with everything `node` nests in it; ids unknown are left out."""
    bodies = await _bodies(source, node.entity, list(dict.fromkeys(ids)))
    objects = {id_: _in_order(body, node) for id_, body in bodies.items()}
    if not objects:
        return {}
    known = list(objects)
    for key, many, child in node.children:
        if many:
            lists = await _children(
                source, child.entity, many_link(node.entity, child.entity), known
            )
            wanted = [c for items in lists.values() for c in items]
            built = await nested(source, child, wanted) if wanted else {}
            for parent, items in lists.items():
                values = [built[c] for c in items if c in built]
                if values:
                    objects[parent][key] = values
        else:
            targets = await _targets(source, node.entity, one_link(child.entity), known)
            built = await nested(source, child, list(targets.values())) if targets else {}
            for parent, target in targets.items():
                if target in built:
                    objects[parent][key] = built[target]
    return objects


async def nested_list(source: Source, node: Node, ids: Sequence[str]) -> list[dict[str, Any]]:
    found = await nested(source, node, ids)
    return [found[id_] for id_ in ids if id_ in found]


async def ids_of(
    db: Database,
    entity: str,
    *,
    search: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    where: str = "",
    params: Sequence[Any] = (),
) -> tuple[list[str], int]:
    """A page of one entity's ids in name order (then id), and how many there are in all."""
    name = db.dialect.json_text("body", "name")
    conditions, values = ["entity = ?"], [entity]
    if search:
        text = f"%{search.lower()}%"
        description = db.dialect.json_text("body", "description")
        conditions.append(f"(lower({name}) LIKE ? OR lower({description}) LIKE ?)")
        values += [text, text]
    if where:
        conditions.append(where)
        values += list(params)
    clause = " AND ".join(conditions)
    total = int(await db.fetch_value(f"SELECT count(*) FROM hsds_objects WHERE {clause}", values))
    bounds = " LIMIT ? OFFSET ?"
    rows = await db.fetch_all(
        f"SELECT id FROM hsds_objects WHERE {clause} ORDER BY lower({name}), id{bounds}",
        [*values, 2**62 if limit is None else limit, offset],
    )
    return [row["id"] for row in rows], total


async def rows_of(db: Database, entity: str) -> list[dict[str, Any]]:
    """Every object of an entity as a row of the tabular form: its columns, links filled in."""
    names = own_fields(entity)
    links = link_fields(entity)
    rows: list[dict[str, Any]] = []
    found = await db.fetch_all(
        "SELECT id, body FROM hsds_objects WHERE entity = ? ORDER BY id", (entity,)
    )
    targets: dict[str, dict[str, str]] = defaultdict(dict)
    if links:
        for link in await db.fetch_all(
            "SELECT id, field, target FROM hsds_links WHERE entity = ?"
            " ORDER BY id, field, position, record",
            (entity,),
        ):
            targets[link["id"]].setdefault(link["field"], link["target"])
    for row in found:
        body = json.loads(row["body"])
        filled = {**targets.get(row["id"], {}), **{k: v for k, v in body.items() if k in names}}
        rows.append({name: filled[name] for name in names if filled.get(name) is not None})
    return rows
