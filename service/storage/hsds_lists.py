"""What the HSDS API's lists need beyond nested records: filters, minimal services, Koppi's
own taxonomy, terms and the services at a location near a postcode."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from service.directory import standard
from service.directory.standard import Node
from service.storage import hsds_store
from service.storage.db import Database
from service.storage.directory_write import CATEGORY_TAXONOMY, KOPPI_TAXONOMY_ID

_KOPPI_TAXONOMY = {
    "id": KOPPI_TAXONOMY_ID,
    "name": CATEGORY_TAXONOMY,
    "description": "Koppi's topic categories for young adults' questions and services.",
}
_CHUNK = 500
_EARTH_METRES = 6_371_000


class Page(Protocol):
    @property
    def offset(self) -> int: ...

    @property
    def limit(self) -> int | None: ...


def _marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


def _slice(ids: list[str], paging: Page) -> tuple[list[str], int]:
    end = None if paging.limit is None else paging.offset + paging.limit
    return ids[paging.offset : end], len(ids)


async def _column(db: Database, sql: str, values: Sequence[Any]) -> set[str]:
    return {row[0] for row in await db.fetch_all(sql, values)}


async def services_also(
    db: Database, ids: list[str], taxonomy_id: str | None, modified_after: str | None
) -> list[str]:
    """The given services, in their order, that also have a term of the taxonomy and changed
    at or after the time."""
    kept = ids
    if modified_after is not None:
        changed = await _column(
            db, "SELECT id FROM services WHERE imported_at >= ?", (modified_after,)
        )
        kept = [i for i in kept if i in changed]
    if taxonomy_id is not None:
        terms = _terms_of_taxonomy(taxonomy_id)
        having = await _column(
            db,
            "SELECT DISTINCT service_id FROM attributes WHERE taxonomy_term_id IN"
            f" (SELECT id FROM taxonomy_terms WHERE {terms[0]})",
            terms[1],
        )
        kept = [i for i in kept if i in having]
    return kept


def _terms_of_taxonomy(taxonomy_id: str) -> tuple[str, list[Any]]:
    """A condition on taxonomy_terms for the terms of a taxonomy, and its parameters."""
    if taxonomy_id == KOPPI_TAXONOMY_ID:
        return "taxonomy = ?", [CATEGORY_TAXONOMY]
    return (
        "id IN (SELECT id FROM hsds_links WHERE entity = 'taxonomy_term'"
        " AND field = 'taxonomy_id' AND target = ?)",
        [taxonomy_id],
    )


async def minimal_services(db: Database, ids: Sequence[str]) -> list[dict[str, Any]]:
    """`minimal=true`: each service's id and when Koppi last changed it, with the name and
    status the standard's list schema requires."""
    rows = await db.fetch_all(
        f"SELECT id, name, status, imported_at FROM services WHERE id IN ({_marks(ids)})",
        list(ids),
    )
    found = {
        row["id"]: {
            "id": row["id"],
            "name": row["name"],
            "status": row["status"],
            "last_modified": row["imported_at"],
        }
        for row in rows
    }
    return [found[i] for i in ids if i in found]


async def add_services(db: Database, organizations: list[dict[str, Any]], node: Node) -> None:
    """Each organization's services, as `node` draws them, in name order."""
    if not organizations:
        return
    ids = [o["id"] for o in organizations]
    rows = await db.fetch_all(
        "SELECT l.target, l.id FROM hsds_links l JOIN services s ON s.id = l.id"
        " WHERE l.entity = 'service' AND l.field = 'organization_id'"
        f" AND l.target IN ({_marks(ids)}) GROUP BY l.target, l.id, s.name"
        f" ORDER BY l.target, {db.dialect.nocase('s.name')}, l.id",
        ids,
    )
    by_organization: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_organization[row["target"]].append(row["id"])
    services = await hsds_store.nested(db, node, [r["id"] for r in rows])
    for organization in organizations:
        organization["services"] = [
            services[i] for i in by_organization.get(organization["id"], []) if i in services
        ]


async def taxonomy_ids(db: Database, search: str, paging: Page) -> tuple[list[str], int]:
    ids, _total = await hsds_store.ids_of(db, "taxonomy", search=search or None)
    if not search or search.lower() in CATEGORY_TAXONOMY:
        ids = [KOPPI_TAXONOMY_ID, *ids]
    return _slice(ids, paging)


_TAXONOMY = Node("taxonomy", standard.own_fields("taxonomy"), ())


async def taxonomies(db: Database, ids: Sequence[str]) -> list[dict[str, Any]]:
    found = {t["id"]: t for t in await hsds_store.nested_list(db, _TAXONOMY, ids)}
    found[KOPPI_TAXONOMY_ID] = dict(_KOPPI_TAXONOMY)
    return [found[i] for i in ids if i in found]


@dataclass(frozen=True)
class TermFilters:
    search: str = ""
    taxonomy_id: str | None = None
    parent_id: str | None = None
    top_only: bool = False


