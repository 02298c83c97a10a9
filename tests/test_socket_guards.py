"""Socket.IO guards: reserved event names from clients, and a bounded send queue per socket."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from service import keys
from service.settings import Settings
from tests.chat_clients import Visitor
from tests.conftest import rows

RESERVED = ["connect", "disconnect", "connect_error", "disconnecting"]


@pytest.mark.parametrize("name", RESERVED)
async def test_a_visitor_emitting_a_reserved_event_is_refused_and_changes_nothing(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]], name: str
) -> None:
    await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    ack = await v.call(name, {"reason": "forged"})
    assert ack["error"] == "invalid" and ack["field"] == "event"
    # The socket is still known: its next events work (before the fix they answered
    # `internal`, the visitor having been forgotten by a forged disconnect).
    started = await v.start("Hei, vielä täällä")
    assert "chat_id" in started, started
    assert (await v.send("Toinen viesti"))["id"] > started["message_id"]


@pytest.mark.parametrize("name", ["disconnect", "connect"])
async def test_staff_emitting_a_reserved_event_is_refused_and_keeps_the_console(
    client: TestClient, on_duty: Any, name: str, settings: Settings
) -> None:
    mikko = await on_duty("mikko", "adviser", "Mikko")
    ack = await mikko.call(name, {})
    assert ack["error"] == "invalid"
    await mikko.available(False)  # still signed in on this socket: the event is handled
    assert rows(settings, "SELECT available FROM staff_presence")[0][0] == 0


async def test_a_reserved_event_without_an_acknowledgement_is_dropped(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]]
) -> None:
    await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    await v.sio.emit("disconnect", "forged", namespace="/chat")
    assert "chat_id" in await v.start("Hei")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, socket_queue_limit=50)


async def _raw_visitor(client: TestClient) -> tuple[aiohttp.ClientWebSocketResponse, str]:
    """A visitor socket spoken in raw Engine.IO frames, so the test decides when it reads."""
    ws = await client.ws_connect("/socket.io/?EIO=4&transport=websocket")
    opened = await ws.receive_str()
    assert opened.startswith("0")
    await ws.send_str('40/chat,{"token":null}')
    while True:
        frame = await ws.receive_str()
        if frame.startswith("40/chat,"):
            return ws, json.loads(frame[len("40/chat,") :])["sid"]


async def test_a_socket_that_stops_reading_is_closed_not_buffered_without_limit(
    client: TestClient,
) -> None:
    sio = client.server.app[keys.SIO]
    ws, sid = await _raw_visitor(client)
    assert sio.manager.is_connected(sid, "/chat")
    assert len(client.server.runner.server.connections) == 1  # type: ignore[union-attr]
    big = {"filler": "x" * 20_000}
    sent = 0
    # 20 KB a packet, yielding after each so the server's writer runs: the reader never reads,
    # so the connection's buffers fill, then the queue, then the server gives the socket up.
    while sio.manager.is_connected(sid, "/chat") and sent < 5000:
        await sio.emit("status", big, to=sid, namespace="/chat")
        sent += 1
        await asyncio.sleep(0)
    assert not sio.manager.is_connected(sid, "/chat"), f"still connected after {sent} packets"
    assert sent < 5000
    eio_socket_queues = [s.queue.qsize() for s in sio.eio.sockets.values()]
    assert all(size <= 51 for size in eio_socket_queues)
    # The connection itself is dropped, not left to a writer stuck on a peer that does not
    # read: aiohttp's server no longer holds it, though the client never read a byte more.
    server = client.server.runner.server  # type: ignore[union-attr]
    for _ in range(100):
        if not server.connections:
            break
        await asyncio.sleep(0.05)
    assert server.connections == [], "the connection under the given-up socket is still open"
    await ws.close()


async def test_a_socket_that_reads_is_not_closed(client: TestClient) -> None:
    sio = client.server.app[keys.SIO]
    ws, sid = await _raw_visitor(client)
    received = 0

    async def read() -> None:
        nonlocal received
        async for frame in ws:
            if frame.type == aiohttp.WSMsgType.TEXT and '"status"' in frame.data:
                received += 1
                if received == 500:
                    return

    reader = asyncio.create_task(read())
    for n in range(500):
        await sio.emit("status", {"filler": "x" * 2_000, "n": n}, to=sid, namespace="/chat")
        if n % 20 == 0:
            await asyncio.sleep(0.001)
    await asyncio.wait_for(reader, 10)
    assert received == 500 and sio.manager.is_connected(sid, "/chat")
    await ws.close()
