"""The SQLite connections, their pragmas, and the numbered-migration runner."""

from __future__ import annotations

import asyncio
import errno
import importlib.resources
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    # FULL flushes the WAL at every commit, so an acknowledged message or question survives an
    # OS crash or power cut (NORMAL loses the last commits then; a process kill loses nothing
    # either way). Chat messages are written in group commits: one flush per batch, not per
    # message.
    "PRAGMA synchronous=FULL",
    # Deleted rows are overwritten with zeros at once, in the file and in freed pages, so text
    # removed by the asker or by retention cannot be read back from the file before a VACUUM.
    "PRAGMA secure_delete=ON",
)

Row = sqlite3.Row


class MigrationFailed(sqlite3.DatabaseError):
    """A numbered migration could not be applied; the message names it."""


def make_private_folder(folder: Path) -> None:
    """A new data folder is readable by the service's user only: it holds what people wrote."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:  # a file where the folder should be: say so, not "file exists"
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder)) from None


class Database:
    """One serialised writer and two readers; writes run inside `transaction()` only.

    Each aiosqlite connection owns a thread. Searches take tens of milliseconds, so they get a
    reader of their own (`slow=True`) and never queue ahead of the short lookups that pages
    need; alternating both kinds over two readers measured worse for the short ones."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.created = False
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._slow_reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        make_private_folder(self.path.parent)
        try:
            self._writer = await _connect(self.path)
            applied = await migrate(self._writer)
            self.created = any(name.startswith("0001_") for name in applied)
            self._reader = await _connect(self.path)
            self._slow_reader = await _connect(self.path)
        except BaseException:
            # Each open connection owns a thread that would keep a failed process running.
            await self.close()
            raise

    async def close(self) -> None:
        for conn in (self._slow_reader, self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._slow_reader = self._reader = self._writer = None

    def _connection(self, slow: bool) -> aiosqlite.Connection:
        conn = self._slow_reader if slow else self._reader
        if conn is None:
            raise RuntimeError("database is not open")
        return conn

    async def fetch_all(
        self, sql: str, params: Sequence[Any] = (), *, slow: bool = False
    ) -> list[Row]:
        return list(await self._connection(slow).execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self._connection(False).execute_fetchall(sql, params)
        for row in rows:
            return row
        return None

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Writer]:
        """BEGIN IMMEDIATE … COMMIT on the single writer; rolled back on any error."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        async with self._write_lock:
            conn = self._writer
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield Writer(conn)
            except BaseException:
                await conn.rollback()
                raise
            else:
                await conn.commit()

    @asynccontextmanager
    async def single_statements(self) -> AsyncIterator[Writer]:
        """The writer with no surrounding transaction: each statement commits by itself.

        For hot paths where one statement is the whole write: it saves the round trips to the
        database thread that BEGIN and COMMIT cost."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        async with self._write_lock:
            yield Writer(self._writer)

    async def vacuum(self) -> None:
        """Rebuild the file without free pages, then empty the WAL; VACUUM cannot run inside a
        transaction, so it takes the write lock and runs on the writer in autocommit."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        async with self._write_lock:
            await self._writer.execute("VACUUM")
            await self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class Writer:
    """The statements available inside one write transaction."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; returns the number of rows changed."""
        cursor = await self._conn.execute(sql, params)
        count = cursor.rowcount
        await cursor.close()
        return count

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        rowid = cursor.lastrowid
        await cursor.close()
        if rowid is None:
            raise RuntimeError("insert gave no row id")
        return rowid

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        for row in await self._conn.execute_fetchall(sql, params):
            return row
        return None

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]


def _create_private_file(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it, whatever the umask or the folder.

    SQLite gives the -wal and -shm files the main file's permissions, so all three stay
    readable by the service's user only. An existing file keeps the mode its owner gave it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _probe(path: Path) -> None:
    """Open and read the file once in plain sqlite3, so a file that cannot be opened fails here.

    When aiosqlite's own connect fails, its worker thread answers after the event loop may be
    gone and prints a traceback of its own instead of the one-line cause."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    finally:
        conn.close()


async def _connect(path: Path) -> aiosqlite.Connection:
    _create_private_file(path)
    await asyncio.to_thread(_probe, path)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        for pragma in _PRAGMAS:
            await conn.execute(pragma)
    except BaseException:
        # An open connection's thread would keep the process alive after a failed start.
        await conn.close()
        raise
    return conn


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    package = importlib.resources.files("service.storage.migrations")
    for entry in package.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(conn: aiosqlite.Connection) -> list[str]:
    """Apply every migration newer than the database's user_version, each in its own transaction."""
    current = (await (await conn.execute("PRAGMA user_version")).fetchone() or (0,))[0]
    applied = []
    for number, name, sql in _migrations():
        if number <= current:
            continue
        # executescript commits implicitly, so the version bump is part of the script itself.
        try:
            await conn.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={number};\nCOMMIT;"
            )
        except sqlite3.Error as exc:
            if conn.in_transaction:
                await conn.rollback()
            raise MigrationFailed(f"migration {name} failed: {exc}") from exc
        log.info("applied migration %s", name)
        applied.append(name)
    return applied


async def migrate_path(path: Path) -> list[str]:
    """Create or upgrade the database file at `path` (the CLI's `migrate`)."""
    make_private_folder(path.parent)
    conn = await _connect(path)
    try:
        return await migrate(conn)
    finally:
        await conn.close()
