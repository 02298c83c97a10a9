"""Fixtures: a fresh database and app per test, a clock the test controls, real clients.

Every test that uses a database runs on both engines: SQLite (a fresh file) and PostgreSQL (a
fresh database on a throwaway cluster the run starts and stops itself). `-m "not postgresql"`
runs the SQLite half alone; `-m postgresql` the other."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import itertools
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from playwright.sync_api import Browser

from service import auth, keys
from service.app import create_app
from service.settings import DEFAULT_LIMITS, Limit, Settings
from service.storage.engines.postgres import placeholders
from tests.chat_clients import Staff, Visitor
from tests.live_server import chromium
from tests.postgres_cluster import HOW_TO_GET, Cluster, running_cluster, server_bin
from tests.redis_server import HOW_TO_GET as HOW_TO_GET_REDIS
from tests.redis_server import Redis, running_redis
from tests.redis_server import server_path as redis_server_path

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of one engine's own mechanics (SQLite's file and pragmas, PostgreSQL's tables)
    run on that engine only."""
    kept, dropped = [], []
    for item in items:
        on_postgres = "[postgresql" in item.nodeid
        on_sqlite = "[sqlite" in item.nodeid
        elsewhere = (on_postgres and item.get_closest_marker("sqlite_only")) or (
            on_sqlite and item.get_closest_marker("postgresql_only")
        )
        (dropped if elsewhere else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


class PostgresDatabases:
    """Fresh databases on the run's cluster, each migrated by the app that opens it."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._numbers = itertools.count(1)
        self._done: list[str] = []

    def new(self) -> str:
        # A test's app stops in pytest-aiohttp's own teardown, after the test's other fixtures:
        # its databases are dropped when the next test begins, not while it may still run.
        for name in self._done:
            self.cluster.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._done.clear()
        name = f"koppi_test_{next(self._numbers)}"
        self.cluster.psql(f"CREATE DATABASE {name}")
        return self.cluster.url(name)

    def drop(self, url: str) -> None:
        self._done.append(url.rsplit("/", 1)[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    if server_bin() is None:
        if os.environ.get("CI"):
            pytest.fail(HOW_TO_GET)
        pytest.skip(HOW_TO_GET)
    with running_cluster() as cluster:
        yield PostgresDatabases(cluster)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    """One throwaway Redis for the run (Debian's redis-server), started on first use."""
    if redis_server_path() is None:
        if os.environ.get("CI"):
            pytest.fail(HOW_TO_GET_REDIS)
        pytest.skip(HOW_TO_GET_REDIS)
    with running_redis() as server:
        yield server


_redis_databases = itertools.cycle(range(1, 64))


@pytest.fixture
def redis_url(redis_server: Redis) -> str:
    """A Redis database of its own for the test, emptied first."""
    import redis

    url = redis_server.url(next(_redis_databases))
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def engine(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        request.getfixturevalue("postgres")  # skips (or fails in CI) without a server
    return str(request.param)


@pytest.fixture
def database_url(engine: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None on SQLite; on PostgreSQL a fresh empty database, dropped after the test."""
    if engine == "sqlite":
        yield None
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    url = databases.new()
    yield url
    databases.drop(url)


@pytest.fixture(scope="module")
def module_database_url(engine: str, request: pytest.FixtureRequest) -> str | None:
    """A database for a module's one server: None on SQLite, an empty one on PostgreSQL."""
    if engine == "sqlite":
        return None
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    return databases.new()


@pytest.fixture
def another_database(
    engine: str, settings: Settings, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], Settings]]:
    """Settings for more empty databases on the test's engine, beside the app's own."""
    made: list[str] = []

    def make() -> Settings:
        folder = tmp_path / f"other-{len(made)}"
        if engine == "sqlite":
            made.append(str(folder))
            return dataclasses.replace(settings, db_path=folder / "koppi.sqlite3")
        made.append(request.getfixturevalue("postgres").new())
        return dataclasses.replace(settings, db_path=folder / "unused", database_url=made[-1])

    yield make
    if engine == "postgresql":
        for url in made:
            request.getfixturevalue("postgres").drop(url)


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    # Asking and sign-in limits out of the way; tests/test_rate_limits.py sets its own.
    roomy = {"ask.address": Limit(1000, 3600), "sign_in.address": Limit(1000, 900)}
    return Settings(
        db_path=tmp_path / "koppi.sqlite3",
        database_url=database_url,
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
    """Read (or change) the database directly, not through Koppi, as an auditor would."""
    if settings.database_url is None:
        with sqlite3.connect(settings.db_path) as conn:
            return conn.execute(sql, params).fetchall()
    url = settings.database_url

    async def read() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(url)
        try:
            return [tuple(r) for r in await conn.fetch(placeholders(sql), *params)]
        finally:
            await conn.close()

    # The test's own event loop is running: read on the reader thread's loop.
    return asyncio.run_coroutine_threadsafe(read(), _reader_loop()).result(timeout=60)


@functools.cache
def _reader_loop() -> asyncio.AbstractEventLoop:
    """One event loop on a thread of its own for the whole run, for direct reads."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="direct-reads", daemon=True).start()
    return loop


def search_rows(settings: Settings) -> list[tuple[Any, ...]]:
    """The questions' search entries, (question id, what is indexed…), on either engine."""
    if settings.database_url is None:
        return rows(settings, "SELECT rowid, words FROM question_stems") + rows(
            settings, "SELECT rowid, text FROM question_trigrams"
        )
    return rows(settings, "SELECT id, CAST(stems AS text), text FROM question_search")


def dump(settings: Settings) -> str:
    """Everything the database holds, as text."""
    if settings.database_url is None:
        with sqlite3.connect(settings.db_path) as conn:
            return "\n".join(conn.iterdump())
    tables = rows(
        settings, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
    )
    return "\n".join(
        repr(row) for (table,) in tables for row in rows(settings, f"SELECT * FROM {table}")
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for a module's browser tests."""
    with chromium() as launched:
        yield launched
