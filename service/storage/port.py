"""`port-db`: copy a SQLite database into an empty PostgreSQL database, in one transaction.

The target gets the schema from PostgreSQL's own migrations, then every table's rows with their
ids, identity sequences moved past the highest id ever given (SQLite's AUTOINCREMENT counter
included, so a chat resumed after an id still sees only newer messages), and search entries
built from the same documents SQLite indexed. Row counts are compared per table before the
commit. Everything happens in one transaction: an interruption or a failure leaves the target
as empty as it was."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg

from service.storage.engines import postgres
from service.storage.engines.sqlite import migrate_path
from service.storage.errors import StorageError

_BATCH = 5000
# SQLite's full-text tables (and their shadow tables) are rebuilt, not copied.
_SEARCH_SOURCES = {"question": "question_trigrams", "service": "service_trigrams"}
_NOTHING = "; nothing was copied, the target is as empty as before"
_INT_RANGES = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}
# Extension types that asyncpg's binary COPY cannot encode by itself; each travels as the core
# type it wraps.
_EXTENSION_TYPES = {"citext": "text"}


class PortRefused(StorageError):
    """The target is not empty, or the source does not fit it; nothing was changed."""


class _Unfit(ValueError):
    """A value SQLite kept that the PostgreSQL column cannot hold."""


def _source_tables(conn: sqlite3.Connection) -> list[str]:
    """Ordinary tables: not SQLite's own, not the full-text tables or their shadow tables."""
    fts = ("question_stems", "question_trigrams", "service_stems", "service_trigrams")
    return [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'"
        )
        if not name.startswith(tuple(f"{t}_" for t in fts))
    ]


def _in_dependency_order(conn: sqlite3.Connection, tables: list[str]) -> list[str]:
    """Referenced tables before the tables that refer to them."""
    needs = {
        table: {row[2] for row in conn.execute(f"PRAGMA foreign_key_list({table})")} - {table}
        for table in tables
    }
    ordered: list[str] = []
    while needs:
        ready = sorted(t for t, n in needs.items() if not n - set(ordered))
        if not ready:
            raise PortRefused(f"circular references between tables: {sorted(needs)}")
        ordered += ready
        for t in ready:
            del needs[t]
    return ordered


def _batches(conn: sqlite3.Connection, sql: str) -> Iterator[list[tuple[Any, ...]]]:
    cursor = conn.execute(sql)
    while batch := cursor.fetchmany(_BATCH):
        yield batch


def _convert(pg_type: str, value: Any) -> Any:
    """SQLite keeps any value in any column; PostgreSQL takes only the column's type.

    Nothing is coerced that SQLite's column affinity left apart (a fraction or words in an
    integer column, words in a number column, bytes in a text column): the port refuses the
    row by name rather than change what it said."""
    if value is None:
        return None
    if pg_type in _INT_RANGES:
        bound = _INT_RANGES[pg_type]
        if isinstance(value, int) and -bound <= value < bound:
            return value
        raise _Unfit(f"{_shown(value)} is not a whole number its {pg_type} column can hold")
    if pg_type == "double precision":
        if isinstance(value, int | float):
            return float(value)
        raise _Unfit(f"{_shown(value)} is not a number")
    if isinstance(value, bytes):
        raise _Unfit(f"binary data ({len(value)} bytes) where PostgreSQL expects {pg_type}")
    text = str(value)
    if "\x00" in text:
        raise _Unfit("the text holds a NUL character, which PostgreSQL's text cannot hold")
    return text


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _row_name(columns: list[str], row: tuple[Any, ...], number: int) -> str:
    if "id" in columns:
        return f"row id {row[columns.index('id')]}"
    return f"row {number}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _converted(
    table: str, columns: list[str], types: list[str], row: tuple[Any, ...], number: int
) -> tuple[Any, ...]:
    out = []
    for column, pg_type, value in zip(columns, types, row, strict=True):
        try:
            out.append(_convert(pg_type, value))
        except _Unfit as exc:
            where = f"table {table}, {_row_name(columns, row, number)}, column {column}"
            raise PortRefused(f"{where}: {exc}{_NOTHING}") from None
    return tuple(out)


def _copy_failure(
    table: str, columns: list[str], batch: list[tuple[Any, ...]], done: int, exc: BaseException
) -> PortRefused:
    """The row PostgreSQL refused: the error's context says `COPY table, line N, column c`."""
    context = getattr(exc, "context", None) or ""
    found = re.search(r"line (\d+)(?:, column (\w+))?", context)
    if found and 0 < int(found[1]) <= len(batch):
        row = _row_name(columns, batch[int(found[1]) - 1], done + int(found[1]))
        column = f", column {found[2]}" if found[2] else ""
        return PortRefused(f"table {table}, {row}{column}: {_one_line(exc)}{_NOTHING}")
    return PortRefused(f"table {table}: {_one_line(exc)}{_NOTHING}")


async def _copy_table(conn: asyncpg.Connection, source: sqlite3.Connection, table: str) -> int:
    columns = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        table,
    )
    target_types = {r["column_name"]: r["data_type"] for r in columns}
    source_columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
    missing = set(source_columns) ^ set(target_types)
    if missing:
        raise PortRefused(
            f"table {table}: the columns differ between the engines: {sorted(missing)}{_NOTHING}"
        )
    types = [target_types[c] for c in source_columns]
    copied = 0
    select = f"SELECT {', '.join(source_columns)} FROM {table}"  # noqa: S608
    for batch in _batches(source, select):
        records = [
            _converted(table, source_columns, types, row, number)
            for number, row in enumerate(batch, start=copied + 1)
        ]
        try:
            await conn.copy_records_to_table(table, records=records, columns=source_columns)
        except (
            asyncpg.PostgresError,
            asyncpg.exceptions.InternalClientError,
            ValueError,
            TypeError,
            OverflowError,
        ) as exc:
            raise _copy_failure(table, source_columns, batch, copied, exc) from exc
        copied += len(records)
    return copied


