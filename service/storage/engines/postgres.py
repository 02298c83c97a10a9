"""PostgreSQL through asyncpg: a connection pool, the same one-writer rule, tsvector and pg_trgm.

Statements arrive with SQLite's `?` placeholders and are rewritten to `$1, $2, …` once each.
Writes take a transaction-level advisory lock: one writer at a time across every Koppi process
on the database, as SQLite's file lock gives, so read-then-write steps (claiming a question,
assigning a chat) stay correct and chat message ids commit in the order they were given."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg

from service.storage.db import (
    Database,
    Dialect,
    LeaderLock,
    Row,
    SearchTerm,
    Writer,
    migrations,
)
from service.storage.errors import CannotOpen, Duplicate, MigrationFailed, Unavailable

log = logging.getLogger(__name__)

# Advisory lock keys (any 64-bit numbers, fixed for Koppi): the writer, and the migrations.
WRITE_LOCK = 0x4B4F505049_01
MIGRATE_LOCK = 0x4B4F505049_02
LEADER_LOCK = 0x4B4F505049_03
# The leader's own connection: a peer that vanished without closing it (a machine lost) is
# noticed by the server within about half a minute, and the lock goes with it.
_LEADER_SESSION = {
    "application_name": "koppi-leader",
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}
_BEGIN_WRITE = f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
_BEGIN_UNFLUSHED = f"{_BEGIN_WRITE}; SET LOCAL synchronous_commit = off"
_INDEXES = ("question", "service")
# The connection is gone or the server is not taking connections: the request can be retried
# once the database is back, and the pool reconnects by itself.
LOST: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


def where(url: str) -> str:
    """host:port/dbname of a postgresql:// URL, for messages (never the password)."""
    parts = urlsplit(url)
    host = parts.hostname or os.environ.get("PGHOST", "localhost")
    port = parts.port or 5432
    name = unquote(parts.path.lstrip("/")) or parts.username or ""
    return f"{host}:{port}/{name}"


@functools.lru_cache(maxsize=4096)
def placeholders(sql: str) -> str:
    """`?` → `$n`, leaving question marks inside quoted strings and identifiers alone."""
    out: list[str] = []
    n = 0
    quote = ""
    for ch in sql:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            n += 1
            out.append(f"${n}")
            continue
        out.append(ch)
    return "".join(out)


def _translated(exc: BaseException, label: str) -> BaseException:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        # asyncpg may report a query cut off by cancellation as a protocol error; the caller
        # is being cancelled, and that is what it must hear.
        return asyncio.CancelledError()
    if isinstance(exc, asyncpg.UniqueViolationError):
        return Duplicate(str(exc))
    if isinstance(exc, LOST):
        return Unavailable(f"PostgreSQL at {label} is unreachable: {exc or type(exc).__name__}")
    return exc


def _index(name: str) -> str:
    if name not in _INDEXES:
        raise ValueError(name)
    return name


