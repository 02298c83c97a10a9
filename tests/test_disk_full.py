"""A full disk: writers hear "cannot save right now" (507, or an `unavailable` ack), never a
500 or "something went wrong", and the log says so once a minute, not once per request.

SQLite really runs out of room here: the writer connection gets a page limit at the file's
current size and a ballast table takes every free page, so each new page fails SQLITE_FULL."""

from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from service import keys
from service.log_throttle import Throttled
from service.storage import disk_full
from service.storage.engines.sqlite import SqliteDatabase as Database
from tests.chat_clients import Staff, Visitor

# The disk fills through SQLite's page limit; PostgreSQL's disk_full (SQLSTATE 53100) takes the
# same path through disk_full.is_disk_full (test_only_a_full_disk_counts_as_one).
pytestmark = pytest.mark.sqlite_only

FI = (
    "Koppi ei pysty tallentamaan juuri nyt. Mitään kirjoittamaasi ei kadonnut, "
    "yritä myöhemmin uudelleen."
)
EN = "Koppi cannot save right now; nothing you wrote was lost, try again later."
LONG = "Miten haen työpajaan, kun en päässyt opiskelemaan syksyllä? " * 60  # about 3,600 chars
TRIES = 40


async def fill_the_disk(db: Database) -> None:
    """Cap the writer at the file's size now, then use up every free page."""
    async with db.single_statements() as writer:
        await writer.execute("CREATE TABLE ballast (b BLOB)")
        pages = await writer.fetch_value("PRAGMA page_count")
        await writer.execute(f"PRAGMA max_page_count = {int(pages)}")
        for size in (65536, 4096, 512, 64):
            while True:
                try:
                    await writer.execute("INSERT INTO ballast VALUES (randomblob(?))", (size,))
                except sqlite3.OperationalError as exc:
                    assert disk_full.is_disk_full(exc), exc
                    break


async def until_refused(
    send: Callable[[int], Awaitable[Any]], refused: Callable[[Any], bool]
) -> Any:
    """Send long texts until the disk refuses one: what fitted in half-empty pages was saved."""
    for attempt in range(TRIES):
        answer = await send(attempt)
        if refused(answer):
            return answer
    pytest.fail(f"{TRIES} long writes fitted on a full disk")


def _refused(response: ClientResponse) -> bool:
    assert response.status != 500
    return response.status == 507


async def test_the_json_api_answers_507_unavailable(
    client: TestClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The once-a-minute count lives for the process: start this test's minute afresh.
    monkeypatch.setattr(
        disk_full, "_log", Throttled(disk_full.log, "cannot save: the disk is full")
    )
    await fill_the_disk(client.server.app[keys.DB])
    caplog.set_level(logging.INFO)

    async def ask(attempt: int) -> ClientResponse:
        body = {"body": f"{LONG} {'x' * attempt}", "category": "tyopajat", "publish": True}
        return await client.post("/api/questions", json=body)

    response = await until_refused(ask, _refused)
    assert await response.json() == {"error": "unavailable", "message": FI}
    assert response.headers["Retry-After"] == "60"
    # The next refusal within the minute is counted, not logged again, and never as a traceback.
    assert (await ask(TRIES)).status == 507
    full = [r for r in caplog.records if "the disk is full" in r.getMessage()]
    assert len(full) == 1, [r.getMessage() for r in full]
    assert full[0].exc_info is None
    assert "database or disk is full" in full[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a full disk"


@pytest.mark.parametrize(("lang", "message"), [("fi", FI), ("en", EN)])
async def test_the_ask_form_answers_507_in_the_pages_language(
    client: TestClient, lang: str, message: str
) -> None:
    await fill_the_disk(client.server.app[keys.DB])

    async def ask(attempt: int) -> ClientResponse:
        form = {"category": "tyopajat", "body": f"{LONG} {'x' * attempt}", "publish": "yes"}
        return await client.post(f"/ask?lang={lang}", data=form, allow_redirects=False)

    response = await until_refused(ask, _refused)
    assert response.content_type == "text/html"
    assert message in await response.text()


async def test_a_chat_message_is_acknowledged_unavailable(
    client: TestClient,
    on_duty: Callable[..., Awaitable[Staff]],
    visitor: Callable[..., Awaitable[Visitor]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    assert "error" not in await v.start()
    await fill_the_disk(client.server.app[keys.DB])
    caplog.set_level(logging.INFO)

    async def send(attempt: int) -> Any:
        return await v.send(LONG[:1900] + "x" * attempt)

    ack = await until_refused(send, lambda ack: "error" in ack)
    assert ack == {"error": "unavailable", "message": FI}
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a full disk"


def test_only_a_full_disk_counts_as_one() -> None:
    full = sqlite3.connect(":memory:")
    full.execute("CREATE TABLE t (b BLOB)")
    full.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.OperationalError) as caught:
        for _ in range(10):
            full.execute("INSERT INTO t VALUES (randomblob(5000))")
    assert disk_full.is_disk_full(caught.value)
    assert disk_full.is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    wrapped = RuntimeError("storing failed")
    wrapped.__cause__ = caught.value
    assert disk_full.is_disk_full(wrapped)
    assert not disk_full.is_disk_full(sqlite3.OperationalError("database is locked"))

    class PostgresDiskFull(Exception):
        sqlstate = "53100"

    assert disk_full.is_disk_full(RuntimeError("wrapped").with_traceback(None)) is False
    try:
        raise RuntimeError("batch failed") from PostgresDiskFull("could not extend file")
    except RuntimeError as exc:
        assert disk_full.is_disk_full(exc)
    assert not disk_full.is_disk_full(OSError(errno.EACCES, "Permission denied"))
