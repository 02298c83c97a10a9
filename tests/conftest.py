"""Fixtures: a fresh SQLite file and app per test, a clock the test controls, real clients."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from service import auth, keys
from service.app import create_app
from service.settings import DEFAULT_LIMITS, Limit, Settings
from tests.chat_clients import Staff, Visitor

PASSWORD = "correct horse battery"


class FakeClock:
    """A clock that stands still until the test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Asking and sign-in limits out of the way; tests/test_rate_limits.py sets its own.
    roomy = {"ask.address": Limit(1000, 3600), "sign_in.address": Limit(1000, 900)}
    return Settings(
        db_path=tmp_path / "koppi.sqlite3",
        secret="test-secret-not-for-production",
        limits={**DEFAULT_LIMITS, **roomy},
    )


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> web.Application:
    return create_app(settings, clock=clock)


ClientFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def client(aiohttp_client: ClientFactory, app: web.Application) -> TestClient:
    return await aiohttp_client(app)


@pytest.fixture
def new_client(
    aiohttp_client: ClientFactory, client: TestClient
) -> Callable[[], Awaitable[TestClient]]:
    """Another browser (own cookie jar) against the same running server."""

    async def make() -> TestClient:
        return await aiohttp_client(client.server)

    return make


async def add_staff(
    client: TestClient, username: str, role: str, first_name: str | None = None
) -> int:
    app = client.server.app
    return await auth.create_staff(
        app[keys.DB],
        app[keys.CLOCK],
        username=username,
        password=PASSWORD,
        role=role,
        first_name=first_name,
    )


async def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    response = await client.post(
        "/api/staff/login", json={"username": username, "password": password}
    )
    assert response.status == 200, await response.text()


@pytest.fixture
def staff_client(
    new_client: Callable[[], Awaitable[TestClient]], client: TestClient
) -> Callable[..., Awaitable[TestClient]]:
    """A separate signed-in client for a new staff account of the given role."""

    async def make(username: str, role: str, first_name: str | None = None) -> TestClient:
        await add_staff(client, username, role, first_name)
        other = await new_client()
        await sign_in(other, username)
        return other

    return make


# Live chat: real socket.io clients, closed at the end of each test.


def url(client: TestClient) -> str:
    return str(client.make_url("/"))


def cookie(client: TestClient) -> str:
    return "; ".join(f"{c.key}={c.value}" for c in client.session.cookie_jar)


@pytest.fixture
async def opened() -> AsyncIterator[list[Any]]:
    """Every socket a test opens is closed at the end, even when the test fails."""
    sockets: list[Any] = []
    yield sockets
    for sock in sockets:
        await sock.close()


@pytest.fixture
def on_duty(
    client: TestClient, staff_client: Callable[..., Awaitable[TestClient]], opened: list[Any]
) -> Callable[..., Awaitable[Staff]]:
    """A signed-in staff member on the chat console, available unless told otherwise."""

    async def make(username: str, role: str, name: str, *, available: bool = True) -> Staff:
        signed_in = await staff_client(username, role, name)
        staff = Staff(cookie(signed_in))
        opened.append(staff)
        await staff.connect(url(client))
        if available:
            await staff.available()
        return staff

    return make


@pytest.fixture
def visitor(client: TestClient, opened: list[Any]) -> Callable[..., Awaitable[Visitor]]:
    async def make(token: str | None = None) -> Visitor:
        v = Visitor(token)
        opened.append(v)
        await v.connect(url(client))
        return v

    return make


@pytest.fixture
async def coordinator(staff_client: Callable[..., Awaitable[TestClient]]) -> TestClient:
    return await staff_client("helena", "coordinator", "Helena")


def csrf_token(html: str) -> str:
    """The CSRF token a staff page carries in its forms."""
    return html.split('name="csrf_token" value="')[1].split('"')[0]


async def staff_post(who: TestClient, path: str, **data: str) -> ClientResponse:
    """Post a staff form as a browser would: with the token from a staff page, not following."""
    token = csrf_token(await (await who.get("/staff/login")).text())
    return await who.post(path, data={"csrf_token": token, **data}, allow_redirects=False)


def staff_id(settings: Settings, username: str) -> int:
    return int(rows(settings, "SELECT id FROM staff WHERE username = ?", (username,))[0][0])


async def ask(client: TestClient, **fields: Any) -> dict[str, Any]:
    payload = {
        "body": "Miten haen työpajaan, kun en päässyt opiskelemaan?",
        "category": "tyopajat",
        "publish": True,
        **fields,
    }
    response = await client.post("/api/questions", json=payload)
    assert response.status == 201, await response.text()
    return await response.json()


def rows(settings: Settings, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the database file directly, as an auditor would."""
    with sqlite3.connect(settings.db_path) as conn:
        return conn.execute(sql, params).fetchall()


def dump(settings: Settings) -> str:
    with sqlite3.connect(settings.db_path) as conn:
        return "\n".join(conn.iterdump())
