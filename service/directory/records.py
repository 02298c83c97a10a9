"""HSDS records between their two forms: nested JSON objects and flat linked objects.

A record (one service, organization or service at a location, with everything nested in it)
is stored as its objects, each with the fields the file gave it, and the links between them
(standard.many_link / one_link). Links implied by nesting are kept apart from the fields, so
a JSON record comes back exactly as given, and a tabular row with exactly its columns."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from service.directory.standard import Node, link_fields, many_link, one_link

Key = tuple[str, str]  # (entity, id)
Link = tuple[str, str, str, str]  # (entity, id, field, target id)
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass
class Flat:
    root: Key
    objects: dict[Key, dict[str, Any]] = field(default_factory=dict)
    links: dict[Link, int] = field(default_factory=dict)  # → position among siblings

    @property
    def name(self) -> str:
        """How storage names the record: its root's entity and id."""
        return f"{self.root[0]}:{self.root[1]}"

    # Stored forms, worked out once: an import works them out in its checking worker, off
    # the writer (they travel with the record, pickled).

    @cached_property
    def encoded(self) -> dict[Key, str]:
        """Each object's own fields as the JSON text stored."""
        return {key: as_json(body) for key, body in self.objects.items()}

    @cached_property
    def fingerprint(self) -> str:
        """A hash of everything the record holds: equal when an import brings it unchanged."""
        content = [sorted(self.objects.items()), sorted(self.links.items())]
        return hashlib.sha256(as_json(content).encode("utf-8")).hexdigest()


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _own(value: dict[str, Any], node: Node) -> dict[str, Any]:
    nested = {key for key, _many, _child in node.children}
    return {k: v for k, v in value.items() if k not in nested}


def flatten(value: dict[str, Any], node: Node) -> Flat:
    """The objects and links of a record that the standard's schema has accepted."""
    flat = Flat((node.entity, str(value["id"])))
    _walk(value, node, flat)
    return flat


def _walk(value: dict[str, Any], node: Node, flat: Flat) -> None:
    key = (node.entity, str(value["id"]))
    body = _own(value, node)
    flat.objects.setdefault(key, {}).update(body)
    for name in link_fields(node.entity):
        if isinstance(body.get(name), str):
            flat.links.setdefault((*key, name, body[name]), 0)
    for name, many, child in node.children:
        nested = value.get(name)
        if many and isinstance(nested, list):
            link = many_link(node.entity, child.entity)
            for i, item in enumerate(nested):
                if isinstance(item, dict) and "id" in item:
                    flat.links[(child.entity, str(item["id"]), link, key[1])] = i
                    _walk(item, child, flat)
        elif not many and isinstance(nested, dict) and "id" in nested:
            flat.links[(*key, one_link(child.entity), str(nested["id"]))] = 0
            _walk(nested, child, flat)


def _steps(path: str) -> list[str | int]:
    return [name or int(index) for name, index in _STEP.findall(path)]


def leave_out(flat: Flat, value: dict[str, Any], node: Node, path: str) -> None:
    """Leave a value out of every place the record holds its object: a report path such as
    `service_at_locations[0].location.latitude` names one, but a location may be nested in
    several places of one record, all stored as one object."""
    here: Any = value
    key = (node.entity, str(value.get("id")))
    rest: list[str | int] = []
    for step in _steps(path):
        child = node.child(step) if isinstance(step, str) else None
        if rest or (isinstance(step, str) and child is None):
            rest.append(step)
            continue
        try:
            here = here[step]
        except (KeyError, IndexError, TypeError):
            return
        node = child or node
        if isinstance(here, dict) and "id" in here:
            key = (node.entity, str(here["id"]))
    if key in flat.objects and rest:
        remove_path(flat.objects[key], ".".join(str(s) for s in rest))


def remove_path(value: Any, path: str) -> None:
    """Leave out the value at a path such as `translations.sv.name`."""
    steps = _steps(path)
    for step in steps[:-1]:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return
    if steps and isinstance(value, dict):
        value.pop(steps[-1], None)


class Rows:
    """Tabular rows by entity, indexed by id and by the links their columns give."""

    def __init__(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.tables = tables
        self.by_id: dict[Key, dict[str, Any]] = {}
        self.linked: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for entity, rows in tables.items():
            names = link_fields(entity)
            for row in rows:
                self.by_id[(entity, str(row["id"]))] = row
                for name in names:
                    if isinstance(row.get(name), str):
                        self.linked[(entity, name, row[name])].append(row)

    def nest(self, row: dict[str, Any], node: Node, seen: frozenset[Key] = frozenset()) -> Any:
        """The row with everything the tree nests in it, as the JSON form writes it."""
        key = (node.entity, str(row["id"]))
        value = dict(row)
        seen = seen | {key}
        for name, many, child in node.children:
            if many:
                link = many_link(node.entity, child.entity)
                found = [r for r in self.linked.get((child.entity, link, key[1]), ())]
                items = [
                    self.nest(r, child, seen) for r in found if (child.entity, r["id"]) not in seen
                ]
                if items:
                    value[name] = items
            else:
                target = row.get(one_link(child.entity))
                other = self.by_id.get((child.entity, target)) if isinstance(target, str) else None
                if other is not None and (child.entity, target) not in seen:
                    value[name] = self.nest(other, child, seen)
        return value

    def keys(self) -> Iterable[Key]:
        return self.by_id.keys()
