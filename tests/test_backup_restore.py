"""`backup` and `restore` on both engines: a backup taken while the service keeps writing
restores the same board, and each command refuses what would lose or invent data."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from service.settings import Settings
from tests.conftest import dump, rows
from tests.live_server import LiveServer, one_error_line, run_command, staff_cookie

PASSWORD = "backup-test-password"
PUBLISHED = [
    "Miten haen työpajaan, kun en päässyt syksyllä opiskelemaan?",
    "Voiko työpajassa suorittaa ajokortin teoriaosuuden samalla?",
    "Saako työpajasta palkkaa vai maksetaanko vain ylläpitokorvausta?",
]


def server_for(settings: Settings) -> LiveServer:
    """A `python -m service` for the database the settings name; its env serves the CLI too."""
    folder = settings.db_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    server = LiveServer(folder, database_url=settings.database_url)
    server.env["KOPPI_RATE_LIMITS"] = "0"  # the writer below asks many questions
    return server


def koppi(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    return run_command(server.env, *args)


def is_empty(settings: Settings) -> bool:
    if settings.database_url is None:
        return not settings.db_path.exists()
    tables = rows(settings, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    return tables == [(0,)]


async def publish(base: str, bodies: list[str]) -> dict[str, Any]:
    """Ask, answer and publish each question over HTTP; the board the service then shows."""
    cookie = await staff_cookie(base, "mikko", PASSWORD)
    async with aiohttp.ClientSession() as web:
        for body in bodies:
            question = {"body": body, "category": "tyopajat", "publish": True}
            async with web.post(f"{base}/api/questions", json=question) as response:
                assert response.status == 201, await response.text()
                qid = (await response.json())["id"]
            answer = {"body": "Tervetuloa kysymään lisää!", "publish": True}
            async with web.post(
                f"{base}/api/staff/questions/{qid}/answer",
                json=answer,
                headers={"Cookie": cookie},
            ) as response:
                assert response.status == 200, await response.text()
        async with web.get(f"{base}/api/questions") as response:
            return dict(await response.json())


def board(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/api/questions", timeout=10) as response:  # noqa: S310
        return dict(json.load(response))


def keep_asking(base: str, stop: threading.Event, asked: list[int]) -> None:
    """New pending questions, one after another, until told to stop."""
    n = 0
    while not stop.is_set():
        n += 1
        payload = {
            "body": f"Kysymys numero {n}: milloin työpajan ovet ovat auki kesällä?",
            "category": "tyopajat",
            "publish": True,
        }
        request = urllib.request.Request(  # noqa: S310 - our loopback server
            f"{base}/api/questions",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            asked.append(json.load(response)["id"])


def test_backup_while_writing_restores_the_same_board(
    settings: Settings, another_database: Callable[[], Settings], tmp_path: Path
) -> None:
    server = server_for(settings)
    server.cli("create-staff", "mikko", "--role", "adviser", "--name", "Mikko", stdin=PASSWORD)
    backup = tmp_path / "koppi.backup"
    asked: list[int] = []
    with server.running():
        shown = asyncio.run(publish(server.url, PUBLISHED))
        stop = threading.Event()
        writer = threading.Thread(target=keep_asking, args=(server.url, stop, asked))
        writer.start()
        try:
            while len(asked) < 3:
                stop.wait(0.01)
            before = list(asked)
            done = koppi(server, "backup", str(backup))
            during = len(asked) - len(before)
        finally:
            stop.set()
            writer.join()
    assert done.returncode == 0, done.stderr
    assert during > 0, "the service kept writing while the backup ran"
    assert backup.is_file() and stat.S_IMODE(backup.stat().st_mode) == 0o600

    scratch = another_database()
    restored = server_for(scratch)
    done = koppi(restored, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    with restored.running():
        assert board(restored.url) == shown, "the same ids, titles, bodies and answers"
    kept = {qid for (qid,) in rows(scratch, "SELECT id FROM questions")}
    assert set(before) <= kept, "every question asked before the backup started is in it"
    assert kept <= set(asked) | {item["id"] for item in shown["items"]}, "none invented"


def test_restore_refuses_a_database_that_holds_data(settings: Settings, tmp_path: Path) -> None:
    server = server_for(settings)
    server.cli("create-staff", "mikko", "--role", "adviser", "--name", "Mikko", stdin=PASSWORD)
    backup = tmp_path / "koppi.backup"
    assert koppi(server, "backup", str(backup)).returncode == 0
    before = dump(settings)

    line = one_error_line(koppi(server, "restore", str(backup)))
    assert "holds a database" in line or "is not empty" in line
    assert "changed nothing" in line
    assert dump(settings) == before


def test_restore_refuses_what_is_not_a_backup(
    settings: Settings, another_database: Callable[[], Settings], tmp_path: Path
) -> None:
    server = server_for(settings)
    server.cli("migrate")
    whole = tmp_path / "whole.backup"
    assert koppi(server, "backup", str(whole)).returncode == 0
    noise = tmp_path / "noise.backup"
    noise.write_bytes(os.urandom(64 * 1024))
    cut = tmp_path / "cut.backup"  # a copy interrupted half-way
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])

    scratch = another_database()
    target = server_for(scratch)
    for junk in (noise, cut):
        line = one_error_line(koppi(target, "restore", str(junk)))
        assert str(junk) in line, line
        assert is_empty(scratch), f"{junk.name} left something behind"
    noise_line = one_error_line(koppi(target, "restore", str(noise)))
    assert "is not a Koppi backup" in noise_line
    assert koppi(target, "restore", str(whole)).returncode == 0, "a real one still restores"


def test_backup_never_overwrites_a_file(settings: Settings, tmp_path: Path) -> None:
    server = server_for(settings)
    server.cli("migrate")
    existing = tmp_path / "keep.me"
    existing.write_bytes(b"an earlier backup, or anything else")

    line = one_error_line(koppi(server, "backup", str(existing)))
    assert "exists already" in line
    assert existing.read_bytes() == b"an earlier backup, or anything else"
