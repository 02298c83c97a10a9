"""`backup` and `restore`: a consistent copy of a running database, and back into an empty one.

SQLite: the online backup API (never a file copy, which a write in progress would tear).
PostgreSQL: pg_dump's custom format, restored by pg_restore in one transaction."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import asyncpg

from service.settings import Settings
from service.storage.db import schema_version
from service.storage.engines import postgres
from service.storage.engines.sqlite import backup_file
from service.storage.errors import CannotOpen, StorageError, Unavailable, describe

# The first bytes of each kind of backup file, to name a file given to the wrong engine.
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PG_DUMP_MAGIC = b"PGDMP"


class BackupRefused(StorageError):
    """The backup file exists already, or cannot be written; nothing was left behind."""


class RestoreRefused(StorageError):
    """The target holds data, or the file is not a Koppi backup; nothing was changed."""


def _pg_tool(name: str) -> str:
    """pg_dump or pg_restore: on the PATH, or the newest of Debian's versioned folders."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if versions:
        return str(versions[-1])
    raise Unavailable(
        f"{name} was not found: install PostgreSQL's client tools (Debian: postgresql-client)"
    )


def _run_pg_tool(name: str, *args: str) -> None:
    """Run pg_dump or pg_restore; its complaint, however many lines, becomes one line."""
    try:
        subprocess.run(  # noqa: S603 - our own arguments; the URL comes from the operator
            [_pg_tool(name), *args], check=True, capture_output=True, text=True
        )
    except subprocess.CalledProcessError as exc:
        raise Unavailable(f"{name} failed: {' '.join(exc.stderr.split())}") from exc


def backup(settings: Settings, target: Path) -> str:
    if target.exists() or target.is_symlink():
        raise BackupRefused(f"{target} exists already; a backup never overwrites a file")
    try:
        if settings.database_url:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            url = settings.database_url
            _run_pg_tool("pg_dump", "--format=custom", "--no-owner", "--file", str(target), url)
            return f"pg_dump custom-format backup of {postgres.where(url)} written to {target}"
        if not settings.db_path.is_file():
            raise CannotOpen(f"there is no database at {settings.db_path} (KOPPI_DB)")
        backup_file(settings.db_path, target)
    except FileExistsError as exc:  # created by someone else between the check and the write
        raise BackupRefused(f"{target} exists already; a backup never overwrites a file") from exc
    except (OSError, sqlite3.Error, Unavailable) as exc:
        # Created by us a moment ago (it did not exist): a partial file is no backup.
        target.unlink(missing_ok=True)
        if isinstance(exc, Unavailable):
            raise
        raise BackupRefused(f"backup to {target} failed: {describe(exc)}") from exc
    return f"SQLite backup of {settings.db_path} written to {target}"


def _magic(source: Path) -> bytes:
    with source.open("rb") as file:
        return file.read(len(_SQLITE_MAGIC))


def _check_sqlite_backup(source: Path) -> None:
    magic = _magic(source)
    if magic.startswith(_PG_DUMP_MAGIC):
        raise RestoreRefused(
            f"{source} is a PostgreSQL backup (pg_dump); restore it with KOPPI_DATABASE_URL set"
        )
    if magic != _SQLITE_MAGIC:
        raise RestoreRefused(f"{source} is not a Koppi backup: not a SQLite database file")
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            healthy = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise RestoreRefused(f"{source} is not a SQLite backup of Koppi: {exc}") from exc
    if not healthy:
        raise RestoreRefused(f"{source} is damaged (SQLite's integrity check failed)")
    if not {"questions", "staff"} <= tables or not 1 <= version <= schema_version():
        raise RestoreRefused(f"{source} is not a Koppi backup this version can restore")


def _check_pg_backup(source: Path) -> None:
    magic = _magic(source)
    if magic == _SQLITE_MAGIC:
        raise RestoreRefused(
            f"{source} is a SQLite backup; restore it with KOPPI_DB and without KOPPI_DATABASE_URL"
        )
    if not magic.startswith(_PG_DUMP_MAGIC):
        raise RestoreRefused(f"{source} is not a Koppi backup: not a pg_dump custom-format file")


def _sqlite_holds_something(path: Path) -> str | None:
    """What stands where the restored database would go, if anything."""
    for leftover in (Path(f"{path}-wal"), Path(f"{path}-journal")):
        # SQLite would replay a stale log onto the restored file.
        if leftover.exists() and leftover.stat().st_size:
            return f"{leftover} is left from a database"
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            empty = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        finally:
            conn.close()
    except sqlite3.Error:
        return f"{path} is a file that is not an empty database"
    return None if empty else f"{path} holds a database"


async def _refuse_unless_empty(url: str) -> None:
    label = postgres.where(url)
    try:
        conn = await asyncpg.connect(url, timeout=10)
    except postgres.LOST as exc:
        raise CannotOpen(f"cannot reach PostgreSQL at {label}: {exc}") from exc
    except asyncpg.PostgresError as exc:
        raise CannotOpen(f"PostgreSQL at {label} refused: {exc}") from exc
    try:
        await postgres.refuse_unless_empty(conn, label, RestoreRefused, "restore writes")
    finally:
        await conn.close()


def restore(settings: Settings, source: Path) -> str:
    if not source.is_file():
        raise RestoreRefused(f"there is no backup file at {source}")
    if settings.database_url:
        _check_pg_backup(source)
        asyncio.run(_refuse_unless_empty(settings.database_url))
        label = postgres.where(settings.database_url)
        try:
            _run_pg_tool(
                "pg_restore",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                settings.database_url,
                str(source),
            )
        except Unavailable as exc:
            # pg_restore ran in one transaction: its failure left the database empty.
            raise RestoreRefused(
                f"{source} could not be restored ({exc}); {label} is as empty as before"
            ) from exc
        return f"{source} restored into {label}"
    target = settings.db_path
    found = _sqlite_holds_something(target)
    if found:
        raise RestoreRefused(
            f"{found}; restore writes only where there is none (move it aside first),"
            " and changed nothing"
        )
    _check_sqlite_backup(source)
    target.unlink(missing_ok=True)
    Path(f"{target}-shm").unlink(missing_ok=True)
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        backup_file(source, target)
    except (OSError, sqlite3.Error) as exc:
        target.unlink(missing_ok=True)
        raise RestoreRefused(f"restore into {target} failed: {describe(exc)}") from exc
    return f"{source} restored into {target}"
