"""Redis away: at start a process refuses to serve with one line; while running, each process
keeps serving what it can, reports not ready, and recovers by itself with nothing lost."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import aiohttp
import pytest

from service.settings import Settings, SettingsError
from tests.chat_clients import Staff, Visitor
from tests.conftest import PostgresDatabases
from tests.live_server import LiveServer, free_port, one_error_line, run_command, staff_cookie
from tests.redis_server import Redis, server_path

pytestmark = pytest.mark.postgresql

PASSWORD = "redis-outage-password"
_names = itertools.count()


def _server(folder: Path, database_url: str, redis_url: str) -> LiveServer:
    path = folder / f"p{next(_names)}"
    path.mkdir()
    server = LiveServer(path, database_url)
    server.env.update(KOPPI_REDIS_URL=redis_url, KOPPI_CHAT_TICK_SECONDS="1")
    return server


def test_redis_unreachable_at_start_is_one_line(
    tmp_path: Path, postgres: PostgresDatabases
) -> None:
    server = _server(tmp_path, postgres.new(), f"redis://127.0.0.1:{free_port()}/0")
    line = one_error_line(run_command(server.env, "serve"))
    assert "cannot reach Redis at 127.0.0.1:" in line and "KOPPI_REDIS_URL" in line


async def _status(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url) as response:
        return response.status


async def _until_status(session: aiohttp.ClientSession, url: str, status: int) -> None:
    deadline = time.monotonic() + 20
    while await _status(session, url) != status:
        assert time.monotonic() < deadline, f"{url} never answered {status}"
        await asyncio.sleep(0.2)


def test_losing_redis_while_running(tmp_path: Path, postgres: PostgresDatabases) -> None:
    if server_path() is None:
        pytest.skip("redis-server is not installed")
    redis = Redis(tmp_path)
    redis.start()
    database_url = postgres.new()
    a, b = (_server(tmp_path, database_url, redis.url()) for _ in range(2))
    a.cli("migrate")
    a.cli("create-staff", "mikko", "--role", "adviser", "--name", "Mikko", stdin=PASSWORD)

    async def run() -> None:
        staff = Staff(await staff_cookie(b.url, "mikko", PASSWORD))
        visitor = Visitor()
        async with aiohttp.ClientSession() as session:
            try:
                await staff.connect(b.url)
                await staff.available()
                await visitor.connect(a.url)
                chat_id = (await visitor.start("Ennen katkosta"))["chat_id"]
                assert (await staff.own_chat_ids(1)) == [chat_id]
                resumed = await staff.call("resume", {"chat_id": chat_id, "after": 0})
                staff.drain("message")

                redis.stop()
                for server in (a, b):
                    await _until_status(session, server.url + "/readyz", 503)
                    assert await _status(session, server.url + "/") == 200, "pages still served"
                # The database has it: acknowledged while Redis is away, though B cannot hear.
                during = await visitor.send("Katkon aikana")
                assert isinstance(during.get("id"), int), during
                assert during["id"] > resumed["last_id"]

                redis.start()  # the same port: the processes find it again by themselves
                for server in (a, b):
                    await _until_status(session, server.url + "/readyz", 200)
                # B's console is told to read again (as staff-chat.js does on `resync`), and gets
                # what it missed.
                await staff.next("resync", 20)
                await staff.call("resume", {"chat_id": chat_id, "after": resumed["last_id"]})
                missed = await staff.until("message", lambda m: m["text"] == "Katkon aikana", 5)
                assert missed["id"] == during["id"]
                after = await visitor.send("Katkon jälkeen")
                live = await staff.until("message", lambda m: m["text"] == "Katkon jälkeen", 10)
                assert live["id"] == after["id"]
            finally:
                await asyncio.gather(staff.close(), visitor.close(), return_exceptions=True)

    try:
        with a.running(), b.running():
            asyncio.run(run())
        for server in (a, b):
            text = server.log.read_text()
            assert "Traceback" not in text, text
    finally:
        redis.stop()


def test_several_processes_need_postgresql_and_one_secret(tmp_path: Path) -> None:
    base = {"KOPPI_DB": str(tmp_path / "koppi.sqlite3")}
    redis_url = {"KOPPI_REDIS_URL": "redis://127.0.0.1:6379/3"}
    database = {"KOPPI_DATABASE_URL": "postgresql://koppi@127.0.0.1/koppi"}
    with pytest.raises(SettingsError, match="needs KOPPI_DATABASE_URL"):
        Settings.from_env({**base, **redis_url, "KOPPI_SECRET": "s"})
    with pytest.raises(SettingsError, match="needs KOPPI_SECRET"):
        Settings.from_env({**base, **redis_url, **database})
    with pytest.raises(SettingsError, match="redis://host:port/db"):
        Settings.from_env({**base, **database, "KOPPI_SECRET": "s", "KOPPI_REDIS_URL": "http://x"})
    chosen = Settings.from_env({**base, **redis_url, **database, "KOPPI_SECRET": "s"})
    assert chosen.redis_url == redis_url["KOPPI_REDIS_URL"]
    assert Settings.from_env({**base, "KOPPI_SECRET": "s"}).redis_url is None, "one process"
