"""Retention: expired chats and questions really leave the database, on a clock the test moves."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sqlite3
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from moderation import retention
from service import keys
from service.app import create_app
from service.settings import Settings
from service.storage import chats, search
from service.storage.db import open_database
from service.storage.errors import Unavailable
from tests.chat_clients import Staff, Visitor
from tests.conftest import FakeClock, ask, rows, search_rows
from tests.live_server import run_command

StaffClient = Callable[..., Awaitable[TestClient]]
ROOT = Path(__file__).resolve().parent.parent
CHAT_MARKER = "Qorvexbrindle"
NOTE_MARKER = "Plimsovartagh"
REJECTED_MARKER = "Zantuvelmorph"


@dataclass
class World:
    private: dict[str, Any]
    published: dict[str, Any]
    rejected: dict[str, Any]
    pending: dict[str, Any]
    chat_id: int


@pytest.fixture
async def world(
    client: TestClient,
    staff_client: StaffClient,
    on_duty: Callable[..., Awaitable[Staff]],
    visitor: Callable[..., Awaitable[Visitor]],
    settings: Settings,
    clock: FakeClock,
) -> World:
    """One of each: private answer, published answer, rejection, still pending, ended chat."""
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    private = await ask(client, publish=False, body="Saanko palkkatukea yksityisesti kysyen?")
    published = await ask(client, body="Miten haen oppisopimuskoulutukseen keväällä?")
    rejected = await ask(client, body=f"Tämä kysymys hylätään, {REJECTED_MARKER} mukana.")
    pending = await ask(client, body="Odottava kysymys työpajasta ilman vastausta.")
    for item, publish in ((private, False), (published, True)):
        answered = await sanna.post(
            f"/api/staff/questions/{item['id']}/answer",
            json={"body": "Vastaus kysymykseesi tässä.", "publish": publish},
        )
        assert answered.status == 200, await answered.text()
    refused = await sanna.post(
        f"/api/staff/questions/{rejected['id']}/reject", json={"reason": "Ei kuulu palveluun."}
    )
    assert refused.status == 200, await refused.text()
    # A stray search entry for the private question: retention must remove it as well.
    db = client.server.app[keys.DB]
    async with db.transaction() as tx:
        await search.index_question(tx, private["id"], None, "palkkatukea yksityisesti", [])

    mikko = await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    await v.start(f"Hei, {CHAT_MARKER} kysyisin työnhausta.")
    [chat_id] = await mikko.own_chat_ids(1)
    await mikko.send(chat_id, "Hei! Kerro lisää.")
    mikko_id = rows(settings, "SELECT id FROM staff WHERE username = 'mikko'")[0][0]
    async with db.transaction() as tx:
        await chats.add_note(tx, chat_id, mikko_id, f"Muistiinpano {NOTE_MARKER}", "x")
    assert await v.call("end", {}) == {"ok": True}
    assert rows(settings, "SELECT status FROM chats WHERE id = ?", (chat_id,)) == [("ended",)]
    return World(private, published, rejected, pending, chat_id)


def _policy() -> retention.Policy:
    return retention.Policy(chat_days=30, private_days=90, rejected_days=30)


def _question_ids(settings: Settings) -> set[int]:
    return {r[0] for r in rows(settings, "SELECT id FROM questions")}


def _file_bytes(settings: Settings) -> bytes:
    """The database file and its WAL after a checkpoint, as someone who copied them would see."""
    with sqlite3.connect(settings.db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = Path(f"{settings.db_path}-wal")
    return settings.db_path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_each_kind_goes_after_its_period_and_nothing_before(
    client: TestClient, world: World, settings: Settings, clock: FakeClock
) -> None:
    db = client.server.app[keys.DB]
    everything = _question_ids(settings)
    events_before = rows(settings, "SELECT * FROM usage_events ORDER BY id")
    assert rows(settings, "SELECT count(*) FROM chat_messages") == [(2,)]

    clock.advance(days=29)
    assert (await retention.sweep(db, clock(), _policy())).total == 0
    assert _question_ids(settings) == everything
    assert rows(settings, "SELECT count(*) FROM chats") == [(1,)]

    clock.advance(days=1, seconds=1)
    dry = await retention.sweep(db, clock(), _policy(), dry_run=True)
    assert dry.counts() == {
        "chats": 1,
        "private_questions": 0,
        "rejected_questions": 1,
        "visitors": 1,
        "audit_rows": 0,
    }
    assert _question_ids(settings) == everything, "a dry run deletes nothing"
    assert rows(settings, "SELECT count(*) FROM chat_messages") == [(2,)]
    swept = await retention.sweep(db, clock(), _policy())
    assert swept.counts() == dry.counts() and not swept.dry_run
    rejected = world.rejected["id"]
    assert _question_ids(settings) == everything - {rejected}
    for table in ("chats", "chat_messages", "chat_notes", "visitors"):
        assert rows(settings, f"SELECT count(*) FROM {table}") == [(0,)], table
    assert (await client.get(f"/f/{world.rejected['code']}")).status == 404
    assert (await client.get(f"/api/followup/{world.rejected['code']}")).status == 404

    clock.advance(days=59)
    assert (await retention.sweep(db, clock(), _policy())).total == 0
    private = world.private["id"]
    assert private in _question_ids(settings)
    assert (await client.get(f"/f/{world.private['code']}")).status == 200

    clock.advance(days=1)
    swept = await retention.sweep(db, clock(), _policy())
    assert swept.counts()["private_questions"] == 1
    assert _question_ids(settings) == {world.published["id"], world.pending["id"]}
    assert rows(settings, "SELECT question_id FROM answers") == [(world.published["id"],)]
    assert {entry[0] for entry in search_rows(settings)} == {world.published["id"]}
    assert (await client.get(f"/f/{world.private['code']}")).status == 404
    # Published and pending questions stay, and so does the search over the published one.
    found = await (await client.get("/api/questions", params={"q": "oppisopimus"})).json()
    assert [q["id"] for q in found["items"]] == [world.published["id"]]
    assert (await client.get(f"/f/{world.pending['code']}")).status == 200
    assert rows(settings, "SELECT * FROM usage_events ORDER BY id") == events_before
    audit = rows(
        settings,
        "SELECT staff_id, target_type, detail FROM audit_log WHERE action = ?",
        (retention.ACTION,),
    )
    assert len(audit) == 2 and all(r[0] is None and r[1] == "retention" for r in audit)
    assert '"private_questions": 1' in audit[1][2]
    assert all(marker not in str(audit) for marker in (CHAT_MARKER, REJECTED_MARKER))


@pytest.mark.sqlite_only  # PostgreSQL: rows gone, then VACUUM (test_engine_postgres.py)
async def test_deleted_text_is_gone_from_the_file_bytes(
    client: TestClient, world: World, settings: Settings, clock: FakeClock
) -> None:
    db = client.server.app[keys.DB]
    before = _file_bytes(settings)
    markers = [m.encode() for m in (CHAT_MARKER, NOTE_MARKER, REJECTED_MARKER)]
    assert all(m in before for m in markers), "the markers were written to the file"
    clock.advance(days=31)
    await retention.sweep(db, clock(), _policy())
    after = _file_bytes(settings)
    assert not [m for m in markers if m in after], "secure_delete overwrote the deleted rows"
    assert b"Odottava kysymys" in after, "what is kept is still there"


async def test_vacuum_is_scheduled_and_runs_in_the_quiet_hours(
    client: TestClient, world: World, settings: Settings, clock: FakeClock
) -> None:
    db = client.server.app[keys.DB]
    assert not await retention.vacuum_if_due(db, clock()), "nothing deleted, nothing due"
    clock.advance(days=31)
    await retention.sweep(db, clock(), _policy())
    due = rows(settings, "SELECT name FROM maintenance ORDER BY name")
    assert due == [("retention_swept",), ("vacuum_due",)]
    assert clock().hour == 10  # 12:00 in Helsinki: not now
    assert not await retention.vacuum_if_due(db, clock())
    clock.advance(hours=15, minutes=30)  # 01:30 UTC, 03:30 in Helsinki
    assert await retention.vacuum_if_due(db, clock())
    assert rows(settings, "SELECT name FROM maintenance") == [("retention_swept",)]
    if settings.database_url is None:
        assert rows(settings, "PRAGMA freelist_count") == [(0,)]
    else:
        vacuumed = "SELECT count(*) FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL"
        assert rows(settings, vacuumed)[0][0] > 0
    assert not await retention.vacuum_if_due(db, clock()), "done once"
    assert (await client.get(f"/f/{world.published['code']}")).status == 200


async def test_a_sweep_with_nothing_expired_writes_no_audit_row(
    client: TestClient, world: World, settings: Settings, clock: FakeClock
) -> None:
    await retention.sweep(client.server.app[keys.DB], clock(), _policy())
    assert rows(
        settings, "SELECT count(*) FROM audit_log WHERE action = ?", (retention.ACTION,)
    ) == [(0,)]
    assert rows(settings, "SELECT name FROM maintenance") == [("retention_swept",)]


async def test_a_blocked_visitor_is_kept_until_the_block_ends(
    client: TestClient, world: World, settings: Settings, clock: FakeClock
) -> None:
    db = client.server.app[keys.DB]
    async with db.transaction() as tx:
        await tx.execute("UPDATE visitors SET blocked_until = '2027-02-01T00:00:00Z'")
    clock.advance(days=31)
    swept = await retention.sweep(db, clock(), _policy())
    assert swept.chats == 1 and swept.visitors == 0
    assert rows(settings, "SELECT count(*) FROM visitors") == [(1,)]
    clock.advance(days=40)
    assert (await retention.sweep(db, clock(), _policy())).visitors == 1


async def _old_rejected_question(settings: Settings, rejected_at: str) -> None:
    db = open_database(settings)
    await db.open()
    try:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO questions (category_id, body, publish_allowed, status, code_hash,"
                " asked_at, rejected_at, reject_reason) VALUES (1, 'Vanha hylätty kysymys', 1,"
                " 'rejected', 'hash-of-an-old-code', ?, ?, 'Ei kuulu palveluun.')",
                (rejected_at, rejected_at),
            )
    finally:
        await db.close()


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KOPPI_DB": str(settings.db_path), "KOPPI_SECRET": "test-secret"}
    if settings.database_url:
        env["KOPPI_DATABASE_URL"] = settings.database_url
    return run_command(env, "retention", *args)


async def test_command_line_dry_run_then_real_sweep(settings: Settings) -> None:
    await _old_rejected_question(settings, "2001-01-01T00:00:00Z")
    dry = _cli(settings, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "rejected questions: 1 would delete" in dry.stdout
    assert "chat transcripts: 0 would delete" in dry.stdout
    assert rows(settings, "SELECT count(*) FROM questions") == [(1,)]
    real = _cli(settings, "--vacuum")
    assert real.returncode == 0, real.stderr
    assert "rejected questions: 1 deleted" in real.stdout
    assert rows(settings, "SELECT count(*) FROM questions") == [(0,)]
    assert rows(settings, "SELECT name FROM maintenance") == [("retention_swept",)]


async def test_the_app_sweeps_in_the_background(
    aiohttp_client: Any,
    settings: Settings,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _old_rejected_question(settings, "2026-10-01T00:00:00Z")
    settings = dataclasses.replace(settings, retention_first_delay_seconds=0)
    await aiohttp_client(create_app(settings, clock=clock))
    for _ in range(100):
        if rows(settings, "SELECT count(*) FROM questions") == [(0,)]:
            break
        await asyncio.sleep(0.05)
    assert rows(settings, "SELECT count(*) FROM questions") == [(0,)]


async def test_a_failed_sweep_is_logged_and_retried(
    settings: Settings,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    async def flaky(*_args: Any, **_kwargs: Any) -> retention.Swept:
        calls.append(1)
        if len(calls) == 1:
            raise Unavailable("the database went away")
        return retention.Swept()

    monkeypatch.setattr(retention, "sweep", flaky)
    db = open_database(settings)
    await db.open()
    task = asyncio.create_task(
        retention.run_forever(db, clock, _policy(), every_s=0.01, first_delay_s=0.0)
    )
    try:
        for _ in range(100):
            if len(calls) >= 2:
                break
            await asyncio.sleep(0.01)
        assert len(calls) >= 2 and not task.done()
        assert "retention sweep failed" in caplog.text
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await db.close()


@pytest.mark.sqlite_only  # FTS5's segments and the WAL; PostgreSQL's index: test_search_deletion
async def test_a_published_question_its_asker_deleted_leaves_the_search_index_at_once(
    client: TestClient, world: World, settings: Settings, clock: FakeClock
) -> None:
    """FTS5 keeps a deleted row's words in its segments until they are merged: the deletion
    merges them, and the checkpoint task then empties the WAL (tests/test_search_deletion.py)."""
    db = client.server.app[keys.DB]
    async with db.transaction() as tx:
        await search.index_question(tx, world.published["id"], None, "zzyzxq", [])
    assert b"zzyzxq" in _file_bytes(settings)
    assert (await client.delete(f"/api/followup/{world.published['code']}")).status == 204
    assert rows(settings, "SELECT name FROM maintenance") == [("search_dirty",)]
    assert b"zzyzxq" not in _file_bytes(settings)
    assert await retention.checkpoint_if_due(db, clock())
    names = rows(settings, "SELECT name FROM maintenance ORDER BY name")
    assert names == [("vacuum_due",)]
