"""An acknowledged write survives an OS crash, and the database files are the owner's alone."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from service.storage.engines.sqlite import SqliteDatabase as Database
from service.storage.engines.sqlite import migrate_path

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


async def test_every_connection_flushes_at_each_commit(tmp_path: Path) -> None:
    db = Database(tmp_path / "koppi.sqlite3")
    await db.open()
    try:
        assert await db.fetch_value("PRAGMA synchronous") == FULL
        assert (await db.fetch_all("PRAGMA synchronous", slow=True))[0][0] == FULL
        async with db.transaction() as writer:
            assert await writer.fetch_value("PRAGMA synchronous") == FULL
        assert await db.fetch_value("PRAGMA journal_mode") == "wal"
    finally:
        await db.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_database_files_are_private_in_an_existing_open_folder(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o755)
    old_umask = os.umask(0o022)
    try:
        db = Database(folder / "koppi.sqlite3")
        await db.open()
        try:
            async with db.transaction() as writer:
                await writer.execute("CREATE TABLE probe (x INTEGER)")
                await writer.execute("INSERT INTO probe VALUES (1)")
            files = [folder / name for name in ("koppi.sqlite3", "koppi.sqlite3-wal")]
            files.append(folder / "koppi.sqlite3-shm")
            for path in files:
                assert path.exists(), path
                assert _mode(path) == 0o600, (path.name, oct(_mode(path)))
        finally:
            await db.close()
    finally:
        os.umask(old_umask)
    assert _mode(folder) == 0o755  # an operator's folder is left as it was


async def test_migrate_creates_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "koppi.sqlite3"
    old_umask = os.umask(0o022)
    try:
        await migrate_path(path)
    finally:
        os.umask(old_umask)
    assert _mode(path) == 0o600