async def term_ids(db: Database, filters: TermFilters, paging: Page) -> tuple[list[str], int]:
    parent = db.dialect.json_text("body", "parent_id")
    conditions, values = ["1 = 1"], list[Any]()
    if filters.search:
        text = f"%{filters.search.lower()}%"
        conditions.append(
            "(lower(name) LIKE ? OR lower(coalesce(description, '')) LIKE ?"
            " OR lower(coalesce(code, '')) LIKE ?)"
        )
        values += [text, text, text]
    if filters.taxonomy_id:
        sql, more = _terms_of_taxonomy(filters.taxonomy_id)
        conditions.append(sql)
        values += more
    if filters.parent_id:
        conditions.append(
            f"id IN (SELECT id FROM hsds_objects WHERE entity = 'taxonomy_term' AND {parent} = ?)"
        )
        values.append(filters.parent_id)
    if filters.top_only:
        conditions.append(
            "id NOT IN (SELECT id FROM hsds_objects WHERE entity = 'taxonomy_term'"
            f" AND {parent} IS NOT NULL)"
        )
    rows = await db.fetch_all(
        f"SELECT id FROM taxonomy_terms WHERE {' AND '.join(conditions)}"
        " ORDER BY taxonomy = ? DESC, taxonomy, code, name, id",
        [*values, CATEGORY_TAXONOMY],
    )
    return _slice([row["id"] for row in rows], paging)


def _term_node() -> Node:
    attributes = standard.tree("service").child("attributes")
    term = attributes.child("taxonomy_term") if attributes else None
    assert term is not None, "the standard nests a term in every attribute"
    return term


async def terms(db: Database, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Terms as imported; Koppi's own category terms as Koppi names them."""
    found = await hsds_store.nested(db, _term_node(), ids)
    for term in found.values():
        if term.get("taxonomy_id") == KOPPI_TAXONOMY_ID:
            term["taxonomy_detail"] = dict(_KOPPI_TAXONOMY)
    missing = [i for i in ids if i not in found]
    if missing:
        rows = await db.fetch_all(
            "SELECT id, code, name, description, taxonomy FROM taxonomy_terms"
            f" WHERE id IN ({_marks(missing)})",
            missing,
        )
        for row in rows:
            term = {k: row[k] for k in ("id", "code", "name", "taxonomy") if row[k]}
            found[row["id"]] = {**term, "description": row["description"] or ""}
    return [found[i] for i in ids if i in found]


@dataclass(frozen=True)
class Near:
    """`postcode`, and `proximity` in metres from the middle of that postcode's places."""

    postcode: str
    metres: float | None


def _postcode(value: Any) -> str:
    return "".join(str(value).split()).upper()


async def places_of(db: Database, services: list[str], near: Near) -> list[str]:
    """The services at a location of the given services, in the services' order."""
    links: list[tuple[str, str]] = []
    for start in range(0, len(services), _CHUNK):
        chunk = services[start : start + _CHUNK]
        links += [
            (row["target"], row["id"])
            for row in await db.fetch_all(
                "SELECT DISTINCT target, id FROM hsds_links WHERE entity = 'service_at_location'"
                f" AND field = 'service_id' AND target IN ({_marks(chunk)})",
                chunk,
            )
        ]
    order = {service: i for i, service in enumerate(services)}
    places = [place for _s, place in sorted(links, key=lambda link: (order[link[0]], link[1]))]
    places = list(dict.fromkeys(places))
    if near.postcode:
        places = await _near(db, places, near)
    return places


async def _near(db: Database, places: list[str], near: Near) -> list[str]:
    locations = await db.fetch_all(
        "SELECT id, target FROM hsds_links WHERE entity = 'service_at_location'"
        " AND field = 'location_id'"
    )
    location_of = {row["id"]: row["target"] for row in locations}
    addresses = await db.fetch_all(
        "SELECT l.target, o.body FROM hsds_links l JOIN hsds_objects o"
        " ON o.entity = l.entity AND o.id = l.id"
        " WHERE l.entity = 'address' AND l.field = 'location_id'"
    )
    wanted = _postcode(near.postcode)
    in_postcode = {
        row["target"]
        for row in addresses
        if _postcode(json.loads(row["body"]).get("postal_code", "")) == wanted
    }
    if near.metres is None:
        return [p for p in places if location_of.get(p) in in_postcode]
    points = await _points(db, set(location_of.values()))
    known = [points[loc] for loc in in_postcode if loc in points]
    if not known:
        return []
    middle = (sum(p[0] for p in known) / len(known), sum(p[1] for p in known) / len(known))
    return [
        p
        for p in places
        if location_of.get(p) in points and _distance(points[location_of[p]], middle) <= near.metres
    ]


async def _points(db: Database, locations: set[str]) -> dict[str, tuple[float, float]]:
    bodies = await hsds_store.nested(db, Node("location", (), ()), sorted(locations))
    points = {}
    for location, body in bodies.items():
        lat, lon = body.get("latitude"), body.get("longitude")
        if isinstance(lat, int | float) and isinstance(lon, int | float) and abs(lat) <= 90:
            points[location] = (float(lat), float(lon))
    return points


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_METRES * math.asin(min(1.0, math.sqrt(h)))
