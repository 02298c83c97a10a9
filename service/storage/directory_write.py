"""Writing one HSDS service record: the service, its parts, shared organizations and locations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from service.directory.hsds import SHAPES, FieldError, Record
from service.directory.records import Flat
from service.i18n import gettext as _
from service.storage import search
from service.storage.db import Database, Row, Writer

CATEGORY_TAXONOMY = "koppi-category"
# Bound parameters per IN list, well under the engines' limits.
_CHUNK = 500
# Koppi's categories as an HSDS taxonomy; a fixed id, so readers can filter by it.
KOPPI_TAXONOMY_ID = "5b0d7a3e-2f57-5c2e-9a8e-6f1c4a0b9d21"

# Each list in a service record, its table and the columns after id, service_id and position.
_PARTS = (
    ("phones", "phones", "phone", ("number", "description")),
    (
        "schedules",
        "schedules",
        "schedule",
        ("freq", "byday", "opens_at", "closes_at", "description"),
    ),
    ("service_areas", "service_areas", "service_area", ("name",)),
    ("languages", "languages", "language", ("code",)),
    ("attributes", "attributes", "attribute", ("taxonomy_term_id",)),
)
_SERVICE_COLUMNS = (
    "organization_id",
    "name",
    "description",
    "url",
    "email",
    "status",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
)


def fingerprint(record: Record) -> str:
    return hashlib.sha256(
        json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()


def _marks(items: Sequence[object]) -> str:
    return ",".join("?" * len(items))


async def _upsert_many(
    tx: Writer, table: str, items: Sequence[Record], columns: Sequence[str]
) -> None:
    if not items:
        return
    names = ("id", *columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
    await tx.execute_many(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({_marks(names)})"
        f" ON CONFLICT (id) DO UPDATE SET {updates}",
        [[item.get(c) for c in names] for item in items],
    )


async def _delete_in(tx: Writer, sql: str, ids: Sequence[str], *before: object) -> None:
    """`sql` has `{ids}` where the ids go; run in chunks under the engines' parameter limits."""
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        await tx.execute(sql.format(ids=_marks(chunk)), [*before, *chunk])


async def _replace_translations(tx: Writer, entity: str, items: Sequence[Record]) -> None:
    await _delete_in(
        tx,
        "DELETE FROM directory_translations WHERE entity = ? AND entity_id IN ({ids})",
        [item["id"] for item in items],
        entity,
    )
    await _add_translations(tx, entity, items)


