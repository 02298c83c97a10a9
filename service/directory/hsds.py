"""HSDS 3.0 service records as Koppi reads and writes them (docs/directory.md).

`parse_service` checks one full service object and returns it in canonical form: only the
fields Koppi keeps, in a fixed order, empty values left out. Export writes that same form, so
export → import → export gives identical JSON."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from service.hours import parse_clock
from service.i18n import N_
from service.i18n import gettext as _

Record = dict[str, Any]

STATUSES = ("active", "inactive", "defunct", "temporarily closed")
LOCATION_TYPES = ("physical", "postal", "virtual")
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREQUENCIES = ("WEEKLY", "MONTHLY")
TEXT_MAX = 5000
NAME_MAX = 300
MAX_AGE = 130
MAX_ITEMS = 50

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Problem(ValueError):
    """One field's problem; the message is already in the reader's language."""


@dataclass
class FieldError:
    field: str
    message: str


class RecordErrors(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


# Value checks: each returns the value in canonical form, or raises Problem.


def _text(maximum: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            raise Problem(_("must be text"))
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Problem(_("has characters that cannot be stored")) from None
        text = _CONTROL.sub("", unicodedata.normalize("NFC", value).replace("\r\n", "\n")).strip()
        if len(text) > maximum:
            raise Problem(_("is longer than %(n)d characters") % {"n": maximum})
        return text or None

    return check


_short = _text(NAME_MAX)
_long = _text(TEXT_MAX)


def is_uuid(value: object) -> bool:
    return isinstance(value, str) and _UUID.match(value) is not None


def _uuid(value: Any) -> str:
    if not is_uuid(value):
        raise Problem(_("must be a UUID"))
    return value


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise Problem(_("must be one of: %(options)s") % {"options": ", ".join(options)})
        return str(value)

    return check


def _age(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise Problem(_("must be a whole number"))
    if not 0 <= value <= MAX_AGE:
        raise Problem(_("must be from 0 to %(max)d") % {"max": MAX_AGE})
    return int(value)


def _coordinate(limit: int) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Problem(_("must be a number"))
        if not -limit <= value <= limit:
            raise Problem(_("must be from -%(max)d to %(max)d") % {"max": limit})
        return float(value)

    return check


def _web_address(value: Any) -> str | None:
    text = _short(value)
    if text is None:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Problem(_("must be an http or https address"))
    return text


def _email(value: Any) -> str | None:
    text = _short(value)
    if text is not None and not _EMAIL.match(text):
        raise Problem(_("must be an e-mail address"))
    return text


def _clock(value: Any) -> str:
    """'9:00', '09:00' or '09:00:00' → '09:00'; '24:00' ends the day."""
    if not isinstance(value, str):
        raise Problem(_("must be a time such as 09:00"))
    text = value.strip()
    if text.count(":") == 2 and text.endswith(":00"):
        text = text[:-3]
    try:
        minutes = parse_clock(text)
    except ValueError:
        raise Problem(_("must be a time such as 09:00")) from None
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _byday(value: Any) -> str:
    if not isinstance(value, str):
        raise Problem(_("must list days such as MO,TU,WE"))
    days = [d.strip().upper() for d in value.split(",") if d.strip()]
    if not days or any(d not in DAYS for d in days):
        raise Problem(_("must list days such as MO,TU,WE"))
    return ",".join(sorted(set(days), key=DAYS.index))


def _frequency(value: Any) -> str:
    return _choice(FREQUENCIES)(value.upper() if isinstance(value, str) else value)


def _language(value: Any) -> str:
    if not isinstance(value, str) or not _LANGUAGE.match(value.strip().lower()):
        raise Problem(_("must be a language code such as fi"))
    return value.strip().lower()


def _country(value: Any) -> str:
    if not isinstance(value, str) or not _COUNTRY.match(value.strip().upper()):
        raise Problem(_("must be a two-letter country code such as FI"))
    return value.strip().upper()


@dataclass(frozen=True)
class Shape:
    """One HSDS object: its fields in export order, nested lists, and which texts translate."""

    entity: str
    fields: tuple[tuple[str, Callable[[Any], Any]], ...]
    required: tuple[str, ...] = ("id",)
    lists: tuple[tuple[str, Shape], ...] = ()
    objects: tuple[tuple[str, Shape], ...] = ()
    translatable: tuple[str, ...] = ()
    extra_checks: tuple[Callable[[Record], None], ...] = field(default=())

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(name for name, _check in self.fields)


def _opens_before_closes(record: Record) -> None:
    opens, closes = record.get("opens_at"), record.get("closes_at")
    if (opens is None) != (closes is None):
        raise Problem(_("give both opens_at and closes_at"), "opens_at" if opens else "closes_at")
    if opens is not None and closes is not None and parse_clock(opens) >= parse_clock(closes):
        raise Problem(_("must be after opens_at"), "closes_at")


def _ages_in_order(record: Record) -> None:
    low, high = record.get("minimum_age"), record.get("maximum_age")
    if low is not None and high is not None and low > high:
        raise Problem(_("must not be above maximum_age"), "minimum_age")


TAXONOMY_TERM = Shape(
    "taxonomy_term",
    (
        ("id", _uuid),
        ("code", _short),
        ("name", _short),
        ("description", _long),
        ("taxonomy", _short),
    ),
    required=("id", "name"),
)
ATTRIBUTE = Shape(
    "attribute",
    (("id", _uuid), ("taxonomy_term_id", _uuid)),
    objects=(("taxonomy_term", TAXONOMY_TERM),),
)
ADDRESS = Shape(
    "address",
    (
        ("id", _uuid),
        ("address_1", _short),
        ("city", _short),
        ("state_province", _short),
        ("postal_code", _short),
        ("country", _country),
        ("address_type", _choice(LOCATION_TYPES)),
    ),
)
LOCATION = Shape(
    "location",
    (
        ("id", _uuid),
        ("location_type", _choice(LOCATION_TYPES)),
        ("name", _short),
        ("latitude", _coordinate(90)),
        ("longitude", _coordinate(180)),
    ),
    required=("id", "location_type"),
    lists=(("addresses", ADDRESS),),
    translatable=("name",),
)
SERVICE_AT_LOCATION = Shape(
    "service_at_location",
    (("id", _uuid),),
    required=("id", "location"),
    objects=(("location", LOCATION),),
)
PHONE = Shape(
    "phone",
    (("id", _uuid), ("number", _short), ("description", _short)),
    required=("id", "number"),
    translatable=("description",),
)
SCHEDULE = Shape(
    "schedule",
    (
        ("id", _uuid),
        ("freq", _frequency),
        ("byday", _byday),
        ("opens_at", _clock),
        ("closes_at", _clock),
        ("description", _short),
    ),
    translatable=("description",),
    extra_checks=(_opens_before_closes,),
)
SERVICE_AREA = Shape(
    "service_area",
    (("id", _uuid), ("name", _short)),
    required=("id", "name"),
    translatable=("name",),
)
LANGUAGE = Shape("language", (("id", _uuid), ("code", _language)), required=("id", "code"))
ORGANIZATION = Shape(
    "organization",
    (
        ("id", _uuid),
        ("name", _short),
        ("description", _long),
        ("email", _email),
        ("website", _web_address),
    ),
    required=("id", "name"),
    translatable=("name", "description"),
)
SERVICE = Shape(
    "service",
    (
        ("id", _uuid),
        ("name", _short),
        ("description", _long),
        ("url", _web_address),
        ("email", _email),
        ("status", _choice(STATUSES)),
        ("eligibility_description", _long),
        ("minimum_age", _age),
        ("maximum_age", _age),
        ("organization_id", _uuid),
    ),
    required=("id", "name", "status"),
    objects=(("organization", ORGANIZATION),),
    lists=(
        ("phones", PHONE),
        ("schedules", SCHEDULE),
        ("service_areas", SERVICE_AREA),
        ("languages", LANGUAGE),
        ("service_at_locations", SERVICE_AT_LOCATION),
        ("attributes", ATTRIBUTE),
    ),
    translatable=("name", "description", "eligibility_description"),
    extra_checks=(_ages_in_order,),
)
# Shapes by entity name, for storage to know which texts each object translates.
SHAPES = {
    s.entity: s
    for s in (
        SERVICE,
        ORGANIZATION,
        LOCATION,
        ADDRESS,
        PHONE,
        SCHEDULE,
        SERVICE_AREA,
        LANGUAGE,
        TAXONOMY_TERM,
        ATTRIBUTE,
        SERVICE_AT_LOCATION,
    )
}

_REQUIRED = N_("is required")


@dataclass
class Notes:
    """What Koppi could not use in a record: each warning, and the values to leave out.

    `dropped` lists the paths of values removed from the record as imported (the standard
    allows them but Koppi cannot use them, e.g. a latitude of 100); a warning without a
    dropped path is about an item that stays in the HSDS data but that Koppi does not show."""

    warnings: list[FieldError] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    fatal: list[FieldError] = field(default_factory=list)

    def drop(self, path: str, message: str) -> None:
        self.warnings.append(FieldError(path, message))
        self.dropped.append(path)

    def leave_out(self, path: str, message: str) -> None:
        self.warnings.append(FieldError(path, message))


def _translations(value: Any, shape: Shape, path: str, notes: Notes) -> Record:
    if not isinstance(value, dict):
        notes.drop(path, _("must be an object of languages"))
        return {}
    result: Record = {}
    for lang in sorted(value):
        texts = value[lang]
        here = f"{path}.{lang}"
        try:
            code = _language(lang)
        except Problem as exc:
            notes.drop(here, str(exc))
            continue
        if not isinstance(texts, dict):
            notes.drop(here, _("must be an object of texts"))
            continue
        kept: Record = {}
        for name in sorted(texts):
            if name not in shape.translatable:
                notes.drop(f"{here}.{name}", _("cannot be translated"))
                continue
            try:
                text = _long(texts[name])
            except Problem as exc:
                notes.drop(f"{here}.{name}", str(exc))
                continue
            if text is not None:
                kept[name] = text
        if kept:
            result[code] = kept
    return result


def _object(value: Any, shape: Shape, path: str, notes: Notes) -> Record | None:
    """The object as Koppi keeps it, or None when Koppi cannot show it at all."""
    if not isinstance(value, dict):
        notes.leave_out(path or shape.entity, _("must be an object"))
        return None
    prefix = f"{path}." if path else ""
    result: Record = {}
    for name, check in shape.fields:
        raw = value.get(name)
        if raw is None:
            continue
        try:
            cleaned = check(raw)
        except Problem as exc:
            notes.drop(prefix + name, str(exc))
            continue
        if cleaned is not None:
            result[name] = cleaned
    for name, child in shape.objects:
        if value.get(name) is not None:
            kept = _object(value[name], child, prefix + name, notes)
            if kept is not None:
                result[name] = kept
    for name, child in shape.lists:
        items = value.get(name)
        if not isinstance(items, list):
            continue
        if len(items) > MAX_ITEMS:
            notes.leave_out(
                prefix + name, _("Koppi shows the first %(n)d items only") % {"n": MAX_ITEMS}
            )
        parts = (
            _object(item, child, f"{prefix}{name}[{i}]", notes)
            for i, item in enumerate(items[:MAX_ITEMS])
        )
        kept_items = [part for part in parts if part is not None]
        if kept_items:
            result[name] = kept_items
    if shape.translatable and value.get("translations") is not None:
        texts = _translations(value["translations"], shape, prefix + "translations", notes)
        if texts:
            result["translations"] = texts
    for check_record in shape.extra_checks:
        try:
            check_record(result)
        except Problem as exc:
            detail = exc.args[1] if len(exc.args) > 1 else ""
            result.pop(detail, None)
            notes.drop(prefix + detail, str(exc.args[0]))
    missing = [name for name in shape.required if name not in result]
    if missing:
        if shape is SERVICE:
            notes.fatal.extend(FieldError(prefix + name, _(_REQUIRED)) for name in missing)
        else:
            notes.leave_out(
                prefix + missing[0],
                _("is missing, so Koppi does not show this %(item)s") % {"item": shape.entity},
            )
        return None
    return result


def _attribute_terms(record: Record, notes: Notes) -> None:
    """An attribute may name its term by `taxonomy_term_id`, by a nested `taxonomy_term`, or
    both; Koppi goes by the nested term, which carries the name it shows."""
    kept = []
    for i, attribute in enumerate(record.get("attributes", [])):
        term = attribute.get("taxonomy_term")
        if term is not None:
            if attribute.get("taxonomy_term_id", term["id"]) != term["id"]:
                notes.leave_out(
                    f"attributes[{i}].taxonomy_term_id",
                    _("differs from taxonomy_term.id; Koppi uses taxonomy_term.id"),
                )
            attribute["taxonomy_term_id"] = term["id"]
        if "taxonomy_term_id" in attribute:
            kept.append(attribute)
        else:
            notes.leave_out(
                f"attributes[{i}].taxonomy_term_id",
                _("is missing, so Koppi does not show this %(item)s") % {"item": "attribute"},
            )
    if kept:
        record["attributes"] = kept
    else:
        record.pop("attributes", None)


def parse_service(value: Any) -> tuple[Record, Notes]:
    """The service as Koppi keeps it, in canonical form, and what Koppi could not use.

    Only a record Koppi cannot show at all (no id, no name, no status) raises RecordErrors;
    any other problem is a warning in the notes. The standard's own rules are checked before
    this (service.directory.standard), so this is only what Koppi needs on top."""
    notes = Notes()
    record = _object(value, SERVICE, "", notes)
    if record is None:
        raise RecordErrors(notes.fatal or [FieldError("service", _("must be an object"))])
    organization = record.get("organization")
    if organization is not None:
        given = record.get("organization_id")
        if given is not None and given != organization["id"]:
            notes.leave_out(
                "organization_id", _("differs from organization.id; Koppi uses organization.id")
            )
        record["organization_id"] = organization["id"]
    _attribute_terms(record, notes)
    return _ordered(record, SERVICE), notes


def _ordered(record: Record, shape: Shape) -> Record:
    """Keys in the shape's order, so equal records serialise to equal JSON."""
    result: Record = {}
    for name, _check in shape.fields:
        if name in record:
            result[name] = record[name]
    for name, child in shape.objects:
        if name in record:
            result[name] = _ordered(record[name], child)
    for name, child in shape.lists:
        if name in record:
            result[name] = [_ordered(item, child) for item in record[name]]
    texts = record.get("translations")
    if texts:
        result["translations"] = {
            lang: {n: texts[lang][n] for n in shape.translatable if n in texts[lang]}
            for lang in sorted(texts)
        }
    return result


def canonical(record: Record) -> Record:
    """A stored record, as storage rebuilt it, in the same form `parse_service` gives."""
    return _ordered(_without_empty(record), SERVICE)


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _without_empty(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in kept.items() if v != [] and v != {}}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value


def record_id(value: Any) -> str | None:
    """The id a raw record claims, for reports about records that did not parse."""
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"][:64]
    return None
