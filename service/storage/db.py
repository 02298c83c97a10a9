"""The storage seam: one API over SQLite and PostgreSQL, and the numbered migrations of each.

Handlers and moderation code get a `Database` and, inside `transaction()`, a `Writer`; they
never learn which engine runs. SQL is written once with `?` placeholders where both dialects
accept it; what differs (full-text search, JSON, secure deletion, vacuuming) is asked of the
engine's `Dialect`. The one-writer rule lives here too: a transaction holds the database's
single write lock from BEGIN to COMMIT, on either engine, so the moderation code's
read-then-write steps never race."""

from __future__ import annotations

import importlib.resources
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

from service.storage.errors import CannotOpen, Duplicate, MigrationFailed, Unavailable

if TYPE_CHECKING:
    from service.settings import Settings

__all__ = [
    "CannotOpen",
    "Database",
    "Dialect",
    "Duplicate",
    "LeaderLock",
    "MigrationFailed",
    "Row",
    "SearchTerm",
    "Unavailable",
    "Writer",
    "migrate_settings",
    "migrations",
    "open_database",
    "schema_version",
]

T = TypeVar("T")

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class Row(Protocol):
    """A result row: by column name or position, like a read-only mapping."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class SearchTerm(NamedTuple):
    """One word of a search: as typed (lower case), its Snowball stem, and the pieces to look
    for inside words (parts of compounds, a stem before consonant gradation)."""

    term: str
    stem: str
    pieces: Sequence[str]


class Dialect(ABC):
    """The SQL that differs between the engines; everything else is written once."""

    name: str

    @abstractmethod
    def json_value(self, column: str, key: str) -> str:
        """An expression for a JSON text column's top-level `key` when it holds a number or a
        boolean (true and false read as 1 and 0, as SQLite's json_extract gives them)."""

    @abstractmethod
    def nocase(self, expr: str) -> str:
        """`expr` for ordering and comparing without regard to letter case."""

    @abstractmethod
    def using_index(self, table: str, index: str) -> str:
        """`table` (with its alias) in a FROM clause, read through `index` where the planner
        needs telling (SQLite's INDEXED BY; PostgreSQL's planner chooses by itself)."""

    @abstractmethod
    def json_text(self, column: str, key: str) -> str:
        """An expression for a JSON text column's top-level `key` when it holds text."""

    @abstractmethod
    def seconds_between(self, later: str, earlier: str) -> str:
        """An expression for the seconds between two UTC text times."""

    @abstractmethod
    def search_hits(self, index: str, terms: Sequence[SearchTerm]) -> tuple[str, list[Any]]:
        """Row ids (one column, `id`) in the `index` search tables matching every term: by its
        stem as a word prefix, or by any of its pieces inside the text."""

    @abstractmethod
    def similar_hits(
        self, index: str, terms: Sequence[SearchTerm], window: int
    ) -> tuple[str, list[Any]]:
        """Rows (`t`, `id`): for each term (`t` its position) the newest `window` rows it
        matches as `search_hits` matches one term; a row may come more than once per term."""

    @abstractmethod
    async def index_documents(
        self, tx: Writer, index: str, documents: Sequence[tuple[int, str]]
    ) -> None:
        """Add rows' search entries, (row id, text) each (the caller removed any old ones)."""

    @abstractmethod
    async def unindex(self, tx: Writer, index: str, rowids: Sequence[int]) -> None:
        """Remove these rows' search entries."""

    @abstractmethod
    async def indexed_count(self, tx: Writer, index: str, rowids: Sequence[int]) -> int:
        """How many search entries these rows have."""

    @abstractmethod
    async def compact_search(self, tx: Writer) -> None:
        """Make deleted search entries leave the stored pages, as far as a transaction can."""


class _Reads(ABC):
    """One row, or one value, from a read: the same on a Database and inside a transaction."""

    @abstractmethod
    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        for row in await self.fetch_all(sql, params):
            return row
        return None

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]


class Writer(_Reads):
    """The statements available inside one write transaction."""

    dialect: Dialect

    def __init__(self) -> None:
        self.announced: list[object] = []

    def announce(self, change: object) -> None:
        """Tell the running service about `change` once this transaction has committed, and
        never if it rolls back: the database hands it to the change bus after COMMIT."""
        self.announced.append(change)

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; returns the number of rows changed."""

    @abstractmethod
    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT into a table with an `id` key; returns the new row's id."""

    @abstractmethod
    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    @abstractmethod
    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


