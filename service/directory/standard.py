"""HSDS 3.0 as Open Referral publishes it: the vendored schemas, read once, and what they imply.

The standard's files are in service/data/hsds (see SOURCE.md there). From them come the
validators for imported records and API responses, the shape of every nested object the API
returns (the compiled schemas), and how objects link to each other: a nested list of `C` in a
`P` is the `C` objects whose `<P>_id` names the `P` (attributes by `link_id`, metadata by
`resource_id`); a nested object `C` in a `P` is the one `P.<C>_id` names. Those are the
columns of the tabular form, so one rule serves both forms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

STANDARD_DIR = Path(__file__).resolve().parent.parent / "data" / "hsds"
SCHEMA_DIR = STANDARD_DIR / "schema"
VERSION = "3.0"

# What a record at the top of an import or an API answer is, and its compiled schema.
ROOTS = {
    "service": "service",
    "organization": "organization",
    "service_at_location": "service_at_location",
}
ENTITIES = (
    "organization",
    "program",
    "service",
    "service_at_location",
    "location",
    "address",
    "phone",
    "schedule",
    "service_area",
    "language",
    "funding",
    "cost_option",
    "required_document",
    "accessibility",
    "contact",
    "attribute",
    "taxonomy",
    "taxonomy_term",
    "metadata",
    "meta_table_description",
    "organization_identifier",
)


def _read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as file:
        data: dict[str, Any] = json.load(file)
    return data


@cache
def entity_schema(entity: str) -> dict[str, Any]:
    return _read(SCHEMA_DIR / f"{entity}.json")


@cache
def compiled_schema(name: str) -> dict[str, Any]:
    """`service`, `organization`, `service_at_location`, or their `_list` forms."""
    return _read(SCHEMA_DIR / "compiled" / f"{name}.json")


@cache
def openapi() -> dict[str, Any]:
    return _read(SCHEMA_DIR / "openapi.json")


def many_link(parent: str, child: str) -> str:
    """The field of a `child` in a nested list that names its `parent`."""
    if child == "attribute":
        return "link_id"
    if child == "metadata":
        return "resource_id"
    return f"{parent}_id"


def one_link(child: str) -> str:
    """The field of a parent that names its nested `child` object."""
    return f"{child}_id"


@dataclass(frozen=True)
class Node:
    """One object in a compiled schema's tree: its entity, own fields and nested children."""

    entity: str
    fields: tuple[str, ...]
    children: tuple[tuple[str, bool, Node], ...]  # (key, is a list, child)

    def child(self, key: str) -> Node | None:
        for name, _many, node in self.children:
            if name == key:
                return node
        return None

    def without(self, *keys: str) -> Node:
        return Node(self.entity, self.fields, tuple(c for c in self.children if c[0] not in keys))


def _node(schema: dict[str, Any]) -> Node:
    fields: list[str] = []
    children: list[tuple[str, bool, Node]] = []
    for key, prop in schema.get("properties", {}).items():
        if prop.get("type") == "array" and "properties" in prop.get("items", {}):
            children.append((key, True, _node(prop["items"])))
        elif "properties" in prop:
            children.append((key, False, _node(prop)))
        else:
            fields.append(key)
    return Node(str(schema["name"]), tuple(fields), tuple(children))


@cache
def tree(root: str) -> Node:
    """The nested shape of a `root` record, as its compiled schema writes it."""
    return _node(compiled_schema(root))


def own_fields(entity: str) -> tuple[str, ...]:
    """The entity's fields that are not nested objects: its columns in the tabular form."""
    return tuple(
        key
        for key, prop in entity_schema(entity)["properties"].items()
        if prop.get("type") != "array" and "$ref" not in prop
    )


@cache
def link_fields(entity: str) -> frozenset[str]:
    """The entity's fields that name another object it nests in or nests."""
    found: set[str] = set()

    def walk(node: Node) -> None:
        for _key, many, child in node.children:
            if many and child.entity == entity:
                found.add(many_link(node.entity, entity))
            if not many and node.entity == entity:
                found.add(one_link(child.entity))
            walk(child)

    for root in ROOTS:
        walk(tree(root))
    return frozenset(found & set(own_fields(entity)))


PUBLISHED = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"


@cache
def registry() -> Registry[Any]:
    """Every schema file under the relative name the entity schemas use ("taxonomy.json") and
    under the address the standard publishes it at, so no reference ever leaves this machine."""
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.json")) + sorted(SCHEMA_DIR.glob("compiled/*.json")):
        if path.name == "openapi.json":
            continue
        relative = path.relative_to(SCHEMA_DIR).as_posix()
        resource = Resource.from_contents(_read(path), default_specification=DRAFT202012)
        resources += [(relative, resource), (PUBLISHED + relative, resource)]
    return Registry().with_resources(resources)


@cache
def _validator(schema_name: str, tabular: bool = False) -> Draft202012Validator:
    if schema_name.startswith("compiled/"):
        schema = compiled_schema(schema_name.removeprefix("compiled/"))
    else:
        schema = dict(entity_schema(schema_name))
        if tabular:
            # The tabular form also requires the columns that link a row to others.
            schema["required"] = [*schema.get("required", []), *schema.get("tabular_required", [])]
    return Draft202012Validator(schema, registry=registry(), format_checker=FormatChecker())


def _path(error: ValidationError) -> str:
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def problems(
    instance: Any, schema_name: str, *, tabular: bool = False
) -> Iterator[tuple[str, str]]:
    """(field path, the schema's message) for each way `instance` breaks the standard.

    `schema_name` is an entity (`phone`) or a compiled schema (`compiled/service`)."""
    validator = _validator(schema_name, tabular)
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path))):
        where = _path(error)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            where = f"{where}.{missing}" if where else missing
        yield where, _message(error)


def _message(error: ValidationError) -> str:
    """The schema's own words, shortened: the instance repeated back can be a whole record."""
    if error.validator == "required":
        return "is required"
    if error.validator == "type":
        return f"must be of type {error.validator_value}"
    if error.validator == "enum":
        return "must be one of: " + ", ".join(map(str, error.validator_value))
    if error.validator == "format":
        return f"must be a valid {error.validator_value}"
    return error.message[:200]


_ORGANIZATION_ONLY = frozenset(
    ("services", "website", "tax_status", "tax_id", "year_incorporated", "legal_status", "logo")
    + ("parent_organization_id", "organization_identifiers", "programs", "locations")
)


def record_kind(value: Any) -> str:
    """Which root an imported JSON object is: a service unless it plainly is another.

    A record without `status` that carries fields only organizations have is an organization;
    one that nests a `location` or a `service`, or names both ends without a `name`, is a
    service at a location. Anything else is read (and checked) as a service."""
    if isinstance(value, dict) and "status" not in value:
        if _ORGANIZATION_ONLY & value.keys():
            return "organization"
        if "location" in value or "service" in value:
            return "service_at_location"
        if "name" not in value and "service_id" in value and "location_id" in value:
            return "service_at_location"
    return "service"
