"""Reading the service directory: whole HSDS records, search with filters, terms and areas."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.directory.hsds import SHAPES, Record, canonical
from service.storage import search
from service.storage.db import Database, Dialect, Row, Writer
from service.storage.directory_write import CATEGORY_TAXONOMY
from service.storage.search import SearchQuery

PUBLIC_STATUSES = ("active", "temporarily closed")
# Bound parameters per IN list, well under SQLite's limit.
_CHUNK = 500
_NO_LIMIT = 2**62

Source = Database | Writer


def _marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


async def _rows(source: Source, sql: str, params: Sequence[Any]) -> list[Row]:
    return await source.fetch_all(sql, params)


def _fields(row: Row, names: Sequence[str]) -> Record:
    return {name: row[name] for name in names}


async def _translations(source: Source, ids: Sequence[str]) -> dict[tuple[str, str], Record]:
    found: dict[tuple[str, str], Record] = defaultdict(dict)
    if not ids:
        return found
    rows = await _rows(
        source,
        "SELECT entity, entity_id, language, field, text FROM directory_translations"
        f" WHERE entity_id IN ({_marks(ids)})",
        ids,
    )
    for row in rows:
        found[(row["entity"], row["entity_id"])].setdefault(row["language"], {})[row["field"]] = (
            row["text"]
        )
    return found


async def _load_chunk(source: Source, ids: Sequence[str]) -> list[Record]:
    marks = _marks(ids)
    services = await _rows(
        source,
        "SELECT s.*, o.name AS o_name, o.description AS o_description, o.email AS o_email,"
        f" o.website AS o_website FROM services s LEFT JOIN organizations o"
        f" ON o.id = s.organization_id WHERE s.id IN ({marks})"
        f" ORDER BY {source.dialect.nocase('s.name')}, s.id",
        ids,
    )
    records: dict[str, Record] = {}
    entities: list[tuple[str, Record]] = []
    for row in services:
        record = _fields(row, SHAPES["service"].field_names)
        if row["organization_id"] is not None:
            organization = {"id": row["organization_id"]}
            for name in SHAPES["organization"].field_names[1:]:
                organization[name] = row["o_" + name]
            record["organization"] = organization
            entities.append(("organization", organization))
        records[row["id"]] = record
        entities.append(("service", record))
    for key, table, entity in (
        ("phones", "phones", "phone"),
        ("schedules", "schedules", "schedule"),
        ("service_areas", "service_areas", "service_area"),
        ("languages", "languages", "language"),
    ):
        names = SHAPES[entity].field_names
        for row in await _rows(
            source,
            f"SELECT service_id, {', '.join(names)} FROM {table}"
            f" WHERE service_id IN ({marks}) ORDER BY service_id, position",
            ids,
        ):
            item = _fields(row, names)
            records[row["service_id"]].setdefault(key, []).append(item)
            entities.append((entity, item))
    for row in await _rows(
        source,
        "SELECT a.service_id, a.id, a.taxonomy_term_id, t.code, t.name, t.description,"
        " t.taxonomy FROM attributes a JOIN taxonomy_terms t ON t.id = a.taxonomy_term_id"
        f" WHERE a.service_id IN ({marks}) ORDER BY a.service_id, a.position",
        ids,
    ):
        term = {"id": row["taxonomy_term_id"]} | _fields(row, ("code", "name", "description"))
        term["taxonomy"] = row["taxonomy"]
        records[row["service_id"]].setdefault("attributes", []).append(
            {"id": row["id"], "taxonomy_term_id": row["taxonomy_term_id"], "taxonomy_term": term}
        )
    await _add_locations(source, ids, records, entities)
    texts = await _translations(source, [item["id"] for _entity, item in entities])
    for entity, item in entities:
        if (entity, item["id"]) in texts:
            item["translations"] = texts[(entity, item["id"])]
    return [canonical(records[row["id"]]) for row in services]


async def _add_locations(
    source: Source,
    ids: Sequence[str],
    records: dict[str, Record],
    entities: list[tuple[str, Record]],
) -> None:
    location_names = SHAPES["location"].field_names
    rows = await _rows(
        source,
        "SELECT sl.service_id, sl.id AS link_id, "
        + ", ".join(f"l.{n}" for n in location_names)
        + " FROM service_at_locations sl JOIN locations l ON l.id = sl.location_id"
        f" WHERE sl.service_id IN ({_marks(ids)}) ORDER BY sl.service_id, sl.position",
        ids,
    )
    locations: dict[str, list[Record]] = defaultdict(list)
    for row in rows:
        location = _fields(row, location_names)
        locations[location["id"]].append(location)
        entities.append(("location", location))
        records[row["service_id"]].setdefault("service_at_locations", []).append(
            {"id": row["link_id"], "location": location}
        )
    if not locations:
        return
    address_names = SHAPES["address"].field_names
    for row in await _rows(
        source,
        f"SELECT location_id, {', '.join(address_names)} FROM addresses"
        f" WHERE location_id IN ({_marks(list(locations))}) ORDER BY location_id, position",
        list(locations),
    ):
        for location in locations[row["location_id"]]:
            location.setdefault("addresses", []).append(_fields(row, address_names))


async def load(source: Source, ids: Sequence[str]) -> list[Record]:
    """Whole records in canonical HSDS form, in the order of `ids` (a search's ranks)."""
    records: list[Record] = []
    for start in range(0, len(ids), _CHUNK):
        records.extend(await _load_chunk(source, ids[start : start + _CHUNK]))
    order = {service_id: i for i, service_id in enumerate(ids)}
    records.sort(key=lambda r: order[r["id"]])
    return records


async def get(source: Source, service_id: str) -> Record | None:
    found = await load(source, [service_id])
    return found[0] if found else None


async def all_ids(source: Source) -> list[str]:
    rows = await _rows(
        source, f"SELECT s.id FROM services s ORDER BY {source.dialect.nocase('s.name')}, s.id", ()
    )
    return [row["id"] for row in rows]


@dataclass(frozen=True)
class Filters:
    query: SearchQuery | None = None
    term_id: str | None = None
    organization_id: str | None = None
    area: str | None = None
    statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Matching:
    """The SQL of a filtered search: WITH clauses, the FROM and WHERE of `services s`, and the
    rank of a service (`score`, higher first; 0 for all when nothing is searched)."""

    head: str
    head_params: list[Any]
    source: str
    score: str
    where: str
    params: list[Any]


def _where(
    filters: Filters, dialect: Dialect, taxonomy: Sequence[search.TaxonomyHits] = ()
) -> _Matching:
    head, head_params = "", list[Any]()
    source, score = "services s", "0"
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if filters.query:
        ranked, head_params = search.ranked_services(dialect, filters.query, taxonomy)
        head = f"WITH {ranked}, "
        source, score = "ranked r JOIN services s ON s.num = r.num", "r.score"
    if filters.term_id:
        where.append("s.id IN (SELECT service_id FROM attributes WHERE taxonomy_term_id = ?)")
        params.append(filters.term_id)
    if filters.organization_id:
        where.append("s.organization_id = ?")
        params.append(filters.organization_id)
    if filters.area:
        where.append("s.id IN (SELECT service_id FROM service_areas WHERE name = ?)")
        params.append(filters.area)
    if filters.statuses:
        where.append(f"s.status IN ({_marks(filters.statuses)})")
        params.extend(filters.statuses)
    return _Matching(head or "WITH ", head_params, source, score, " AND ".join(where), params)


async def matching_ids(
    db: Database, filters: Filters, *, limit: int | None = None, offset: int = 0
) -> tuple[list[str], int]:
    """Ids of a page of matching services, and how many match in all.

    A search orders by relevance (`search.ranked_services`: where the words matched, then how
    well), then by name; without one the order is by name. The matches are gathered once (at
    most the whole directory) and sorted after: walking the name index and testing each service
    against the search hits cost 50 times more when a category filter came on top."""
    if filters.query is not None and not filters.query:
        return [], 0  # a search of only punctuation matches nothing
    taxonomy = await search.taxonomy_hits(db, filters.query) if filters.query else []
    m = _where(filters, db.dialect, taxonomy)
    # No limit: SQLite's LIMIT -1 and PostgreSQL's LIMIT NULL are each refused by the other.
    bounds, bound_params = " LIMIT ? OFFSET ?", [_NO_LIMIT if limit is None else limit, offset]
    rows = await db.fetch_all(
        f"{m.head}matched(id, name, score) AS MATERIALIZED"
        f" (SELECT s.id, s.name, {m.score} FROM {m.source} WHERE {m.where})"
        " SELECT (SELECT count(*) FROM matched) AS total, page.id FROM (SELECT 1) AS one"
        " LEFT JOIN (SELECT id FROM matched"
        f" ORDER BY score DESC, {db.dialect.nocase('name')}, id{bounds}) AS page ON 1 = 1",
        [*m.head_params, *m.params, *bound_params],
        slow=filters.query is not None,
    )
    return [row["id"] for row in rows if row["id"] is not None], int(rows[0]["total"])


async def schedules_of(db: Database, ids: Sequence[str]) -> dict[str, list[Record]]:
    """Each service's schedules, for deciding "open now" without loading whole records."""
    found: dict[str, list[Record]] = defaultdict(list)
    names = SHAPES["schedule"].field_names
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for row in await db.fetch_all(
            f"SELECT service_id, {', '.join(names)} FROM schedules"
            f" WHERE service_id IN ({_marks(chunk)}) ORDER BY service_id, position",
            chunk,
        ):
            found[row["service_id"]].append({k: v for k, v in _fields(row, names).items() if v})
    return found


async def weekly_times(db: Database) -> list[Record]:
    """Each different (days, opens, closes) of the weekly schedules: the times at which some
    service opens or closes. Distinct in SQL, since thousands of services share a few."""
    rows = await db.fetch_all(
        "SELECT DISTINCT byday, opens_at, closes_at FROM schedules"
        " WHERE byday IS NOT NULL AND byday != '' AND opens_at IS NOT NULL AND opens_at != ''"
    )
    return [{k: row[k] for k in ("byday", "opens_at", "closes_at") if row[k]} for row in rows]


async def areas(db: Database) -> list[str]:
    """Municipalities that public services name, for the directory's filter."""
    rows = await db.fetch_all(
        "SELECT DISTINCT a.name FROM service_areas a JOIN services s ON s.id = a.service_id"
        f" WHERE a.name IS NOT NULL AND s.status IN ({_marks(PUBLIC_STATUSES)})"
        " ORDER BY a.name",
        PUBLIC_STATUSES,
    )
    return [row["name"] for row in rows]


async def taxonomy_terms(db: Database) -> list[Record]:
    rows = await db.fetch_all(
        "SELECT id, code, name, description, taxonomy FROM taxonomy_terms"
        " ORDER BY taxonomy = ? DESC, taxonomy, code, name",
        (CATEGORY_TAXONOMY,),
    )
    return [{k: row[k] for k in row.keys() if row[k] is not None} for row in rows]


async def count(db: Database) -> int:
    return int(await db.fetch_value("SELECT count(*) FROM services"))


async def referable(tx: Writer, ids: Sequence[str]) -> dict[str, str]:
    """The given services that may be referred to now (not inactive or defunct): id → name."""
    if not ids:
        return {}
    rows = await tx.fetch_all(
        f"SELECT id, name FROM services WHERE id IN ({_marks(ids)})"
        f" AND status IN ({_marks(PUBLIC_STATUSES)})",
        [*ids, *PUBLIC_STATUSES],
    )
    return {row["id"]: row["name"] for row in rows}