def _like_escaped(piece: str) -> str:
    return piece.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PostgresDialect(Dialect):
    name = "postgresql"

    def nocase(self, expr: str) -> str:
        return f"lower({expr})"

    def using_index(self, table: str, index: str) -> str:
        return table

    def json_value(self, column: str, key: str) -> str:
        # jsonb keeps numbers and text apart; true/false read as 1/0, as SQLite gives them.
        value = f"(CAST({column} AS jsonb) -> '{key}')"
        return (
            f"(CASE jsonb_typeof({value}) WHEN 'number' THEN CAST({value} AS double precision)"
            f" WHEN 'boolean' THEN CAST(CAST({value} AS boolean) AS integer) END)"
        )

    def json_text(self, column: str, key: str) -> str:
        return f"(CAST({column} AS jsonb) ->> '{key}')"

    def seconds_between(self, later: str, earlier: str) -> str:
        return (
            f"EXTRACT(EPOCH FROM (CAST({later} AS timestamptz) - CAST({earlier} AS timestamptz)))"
        )

    def search_hits(self, index: str, terms: Sequence[SearchTerm]) -> tuple[str, list[Any]]:
        """The `finnish` Snowball configuration (with accents folded: koppi_finnish) stems the
        term itself and matches it as a word prefix; pg_trgm's index finds a piece inside the
        lower-cased text."""
        table = f"{_index(index)}_search"
        parts: list[str] = []
        params: list[Any] = []
        for word in terms:
            branch = (
                f"SELECT id FROM {table} WHERE stems @@"
                " to_tsquery('koppi_finnish', quote_literal(CAST(? AS text)) || ':*')"
            )
            params.append(word.term)
            for piece in word.pieces:
                branch += f" UNION SELECT id FROM {table} WHERE text LIKE ?"
                params.append(f"%{_like_escaped(piece)}%")
            parts.append(f"SELECT id FROM ({branch}) AS b{len(parts)}")
        return " INTERSECT ".join(parts), params

    def word_hits(self, index: str, term: SearchTerm, *, whole: bool) -> tuple[str, list[Any]]:
        """The term stemmed by `koppi_finnish`, as a whole lexeme or as the start of one."""
        prefix = "" if whole else " || ':*'"
        sql = (
            f"SELECT id FROM {_index(index)}_search WHERE stems @@"
            f" to_tsquery('koppi_finnish', quote_literal(CAST(? AS text)){prefix})"
        )
        return sql, [term.term]

    def piece_hits(self, index: str, term: SearchTerm) -> tuple[str, list[Any]]:
        matches = " OR ".join("text LIKE ?" for _ in term.pieces)
        return (
            f"SELECT id FROM {_index(index)}_search WHERE {matches}",
            [f"%{_like_escaped(p)}%" for p in term.pieces],
        )

    def similar_hits(
        self, index: str, terms: Sequence[SearchTerm], window: int
    ) -> tuple[str, list[Any]]:
        """One scan per term with the stem and the pieces together, newest first and cut at
        `window`. The planner walks the primary key backwards, testing each row, until the
        window is full: quick for a common word, some 50 ms for one in 2% of 100,000 questions
        (bench/README.md); testing the stem and the pieces in two scans measured slower."""
        table = f"{_index(index)}_search"
        parts: list[str] = []
        params: list[Any] = []
        for n, word in enumerate(terms):
            matches = "stems @@ to_tsquery('koppi_finnish', quote_literal(CAST(? AS text)) || ':*')"
            params.append(word.term)
            for piece in word.pieces:
                matches += " OR text LIKE ?"
                params.append(f"%{_like_escaped(piece)}%")
            parts.append(
                f"SELECT {n} AS t, id FROM (SELECT id FROM {table} WHERE {matches}"
                f" ORDER BY id DESC LIMIT {int(window)}) AS w{n}"
            )
        return " UNION ALL ".join(parts), params

    async def index_documents(
        self, tx: Writer, index: str, documents: Sequence[tuple[int, str]]
    ) -> None:
        await tx.execute_many(
            f"INSERT INTO {_index(index)}_search (id, stems, text)"
            " VALUES (?, to_tsvector('koppi_finnish', CAST(? AS text)), ?)",
            [(rowid, document, document.lower()) for rowid, document in documents],
        )

    async def unindex(self, tx: Writer, index: str, rowids: Sequence[int]) -> None:
        # One array parameter, so any number of rows is one statement.
        await tx.execute(
            f"DELETE FROM {_index(index)}_search WHERE id = ANY(CAST(? AS bigint[]))",
            (list(rowids),),
        )

    async def indexed_count(self, tx: Writer, index: str, rowids: Sequence[int]) -> int:
        marks = ",".join("?" * len(rowids))
        count = await tx.fetch_value(
            f"SELECT count(*) FROM {_index(index)}_search WHERE id IN ({marks})", rowids
        )
        return int(count or 0)

    async def compact_search(self, tx: Writer) -> None:
        """Nothing a transaction can do: deleted index entries and rows stay in their pages
        until VACUUM, which the quiet-hours upkeep runs (docs/postgresql.md)."""


DIALECT = PostgresDialect()


async def _prepare_connection(conn: asyncpg.Connection) -> None:
    # Sums and averages of integers come back as numeric; a float is what SQLite gives.
    await conn.set_type_codec(
        "numeric", encoder=str, decoder=float, schema="pg_catalog", format="text"
    )