class LeaderLock(ABC):
    """Held by one process at a time, and released by itself when that process dies."""

    @abstractmethod
    async def try_acquire(self) -> bool:
        """Take the lock if no one holds it; whether this process holds it now."""

    @abstractmethod
    async def held(self) -> bool:
        """Whether the lock is still this process's (its connection alive)."""

    @abstractmethod
    async def release(self) -> None: ...


class _OnlyProcess(LeaderLock):
    """SQLite serves one process: it always leads."""

    async def try_acquire(self) -> bool:
        return True

    async def held(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class Database(_Reads):
    """An open database: reads anywhere, writes inside `transaction()` only."""

    dialect: Dialect
    # True when open() created the schema from nothing (a new install: demo content goes in).
    created: bool = False
    # Where the data is, for messages: a file path, or a PostgreSQL URL without its password.
    label: str
    # The migrations open() applied, by file name.
    applied: list[str]
    # Hears what each committed transaction announced: the app's change bus.
    on_commit: Callable[[Sequence[object]], Awaitable[None]] | None = None

    @abstractmethod
    async def open(self) -> None:
        """Connect and apply any new migrations; raises CannotOpen or Unavailable."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def fetch_all(
        self, sql: str, params: Sequence[Any] = (), *, slow: bool = False
    ) -> list[Row]:
        """Rows of a read; `slow` marks a search, kept apart from the short lookups."""

    @asynccontextmanager
    async def transaction(self, *, flushed: bool = True) -> AsyncIterator[Writer]:
        """The single writer inside BEGIN … COMMIT; rolled back on any error. What the block
        announced goes to `on_commit` after the commit (Zulip's send_event_on_commit), so no
        process hears of a change that did not happen.

        `flushed=False` commits without waiting for the disk: for one step of a long job whose
        last transaction is flushed before anything is acknowledged. Flushing the log flushes
        every commit before it, so a power cut loses only steps nobody was told of."""
        async with self._transaction(flushed) as tx:
            yield tx
        await self._committed(tx.announced)

    async def _committed(self, announced: Sequence[object]) -> None:
        if announced and self.on_commit is not None:
            await self.on_commit(announced)

    async def run_transaction(
        self, work: Callable[[Writer], Awaitable[T]], *, flushed: bool = True
    ) -> T:
        """`work(tx)` inside `transaction()`, its result returned. An engine may run the whole
        of it where the data is, in one trip instead of one per statement (SQLite runs it on
        its database thread): so `work` awaits the writer's statements and nothing else."""
        async with self.transaction(flushed=flushed) as tx:
            return await work(tx)

    @abstractmethod
    def _transaction(self, flushed: bool) -> AbstractAsyncContextManager[Writer]:
        """The engine's BEGIN … COMMIT on its single writer."""

    async def sync_steps(self) -> None:
        """Make the unflushed steps before now durable without holding the writer, so the long
        job's last, flushed commit has little left to flush. PostgreSQL flushes its WAL in
        order at that commit anyway: nothing to do there."""

    def single_statements(self) -> AbstractAsyncContextManager[Writer]:
        """The writer for a hot path whose one statement is the whole write. An engine may
        let each statement commit by itself to save the round trips of BEGIN and COMMIT."""
        return self.transaction()

    def leader_lock(self) -> LeaderLock:
        """The lock that chooses the one process doing the once-only background work."""
        return _OnlyProcess()

    async def checkpoint(self) -> bool:
        """Copy the write-ahead log into the database and empty it; False when a reader kept it
        from finishing. PostgreSQL recycles its WAL by itself: nothing to do there."""
        return True

    @abstractmethod
    async def vacuum(self) -> None:
        """Clear deleted rows out of their pages (SQLite rebuilds the file; PostgreSQL VACUUMs)."""


def migrations(engine: str) -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of the engine's migrations, in order."""
    found = []
    package = importlib.resources.files("service.storage.migrations").joinpath(engine)
    for entry in package.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def schema_version() -> int:
    """The newest migration number; both engines have every number (tests/test_engines.py)."""
    return migrations("sqlite")[-1][0]


def open_database(settings: Settings) -> Database:
    """The database the settings name, not yet opened: PostgreSQL when KOPPI_DATABASE_URL is
    set, otherwise the SQLite file at KOPPI_DB."""
    if settings.database_url:
        from service.storage.engines.postgres import PostgresDatabase

        return PostgresDatabase(settings.database_url)
    from service.storage.engines.sqlite import SqliteDatabase

    return SqliteDatabase(settings.db_path)


async def migrate_settings(settings: Settings) -> tuple[str, list[str]]:
    """Create or upgrade the database (the CLI's `migrate`): where it is, and what was applied."""
    db = open_database(settings)
    await db.open()
    try:
        return db.label, db.applied
    finally:
        await db.close()
