"""Readying one imported HSDS record: the standard's schema, then Koppi's own rules.

Only what the schema refuses, or a service Koppi cannot show at all (no name), refuses a
record. A value the schema allows but Koppi cannot use is left out of the record, with a
warning naming its field; docs/directory.md lists those rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from service.directory import standard
from service.directory.hsds import FieldError, Notes, Record, RecordErrors, parse_service
from service.directory.records import Flat, Rows, flatten, leave_out
from service.directory.standard import Node
from service.i18n import gettext as _

MAX_ERRORS = 20


@dataclass
class RecordReport:
    index: int
    id: str | None
    outcome: str  # created, updated, unchanged or failed
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        report: dict[str, Any] = {"index": self.index, "id": self.id, "outcome": self.outcome}
        for name in ("errors", "warnings"):
            if getattr(self, name):
                report[name] = [
                    {"field": e.field, "message": e.message} for e in getattr(self, name)
                ]
        return report


@dataclass
class Prepared:
    """A record ready to store, and Koppi's view of the services in it."""

    report: RecordReport
    flat: Flat
    services: list[Record] = field(default_factory=list)
    # Services whose whole record is not in this one (a service at a location names only its
    # own place): Koppi's view of them is drawn again from everything stored.
    services_to_redraw: list[str] = field(default_factory=list)


def record_id(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"][:64]
    return None


def _failed(index: int, value: Any, errors: list[FieldError]) -> RecordReport:
    return RecordReport(index, record_id(value), "failed", errors[:MAX_ERRORS])


def _koppi_view(value: dict[str, Any], prefix: str, notes: Notes) -> Record:
    """Koppi's view of one service; its notes' paths are made relative to the record."""
    record, own = parse_service(value)
    for warning in own.warnings:
        warning.field = _relative(warning.field, prefix)
    notes.warnings += own.warnings
    notes.dropped += [_relative(path, prefix) for path in own.dropped]
    return record


def _relative(path: str, prefix: str) -> str:
    """A path in a service of an organization or at a location, from the record's root."""
    if prefix == "services[]":
        return path
    if prefix.startswith("organization:"):
        if path.startswith("organization."):
            return path.removeprefix("organization.")
        return f"{prefix.removeprefix('organization:')}.{path}"
    if prefix == "service_at_location":
        if path.startswith("service_at_locations[0]."):
            return path.removeprefix("service_at_locations[0].")
        return f"service.{path}"
    return path


def _services_of(value: dict[str, Any], kind: str, notes: Notes) -> list[Record]:
    """Koppi's view of each service the record holds; fills `notes` as it goes."""
    if kind == "service":
        return [_koppi_view(value, "services[]", notes)]
    if kind == "organization":
        organization = {k: v for k, v in value.items() if k != "services"}
        services = value.get("services") or []
        return [
            _koppi_view(
                {**service, "organization": organization}, f"organization:services[{i}]", notes
            )
            for i, service in enumerate(services)
        ]
    service = value.get("service")
    if isinstance(service, dict):
        place = {k: v for k, v in value.items() if k not in ("service", "service_id")}
        _koppi_view({**service, "service_at_locations": [place]}, "service_at_location", notes)
    return []


def prepare(index: int, value: Any, node: Node, kind: str) -> Prepared | RecordReport:
    """A record the schema has accepted, with Koppi's rules applied; or why it failed."""
    notes = Notes()
    try:
        services = _services_of(value, kind, notes)
    except RecordErrors as exc:
        return _failed(index, value, exc.errors)
    flat = flatten(value, node)
    for path in notes.dropped:
        leave_out(flat, value, node, path)
    report = RecordReport(index, record_id(value), "", warnings=notes.warnings)
    prepared = Prepared(report, flat, services)
    if kind == "service_at_location":
        service_id = value.get("service_id") or (value.get("service") or {}).get("id")
        if isinstance(service_id, str):
            prepared.services_to_redraw.append(service_id)
    return prepared


def prepare_json(index: int, value: Any) -> Prepared | RecordReport:
    if not isinstance(value, dict):
        return _failed(index, value, [FieldError("record", _("must be an object"))])
    kind = standard.record_kind(value)
    errors = [
        FieldError(path or kind, message)
        for path, message in standard.problems(value, f"compiled/{kind}")
    ]
    if errors:
        return _failed(index, value, errors)
    return prepare(index, value, standard.tree(kind), kind)


def _row_problems(rows: Rows) -> dict[tuple[str, str], list[FieldError]]:
    bad: dict[tuple[str, str], list[FieldError]] = {}
    for entity, table in rows.tables.items():
        file_name = standard.entity_schema(entity)["path"]
        for number, row in enumerate(table, start=2):
            errors = [
                FieldError(f"{file_name} row {number}: {path or 'id'}", message)
                for path, message in standard.problems(row, entity, tabular=True)
            ]
            if errors:
                bad[(entity, str(row.get("id")))] = errors
    return bad


def tabular_records(tables: dict[str, list[dict[str, Any]]]) -> Iterator[Prepared | RecordReport]:
    """The records of a tabular package: each service with all it nests, then each
    organization, then every row that neither holds, on its own."""
    rows = Rows(tables)
    bad = _row_problems(rows)
    covered: set[tuple[str, str]] = set()
    wholes: list[tuple[dict[str, Any], Node, str]] = []
    for row in tables.get("service", []):
        wholes.append(
            (rows.nest(row, standard.tree("service")), standard.tree("service"), "service")
        )
    organization = standard.tree("organization").without("services")
    for row in tables.get("organization", []):
        wholes.append((rows.nest(row, organization), organization, "organization"))
    index = 0
    for value, node, kind in wholes:
        yield _tabular_one(index, value, node, kind, bad, covered)
        index += 1
    for entity, id_ in list(rows.keys()):
        if (entity, id_) not in covered:
            alone = Node(entity, standard.own_fields(entity), ())
            yield _tabular_one(index, dict(rows.by_id[(entity, id_)]), alone, entity, bad, covered)
            index += 1


def _tabular_one(
    index: int,
    value: dict[str, Any],
    node: Node,
    kind: str,
    bad: dict[tuple[str, str], list[FieldError]],
    covered: set[tuple[str, str]],
) -> Prepared | RecordReport:
    keys = flatten(value, node).objects.keys()
    covered.update(keys)
    errors = [e for key in keys for e in bad.get(key, [])]
    if errors:
        return _failed(index, value, errors)
    if kind not in standard.ROOTS:
        return Prepared(RecordReport(index, record_id(value), ""), flatten(value, node))
    return prepare(index, value, node, kind)