class PostgresDatabase(Database):
    """A pool of connections: reads take any, writes one at a time under the write lock."""

    dialect = DIALECT

    def __init__(self, url: str, *, max_connections: int = 10) -> None:
        self.url = url
        self.label = "postgresql://" + where(url)
        self.created = False
        self.applied: list[str] = []
        self._max = max_connections
        self._pool: asyncpg.Pool | None = None
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        # create_pool connects nothing (no floor); the first connection, for the migrations,
        # is where an unreachable server or a refused login shows.
        self._pool = await asyncpg.create_pool(
            self.url,
            # No floor to keep up: while the server is away the pool would retry it with a
            # traceback in the log each time. Idle connections stay open instead.
            min_size=0,
            max_size=self._max,
            max_inactive_connection_lifetime=0,
            init=_prepare_connection,
            timeout=10,
            # Every commit waits for its WAL flush: an acknowledged message is on disk.
            server_settings={"synchronous_commit": "on", "application_name": "koppi"},
        )
        try:
            async with self._pool.acquire() as conn:
                self.applied = await migrate(conn)
        except BaseException as exc:
            await self.close()
            if isinstance(exc, MigrationFailed):
                raise CannotOpen(f"cannot open the database {self.label}: {exc}") from exc
            if isinstance(exc, LOST):
                raise Unavailable(f"cannot reach PostgreSQL at {where(self.url)}: {exc}") from exc
            if isinstance(exc, asyncpg.PostgresError):
                raise Unavailable(f"PostgreSQL at {where(self.url)} refused: {exc}") from exc
            raise
        self.created = any(name.startswith("0001_") for name in self.applied)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    async def fetch_all(
        self, sql: str, params: Sequence[Any] = (), *, slow: bool = False
    ) -> list[Row]:
        try:
            return await self.pool.fetch(placeholders(sql), *params)  # type: ignore[no-any-return]
        except Exception as exc:
            raise _translated(exc, self.label) from exc

    @asynccontextmanager
    async def _transaction(self, flushed: bool) -> AsyncIterator[Writer]:
        async with self._write_lock:
            pool = self.pool
            try:
                conn = await pool.acquire()
            except Exception as exc:
                raise _translated(exc, self.label) from exc
            try:
                try:
                    await conn.execute(_BEGIN_WRITE if flushed else _BEGIN_UNFLUSHED)
                except Exception as exc:
                    raise _translated(exc, self.label) from exc
                try:
                    yield PostgresWriter(conn, self.label)
                except BaseException:
                    try:
                        await conn.execute("ROLLBACK")
                    except Exception:
                        # Lost, or busy with a statement a cancellation cut off: the pool
                        # must not hand this connection out again.
                        with contextlib.suppress(Exception):
                            conn.terminate()
                    raise
                try:
                    await conn.execute("COMMIT")
                except Exception as exc:
                    raise _translated(exc, self.label) from exc
            finally:
                with contextlib.suppress(Exception):  # a pool closed meanwhile has let it go
                    await pool.release(conn)

    def leader_lock(self) -> LeaderLock:
        return _AdvisoryLeaderLock(self.url)

    async def vacuum(self) -> None:
        """VACUUM removes dead rows and index entries from their pages (their space is reused);
        it cannot run in a transaction, so it has a connection of its own, no write lock."""
        try:
            await self.pool.execute("VACUUM (ANALYZE)")
        except Exception as exc:
            raise _translated(exc, self.label) from exc


class PostgresWriter(Writer):
    dialect = DIALECT

    def __init__(self, conn: asyncpg.Connection, label: str) -> None:
        super().__init__()
        self._conn = conn
        self._label = label

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            status = await self._conn.execute(placeholders(sql), *params)
        except Exception as exc:
            raise _translated(exc, self._label) from exc
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            value = await self._conn.fetchval(placeholders(sql) + " RETURNING id", *params)
        except Exception as exc:
            raise _translated(exc, self._label) from exc
        return int(value)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            await self._conn.executemany(placeholders(sql), rows)
        except Exception as exc:
            raise _translated(exc, self._label) from exc

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return await self._conn.fetch(placeholders(sql), *params)  # type: ignore[no-any-return]
        except Exception as exc:
            raise _translated(exc, self._label) from exc


async def schema_version(conn: asyncpg.Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('koppi_schema_version') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT version FROM koppi_schema_version") or 0)


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply every migration newer than the schema version, each in its own transaction.

    A session advisory lock makes a second process starting at the same time wait, then find
    the migrations already applied: none runs twice."""
    applied: list[str] = []
    await conn.execute(f"SELECT pg_advisory_lock({MIGRATE_LOCK})")
    try:
        for number, name, sql in migrations("postgresql"):
            if number <= await schema_version(conn):
                continue
            try:
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "CREATE TABLE IF NOT EXISTS koppi_schema_version (version integer);"
                        "DELETE FROM koppi_schema_version;"
                        f"INSERT INTO koppi_schema_version (version) VALUES ({number})"
                    )
            except asyncpg.PostgresError as exc:
                raise MigrationFailed(f"migration {name} failed: {exc}") from exc
            log.info("applied migration %s", name)
            applied.append(name)
    finally:
        await conn.execute(f"SELECT pg_advisory_unlock({MIGRATE_LOCK})")
    return applied


async def refuse_unless_empty(
    conn: asyncpg.Connection, label: str, error: type[Exception], what: str
) -> None:
    """`port-db` and `restore` write only into a database without tables."""
    tables = [
        r[0]
        for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        )
    ]
    if tables:
        shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
        raise error(
            f"{label} is not empty (it has {len(tables)} tables: {shown});"
            f" {what} only into an empty database, and changed nothing there"
        )


class _AdvisoryLeaderLock(LeaderLock):
    """A session advisory lock on a connection of its own, outside the pool: the server releases
    it when the connection ends, so a killed process never holds the lead."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: asyncpg.Connection | None = None

    async def try_acquire(self) -> bool:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                self._url, timeout=5, server_settings=_LEADER_SESSION
            )
        return bool(await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK))

    async def held(self) -> bool:
        """The lock lives as long as the connection: a round trip on it proves both."""
        if self._conn is None or self._conn.is_closed():
            return False
        try:
            await self._conn.fetchval("SELECT 1", timeout=5)
        except Exception:
            await self.release()
            return False
        return True

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()  # ends the session, and with it the lock, without a round trip