async def _add_translations(tx: Writer, entity: str, items: Sequence[Record]) -> None:
    rows = [
        (entity, item["id"], lang, name, text)
        for item in items
        for lang, texts in item.get("translations", {}).items()
        for name, text in texts.items()
    ]
    if rows:
        await tx.execute_many(
            "INSERT INTO directory_translations (entity, entity_id, language, field, text)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )


async def _remove_parts(tx: Writer, service_ids: Sequence[str]) -> None:
    """The services' own parts go; shared organizations, locations and terms stay."""
    for _key, table, entity, _columns in _PARTS:
        if SHAPES[entity].translatable:
            await _delete_in(
                tx,
                "DELETE FROM directory_translations WHERE entity = ? AND entity_id IN"
                f" (SELECT id FROM {table} WHERE service_id IN ({{ids}}))",
                service_ids,
                entity,
            )
        await _delete_in(tx, f"DELETE FROM {table} WHERE service_id IN ({{ids}})", service_ids)
    await _delete_in(
        tx, "DELETE FROM service_at_locations WHERE service_id IN ({ids})", service_ids
    )


async def fetch_in(
    tx: Database | Writer, sql: str, ids: Sequence[str], *before: object
) -> list[Row]:
    """`sql` has `{ids}` where the ids go; fetched in chunks under the engines' limits."""
    rows: list[Row] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows += await tx.fetch_all(sql.format(ids=_marks(chunk)), [*before, *chunk])
    return rows


async def _known_references(tx: Writer, records: Sequence[Record]) -> dict[str, list[FieldError]]:
    """Koppi shows an organization or a term only when it knows it; a reference to one it
    does not know stays in the HSDS data but is left out of Koppi's view, with a warning."""
    named_orgs = [
        r["organization_id"] for r in records if "organization" not in r and "organization_id" in r
    ]
    named_terms = [
        a["taxonomy_term_id"]
        for r in records
        for a in r.get("attributes", [])
        if "taxonomy_term" not in a
    ]
    orgs = {
        row["id"]
        for row in await fetch_in(
            tx, "SELECT id FROM organizations WHERE id IN ({ids})", named_orgs
        )
    }
    terms = {
        row["id"]
        for row in await fetch_in(
            tx, "SELECT id FROM taxonomy_terms WHERE id IN ({ids})", named_terms
        )
    }
    warnings: dict[str, list[FieldError]] = {}
    for record in records:
        notes = warnings.setdefault(record["id"], [])
        if "organization" not in record and record.get("organization_id") not in (None, *orgs):
            del record["organization_id"]
            notes.append(FieldError("organization_id", _("names no known organization")))
        kept = []
        for i, attribute in enumerate(record.get("attributes", [])):
            if "taxonomy_term" not in attribute and attribute["taxonomy_term_id"] not in terms:
                notes.append(
                    FieldError(
                        f"attributes[{i}].taxonomy_term_id", _("names no known taxonomy term")
                    )
                )
                continue
            kept.append(attribute)
        if kept:
            record["attributes"] = kept
        else:
            record.pop("attributes", None)
    return warnings


async def save_term_list(tx: Writer, terms: Sequence[Record]) -> None:
    """Terms a file brings are kept, except Koppi's own category terms, which Koppi names."""
    unique = list({term["id"]: term for term in terms}.values())
    if not unique:
        return
    own = {
        row["id"]
        for row in await fetch_in(
            tx,
            "SELECT id FROM taxonomy_terms WHERE taxonomy = ? AND id IN ({ids})",
            [t["id"] for t in unique],
            CATEGORY_TAXONOMY,
        )
    }
    await _upsert_many(
        tx,
        "taxonomy_terms",
        [t for t in unique if t["id"] not in own],
        ("code", "name", "description", "taxonomy"),
    )


async def save_terms(tx: Writer, flats: Sequence[Flat]) -> None:
    """Every taxonomy term of imported records, also one no service uses yet, so that the
    HSDS API lists it and later records may name it."""
    names = SHAPES["taxonomy_term"].field_names
    await save_term_list(
        tx,
        [
            {k: body[k] for k in names if isinstance(body.get(k), str)}
            for flat in flats
            for (entity, _id), body in flat.objects.items()
            if entity == "taxonomy_term" and isinstance(body.get("name"), str)
        ],
    )


async def _save_locations(tx: Writer, records: Sequence[Record]) -> None:
    links = [
        (record["id"], position, link)
        for record in records
        for position, link in enumerate(record.get("service_at_locations", []))
    ]
    locations = list({link["location"]["id"]: link["location"] for _s, _p, link in links}.values())
    await _upsert_many(
        tx, "locations", locations, ("location_type", "name", "latitude", "longitude")
    )
    await _replace_translations(tx, "location", locations)
    await _delete_in(
        tx, "DELETE FROM addresses WHERE location_id IN ({ids})", [loc["id"] for loc in locations]
    )
    address_columns = SHAPES["address"].field_names[1:]
    await tx.execute_many(
        "INSERT INTO addresses (id, location_id, position, address_1, city,"
        " state_province, postal_code, country, address_type)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [address["id"], location["id"], number] + [address.get(c) for c in address_columns]
            for location in locations
            for number, address in enumerate(location.get("addresses", []))
        ],
    )
    await tx.execute_many(
        "INSERT INTO service_at_locations (id, service_id, location_id, position)"
        " VALUES (?, ?, ?, ?)",
        [
            (link["id"], service_id, link["location"]["id"], position)
            for service_id, position, link in links
        ],
    )


async def _organization_names(tx: Writer, records: Sequence[Record]) -> dict[str, list[Record]]:
    """The names, in every language, of the stored organizations that records name by id only."""
    ids = sorted(
        {
            r["organization_id"]
            for r in records
            if "organization" not in r and r.get("organization_id")
        }
    )
    names: dict[str, list[Record]] = {}
    rows = await fetch_in(tx, "SELECT id, name AS text FROM organizations WHERE id IN ({ids})", ids)
    rows += await fetch_in(
        tx,
        "SELECT entity_id AS id, text FROM directory_translations"
        " WHERE entity = 'organization' AND field = 'name' AND entity_id IN ({ids})",
        ids,
    )
    for row in rows:
        names.setdefault(row["id"], []).append({"name": row["text"]})
    return names


