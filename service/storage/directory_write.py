"""Writing one HSDS service record: the service, its parts, shared organizations and locations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from service.directory.hsds import SHAPES, FieldError, Record, RecordErrors
from service.i18n import gettext as _
from service.storage import search
from service.storage.db import Writer

CATEGORY_TAXONOMY = "koppi-category"

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


async def _upsert(tx: Writer, table: str, item: Record, columns: Sequence[str]) -> None:
    names = ("id", *columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
    await tx.execute(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        f" ON CONFLICT (id) DO UPDATE SET {updates}",
        [item.get(c) for c in names],
    )


async def _replace_translations(tx: Writer, entity: str, item: Record) -> None:
    await tx.execute(
        "DELETE FROM directory_translations WHERE entity = ? AND entity_id = ?",
        (entity, item["id"]),
    )
    rows = [
        (entity, item["id"], lang, name, text)
        for lang, texts in item.get("translations", {}).items()
        for name, text in texts.items()
    ]
    if rows:
        await tx.execute_many(
            "INSERT INTO directory_translations (entity, entity_id, language, field, text)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )


async def _remove_parts(tx: Writer, service_id: str) -> None:
    """The service's own parts go; shared organizations, locations and terms stay."""
    for _key, table, entity, _columns in _PARTS:
        if SHAPES[entity].translatable:
            await tx.execute(
                "DELETE FROM directory_translations WHERE entity = ? AND entity_id IN"
                f" (SELECT id FROM {table} WHERE service_id = ?)",
                (entity, service_id),
            )
        await tx.execute(f"DELETE FROM {table} WHERE service_id = ?", (service_id,))
    await tx.execute("DELETE FROM service_at_locations WHERE service_id = ?", (service_id,))


async def _check_references(tx: Writer, record: Record) -> None:
    errors = []
    if "organization" not in record and "organization_id" in record:
        known = await tx.fetch_value(
            "SELECT 1 FROM organizations WHERE id = ?", (record["organization_id"],)
        )
        if not known:
            errors.append(FieldError("organization_id", _("names no known organization")))
    for i, attribute in enumerate(record.get("attributes", [])):
        if "taxonomy_term" in attribute:
            continue
        known = await tx.fetch_value(
            "SELECT 1 FROM taxonomy_terms WHERE id = ?", (attribute["taxonomy_term_id"],)
        )
        if not known:
            errors.append(
                FieldError(f"attributes[{i}].taxonomy_term_id", _("names no known taxonomy term"))
            )
    if errors:
        raise RecordErrors(errors)


async def _save_terms(tx: Writer, record: Record) -> None:
    """Terms a file brings are kept, except Koppi's own category terms, which Koppi names."""
    for attribute in record.get("attributes", []):
        term = attribute.get("taxonomy_term")
        if term is None:
            continue
        taxonomy = await tx.fetch_value(
            "SELECT taxonomy FROM taxonomy_terms WHERE id = ?", (term["id"],)
        )
        if taxonomy != CATEGORY_TAXONOMY:
            await _upsert(tx, "taxonomy_terms", term, ("code", "name", "description", "taxonomy"))


async def _save_locations(tx: Writer, service_id: str, record: Record) -> None:
    for position, link in enumerate(record.get("service_at_locations", [])):
        location = link["location"]
        await _upsert(tx, "locations", location, ("location_type", "name", "latitude", "longitude"))
        await _replace_translations(tx, "location", location)
        await tx.execute("DELETE FROM addresses WHERE location_id = ?", (location["id"],))
        for number, address in enumerate(location.get("addresses", [])):
            await tx.execute(
                "INSERT INTO addresses (id, location_id, position, address_1, city,"
                " state_province, postal_code, country, address_type)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [address["id"], location["id"], number]
                + [address.get(c) for c in SHAPES["address"].field_names[1:]],
            )
        await tx.execute(
            "INSERT INTO service_at_locations (id, service_id, location_id, position)"
            " VALUES (?, ?, ?, ?)",
            (link["id"], service_id, location["id"], position),
        )


def _document(record: Record) -> str:
    """Everything searchable, in every language the record carries."""
    parts: list[str] = []

    def texts_of(item: Record, names: Sequence[str]) -> None:
        parts.extend(str(item[n]) for n in names if item.get(n))
        for texts in item.get("translations", {}).values():
            parts.extend(texts.values())

    texts_of(record, ("name", "description", "eligibility_description"))
    if "organization" in record:
        texts_of(record["organization"], ("name",))
    for area in record.get("service_areas", []):
        texts_of(area, ("name",))
    return "\n".join(parts)


async def save_service(tx: Writer, record: Record, *, at: str) -> str:
    """Create or replace the service as a whole: 'created', 'updated' or 'unchanged'."""
    new_fingerprint = fingerprint(record)
    known = await tx.fetch_one("SELECT fingerprint FROM services WHERE id = ?", (record["id"],))
    if known is not None and known["fingerprint"] == new_fingerprint:
        return "unchanged"
    await _check_references(tx, record)
    organization = record.get("organization")
    if organization is not None:
        await _upsert(
            tx, "organizations", organization, ("name", "description", "email", "website")
        )
        await _replace_translations(tx, "organization", organization)
    await _save_terms(tx, record)
    columns = (*_SERVICE_COLUMNS, "fingerprint", "imported_at")
    values = {**record, "fingerprint": new_fingerprint, "imported_at": at}
    num = await tx.fetch_value(
        f"INSERT INTO services (id, {', '.join(columns)})"
        f" VALUES ({', '.join('?' * (len(columns) + 1))})"
        f" ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in columns)}"
        " RETURNING num",
        [record["id"], *(values.get(c) for c in columns)],
    )
    await _replace_translations(tx, "service", record)
    await _remove_parts(tx, record["id"])
    for key, table, entity, part_columns in _PARTS:
        for position, item in enumerate(record.get(key, [])):
            names = ("id", "service_id", "position", *part_columns)
            await tx.execute(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                [item["id"], record["id"], position, *(item.get(c) for c in part_columns)],
            )
            if SHAPES[entity].translatable:
                await _replace_translations(tx, entity, item)
    await _save_locations(tx, record["id"], record)
    await search.index_document(tx, "service", int(num), _document(record))
    return "created" if known is None else "updated"
