"""HSDS 3.0's tabular form: a Frictionless data package, datapackage.json and one CSV per table.

Reading checks the files against the vendored standard (every column a field of its table,
numbers are numbers) and refuses the whole package with its problems listed; what the rows
mean is judged after, by the importer. Strings stay exactly as written. A zip is read entry by
entry within the limits below, so a hostile file costs no more than an honest one."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from service.directory.standard import STANDARD_DIR, entity_schema, own_fields
from service.i18n import gettext as _

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

Tables = dict[str, list[dict[str, Any]]]
Opener = Callable[[str], IO[bytes]]  # a file of the package by its path; FileNotFoundError if none

PACKAGE_FILE = "datapackage.json"
MAX_TOTAL_BYTES = 100 * 1024 * 1024
MAX_ENTRIES = 64
# Real CSVs deflate five- to twentyfold; a large entry packed far tighter is a zip bomb.
MAX_RATIO = 200
RATIO_FROM_BYTES = 1024 * 1024
MAX_PROBLEMS = 20
# Fixed zip timestamps: the same tables give the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_BROKEN_ZIP = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError)


class PackageError(ValueError):
    """A package refused as a whole; str() lists the problems in the reader's language."""

    field = "file"

    def __init__(self, *problems: str) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


# The standard: its tables, their files and columns.


@cache
def _standard() -> dict[str, Any]:
    with (STANDARD_DIR / PACKAGE_FILE).open(encoding="utf-8") as file:
        package: dict[str, Any] = json.load(file)
    return package


@cache
def _resources() -> dict[str, dict[str, Any]]:
    return {resource["name"]: resource for resource in _standard()["resources"]}


def _known(entity: str) -> None:
    if entity not in _resources():
        raise KeyError(f"not an HSDS 3.0 table: {entity!r}")


@cache
def entity_fields(entity: str) -> tuple[str, ...]:
    _known(entity)
    return own_fields(entity)


@cache
def table_file(entity: str) -> str:
    _known(entity)
    return str(entity_schema(entity)["path"])


@cache
def _number_fields(entity: str) -> frozenset[str]:
    properties = entity_schema(entity)["properties"]
    return frozenset(f for f in entity_fields(entity) if properties[f].get("type") == "number")


@cache
def _entity_by_file() -> dict[str, str]:
    return {table_file(entity): entity for entity in _resources()}


# Reading.


class _Problems:
    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, problem: str) -> None:
        if len(self.found) == MAX_PROBLEMS:
            more = _("Only the first %(n)d problems are listed.") % {"n": MAX_PROBLEMS}
            raise PackageError(*self.found, more)
        self.found.append(problem)

    def raise_any(self) -> None:
        if self.found:
            raise PackageError(*self.found)


def _too_large() -> PackageError:
    mb = MAX_TOTAL_BYTES // (1024 * 1024)
    return PackageError(_("The package is too large: over %(mb)d MB unpacked.") % {"mb": mb})


class _Counted(io.RawIOBase):
    """One file's bytes, spent from the whole package's allowance as they are read."""

    def __init__(self, raw: IO[bytes], name: str, left: list[int]) -> None:
        self._raw, self._name, self._left = raw, name, left

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._raw.read(len(view))
        except _BROKEN_ZIP:
            raise PackageError(_unreadable(self._name)) from None
        view[: len(data)] = data
        self._left[0] -= len(data)
        if self._left[0] < 0:
            raise _too_large()
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _unreadable(name: str) -> str:
    return _("%(file)s in the zip file is damaged or encrypted.") % {"file": name}


def _safe_path(path: str) -> bool:
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and ".." not in parts and ":" not in parts[0]


def read_zip(data: bytes) -> Tables:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise PackageError(_("The file is not a zip file.")) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise PackageError(_("The zip file has more than %(n)d files.") % {"n": MAX_ENTRIES})
        if sum(info.file_size for info in infos) > MAX_TOTAL_BYTES:
            raise _too_large()
        entries: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            # Older Windows tools write backslashes; the zip format says slashes.
            name = info.filename.replace("\\", "/")
            if not _safe_path(name):
                raise PackageError(
                    _("The zip file has an unsafe file name: %(file)s") % {"file": name}
                )
            entries[name] = info
        root = _package_root(entries)
        left = [MAX_TOTAL_BYTES]

        def open_entry(path: str) -> IO[bytes]:
            info = entries.get(root + path)
            if info is None or info.is_dir():
                raise FileNotFoundError(path)
            if info.file_size > max(RATIO_FROM_BYTES, MAX_RATIO * info.compress_size):
                raise PackageError(
                    _("The zip file is refused: %(file)s is packed too tightly to be a data file.")
                    % {"file": path}
                )
            try:
                raw = archive.open(info)
            except _BROKEN_ZIP:
                raise PackageError(_unreadable(path)) from None
            return io.BufferedReader(_Counted(raw, path, left))

        return _read_package(open_entry)


def _package_root(entries: dict[str, zipfile.ZipInfo]) -> str:
    """The folder in the zip that holds datapackage.json: its root or one top-level folder."""
    if PACKAGE_FILE in entries:
        return ""
    roots = [n.removesuffix(PACKAGE_FILE) for n in entries if n.endswith("/" + PACKAGE_FILE)]
    roots = [root for root in roots if root.count("/") == 1]
    if not roots:
        raise PackageError(_("The zip file has no datapackage.json."))
    if len(roots) > 1:
        raise PackageError(_("The zip file has more than one datapackage.json."))
    return roots[0]


def read_folder(path: Path) -> Tables:
    root = path.resolve()
    if not (root / PACKAGE_FILE).is_file():
        raise PackageError(_("The folder has no datapackage.json."))
    left = [MAX_TOTAL_BYTES]

    def open_file(name: str) -> IO[bytes]:
        target = (root / name).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise FileNotFoundError(name)
        return io.BufferedReader(_Counted(target.open("rb"), name, left))

    return _read_package(open_file)


