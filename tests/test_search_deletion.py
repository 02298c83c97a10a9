"""An asker deletes a published question: its words leave the search index's pages at once, and
the WAL's older copies of those pages at the checkpoint that follows within a minute."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from moderation import retention
from service import keys
from service.settings import Settings
from service.storage import retention as retention_rows
from service.storage import search
from tests.conftest import FakeClock, ask, rows

StaffClient = Callable[..., Awaitable[TestClient]]
WORD = "Vrenkolaattori"  # made up: found nowhere else in the file
# FTS5 stores a term after the letters it shares with the term before it ("v" of "vastaus"),
# so the stem is looked for without its first two letters.
STEM = search.stems(WORD)[0].encode()[2:]


def _main(settings: Settings) -> bytes:
    return settings.db_path.read_bytes()


def _wal(settings: Settings) -> bytes:
    wal = Path(f"{settings.db_path}-wal")
    return wal.read_bytes() if wal.exists() else b""


async def _published(client: TestClient, staff_client: StaffClient) -> dict[str, str]:
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    created = await ask(client, body=f"Mitä {WORD} tarkoittaa työhakemuksessa?")
    answered = await sanna.post(
        f"/api/staff/questions/{created['id']}/answer",
        json={"body": "Vastaus kysymykseesi tässä.", "publish": True},
    )
    assert answered.status == 200, await answered.text()
    found = await (await client.get("/api/questions", params={"q": WORD})).json()
    assert found["total"] == 1
    # One merged segment, as a settled index has: FTS5 merges a few small segments by itself
    # (automerge), which would hide whether the deletion merges them.
    async with client.server.app[keys.DB].transaction() as tx:
        await retention_rows.compact_search(tx)
    return created


@pytest.mark.postgresql_only
async def test_postgresql_search_entries_go_with_the_question(
    client: TestClient, staff_client: StaffClient, settings: Settings
) -> None:
    """PostgreSQL keeps a deleted row's bytes until VACUUM (docs/deploy.md); the entry itself
    is gone at once, so no search finds it."""
    created = await _published(client, staff_client)
    assert rows(
        settings, "SELECT count(*) FROM question_search WHERE id = ?", (created["id"],)
    ) == [(1,)]
    assert (await client.delete(f"/api/followup/{created['code']}")).status == 204
    assert rows(settings, "SELECT count(*) FROM question_search") == [(0,)]
    found = await (await client.get("/api/questions", params={"q": WORD})).json()
    assert found["total"] == 0


@pytest.mark.sqlite_only
async def test_the_words_leave_the_index_pages_at_once_and_the_wal_at_the_checkpoint(
    client: TestClient, staff_client: StaffClient, settings: Settings, clock: FakeClock
) -> None:
    created = await _published(client, staff_client)
    db = client.server.app[keys.DB]
    assert await retention_rows.checkpoint(db)
    assert STEM in _main(settings) and _wal(settings) == b"", "indexed and on disk"

    assert (await client.delete(f"/api/followup/{created['code']}")).status == 204
    # What the deletion wrote is the index's pages as they are now: the merged segments.
    written = _wal(settings)
    assert written and STEM not in written
    blocks = rows(settings, "SELECT block FROM question_stems_data")
    assert not any(STEM in bytes(block) for (block,) in blocks if block)
    assert STEM in _main(settings), "the file keeps the old pages until the checkpoint"

    assert await retention.checkpoint_if_due(db, clock())
    assert STEM not in _main(settings)
    assert _wal(settings) == b""
    assert rows(settings, "SELECT name FROM maintenance") == [("vacuum_due",)]
    assert not await retention.checkpoint_if_due(db, clock()), "nothing more to do"


@pytest.mark.sqlite_only
async def test_the_page_form_deletion_merges_too(
    client: TestClient, staff_client: StaffClient, settings: Settings
) -> None:
    created = await _published(client, staff_client)
    response = await client.post(f"/f/{created['code']}/delete", data={"confirm": "yes"})
    assert response.status == 200
    blocks = rows(settings, "SELECT block FROM question_stems_data")
    assert not any(STEM in bytes(block) for (block,) in blocks if block)
    assert rows(settings, "SELECT name FROM maintenance") == [("search_dirty",)]


@pytest.mark.sqlite_only
async def test_the_background_task_checkpoints_soon_after_a_deletion(
    client: TestClient, staff_client: StaffClient, settings: Settings, clock: FakeClock
) -> None:
    app_tasks = {task.get_name() for task in asyncio.all_tasks()}
    assert "checkpoint" in app_tasks, "the app runs the checkpoint task"
    assert retention.CHECKPOINT_EVERY_S <= 30, "within a minute of a deletion, with room"
    created = await _published(client, staff_client)
    assert (await client.delete(f"/api/followup/{created['code']}")).status == 204
    assert STEM in _main(settings) + _wal(settings)
    db = client.server.app[keys.DB]
    task = asyncio.create_task(retention.checkpoint_forever(db, clock, every_s=0.02))
    try:
        for _ in range(200):
            if not rows(settings, "SELECT name FROM maintenance WHERE name = 'search_dirty'"):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)
        assert STEM not in _main(settings) + _wal(settings)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
