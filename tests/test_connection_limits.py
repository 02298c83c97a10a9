"""Open connections are bounded: per address, in total, and in how long headers may take.

Each test runs the server the way `serve` does (serving.started: the same runner, site and
gate) on a free loopback port, and talks to it over raw sockets."""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from service.app import create_app
from service.connection_limits import GatedSite, ResourceErrors, raise_open_files_limit
from service.serving import started
from service.settings import Settings
from tests.conftest import FakeClock

HALF_SENT = b"GET /api/categories HTTP/1.1\r\nHost: koppi\r\nX-Slow: "
WHOLE = b"GET /api/categories HTTP/1.1\r\nHost: koppi\r\nConnection: close\r\n\r\n"

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@asynccontextmanager
async def serving(settings: Settings, clock: FakeClock) -> AsyncIterator[GatedSite]:
    async with started(create_app(settings, clock=clock), settings, port=0) as site:
        yield site


async def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


@pytest.fixture
async def streams() -> AsyncIterator[Callable[[int], Awaitable[Stream]]]:
    """Raw loopback connections, each closed at the end of the test."""
    writers: list[asyncio.StreamWriter] = []

    async def connect(port: int) -> Stream:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writers.append(writer)
        return reader, writer

    yield connect
    for writer in writers:
        writer.close()


async def _half_sent(connect: Callable[[int], Awaitable[Stream]], port: int) -> Stream:
    reader, writer = await connect(port)
    writer.write(HALF_SENT)
    await writer.drain()
    return reader, writer


async def _closed_at_once(reader: asyncio.StreamReader) -> bool:
    """True when the server drops the connection without an answer within a second."""
    try:
        data = await asyncio.wait_for(reader.read(1024), 1.0)
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return data == b""


async def _answers(connect: Callable[[int], Awaitable[Stream]], port: int) -> int:
    reader, writer = await connect(port)
    writer.write(WHOLE)
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 5.0)
    return int(status_line.split()[1])


async def test_one_address_holds_at_most_its_share(
    settings: Settings, clock: FakeClock, streams: Callable[[int], Awaitable[Stream]]
) -> None:
    settings = replace(settings, max_connections=50, max_connections_per_address=5)
    async with serving(settings, clock) as site:
        held = [await _half_sent(streams, site.bound_port) for _ in range(5)]
        await _until(lambda: site.gate.open == 5)
        assert site.gate.held_by("127.0.0.1") == 5

        reader, _ = await _half_sent(streams, site.bound_port)
        assert await _closed_at_once(reader)
        assert site.gate.open == 5

        held[0][1].close()  # one of the five goes: the address may open another
        await _until(lambda: site.gate.open == 4)
        assert await _answers(streams, site.bound_port) == 200
    assert site.gate.open == 0


async def test_the_total_cap_holds_for_every_address_together(
    settings: Settings, clock: FakeClock, streams: Callable[[int], Awaitable[Stream]]
) -> None:
    settings = replace(settings, rate_limits=False, max_connections=8)
    async with serving(settings, clock) as site:
        for _ in range(8):
            await _half_sent(streams, site.bound_port)
        await _until(lambda: site.gate.open == 8)
        reader, _ = await _half_sent(streams, site.bound_port)
        assert await _closed_at_once(reader)


async def test_without_rate_limits_one_address_reaches_a_thousand_connections(
    settings: Settings, clock: FakeClock, streams: Callable[[int], Awaitable[Stream]]
) -> None:
    """A load test runs from one loopback address: KOPPI_RATE_LIMITS=0 lifts its cap."""
    if raise_open_files_limit() < 2 * 1000 + 200:
        pytest.skip("the open-files limit is too low for a thousand loopback connections")
    settings = replace(settings, rate_limits=False, max_connections_per_address=5)
    async with serving(settings, clock) as site:
        for _ in range(1000):
            await _half_sent(streams, site.bound_port)
        await _until(lambda: site.gate.open == 1000)
        assert await _answers(streams, site.bound_port) == 200


async def test_headers_must_arrive_within_the_time_limit(
    settings: Settings, clock: FakeClock, streams: Callable[[int], Awaitable[Stream]]
) -> None:
    settings = replace(settings, header_timeout_seconds=1)
    async with serving(settings, clock) as site:
        started_at = time.monotonic()
        reader, writer = await _half_sent(streams, site.bound_port)
        writer.write(b"still-typing")  # bytes keep coming, the request is never whole
        data = await asyncio.wait_for(reader.read(1024), 5.0)
        waited = time.monotonic() - started_at
        assert data == b""
        assert 0.9 <= waited < 3.0, waited
        await _until(lambda: site.gate.open == 0)

        # A whole request in time is answered as always.
        assert await _answers(streams, site.bound_port) == 200


class _Seconds:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_running_out_of_file_descriptors_is_logged_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seconds = _Seconds()
    handler = ResourceErrors(clock=seconds)
    loop = asyncio.get_running_loop()
    context = {
        "message": "socket.accept() out of system resource",
        "exception": OSError(errno.EMFILE, "Too many open files"),
    }
    caplog.set_level(logging.INFO)
    for _ in range(3):
        handler(loop, context)
    lines = [r for r in caplog.records if "out of file descriptors" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].exc_info is None  # no traceback
    seconds.now += 61
    handler(loop, context)
    lines = [r.getMessage() for r in caplog.records if "out of file descriptors" in r.getMessage()]
    assert len(lines) == 2
    assert "(3 times since the last such line)" in lines[1]
    assert "Too many open files" in lines[1]


async def test_other_loop_errors_still_reach_the_default_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = ResourceErrors()
    caplog.set_level(logging.ERROR, logger="asyncio")
    handler(asyncio.get_running_loop(), {"message": "something else broke"})
    assert any("something else broke" in r.getMessage() for r in caplog.records)


async def test_caps_from_the_environment(tmp_path: Path) -> None:
    env = {"KOPPI_SECRET": "x", "KOPPI_DB": str(tmp_path / "koppi.sqlite3")}
    settings = Settings.from_env(env)
    assert (settings.max_connections, settings.max_connections_per_address) == (4000, 200)
    assert settings.header_timeout_seconds == 15
    settings = Settings.from_env(
        {
            **env,
            "KOPPI_MAX_CONNECTIONS": "100",
            "KOPPI_MAX_CONNECTIONS_PER_ADDRESS": "7",
            "KOPPI_HEADER_TIMEOUT_SECONDS": "3",
        }
    )
    assert (settings.max_connections, settings.max_connections_per_address) == (100, 7)
    assert settings.header_timeout_seconds == 3
