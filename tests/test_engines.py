"""The storage seam itself: both engines share a schema version, PostgreSQL's start-up faults
are one clear line, migrations run once however many processes start, and a PostgreSQL that
goes away while Koppi runs costs a 503 and an error acknowledgement, never a lost write."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.settings import Settings
from service.storage.db import migrations
from service.storage.engines.postgres import placeholders
from tests.chat_clients import Visitor
from tests.conftest import PostgresDatabases, ask, rows, url
from tests.live_server import ROOT, free_port, run_command
from tests.postgres_cluster import running_cluster, server_bin


def test_both_engines_have_every_migration() -> None:
    """One schema version for both: a number applied on one engine exists on the other."""
    sqlite = [(n, name) for n, name, _ in migrations("sqlite")]
    postgresql = [(n, name) for n, name, _ in migrations("postgresql")]
    assert sqlite == postgresql
    assert [n for n, _ in sqlite] == list(range(1, len(sqlite) + 1))


def test_placeholders_leave_question_marks_in_quotes_alone() -> None:
    sql = "SELECT '?', \"odd?\", ? FROM t WHERE a = ? AND b = 'x''?'"
    assert placeholders(sql) == "SELECT '?', \"odd?\", $1 FROM t WHERE a = $2 AND b = 'x''?'"


def _cli(tmp_path: Path, *args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KOPPI_DB": str(tmp_path / "data" / "koppi.sqlite3"),
        "KOPPI_SECRET": "engine-test-secret",
        "KOPPI_DATABASE_URL": database_url,
        "KOPPI_PORT": str(free_port()),
    }
    return run_command(env, *args)


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith(("koppi:", "error:"))]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_a_database_url_that_is_not_postgresql_is_refused(tmp_path: Path, command: str) -> None:
    done = _cli(tmp_path, command, database_url="mysql://koppi:hunter22@db.example:3306/koppi")
    assert done.returncode == 2
    line = _one_line(done.stderr)
    assert "KOPPI_DATABASE_URL" in line and "postgresql://" in line
    assert "hunter22" not in done.stderr, "the password is never repeated"


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_postgresql_unreachable_at_start_is_one_line_naming_host_and_port(
    tmp_path: Path, command: str
) -> None:
    port = free_port()  # nothing listens there
    done = _cli(tmp_path, command, database_url=f"postgresql://koppi:pw@127.0.0.1:{port}/koppi")
    assert done.returncode == 1
    line = _one_line(done.stderr)
    assert f"127.0.0.1:{port}" in line, line
    assert "pw@" not in done.stderr
    assert not (tmp_path / "data" / "koppi.sqlite3").exists(), "no SQLite file on PostgreSQL"


def test_two_processes_starting_at_once_apply_each_migration_once(
    postgres: PostgresDatabases, tmp_path: Path
) -> None:
    database = postgres.new()
    env = {**os.environ, "KOPPI_SECRET": "s", "KOPPI_DATABASE_URL": database}
    env["KOPPI_DB"] = str(tmp_path / "koppi.sqlite3")
    both = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "service", "migrate"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in both]
    assert [p.returncode for p in both] == [0, 0], outputs
    applied = [out for out, _err in outputs if "0001_board.sql" in out]
    assert len(applied) == 1, outputs
    assert any("up to date" in out for out, _err in outputs), outputs
    settings = Settings(db_path=tmp_path / "unused", database_url=database)
    assert rows(settings, "SELECT version FROM koppi_schema_version") == [
        (len(migrations("sqlite")),)
    ]
    assert rows(settings, "SELECT count(*) FROM categories") == [(7,)]


def _nothing_lost(text: str) -> bool:
    """The outage message, in the English or the Finnish the request was answered in."""
    return "nothing you wrote was lost" in text or "Mitään kirjoittamaasi ei kadonnut" in text


@pytest.mark.skipif(server_bin() is None, reason="PostgreSQL's server is not installed")
async def test_postgresql_going_away_answers_503_and_the_pool_comes_back(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    """A cluster of its own, stopped and started again under a running Koppi."""
    with running_cluster() as cluster:
        cluster.psql("CREATE DATABASE koppi")
        own = Settings(db_path=tmp_path / "unused", database_url=cluster.url("koppi"), secret="s")
        client: TestClient = await aiohttp_client(create_app(own))
        kept = await ask(client, body="Tämä kysymys on tallessa ennen katkosta.")
        visitor = Visitor()
        await visitor.connect(url(client))
        try:
            await asyncio.to_thread(cluster.stop, "fast")
            listing = await client.get("/api/questions?q=katkosta")
            assert listing.status == 503
            assert _nothing_lost((await listing.json())["error"])
            assert listing.headers["Retry-After"] == "5"
            asking = await client.post(
                "/api/questions", json={"body": "Katkon aikana", "category": "muu"}
            )
            assert asking.status == 503
            page = await client.get("/?q=katkosta")
            assert page.status == 503 and _nothing_lost(await page.text())
            ack = await visitor.start("Hei, onko ketään paikalla?")
            assert ack["error"] == "unavailable", ack
            assert _nothing_lost(ack["message"])
            await asyncio.to_thread(cluster.start)
            for _ in range(100):
                again = await client.get("/api/questions?q=katkosta")
                if again.status == 200:
                    break
                await asyncio.sleep(0.1)
            assert again.status == 200, "the pool reconnects by itself"
            code = kept["code"]
            assert (await client.get(f"/api/followup/{code}")).status == 200
        finally:
            await visitor.close()
            await client.close()
