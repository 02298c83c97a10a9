"""Rate limits shared by several processes through Redis: one limit whichever process counts,
no place taken twice under concurrency, the same answers as one process's limiter, and
requests still served when Redis goes away."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from service import keys
from service.app import create_app
from service.rate_limits import MemoryRateLimiter, RateLimiter, Refusal, rate_limiter
from service.rate_limits_redis import RedisRateLimiter
from service.settings import DEFAULT_LIMITS, Limit, Settings
from tests.conftest import FakeClock
from tests.redis_server import Redis

ClientFactory = Callable[..., Awaitable[TestClient]]
LIMITS = {
    "ask.address": Limit(10, 3600),
    "chat_start.visitor": Limit(2, 60),
    "chat_start.address": Limit(5, 60),
}
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
ADDRESS = {"address": "a1"}
QUESTION = {"body": "Miten haen työpajaan, kun en päässyt opiskelemaan?", "category": "tyopajat"}


@pytest.fixture
async def two(redis_url: str) -> AsyncIterator[tuple[RedisRateLimiter, RedisRateLimiter]]:
    """Two processes' limiters on one Redis database."""
    a, b = RedisRateLimiter(redis_url, LIMITS), RedisRateLimiter(redis_url, LIMITS)
    yield a, b
    await a.close()
    await b.close()


@pytest.fixture
async def peek(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client, to look at what the limiters keep."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_the_eleventh_question_is_refused_whichever_process_counts_it(
    two: tuple[RedisRateLimiter, RedisRateLimiter],
) -> None:
    a, b = two
    for n in range(10):
        assert await (a, b)[n % 2].take("ask", ADDRESS, at(60 * n)) is None
    for limiter in (a, b):
        refusal = await limiter.take("ask", ADDRESS, at(1800))
        assert refusal == Refusal("ask.address", LIMITS["ask.address"], 1800)
    # The first question leaves the window at 60 minutes; the next one then fits, on either.
    assert (await b.check("ask", ADDRESS, at(3599.5))).retry_after == 1  # type: ignore[union-attr]
    assert await b.take("ask", ADDRESS, at(3600)) is None
    assert (await a.take("ask", ADDRESS, at(3600))).retry_after == 60  # type: ignore[union-attr]
    # Another address has its own allowance.
    assert await a.take("ask", {"address": "a2"}, at(3600)) is None


async def test_the_same_answers_as_one_process(
    two: tuple[RedisRateLimiter, RedisRateLimiter],
) -> None:
    """Any sequence of takes, checks and releases at odd times: refused or not, which limit,
    how long to wait and what the visitor reads are those of the memory limiter."""
    alone = MemoryRateLimiter(LIMITS)
    chance = random.Random(15)
    now = 0.0
    taken: list[tuple[dict[str, str], float]] = []
    for step in range(400):
        now += chance.choice([0.0, 0.001, 0.37, 3.5, 11.0, 29.999])
        visitor = {"visitor": f"v{chance.randrange(3)}", "address": f"a{chance.randrange(2)}"}
        shared = two[step % 2]
        roll = chance.random()
        if roll < 0.1 and taken:
            by, when = taken.pop(chance.randrange(len(taken)))
            await alone.release("chat_start", by, at(when))
            await shared.release("chat_start", by, at(when))
            continue
        if roll < 0.3:
            expected = await alone.check("chat_start", visitor, at(now))
            got = await shared.check("chat_start", visitor, at(now))
        else:
            expected = await alone.take("chat_start", visitor, at(now))
            got = await shared.take("chat_start", visitor, at(now))
            if expected is None:
                taken.append((visitor, now))
        assert got == expected, f"step {step} at {now}s"
        if got is not None and expected is not None:
            assert got.message() == expected.message()


async def test_concurrent_takes_from_two_processes_admit_exactly_the_limit(
    redis_url: str, peek: aioredis.Redis
) -> None:
    limits = {"chat_start.visitor": Limit(7, 60), "chat_start.address": Limit(100, 60)}
    a, b = RedisRateLimiter(redis_url, limits), RedisRateLimiter(redis_url, limits)
    try:
        by = {"visitor": "v", "address": "x"}
        answers = await asyncio.gather(
            *(limiter.take("chat_start", by, T0) for limiter in (a, b) * 30)
        )
    finally:
        await a.close()
        await b.close()
    assert sum(answer is None for answer in answers) == 7
    assert all(answer.retry_after == 60 for answer in answers if answer is not None)
    # A refusal counted nowhere: the address saw only the seven starts.
    assert await peek.zcard("koppi:limit:chat_start.address:x") == 7
    assert 0 < await peek.ttl("koppi:limit:chat_start.address:x") <= 60