def _document(
    record: Record, organization_names: dict[str, list[Record]]
) -> search.ServiceDocument:
    """Everything searchable, by the part of the service it ranks as, in every language.

    The organization's names come from the database when the record only names its id."""

    def texts_of(items: Sequence[Record], names: Sequence[str]) -> str:
        parts: list[str] = []
        for item in items:
            parts.extend(str(item[n]) for n in names if item.get(n))
            for texts in item.get("translations", {}).values():
                parts.extend(str(texts[n]) for n in names if texts.get(n))
        return "\n".join(parts)

    organization = [record["organization"]] if "organization" in record else []
    if not organization and record.get("organization_id"):
        organization = organization_names.get(record["organization_id"], [])
    addresses = [
        address
        for link in record.get("service_at_locations", [])
        for address in link["location"].get("addresses", [])
    ]
    place = "\n".join(
        text
        for text in (
            texts_of(record.get("service_areas", []), ("name",)),
            texts_of(addresses, ("address_1", "postal_code", "city")),
        )
        if text
    )
    return search.ServiceDocument(
        name=texts_of([record], ("name",)),
        about=texts_of([record], ("description", "eligibility_description")),
        organization=texts_of(organization, ("name",)),
        place=place,
    )


async def save_services(
    tx: Writer, records: Sequence[Record], *, at: str
) -> dict[str, list[FieldError]]:
    """Create or replace Koppi's view of each service as a whole, a table at a time for all
    of them; for each service, warnings about what it left out. An unchanged view only has
    its time of change brought forward."""
    ids = [record["id"] for record in records]
    known = {
        row["id"]: row["fingerprint"]
        for row in await fetch_in(
            tx, "SELECT id, fingerprint FROM services WHERE id IN ({ids})", ids
        )
    }
    prints = {record["id"]: fingerprint(record) for record in records}
    same = [i for i in ids if known.get(i) == prints[i]]
    await _delete_in(tx, "UPDATE services SET imported_at = ? WHERE id IN ({ids})", same, at)
    changed = [record for record in records if known.get(record["id"]) != prints[record["id"]]]
    if not changed:
        return {}
    organizations = list(
        {
            r["organization"]["id"]: r["organization"] for r in changed if "organization" in r
        }.values()
    )
    await _upsert_many(
        tx, "organizations", organizations, ("name", "description", "email", "website")
    )
    await _replace_translations(tx, "organization", organizations)
    await save_term_list(
        tx,
        [
            a["taxonomy_term"]
            for r in changed
            for a in r.get("attributes", [])
            if "taxonomy_term" in a
        ],
    )
    warnings = await _known_references(tx, changed)
    columns = (*_SERVICE_COLUMNS, "fingerprint", "imported_at")
    await tx.execute_many(
        f"INSERT INTO services (id, {', '.join(columns)}) VALUES ({_marks(('id', *columns))})"
        f" ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in columns)}",
        [
            [
                r["id"],
                *({**r, "fingerprint": prints[r["id"]], "imported_at": at}.get(c) for c in columns),
            ]
            for r in changed
        ],
    )
    changed_ids = [r["id"] for r in changed]
    # A new service has nothing to remove: skipping the deletes halves a new one's statements.
    replaced_ids = [i for i in changed_ids if i in known]
    await _delete_in(
        tx,
        "DELETE FROM directory_translations WHERE entity = 'service' AND entity_id IN ({ids})",
        replaced_ids,
    )
    await _add_translations(tx, "service", changed)
    await _remove_parts(tx, replaced_ids)
    for key, table, entity, part_columns in _PARTS:
        names = ("id", "service_id", "position", *part_columns)
        items = [
            (r["id"], position, item)
            for r in changed
            for position, item in enumerate(r.get(key, []))
        ]
        await tx.execute_many(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({_marks(names)})",
            [
                [item["id"], service_id, position, *(item.get(c) for c in part_columns)]
                for service_id, position, item in items
            ],
        )
        if SHAPES[entity].translatable:  # the parts' old translations went with them
            await _add_translations(tx, entity, [item for _s, _p, item in items])
    await _save_locations(tx, changed)
    nums = {
        row["id"]: row["num"]
        for row in await fetch_in(
            tx, "SELECT id, num FROM services WHERE id IN ({ids})", changed_ids
        )
    }
    organization_names = await _organization_names(tx, changed)
    await search.index_services(
        tx, [(int(nums[r["id"]]), _document(r, organization_names)) for r in changed]
    )
    return warnings


async def save_service(tx: Writer, record: Record, *, at: str) -> list[FieldError]:
    """One service, as save_services saves many."""
    return (await save_services(tx, [record], at=at)).get(record["id"], [])