def _read_package(open_file: Opener) -> Tables:
    try:
        with io.TextIOWrapper(open_file(PACKAGE_FILE), encoding="utf-8-sig") as text:
            package = json.load(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise PackageError(_("datapackage.json is not valid JSON.")) from None
    problems = _Problems()
    tables: Tables = {}
    for entity, path in _listed_tables(package).items():
        try:
            stream = open_file(path)
        except FileNotFoundError:
            message = _("%(file)s is listed in datapackage.json but is missing.")
            problems.add(message % {"file": path})
            continue
        tables[entity] = _read_table(entity, path, stream, problems)
    problems.raise_any()
    return tables


def _listed_tables(package: Any) -> dict[str, str]:
    """entity → path of each HSDS table the package lists; the publisher's own tables are left."""
    resources = package.get("resources") if isinstance(package, dict) else None
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        raise PackageError(_("datapackage.json does not list its resources."))
    listed: dict[str, str] = {}
    for resource in resources:
        name, path = resource.get("name"), resource.get("path")
        file_name = path.rsplit("/", 1)[-1] if isinstance(path, str) else ""
        entity = name if name in _resources() else _entity_by_file().get(file_name)
        if entity is None:
            continue
        if not isinstance(path, str) or not _safe_path(path) or "://" in path:
            message = _(
                "datapackage.json: the table %(table)s needs the path of a CSV file in the package."
            )
            raise PackageError(message % {"table": entity})
        if entity in listed:
            message = _("datapackage.json lists the table %(table)s twice.")
            raise PackageError(message % {"table": entity})
        listed[entity] = path
    return listed


def _read_table(
    entity: str, path: str, stream: IO[bytes], problems: _Problems
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    line = 1
    with io.TextIOWrapper(stream, encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text)
        try:
            header = next(reader, None)
            if header is None:
                problems.add(
                    _("%(file)s is empty: it needs at least a header line.") % {"file": path}
                )
                return rows
            if not _header_ok(entity, path, header, problems):
                return rows
            line = reader.line_num + 1
            for cells in reader:
                if any(cells):  # an empty line, or one of only commas, holds no row
                    row = _row(entity, path, line, header, cells, problems)
                    rows.append(row)
                line = reader.line_num + 1
        except UnicodeDecodeError:
            problems.add(_("%(file)s is not UTF-8 text. Save it as CSV UTF-8.") % {"file": path})
        except csv.Error:
            message = _(
                "%(file)s, line %(line)d: not readable as CSV (an open quote or an overlong value)."
            )
            problems.add(message % {"file": path, "line": line})
    return rows


def _header_ok(entity: str, path: str, header: list[str], problems: _Problems) -> bool:
    fields = entity_fields(entity)
    before = len(problems.found)
    seen: set[str] = set()
    for column in header:
        names = {"file": path, "column": column, "table": entity}
        if column not in fields:
            problems.add(
                _("%(file)s: the column “%(column)s” is not a field of %(table)s in HSDS 3.0.")
                % names
            )
        elif column in seen:
            problems.add(_("%(file)s: the column “%(column)s” appears twice.") % names)
        seen.add(column)
    if "id" not in seen:
        problems.add(_("%(file)s: the column id is missing.") % {"file": path})
    return len(problems.found) == before


def _row(
    entity: str, path: str, line: int, header: list[str], cells: list[str], problems: _Problems
) -> dict[str, Any]:
    if len(cells) > len(header):
        message = _("%(file)s, line %(line)d: more values than the header has columns.")
        problems.add(message % {"file": path, "line": line})
    numbers = _number_fields(entity)
    row: dict[str, Any] = {}
    for column, cell in zip(header, cells, strict=False):
        if column not in numbers:
            if cell:
                row[column] = cell
        elif cell.strip():
            number = _number(cell)
            if number is None:
                where = {"file": path, "line": line, "column": column, "value": cell[:40]}
                problems.add(
                    _("%(file)s, line %(line)d, column %(column)s: “%(value)s” is not a number.")
                    % where
                )
            else:
                row[column] = number
    return row


def _number(text: str) -> int | float | None:
    """A number as JSON writes it: an int when it is whole, else a float; None if it is none."""
    text = text.strip()
    if len(text) > 40 or not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    if not math.isfinite(value):
        return None
    if value.is_integer():
        # Straight from the digits, so a long whole number keeps every digit.
        return int(text) if text.lstrip("+-").isdigit() else int(value)
    return value


# Writing.


def write_zip(tables: Tables) -> bytes:
    for entity in tables:
        _known(entity)
    entities = [entity for entity in _resources() if entity in tables]
    package = {key: value for key, value in _standard().items() if key != "resources"}
    package["profile"] = "tabular-data-package"
    package["resources"] = [_resources()[entity] for entity in entities]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _add(archive, PACKAGE_FILE, json.dumps(package, indent=2, ensure_ascii=False) + "\n")
        for entity in entities:
            _add(archive, table_file(entity), _csv(entity, tables[entity]))
    return buffer.getvalue()


def _add(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, wherever it was written
    info.external_attr = 0o644 << 16
    archive.writestr(info, text.encode("utf-8"))


def _csv(entity: str, rows: list[dict[str, Any]]) -> str:
    fields = entity_fields(entity)
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180's CRLF lines, as the standard's examples have
    writer.writerow(fields)
    for row in rows:
        extra = sorted(row.keys() - set(fields))
        if extra:
            # A value with no column would be lost without a word.
            raise ValueError(f"{entity} has no column {extra[0]!r}")
        writer.writerow([_cell(row.get(field)) for field in fields])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)
