"""The /staff socket.io namespace: cookie auth in connect, and live queue updates."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient

from tests.conftest import FakeClock, ask, sign_in

StaffClient = Callable[..., Awaitable[TestClient]]


def _url(client: TestClient) -> str:
    return str(client.make_url("/"))


def _cookie_header(client: TestClient) -> dict[str, str]:
    jar = client.session.cookie_jar
    return {"Cookie": "; ".join(f"{c.key}={c.value}" for c in jar)}


class Listener:
    """A real socket.io client on /staff that queues every `questions` event."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sio.on("questions", self.events.put, namespace="/staff")

    async def connect(self, client: TestClient, headers: dict[str, str]) -> None:
        await self.sio.connect(
            _url(client),
            namespaces=["/staff"],
            headers=headers,
            transports=["websocket"],
            wait_timeout=5,
        )

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.events.get(), timeout=5)


async def test_signed_in_counsellor_gets_queue_live(
    client: TestClient, staff_client: StaffClient
) -> None:
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    listener = Listener()
    await listener.connect(client, _cookie_header(sanna))
    try:
        assert (await listener.next())["items"] == []
        created = await ask(client, body="Uusi kysymys asumistuesta ja vuokrasta")
        pushed = await listener.next()
        assert [item["id"] for item in pushed["items"]] == [created["id"]]
        await sanna.post(f"/api/staff/questions/{created['id']}/claim", json={})
        claimed = await listener.next()
        assert claimed["items"][0]["claimed_by"] == "Sanna"
    finally:
        await listener.sio.disconnect()


async def test_anonymous_and_wrong_role_are_refused(
    client: TestClient, staff_client: StaffClient
) -> None:
    anonymous = Listener()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await anonymous.connect(client, {})
    forged = Listener()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await forged.connect(client, {"Cookie": "koppi_staff=not-a-real-session"})
    coordinator = await staff_client("helena", "coordinator")
    refused = Listener()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(client, _cookie_header(coordinator))


async def _gone(listener: Listener) -> bool:
    for _ in range(50):
        if "/staff" not in listener.sio.namespaces:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_sign_out_closes_only_that_sessions_socket(
    client: TestClient, staff_client: StaffClient, new_client: Callable[[], Awaitable[TestClient]]
) -> None:
    mikko = await staff_client("mikko", "adviser")
    other_device = await new_client()
    await sign_in(other_device, "mikko")
    signed_out, kept = Listener(), Listener()
    await signed_out.connect(client, _cookie_header(mikko))
    await kept.connect(client, _cookie_header(other_device))
    try:
        await signed_out.next()
        await kept.next()
        await mikko.post("/api/staff/logout", json={})
        assert await _gone(signed_out)
        await ask(client)
        assert len((await kept.next())["items"]) == 1, "the other device stays live"
    finally:
        await signed_out.sio.disconnect()
        await kept.sio.disconnect()


async def test_expired_session_gets_no_more_question_text(
    client: TestClient, staff_client: StaffClient, clock: FakeClock
) -> None:
    sanna = await staff_client("sanna", "counsellor")
    listener = Listener()
    await listener.connect(client, _cookie_header(sanna))
    try:
        await listener.next()
        clock.advance(hours=13)
        await ask(client, body="Tämä teksti ei saa mennä vanhentuneelle istunnolle")
        assert await _gone(listener)
        assert listener.events.empty()
    finally:
        await listener.sio.disconnect()
