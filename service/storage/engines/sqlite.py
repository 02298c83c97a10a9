"""SQLite: one file, one serialised writer and two readers, FTS5 for search.

The embedded default: no server to run. Each aiosqlite connection owns a thread."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import sqlite3
from abc import abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from service.storage import search
from service.storage.db import Database, Dialect, Row, SearchTerm, Writer, migrations
from service.storage.errors import CannotOpen, Duplicate, MigrationFailed, describe

log = logging.getLogger(__name__)
T = TypeVar("T")

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
# A long job's steps (transactions not flushed) commit without syncing, and leave the copying
# of the WAL into the file to a connection of its own, in the background: a commit that crosses
# SQLite's threshold would otherwise copy it while holding the writer, 10-20 ms each time for an
# import's batch, whose rows land on pages all over the indexes. The usual settings return
# after each step.
_STEP_PRAGMAS = ("PRAGMA synchronous=NORMAL", "PRAGMA wal_autocheckpoint=0")
_USUAL_PRAGMAS = ("PRAGMA synchronous=FULL", "PRAGMA wal_autocheckpoint=1000")
# Past this many frames (about 32 MB) a step waits, writer free, for the WAL to be copied whole,
# so that the next transaction starts it again from the beginning instead of growing it.
_WAL_RESTART_FRAMES = 8192
# The full-text index pairs; their names go into SQL, so only these are accepted.
_INDEXES = ("question", "service")
# Bound parameters per IN list, under SQLite's limit.
_CHUNK = 500


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _index(name: str) -> str:
    if name not in _INDEXES:
        raise ValueError(name)
    return name


def _marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


def _stem_words(text: str | None) -> str | None:
    """What `<index>_stems` holds for a text: its Snowball stems, as words."""
    return None if text is None else " ".join(search.stems(text))


class SqliteDialect(Dialect):
    name = "sqlite"

    def json_value(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{key}')"

    def nocase(self, expr: str) -> str:
        return f"{expr} COLLATE NOCASE"

    def using_index(self, table: str, index: str) -> str:
        return f"{table} INDEXED BY {index}"

    def json_text(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{key}')"

    def seconds_between(self, later: str, earlier: str) -> str:
        return f"((julianday({later}) - julianday({earlier})) * 86400)"

    def search_hits(self, index: str, terms: Sequence[SearchTerm]) -> tuple[str, list[Any]]:
        """FTS5: the stem as a prefix in `<index>_stems`, a piece in `<index>_trigrams`.
        FTS5 removes diacritics from the stems on both sides, so the stem is enough."""
        _index(index)
        parts: list[str] = []
        params: list[Any] = []
        for word in terms:
            branch = f"SELECT rowid AS id FROM {index}_stems WHERE {index}_stems MATCH ?"
            params.append(_quote(word.stem) + "*")
            if word.pieces:
                branch += (
                    f" UNION SELECT rowid FROM {index}_trigrams WHERE {index}_trigrams MATCH ?"
                )
                params.append(" OR ".join(_quote(p) for p in word.pieces))
            parts.append(f"SELECT id FROM ({branch})")
        return " INTERSECT ".join(parts), params

    def word_hits(self, index: str, term: SearchTerm, *, whole: bool) -> tuple[str, list[Any]]:
        """FTS5: the stem as a token of `<index>_stems`, or as the start of one."""
        _index(index)
        sql = f"SELECT rowid AS id FROM {index}_stems WHERE {index}_stems MATCH ?"
        return sql, [_quote(term.stem) + ("" if whole else "*")]

    def piece_hits(self, index: str, term: SearchTerm) -> tuple[str, list[Any]]:
        _index(index)
        sql = f"SELECT rowid AS id FROM {index}_trigrams WHERE {index}_trigrams MATCH ?"
        return sql, [" OR ".join(_quote(p) for p in term.pieces)]

    def similar_hits(
        self, index: str, terms: Sequence[SearchTerm], window: int
    ) -> tuple[str, list[Any]]:
        """Each FTS5 table walked newest first and cut at `window`: de-duplicating every match
        of a common word cost 10-25 ms a word at 100,000 questions, reading a window under 2."""
        _index(index)
        newest = f"ORDER BY rowid DESC LIMIT {int(window)}"
        parts: list[str] = []
        params: list[Any] = []
        for n, word in enumerate(terms):
            parts.append(
                f"SELECT {n} AS t, rowid AS id FROM (SELECT rowid FROM {index}_stems"
                f" WHERE {index}_stems MATCH ? {newest})"
            )
            params.append(_quote(word.stem) + "*")
            if word.pieces:
                parts.append(
                    f"SELECT {n}, rowid FROM (SELECT rowid FROM {index}_trigrams"
                    f" WHERE {index}_trigrams MATCH ? {newest})"
                )
                params.append(" OR ".join(_quote(p) for p in word.pieces))
        return " UNION ALL ".join(parts), params

    async def index_documents(
        self, tx: Writer, index: str, documents: Sequence[tuple[int, str]]
    ) -> None:
        _index(index)
        await tx.execute_many(
            f"INSERT INTO {index}_stems (rowid, words) VALUES (?, ?)",
            [(rowid, _stem_words(document)) for rowid, document in documents],
        )
        await tx.execute_many(
            f"INSERT INTO {index}_trigrams (rowid, text) VALUES (?, ?)", documents
        )

    async def unindex(self, tx: Writer, index: str, rowids: Sequence[int]) -> None:
        _index(index)
        for table in (f"{index}_stems", f"{index}_trigrams"):
            for start in range(0, len(rowids), _CHUNK):
                chunk = rowids[start : start + _CHUNK]
                await tx.execute(f"DELETE FROM {table} WHERE rowid IN ({_marks(chunk)})", chunk)

    async def indexed_count(self, tx: Writer, index: str, rowids: Sequence[int]) -> int:
        _index(index)
        total = 0
        for table in (f"{index}_stems", f"{index}_trigrams"):
            total += int(
                await tx.fetch_value(
                    f"SELECT count(*) FROM {table} WHERE rowid IN ({_marks(rowids)})", rowids
                )
                or 0
            )
        return total

    async def compact_search(self, tx: Writer) -> None:
        """FTS5 only marks an entry deleted until its segments merge; the installed SQLite
        (3.40) predates FTS5's own 'secure-delete' option (3.42), so an 'optimize' merge does it
        here and secure_delete zeroes the pages the old segments free."""
        await tx.execute("INSERT INTO question_stems (question_stems) VALUES ('optimize')")
        await tx.execute("INSERT INTO question_trigrams (question_trigrams) VALUES ('optimize')")


DIALECT = SqliteDialect()


def make_private_folder(folder: Path) -> None:
    """A new data folder is readable by the service's user only: it holds what people wrote."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:  # a file where the folder should be: say so, not "file exists"
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder)) from None