async def _teach_extension_types(conn: asyncpg.Connection) -> None:
    for row in await conn.fetch(
        "SELECT DISTINCT udt_schema, udt_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND data_type = 'USER-DEFINED'"
    ):
        core = _EXTENSION_TYPES.get(row["udt_name"])
        if core:
            await conn.set_builtin_type_codec(
                row["udt_name"], schema=row["udt_schema"], codec_name=core
            )


def _ids_ever_given(source: sqlite3.Connection) -> dict[str, int]:
    """SQLite's AUTOINCREMENT counters: ids given once stay given, even to deleted rows."""
    if not source.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
        return {}
    return {name: int(seq) for name, seq in source.execute("SELECT name, seq FROM sqlite_sequence")}


async def _move_sequences(conn: asyncpg.Connection, source: sqlite3.Connection) -> None:
    ever = _ids_ever_given(source)
    for row in await conn.fetch(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND is_identity = 'YES'"
    ):
        table, column = row["table_name"], row["column_name"]
        highest = await conn.fetchval(f"SELECT max({column}) FROM {table}")  # noqa: S608
        highest = max(int(highest or 0), ever.get(table, 0))
        if highest:
            await conn.execute(
                "SELECT setval(pg_get_serial_sequence($1, $2), $3)", table, column, highest
            )


async def _rebuild_search(conn: asyncpg.Connection, source: sqlite3.Connection, label: str) -> None:
    writer = postgres.PostgresWriter(conn, label)
    for index, table in _SEARCH_SOURCES.items():
        for batch in _batches(source, f"SELECT rowid, text FROM {table}"):  # noqa: S608
            await postgres.DIALECT.index_documents(writer, index, batch)
        expected = source.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
        found = await conn.fetchval(f"SELECT count(*) FROM {index}_search")  # noqa: S608
        if found != expected:
            raise PortRefused(
                f"search index {index}: {found} entries in PostgreSQL, {expected} in SQLite"
                f"{_NOTHING}"
            )


def port(sqlite_path: Path, url: str, say: Callable[[str], None]) -> dict[str, int]:
    """Copy the database at `sqlite_path` into the empty PostgreSQL database at `url`."""
    if not sqlite_path.is_file():
        raise PortRefused(f"there is no SQLite database at {sqlite_path} (KOPPI_DB)")
    try:
        return asyncio.run(_port(sqlite_path, url, say))
    except sqlite3.Error as exc:
        raise PortRefused(
            f"cannot read the SQLite database at {sqlite_path}: {_one_line(exc)}{_NOTHING}"
        ) from exc


async def _connect(url: str, label: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(url, timeout=10)
    except postgres.LOST as exc:
        raise PortRefused(f"cannot reach PostgreSQL at {label}: {_one_line(exc)}") from exc
    except asyncpg.PostgresError as exc:
        raise PortRefused(f"PostgreSQL at {label} refused: {_one_line(exc)}") from exc


async def _port(sqlite_path: Path, url: str, say: Callable[[str], None]) -> dict[str, int]:
    label = postgres.where(url)
    await migrate_path(sqlite_path)  # the source at the newest schema, as the target will be
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        # One read snapshot for every table and count: a service still writing to the file
        # cannot make the copy disagree with itself.
        source.execute("BEGIN")
        conn = await _connect(url, label)
        try:
            await postgres.refuse_unless_empty(conn, label, PortRefused, "port-db copies")
            try:
                return await _copy_all(conn, source, label, say)
            except asyncpg.PostgresError as exc:
                raise PortRefused(
                    f"PostgreSQL at {label} refused the copy: {_one_line(exc)}{_NOTHING}"
                ) from exc
        finally:
            await conn.close()
    finally:
        source.close()


async def _copy_all(
    conn: asyncpg.Connection, source: sqlite3.Connection, label: str, say: Callable[[str], None]
) -> dict[str, int]:
    tables = _in_dependency_order(source, _source_tables(source))
    counts: dict[str, int] = {}
    async with conn.transaction():
        # The migrations commit only with the rows: their "applied" lines would say otherwise
        # when the copy fails.
        migrations_log = logging.getLogger(postgres.__name__)
        level = migrations_log.level
        migrations_log.setLevel(logging.WARNING)
        try:
            await postgres.migrate(conn)
        finally:
            migrations_log.setLevel(level)
        # The migrations' starting rows (categories, canned responses, …) give way to the
        # source's own.
        await conn.execute(f"TRUNCATE {', '.join(tables)}")
        await _teach_extension_types(conn)
        for table in tables:
            counts[table] = await _copy_table(conn, source, table)
        await _move_sequences(conn, source)
        await _rebuild_search(conn, source, label)
        for table in tables:
            expected = source.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            found = await conn.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608
            if found != expected:
                raise PortRefused(
                    f"table {table}: {found} rows in PostgreSQL, {expected} in SQLite{_NOTHING}"
                )
    # The planner's statistics now, not when autovacuum gets round to the new tables: the first
    # searches after a port would otherwise run on guesses.
    await conn.execute("ANALYZE")
    # Only after the commit: a failed copy reports nothing as copied.
    for table, count in counts.items():
        say(f"{table}: {count} rows")
    return counts