async def test_a_release_or_a_held_start_is_given_back_in_another_process(
    two: tuple[RedisRateLimiter, RedisRateLimiter], peek: aioredis.Redis
) -> None:
    a, b = two
    one = {"visitor": "v", "address": "x"}
    for n in range(2):
        assert await a.take("chat_start", one, at(n)) is None
    assert await a.check("chat_start", one, at(2)) is not None
    # The start failed on A's side after counting; B gives it back.
    await b.release("chat_start", one, at(1))
    assert await a.take("chat_start", one, at(2)) is None

    # A chat started on A, ended on B before anyone took it: its start is given back once.
    await a.hold(41, "chat_start", {"address": "x"}, at(2))
    await a.hold(41, "chat_start", {"address": "x"}, at(99))  # a resend keeps the first
    assert await peek.hgetall("koppi:limit-held:41") == {
        "koppi:limit:chat_start.address:x": repr(at(2).timestamp())
    }
    assert 0 < await peek.ttl("koppi:limit-held:41") <= 60
    members = await peek.zrange("koppi:limit:chat_start.address:x", 0, -1)
    assert await peek.zrange("koppi:limit:chat_start.address:x", 0, -1, withscores=True) == [
        (member, at(n).timestamp()) for member, n in zip(members, (0, 2), strict=True)
    ]
    await b.give_back(41)
    await a.give_back(41)
    assert await peek.zrange("koppi:limit:chat_start.address:x", 0, -1) == members[:1]
    assert await peek.exists("koppi:limit-held:41") == 0

    # Taken by a counsellor, then ended: forgotten on B, nothing to give back on A.
    await a.hold(42, "chat_start", {"address": "x"}, at(0))
    await b.forget(42)
    await a.give_back(42)
    assert await peek.zrange("koppi:limit:chat_start.address:x", 0, -1) == members[:1]


async def test_the_window_slides(two: tuple[RedisRateLimiter, RedisRateLimiter]) -> None:
    a, b = two
    one = {"visitor": "v", "address": "x"}
    assert await a.take("chat_start", one, at(0)) is None
    assert await b.take("chat_start", one, at(10)) is None
    assert (await a.take("chat_start", one, at(30))).retry_after == 30  # type: ignore[union-attr]
    assert (await b.check("chat_start", one, at(59.5))).retry_after == 1  # type: ignore[union-attr]
    assert await b.take("chat_start", one, at(60)) is None, "the event at 0 left at 60"
    assert (await a.take("chat_start", one, at(60))).retry_after == 10  # type: ignore[union-attr]
    assert await a.take("chat_start", one, at(70)) is None


async def test_limits_switched_off_refuse_nothing_and_keep_nothing(
    redis_url: str, peek: aioredis.Redis
) -> None:
    off = RedisRateLimiter(redis_url, LIMITS, enabled=False, max_waiting=3)
    try:
        assert [await off.take("ask", ADDRESS, T0) for _ in range(12)] == [None] * 12
        await off.hold(1, "ask", ADDRESS, T0)
        assert off.waiting_cap is None
    finally:
        await off.close()
    assert await peek.dbsize() == 0


