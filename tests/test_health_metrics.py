"""Health, readiness and Prometheus metrics, on a real server, database and Redis."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service import keys
from service.app import create_app
from service.settings import Limit, Settings
from tests.chat_clients import Staff, Visitor
from tests.conftest import FakeClock, ask
from tests.postgres_cluster import running_cluster, server_bin
from tests.redis_server import Redis, server_path
from tests.test_chat_socket import set_auto_assign

ClientFactory = Callable[..., Awaitable[TestClient]]
TOKEN = "a-long-random-metrics-token"


async def scrape(client: TestClient, **headers: str) -> str:
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["Cache-Control"] == "no-store"
    return await response.text()


def value(text: str, name: str, **labels: str) -> float | None:
    """The sample `name` with exactly these labels, or None when it is not exposed."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


async def eventually(check: Callable[[], Awaitable[bool]], wait_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + wait_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time allowed"
        await asyncio.sleep(0.05)


async def test_healthz_is_a_tiny_uncached_answer(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    # No language redirect, whatever the query says.
    again = await client.get("/healthz?lang=en", allow_redirects=False)
    assert again.status == 200


async def test_readyz_reports_the_database(client: TestClient) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {"status": "ready", "checks": {"database": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"


async def test_health_answers_are_never_rate_limited(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    strict = dataclasses.replace(
        settings, limits={name: Limit(1, 3600) for name in settings.limits}
    )
    client = await aiohttp_client(create_app(strict))
    for path in ("/healthz", "/readyz", "/metrics") * 5:
        assert (await client.get(path)).status == 200, path


@pytest.mark.sqlite_only  # PostgreSQL's outage is a stopped server: the test below
async def test_readyz_fails_and_recovers_when_sqlite_is_closed(client: TestClient) -> None:
    db = client.server.app[keys.DB]
    await db.close()
    try:
        response = await client.get("/readyz")
        assert response.status == 503
        body = await response.json()
        assert body["status"] == "not ready" and body["checks"]["database"] != "ok"
        assert (await client.get("/healthz")).status == 200, "alive without its database"
        # The chats gauges are left out rather than shown wrong; the rest still answers.
        text = await scrape(client)
        assert value(text, "koppi_chats", status="waiting") is None
        assert value(text, "koppi_sockets_connected", namespace="/chat") == 0
    finally:
        await db.open()
    assert (await client.get("/readyz")).status == 200


@pytest.mark.postgresql
@pytest.mark.skipif(server_bin() is None, reason="PostgreSQL's server is not installed")
async def test_readyz_fails_while_postgresql_is_stopped_and_names_no_host(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    with running_cluster() as cluster:
        cluster.psql("CREATE DATABASE koppi")
        url = cluster.url("koppi")
        own = Settings(db_path=tmp_path / "unused", database_url=url, secret="s")
        client = await aiohttp_client(create_app(own))
        try:
            assert (await client.get("/readyz")).status == 200
            await asyncio.to_thread(cluster.stop, "fast")
            response = await client.get("/readyz")
            assert response.status == 503
            text = await response.text()
            assert (await response.json())["checks"] == {"database": "unreachable"}
            host_port = url.split("@")[-1].split("/")[0]
            assert host_port not in text and "127.0.0.1" not in text
            assert (await client.get("/healthz")).status == 200
            metrics = await scrape(client)
            assert value(metrics, "koppi_chats", status="active") is None
            await asyncio.to_thread(cluster.start)

            async def ready() -> bool:
                return (await client.get("/readyz")).status == 200

            await eventually(ready, wait_s=10)
        finally:
            await client.close()


@pytest.mark.postgresql
@pytest.mark.skipif(server_path() is None, reason="redis-server is not installed")
@pytest.mark.skipif(server_bin() is None, reason="PostgreSQL's server is not installed")
async def test_readyz_fails_while_redis_is_stopped_and_recovers(
    aiohttp_client: ClientFactory, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    databases = request.getfixturevalue("postgres")
    database_url = databases.new()
    redis = Redis(tmp_path)
    redis.start()
    try:
        own = Settings(
            db_path=tmp_path / "unused",
            database_url=database_url,
            redis_url=redis.url(1),
            secret="s",
        )
        client = await aiohttp_client(create_app(own))
        try:
            response = await client.get("/readyz")
            assert response.status == 200, await response.text()
            assert (await response.json())["checks"] == {"database": "ok", "redis": "ok"}
            await asyncio.to_thread(redis.stop)
            response = await client.get("/readyz")
            assert response.status == 503
            checks = (await response.json())["checks"]
            assert checks == {"database": "ok", "redis": "unreachable"}
            assert str(redis.port) not in await response.text()
            assert (await client.get("/healthz")).status == 200
            await asyncio.to_thread(redis.start)

            async def ready() -> bool:
                return (await client.get("/readyz")).status == 200

            await eventually(ready, wait_s=10)
        finally:
            await client.close()
    finally:
        redis.stop()
        databases.drop(database_url)


async def test_requests_are_counted_by_route_template_never_by_path(client: TestClient) -> None:
    code = (await ask(client))["code"]
    for _ in range(2):
        assert (await client.get(f"/f/{code}")).status == 200
    assert (await client.get("/no-such-page-kept-out-of-labels")).status == 404
    text = await scrape(client)
    assert (
        value(text, "koppi_http_requests_total", route="/f/{code}", method="GET", status="200") == 2
    )
    assert (
        value(text, "koppi_http_requests_total", route="unmatched", method="GET", status="404") == 1
    )
    assert value(text, "koppi_http_request_duration_seconds_count", route="/f/{code}") == 2
    asked = value(
        text, "koppi_http_requests_total", route="/api/questions", method="POST", status="201"
    )
    assert asked == 1
    assert code not in text and "no-such-page" not in text
    # The next scrape counts the one before it.
    again = await scrape(client)
    assert (
        value(again, "koppi_http_requests_total", route="/metrics", method="GET", status="200") == 1
    )


async def test_sockets_chats_and_stored_messages(
    client: TestClient,
    on_duty: Callable[..., Awaitable[Staff]],
    visitor: Callable[..., Awaitable[Visitor]],
    clock: FakeClock,
) -> None:
    text = await scrape(client)
    assert value(text, "koppi_sockets_connected", namespace="/chat") == 0
    assert value(text, "koppi_chats", status="waiting") == 0
    assert value(text, "koppi_chat_messages_stored_total") == 0

    await set_auto_assign(client, False)
    mikko = await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    text = await scrape(client)
    assert value(text, "koppi_sockets_connected", namespace="/chat") == 1
    assert value(text, "koppi_sockets_connected", namespace="/staff") == 1

    ack = await v.start("Hei, tarvitsisin apua työnhakuun.")
    clock.advance(minutes=3)
    text = await scrape(client)
    assert value(text, "koppi_chats", status="waiting") == 1
    assert value(text, "koppi_chats", status="active") == 0
    assert value(text, "koppi_chat_oldest_waiting_seconds") == 180

    assert await mikko.call("accept", {}) == {"chat_id": ack["chat_id"]}
    sent = await v.send("Osaatko auttaa CV:n kanssa?", client_id="cv-1")
    assert sent["id"] > 0, sent
    assert (await v.send("Osaatko auttaa CV:n kanssa?", client_id="cv-1"))["id"] == sent["id"]
    assert (await mikko.send(ack["chat_id"], "Autan mielelläni."))["id"] > 0
    text = await scrape(client)
    assert value(text, "koppi_chats", status="waiting") == 0
    assert value(text, "koppi_chats", status="active") == 1
    assert value(text, "koppi_chat_oldest_waiting_seconds") is None
    # Two fresh messages; the resend was acknowledged again, not stored again.
    assert value(text, "koppi_chat_messages_stored_total") == 2
    assert "CV" not in text and "Mikko" not in text and "mikko" not in text

    await v.close()

    async def gone() -> bool:
        now = await scrape(client)
        return value(now, "koppi_sockets_connected", namespace="/chat") == 0

    await eventually(gone)


@pytest.mark.sqlite_only  # closing the database under the ticker stands in for an outage
async def test_background_rounds_and_failures_are_counted_per_app(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    quick = dataclasses.replace(settings, chat_tick_seconds=0.05)
    first = await aiohttp_client(create_app(quick))
    other = dataclasses.replace(quick, db_path=settings.db_path.parent / "other" / "k.sqlite3")
    second = await aiohttp_client(create_app(other))

    def runs(text: str) -> float:
        return value(text, "koppi_background_runs_total", job="chat-ticker") or 0.0

    async def ticked() -> bool:
        return runs(await scrape(first)) >= 3

    await eventually(ticked)
    text = await scrape(first)
    assert value(text, "koppi_background_failures_total", job="chat-ticker") == 0
    assert value(text, "koppi_background_runs_total", job="retention") is not None
    assert value(text, "koppi_leader") == 1, "SQLite's one process always leads"

    # The other app counts its own rounds and requests only.
    await first.get("/healthz")
    assert (
        value(
            await scrape(second),
            "koppi_http_requests_total",
            route="/healthz",
            method="GET",
            status="200",
        )
        is None
    )

    db = first.server.app[keys.DB]
    await db.close()
    try:

        async def failing() -> bool:
            failures = value(
                await scrape(first), "koppi_background_failures_total", job="chat-ticker"
            )
            return (failures or 0) >= 2

        await eventually(failing)
        assert (
            value(await scrape(second), "koppi_background_failures_total", job="chat-ticker") == 0
        )
    finally:
        await db.open()


@pytest.fixture
async def guarded(aiohttp_client: ClientFactory, settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(dataclasses.replace(settings, metrics_token=TOKEN)))


async def test_metrics_only_for_loopback_without_a_proxy_or_with_the_token(
    guarded: TestClient,
) -> None:
    unknown = await guarded.get("/no-such-page")
    assert unknown.status == 404
    await scrape(guarded)  # the test client connects from loopback, directly
    await scrape(guarded, Authorization=f"Bearer {TOKEN}", **{"X-Forwarded-For": "1.2.3.4"})
    refused: list[dict[str, Any]] = [
        {"X-Forwarded-For": "1.2.3.4"},
        {"X-Forwarded-For": "127.0.0.1"},
        {"Forwarded": "for=1.2.3.4"},
        {"X-Real-IP": "1.2.3.4"},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ]
    for headers in refused:
        response = await guarded.get("/metrics", headers=headers)
        assert response.status == 404, headers
        # The same answer as a page that does not exist: nothing says /metrics is there.
        page = (await unknown.text()).replace("/no-such-page", "/metrics")
        assert await response.text() == page
        assert response.headers["Content-Type"] == unknown.headers["Content-Type"]


async def test_without_a_token_setting_a_bearer_is_refused(client: TestClient) -> None:
    response = await client.get("/metrics", headers={"Authorization": "Bearer anything"})
    assert response.status == 404
