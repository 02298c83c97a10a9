"""Demo mode fills only a new database: sixteen answered questions and three staff accounts."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import FakeClock, rows


async def test_demo_content_loads_once(
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    settings: Settings,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    demo = dataclasses.replace(settings, demo=True)
    client = await aiohttp_client(create_app(demo, clock=clock))
    board = await (await client.get("/api/questions")).json()
    assert board["total"] == 16
    categories = {q["category"] for q in board["items"]}
    assert {"tyonhaku", "tyopajat", "raha", "opiskelu", "jaksaminen", "asuminen"} <= categories
    assert all(q["answers"] for q in board["items"])
    staff = rows(settings, "SELECT username, role FROM staff ORDER BY id")
    assert [r[1] for r in staff] == ["counsellor", "adviser", "coordinator"]
    logins = (settings.data_dir / "demo-logins.txt").read_text().splitlines()
    assert len(logins) == 3
    assert oct((settings.data_dir / "demo-logins.txt").stat().st_mode & 0o777) == "0o600"
    printed = capsys.readouterr().out
    assert all(line.split("\t")[2] in printed for line in logins)
    await client.close()

    again = await aiohttp_client(create_app(demo, clock=clock))
    assert (await (await again.get("/api/questions")).json())["total"] == 16, "not loaded twice"
    found = await (await again.get("/api/questions", params={"q": "kelan"})).json()
    assert found["total"] >= 1
    username, _role, password = logins[0].split("\t")
    signed_in = await again.post(
        "/api/staff/login", json={"username": username, "password": password}
    )
    assert signed_in.status == 200