async def test_redis_going_away_counts_in_each_process_and_comes_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis away: no exception reaches the request, each process keeps counting on its own
    (one log line, not one per request), and the shared count resumes when Redis is back."""
    server = Redis(tmp_path)
    server.start()
    limits = {"ask.address": Limit(3, 3600)}
    a = RedisRateLimiter(server.url(), limits, away_for_s=0.2)
    b = RedisRateLimiter(server.url(), limits, away_for_s=0.2)
    try:
        assert await a.take("ask", ADDRESS, T0) is None
        assert await b.take("ask", ADDRESS, T0) is None
        server.stop()
        caplog.set_level(logging.ERROR, logger="service.rate_limits_redis")
        answers = [await a.take("ask", ADDRESS, T0) for _ in range(5)]
        assert [answer is None for answer in answers] == [True] * 3 + [False] * 2
        assert answers[-1] == Refusal("ask.address", limits["ask.address"], 3600)
        await a.release("ask", ADDRESS, T0)
        await a.hold(7, "ask", ADDRESS, T0)
        await a.give_back(7)
        await a.forget(7)
        assert await a.check("ask", ADDRESS, T0) is None, "given back in this process"
        lines = [r for r in caplog.records if r.name == "service.rate_limits_redis"]
        assert len(lines) == 1 and "Redis unreachable" in lines[0].getMessage()
        assert a.away

        server.start()  # the same port, an empty Redis
        await asyncio.sleep(0.25)
        assert await a.take("ask", ADDRESS, T0) is None
        assert not a.away
        for _ in range(2):
            assert await b.take("ask", ADDRESS, T0) is None
        assert await a.take("ask", ADDRESS, T0) is not None, "shared again"
    finally:
        server.stop()
        await a.close()
        await b.close()


async def test_asking_goes_on_when_redis_goes_away(
    aiohttp_client: ClientFactory, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    """Through the middleware: Redis stopped mid-run, the visitor gets answers (never a 500),
    and the limit still holds in this process."""
    server = Redis(tmp_path)
    server.start()
    limits = {**settings.limits, "ask.address": Limit(3, 3600)}
    app = create_app(dataclasses.replace(settings, limits=limits), clock=clock)
    shared = RedisRateLimiter(server.url(), limits)
    app[keys.RATE_LIMITER] = shared
    app.cleanup_ctx.append(shared.running)
    client = await aiohttp_client(app)
    try:
        asked = await client.post("/api/questions", json={**QUESTION, "publish": True})
        assert asked.status == 201 and not shared.away
        server.stop()
        statuses = []
        for _ in range(4):
            asked = await client.post("/api/questions", json={**QUESTION, "publish": True})
            statuses.append(asked.status)
        # Counted in this process from the outage on: three more, then the limit.
        assert statuses == [201, 201, 201, 429] and shared.away
        assert asked.headers["Retry-After"] == "3600"
    finally:
        server.stop()


def test_one_process_never_imports_redis(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path\n"
        "from service.settings import Settings\n"
        "from service.rate_limits import MemoryRateLimiter, rate_limiter\n"
        "s = Settings(db_path=Path(sys.argv[1]), secret='s')\n"
        "assert isinstance(rate_limiter(s), MemoryRateLimiter)\n"
        "assert 'redis' not in sys.modules, 'redis imported'\n"
    )
    root = Path(__file__).parents[1]
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "k.db")], check=True, cwd=root)


async def test_the_factory_picks_redis_for_several_processes(tmp_path: Path) -> None:
    shared = Settings(
        db_path=tmp_path / "k.db", database_url="postgresql://x/y", redis_url="redis://h/1"
    )
    several = rate_limiter(shared)
    assert isinstance(several, RedisRateLimiter)
    await several.close()
    # Limits switched off need no Redis at all.
    off: RateLimiter = rate_limiter(dataclasses.replace(shared, rate_limits=False))
    assert isinstance(off, MemoryRateLimiter) and not off.enabled


@pytest.mark.postgresql_only
async def test_two_processes_refuse_the_eleventh_question_from_one_address(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    clock: FakeClock,
) -> None:
    """Two apps (as two processes) on one PostgreSQL and one Redis, asked in turn."""
    settings = Settings(
        db_path=tmp_path / "unused" / "koppi.sqlite3",
        database_url=database_url,
        redis_url=redis_url,
        secret="test-secret-not-for-production",
        limits={**DEFAULT_LIMITS, "ask.address": Limit(10, 3600)},
    )
    first = await aiohttp_client(create_app(settings, clock=clock))
    second = await aiohttp_client(create_app(settings, clock=clock))
    servers = (first, second)
    assert all(isinstance(c.server.app[keys.RATE_LIMITER], RedisRateLimiter) for c in servers)
    # One address, one key in every process: else each process counts it apart.
    same = [c.server.app[keys.ADDRESS_KEYS].key("127.0.0.1", clock()) for c in servers]
    assert same[0] == same[1], "the processes hash one address to different keys"
    for n in range(10):
        asked = await servers[n % 2].post(
            "/ask", data={**QUESTION, "publish": "yes"}, allow_redirects=False
        )
        assert asked.status == 303, await asked.text()
        clock.advance(minutes=1)
    for client in servers:
        refused = await client.post("/api/questions?lang=en", json={**QUESTION, "publish": True})
        assert refused.status == 429
        assert refused.headers["Retry-After"] == str(3600 - 600)
        assert "at most 10 in 60 minutes" in (await refused.json())["error"]
    clock.advance(minutes=50)
    asked = await second.post("/ask", data={**QUESTION, "publish": "yes"}, allow_redirects=False)
    assert asked.status == 303, "the first question left the window"