def _translated(exc: sqlite3.Error) -> Exception:
    if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc):
        return Duplicate(str(exc))
    return exc


class SqliteDatabase(Database):
    """One serialised writer and two readers; writes run inside `transaction()` only.

    Searches take tens of milliseconds, so they get a reader of their own (`slow=True`) and
    never queue ahead of the short lookups that pages need; alternating both kinds over two
    readers measured worse for the short ones."""

    dialect = DIALECT

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = str(path)
        self.created = False
        self.applied: list[str] = []
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._slow_reader: aiosqlite.Connection | None = None
        self._checkpointer: aiosqlite.Connection | None = None
        self._copying: asyncio.Task[None] | None = None
        self._wal_frames = 0
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        try:
            make_private_folder(self.path.parent)
            self._writer = await _connect(self.path)
            self.applied = await migrate(self._writer)
            self.created = any(name.startswith("0001_") for name in self.applied)
            self._reader = await _connect(self.path)
            self._slow_reader = await _connect(self.path)
            self._checkpointer = await _connect(self.path)
        except BaseException as exc:
            # Each open connection owns a thread that would keep a failed process running.
            await self.close()
            if isinstance(exc, (OSError, sqlite3.Error, MigrationFailed)):
                raise CannotOpen(f"cannot open the database {self.path}: {describe(exc)}") from exc
            raise

    async def close(self) -> None:
        if self._copying is not None:
            await self._copying
        for conn in (self._checkpointer, self._slow_reader, self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._checkpointer = self._slow_reader = self._reader = self._writer = None

    def _connection(self, slow: bool) -> aiosqlite.Connection:
        conn = self._slow_reader if slow else self._reader
        if conn is None:
            raise RuntimeError("database is not open")
        return conn

    async def fetch_all(
        self, sql: str, params: Sequence[Any] = (), *, slow: bool = False
    ) -> list[Row]:
        return list(await self._connection(slow).execute_fetchall(sql, params))

    @asynccontextmanager
    async def _holding_writer(self, flushed: bool) -> AsyncIterator[aiosqlite.Connection]:
        """The writer, alone; a long job's unflushed step has the WAL copied aside after it."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        if not flushed:
            await self._before_step()
        async with self._write_lock:
            yield self._writer
        if not flushed:
            self._copy_wal_in_background()

    @asynccontextmanager
    async def _transaction(self, flushed: bool) -> AsyncIterator[Writer]:
        """BEGIN IMMEDIATE … COMMIT on the single writer; rolled back on any error."""
        async with self._holding_writer(flushed) as conn:
            if not flushed:
                for pragma in _STEP_PRAGMAS:
                    await conn.execute(pragma)
            # BEGIN is inside the try: a task cancelled while waiting for it (a ticker stopped
            # at shutdown) has still begun on the database thread, and the rollback, queued
            # behind it there, ends that transaction instead of leaving it open for the next.
            try:
                await conn.execute("BEGIN IMMEDIATE")
                yield SqliteWriter(conn)
            except BaseException:
                await conn.rollback()
                raise
            else:
                await conn.commit()
            finally:
                if not flushed:
                    for pragma in _USUAL_PRAGMAS:
                        await conn.execute(pragma)

    @asynccontextmanager
    async def single_statements(self) -> AsyncIterator[Writer]:
        """The writer with no surrounding transaction: each statement commits by itself.

        For hot paths where one statement is the whole write: it saves the round trips to the
        database thread that BEGIN and COMMIT cost."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        async with self._write_lock:
            yield SqliteWriter(self._writer)

    async def run_transaction(
        self, work: Callable[[Writer], Awaitable[T]], *, flushed: bool = True
    ) -> T:
        """The whole transaction in one trip to the writer's thread: a batch of many statements
        then holds the writer for its statements' time only, not for a trip each."""
        async with self._holding_writer(flushed) as conn:
            result, announced = await conn._execute(_whole_transaction, conn._conn, work, flushed)
        await self._committed(announced)
        return cast(T, result)

    async def _copy_wal(self) -> None:
        """Copy what the WAL holds into the file, as far as readers let it (PASSIVE: no lock
        that the writer or the readers wait for)."""
        if self._checkpointer is None:
            return
        try:
            rows = await self._checkpointer.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:
            log.warning("copying the WAL into the database failed: %s", exc)
            return
        for _busy, frames, _copied in rows:
            self._wal_frames = frames

    def _copy_wal_in_background(self) -> None:
        if self._copying is None or self._copying.done():
            self._copying = asyncio.create_task(self._copy_wal())

    async def sync_steps(self) -> None:
        """Copy the WAL into the file on the checkpointing connection, which syncs both."""
        if self._copying is not None:
            await self._copying
        await self._copy_wal()

    async def _before_step(self) -> None:
        """Once the WAL is long: copy it whole, so the next writer starts it again."""
        if self._wal_frames > _WAL_RESTART_FRAMES and self._copying is not None:
            await self._copying
        if self._wal_frames > _WAL_RESTART_FRAMES:
            await self._copy_wal()

    async def vacuum(self) -> None:
        """Rebuild the file without free pages, then empty the WAL; VACUUM cannot run inside a
        transaction, so it takes the write lock and runs on the writer in autocommit."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        async with self._write_lock:
            await self._writer.execute("VACUUM")
            await self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def checkpoint(self) -> bool:
        """Copy the WAL into the database file and empty it, so pages overwritten since the
        last checkpoint leave the disk; False when a reader kept it from finishing.

        A checkpoint cannot run inside a transaction, so it runs on the writer between them."""
        async with self.single_statements() as writer:
            row = await writer.fetch_one("PRAGMA wal_checkpoint(TRUNCATE)")
        return row is not None and row[0] == 0


def backup_file(source: Path, target: Path) -> None:
    """Copy the database at `source` into a new private file at `target` (online backup)."""
    _create_private_file(target, exclusive=True)
    src = sqlite3.connect(source)
    try:
        dest = sqlite3.connect(target)
        try:
            # All pages in one step: one read snapshot, which a busy writer cannot restart.
            src.backup(dest)
            dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dest.close()
    finally:
        src.close()


def _execute(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
    cursor = conn.execute(sql, params)
    count = cursor.rowcount
    cursor.close()
    return count


def _insert(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
    cursor = conn.execute(sql, params)
    rowid = cursor.lastrowid
    cursor.close()
    if rowid is None:
        raise RuntimeError("insert gave no row id")
    return rowid


def _execute_many(conn: sqlite3.Connection, sql: str, rows: list[Sequence[Any]]) -> None:
    conn.executemany(sql, rows).close()


def _fetch_all(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[Row]:
    return list(conn.execute(sql, params).fetchall())


def _translating(statement: Callable[..., T], *args: Any) -> T:
    try:
        return statement(*args)
    except sqlite3.Error as exc:
        raise _translated(exc) from exc


class _Statements(Writer):
    """A writer's statements as plain calls on the sqlite3 connection; `_call` says where
    they run."""

    dialect = DIALECT

    @abstractmethod
    async def _call(self, statement: Callable[..., T], *args: Any) -> T: ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._call(_execute, sql, params)

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._call(_insert, sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            await self._call(_execute_many, sql, rows)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._call(_fetch_all, sql, params)


class SqliteWriter(_Statements):
    """Each statement one trip from the event loop to the connection's thread."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        super().__init__()
        self._conn = conn

    async def _call(self, statement: Callable[..., T], *args: Any) -> T:
        # aiosqlite's own queue to its thread (private, but what its public methods use): one
        # trip per statement, as execute() and execute_insert() make.
        return await self._conn._execute(_translating, statement, self._conn._conn, *args)


class _HereWriter(_Statements):
    """Statements run at once, on the connection's thread, by a transaction sent there whole:
    its awaits never suspend."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__()
        self._raw = conn

    async def _call(self, statement: Callable[..., T], *args: Any) -> T:
        return _translating(statement, self._raw, *args)


def _drive(work: Coroutine[Any, Any, T]) -> T:
    """Run to its end a coroutine whose awaits never suspend (a _HereWriter's statements)."""
    try:
        work.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    work.close()
    raise RuntimeError("a transaction sent to the database thread awaited something else")


def _whole_transaction(
    conn: sqlite3.Connection, work: Callable[[Writer], Awaitable[T]], flushed: bool
) -> tuple[T, list[object]]:
    """BEGIN IMMEDIATE, `work`, COMMIT, all on the connection's thread; rolled back on error."""
    if not flushed:
        for pragma in _STEP_PRAGMAS:
            conn.execute(pragma)
    try:
        conn.execute("BEGIN IMMEDIATE")
        tx = _HereWriter(conn)
        try:
            result = _drive(cast(Coroutine[Any, Any, T], work(tx)))
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
        return result, tx.announced
    finally:
        if not flushed:
            for pragma in _USUAL_PRAGMAS:
                conn.execute(pragma)


def _create_private_file(path: Path, *, exclusive: bool = False) -> None:
    """Create the database file 0600 before SQLite opens it, whatever the umask or the folder.

    SQLite gives the -wal and -shm files the main file's permissions, so all three stay
    readable by the service's user only. An existing file keeps the mode its owner gave it,
    unless `exclusive` asks for a new file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if exclusive:
            raise
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


def _statements(script: str) -> list[str]:
    """A migration script as single statements: each ends where SQLite says one is complete,
    so a semicolon inside a string or a comment does not cut a statement."""
    found: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                found.append(pending)
            pending = ""
    return found


async def _user_version(conn: aiosqlite.Connection) -> int:
    row = await (await conn.execute("PRAGMA user_version")).fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection) -> list[str]:
    """Apply every migration newer than the database's user_version, each in its own
    transaction. BEGIN IMMEDIATE takes the file's write lock, so a second process starting at
    the same time waits, then finds the version already raised and applies nothing twice."""
    applied = []
    # A migration that rebuilds search rows stems in SQL as index_document does in Python.
    await conn.create_function("koppi_stems", 1, _stem_words, deterministic=True)
    for number, name, sql in migrations("sqlite"):
        if number <= await _user_version(conn):
            continue
        try:
            await conn.execute("BEGIN IMMEDIATE")
            if number <= await _user_version(conn):  # applied while this one waited
                await conn.rollback()
                continue
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version={number}")
            await conn.commit()
        except sqlite3.Error as exc:
            if conn.in_transaction:
                await conn.rollback()
            raise MigrationFailed(f"migration {name} failed: {exc}") from exc
        log.info("applied migration %s", name)
        applied.append(name)
    return applied


async def migrate_path(path: Path) -> list[str]:
    """Create or upgrade the database file at `path`."""
    make_private_folder(path.parent)
    conn = await _connect(path)
    try:
        return await migrate(conn)
    finally:
        await conn.close()
