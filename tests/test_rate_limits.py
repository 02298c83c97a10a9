"""Rate limits per visitor token and per hashed address: 429 with Retry-After, socket refusals."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, make_mocked_request
from multidict import CIMultiDict

from service.app import create_app
from service.client_address import AddressKeys, network
from service.rate_limits import MemoryRateLimiter, SlidingWindow
from service.settings import DEFAULT_LIMITS, Limit, Settings
from tests.chat_clients import Visitor
from tests.conftest import PASSWORD, FakeClock, add_staff, ask, dump

ClientFactory = Callable[..., Awaitable[TestClient]]
SMALL = {
    "ask.address": Limit(2, 3600),
    "sign_in.address": Limit(3, 900),
    "chat_start.visitor": Limit(2, 3600),
    "chat_start.address": Limit(3, 3600),
    "chat_message.visitor": Limit(3, 60),
    "chat_message.address": Limit(5, 60),
}
QUESTION = {"body": "Miten haen työpajaan, kun en päässyt opiskelemaan?", "category": "tyopajat"}


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    """Small limits, so a test reaches them in a few requests."""
    return Settings(
        db_path=tmp_path / "koppi.sqlite3",
        database_url=database_url,
        secret="test-secret-not-for-production",
        limits={**DEFAULT_LIMITS, **SMALL},
    )


async def test_the_third_ask_from_one_address_waits_for_the_window(
    client: TestClient, clock: FakeClock
) -> None:
    await ask(client)
    await ask(client)
    refused = await client.post("/api/questions?lang=en", json={**QUESTION, "publish": True})
    assert refused.status == 429
    wait = int(refused.headers["Retry-After"])
    assert 3500 <= wait <= 3600
    assert "at most 2 in 60 minutes" in (await refused.json())["error"]
    # The form shares the limit and explains itself on an error page.
    page = await client.post("/ask?lang=en", data={**QUESTION, "publish": "yes"})
    assert page.status == 429 and page.headers["Retry-After"] == str(wait)
    assert "Too many questions from this connection" in await page.text()

    clock.advance(seconds=wait)
    await ask(client)


async def test_asks_with_mistakes_do_not_use_up_the_limit(client: TestClient) -> None:
    for _ in range(4):
        wrong = await client.post("/api/questions", json={"body": "lyhyt", "category": "x"})
        assert wrong.status == 400
        form = await client.post("/ask", data={"body": "lyhyt"})
        assert form.status == 400
    await ask(client)
    accepted = await client.post("/ask", data={**QUESTION, "publish": "no"}, allow_redirects=False)
    assert accepted.status == 303
    refused = await client.post("/api/questions", json={**QUESTION, "publish": True})
    assert refused.status == 429 and "Retry-After" in refused.headers


async def test_every_sign_in_attempt_counts(client: TestClient, clock: FakeClock) -> None:
    await add_staff(client, "sanna", "counsellor", "Sanna")
    for _ in range(2):
        wrong = await client.post(
            "/api/staff/login", json={"username": "sanna", "password": "arvaus"}
        )
        assert wrong.status == 401
    form = await client.post("/staff/login", data={"username": "nobody", "password": "x"})
    assert form.status != 429
    right = {"username": "sanna", "password": PASSWORD}
    refused = await client.post("/api/staff/login?lang=en", json=right)
    assert refused.status == 429
    assert "sign-in attempts" in (await refused.json())["error"]
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 900
    page = await client.post("/staff/login", data=right)
    assert page.status == 429 and "Retry-After" in page.headers

    clock.advance(seconds=wait)
    assert (await client.post("/api/staff/login", json=right)).status == 200


async def test_chat_starts_are_limited_per_visitor_and_per_address(
    client: TestClient, visitor: Callable[..., Awaitable[Visitor]]
) -> None:
    first = await visitor()
    # A faulty start is given back; closed ones count (they are recorded as attempts).
    assert (await first.start(""))["error"] == "invalid"
    assert (await first.start())["error"] == "closed"
    assert (await first.start())["error"] == "closed"
    refused = await first.start()
    assert refused["error"] == "rate_limited"
    assert 3500 <= refused["retry_after"] <= 3600 and refused["message"]
    # Another token from the same address: one start left of the address's three.
    second = await visitor()
    assert (await second.start())["error"] == "closed"
    by_address = await second.start()
    assert by_address["error"] == "rate_limited" and by_address["retry_after"] > 0


async def test_chat_messages_are_limited_then_allowed_again(
    client: TestClient,
    clock: FakeClock,
    on_duty: Any,
    visitor: Callable[..., Awaitable[Visitor]],
) -> None:
    await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    assert "chat_id" in await v.start("Aloitan.")
    for n in range(3):
        assert "id" in await v.send(f"viesti {n}")
    refused = await v.send("liikaa")
    assert refused["error"] == "rate_limited" and 1 <= refused["retry_after"] <= 60
    clock.advance(seconds=refused["retry_after"])
    assert "id" in await v.send("taas")


async def test_rate_limits_off_for_load_tests(
    aiohttp_client: ClientFactory, settings: Settings, clock: FakeClock
) -> None:
    client = await aiohttp_client(
        create_app(dataclasses.replace(settings, rate_limits=False), clock=clock)
    )
    for _ in range(5):
        await ask(client)
    for _ in range(5):
        wrong = await client.post("/api/staff/login", json={"username": "x", "password": "y"})
        assert wrong.status == 401
    assert Settings.from_env({"KOPPI_SECRET": "s", "KOPPI_RATE_LIMITS": "0"}).rate_limits is False


async def test_no_raw_address_is_stored(
    client: TestClient,
    settings: Settings,
    on_duty: Any,
    visitor: Callable[..., Awaitable[Visitor]],
) -> None:
    await ask(client)
    await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    await v.start("Hei.")
    await v.send("Viesti.")
    await client.post("/api/staff/login", json={"username": "mikko", "password": "väärä"})
    assert "127.0.0.1" not in dump(settings)
    for path in settings.db_path.parent.glob(settings.db_path.name + "*"):
        assert b"127.0.0.1" not in path.read_bytes(), path.name


def test_address_keys_rotate_with_the_day_and_tell_addresses_apart() -> None:
    keys = AddressKeys("secret")
    morning = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    evening = morning + timedelta(hours=13)  # 23:00 in Helsinki, still the same day
    tomorrow = morning + timedelta(hours=15)  # 01:00 the next Helsinki day
    today = keys.key("192.0.2.7", morning)
    assert keys.key("192.0.2.7", evening) == today
    assert keys.key("192.0.2.8", morning) != today
    assert "192.0.2.7" not in today and len(today) == 32
    assert keys.key("192.0.2.7", tomorrow) != today
    assert AddressKeys("secret").key("192.0.2.7", morning) != today, "the salt is random"
    # One IPv6 subscriber gets a whole /64; an IPv4-mapped address is its IPv4 address.
    assert keys.key("2001:db8:1:2::1", morning) == keys.key("2001:db8:1:2:ffff::9", morning)
    assert keys.key("2001:db8:1:3::1", morning) != keys.key("2001:db8:1:2::1", morning)
    assert network("::ffff:192.0.2.7") == "192.0.2.7"
    assert network("not an address") == network(None) == "unknown"


def test_the_forwarded_address_only_behind_a_trusted_proxy() -> None:
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    headers = CIMultiDict({"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})
    request = make_mocked_request("POST", "/ask", headers=headers)
    trusting = AddressKeys("secret", trust_forwarded=True)
    assert trusting.key(request, now) == trusting.key("203.0.113.9", now)
    plain = AddressKeys("secret")
    assert plain.key(request, now) != plain.key("203.0.113.9", now)


async def test_a_refusing_limit_counts_the_event_nowhere() -> None:
    limiter = MemoryRateLimiter(
        {"chat_start.visitor": Limit(1, 60), "chat_start.address": Limit(5, 60)}
    )
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert await limiter.retry_after("chat_start", {"visitor": "a", "address": "x"}, now) == 0
    for _ in range(3):
        assert await limiter.retry_after("chat_start", {"visitor": "a", "address": "x"}, now) == 60
    # The address saw one start, not four: four other visitors still fit.
    for token in "bcde":
        assert await limiter.retry_after("chat_start", {"visitor": token, "address": "x"}, now) == 0
    refusal = await limiter.check("chat_start", {"visitor": "f", "address": "x"}, now)
    assert refusal is not None and refusal.name == "chat_start.address"
    # A kind with no limit of its own is ignored; a disabled limiter refuses nothing.
    assert await limiter.retry_after("ask", {"address": "x"}, now) == 0
    off = MemoryRateLimiter({"ask.address": Limit(1, 60)}, enabled=False)
    assert [await off.retry_after("ask", {"address": "x"}, now) for _ in range(3)] == [0, 0, 0]


async def test_memory_stays_bounded() -> None:
    window = SlidingWindow(limit=3, window_s=60, max_keys=100)
    for n in range(1000):
        window.count(f"k{n}", float(n) / 100)
    assert len(window) == 100
    assert window.retry_after("k999", 10) == 0, "the newest keys are kept"
    window.prune(100.0)
    assert len(window) == 0
    limiter = MemoryRateLimiter({"ask.address": Limit(2, 60)}, prune_every_s=60)
    start = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    for n in range(50):
        await limiter.count("ask", {"address": f"a{n}"}, start)
    await limiter.check("ask", {"address": "a0"}, start + timedelta(minutes=2))
    assert await limiter.tracked() == 0
