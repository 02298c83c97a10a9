"""Failed sign-ins are counted by a keyed hash of the name and kept only for the lock window:
a password typed into the username box never reaches the database file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from aiohttp.test_utils import TestClient

from moderation import retention
from service import keys
from service.settings import Settings
from service.storage.db import migrations
from service.storage.engines.sqlite import SqliteDatabase as Database
from tests.conftest import PASSWORD, FakeClock, add_staff, csrf_token, rows, sign_in

TYPED = "hunter2-secret"


def _file_bytes(path: Path) -> bytes:
    """The database file and its WAL exactly as they lie on disk, no checkpoint first."""
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def _fail(client: TestClient, username: str) -> int:
    response = await client.post(
        "/api/staff/login", json={"username": username, "password": "wrong password"}
    )
    return response.status


async def test_a_password_typed_as_the_username_is_not_stored(
    client: TestClient, settings: Settings
) -> None:
    assert await _fail(client, TYPED) == 401
    # The HTML form takes the same path.
    form = await client.get("/staff/login")
    token = csrf_token(await form.text())
    page = await client.post(
        "/staff/login",
        data={"username": TYPED.upper(), "password": "x", "csrf_token": token},
    )
    assert page.status == 401
    stored = rows(settings, "SELECT * FROM login_failures")
    assert len(stored) == 1, "the name is counted case-blind, as sign-in matches it"
    assert stored[0][1] == 2
    assert TYPED not in repr(stored) and TYPED.upper() not in repr(stored)
    if settings.database_url is None:  # PostgreSQL: rows above; its files are its own business
        on_disk = _file_bytes(settings.db_path)
        assert TYPED.encode() not in on_disk and TYPED.upper().encode() not in on_disk


async def test_five_failures_still_lock_the_name_in_any_case(
    client: TestClient, settings: Settings, clock: FakeClock
) -> None:
    await add_staff(client, "sanna", "counsellor")
    for name in ("sanna", "Sanna", "SANNA", "sanna ", "sAnna"):
        assert await _fail(client, name) == 401
    locked = await client.post("/api/staff/login", json={"username": "sanna", "password": PASSWORD})
    assert locked.status == 401
    assert "lukittu" in (await locked.json())["error"]
    clock.advance(minutes=14)
    again = await client.post("/api/staff/login", json={"username": "sanna", "password": PASSWORD})
    assert again.status == 401, "still locked inside the window"
    clock.advance(minutes=2)
    await sign_in(client, "sanna")
    assert rows(settings, "SELECT COUNT(*) FROM login_failures") == [(0,)]


async def test_failures_older_than_the_window_are_deleted(
    client: TestClient, settings: Settings, clock: FakeClock
) -> None:
    assert await _fail(client, "first") == 401
    clock.advance(minutes=10)
    assert await _fail(client, "second") == 401
    assert rows(settings, "SELECT COUNT(*) FROM login_failures") == [(2,)]
    clock.advance(minutes=6)
    assert await _fail(client, "third") == 401, "writing a failure drops the expired ones"
    assert rows(settings, "SELECT COUNT(*) FROM login_failures") == [(2,)]
    clock.advance(minutes=15)
    db = client.server.app[keys.DB]
    await retention.sweep(db, clock(), retention.Policy(login_lock_minutes=15))
    assert rows(settings, "SELECT COUNT(*) FROM login_failures") == [(0,)], "and so does the sweep"


async def test_the_migration_drops_names_kept_in_clear(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        for number, _name, sql in migrations("sqlite"):
            if number > 5:
                break
            conn.executescript(sql)
        conn.execute(
            "INSERT INTO login_failures (username, failures, last_failed_at) VALUES (?, 1, ?)",
            (TYPED, "2026-01-01T00:00:00Z"),
        )
        conn.execute("PRAGMA user_version = 5")
    conn.close()
    assert TYPED.encode() in path.read_bytes()
    db = Database(path)
    await db.open()
    try:
        assert await db.fetch_value("SELECT COUNT(*) FROM login_failures") == 0
    finally:
        await db.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert TYPED.encode() not in _file_bytes(path)
