"""No silent gap after a reconnect: under continuous traffic, with repeated short drops.

The clients here follow the simplest rule a client could (resume after the highest id it has
seen, whatever brought it), so the tests prove the server's side of the rule: no live message
reaches a socket before its `resume` has replayed what it missed."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient

from service.settings import Settings
from tests.chat_clients import TIMEOUT, Staff, Visitor, new_client_id
from tests.conftest import cookie, rows, url

CYCLES = 20
EVERY_S = 0.02  # the other side writes every 20 ms


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # 50 messages a second for several seconds is far past the chat's per-visitor limit.
    return dataclasses.replace(settings, rate_limits=False)


@pytest.fixture
def sanna_on_duty(
    client: TestClient, staff_client: Callable[..., Awaitable[TestClient]], opened: list[Any]
) -> Callable[[], Awaitable[tuple[TestClient, Staff]]]:
    """Sanna signed in (her browser, for more tabs) with her console on and available."""

    async def make() -> tuple[TestClient, Staff]:
        signed_in = await staff_client("sanna", "counsellor", "Sanna")
        console = Staff(cookie(signed_in))
        opened.append(console)
        await console.connect(url(client))
        await console.available()
        return signed_in, console

    return make


class NaiveReader:
    """A socket that remembers every message id it was shown and resumes after the highest."""

    def __init__(self, namespace: str, resume: Callable[[int], dict[str, Any]]) -> None:
        self.namespace = namespace
        self._resume_payload = resume
        self.shown: list[int] = []
        self.sio: socketio.AsyncClient | None = None

    @property
    def last(self) -> int:
        return max(self.shown, default=0)

    async def connect(self, base: str, **options: Any) -> None:
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("message", self._receive, namespace=self.namespace)
        # engine.io's client takes the Cookie out of the headers it is given: a copy each time.
        fresh = {k: dict(v) if isinstance(v, dict) else v for k, v in options.items()}
        await sio.connect(
            base, namespaces=[self.namespace], transports=["websocket"], wait_timeout=5, **fresh
        )
        self.sio = sio
        # `last` is read now, after whatever arrived between the connect and this line.
        more = True
        while more:
            ack = await sio.call(
                "resume", self._resume_payload(self.last), namespace=self.namespace, timeout=TIMEOUT
            )
            assert "error" not in ack, ack
            more = ack.get("more", False)

    async def _receive(self, message: dict[str, Any]) -> None:
        self.shown.append(message["id"])

    async def drop(self) -> None:
        if self.sio is not None:
            await self.sio.disconnect()
            self.sio = None


@contextlib.asynccontextmanager
async def writing(send: Callable[[str], Awaitable[Any]]) -> AsyncIterator[list[int]]:
    """Send a message every 20 ms until the block ends; yields the acknowledged ids."""
    acked: list[int] = []
    stop = asyncio.Event()

    async def loop() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            ack = await send(f"Viesti {n}")
            assert "id" in ack, ack
            acked.append(ack["id"])
            await asyncio.sleep(EVERY_S)

    task = asyncio.create_task(loop())
    try:
        yield acked
    finally:
        stop.set()
        await task


async def flap(reader: NaiveReader, base: str, **options: Any) -> None:
    rng = random.Random(13)
    for _ in range(CYCLES):
        await asyncio.sleep(rng.uniform(0.05, 0.15))
        await reader.drop()
        await asyncio.sleep(rng.uniform(0.2, 0.3))
        await reader.connect(base, **options)


def message_ids(settings: Settings, chat_id: int, sender: str | None = None) -> list[int]:
    """The chat's stored message ids (one sender's, or all), as the database file has them."""
    sql = "SELECT id FROM chat_messages WHERE chat_id = ?" + (" AND sender = ?" if sender else "")
    params = (chat_id, sender) if sender else (chat_id,)
    return [r[0] for r in rows(settings, sql + " ORDER BY id", params)]


def assert_each_shown_once(shown: list[int], expected: list[int]) -> None:
    missing = sorted(set(expected) - set(shown))
    assert not missing, f"{len(missing)} of {len(expected)} messages never shown: {missing[:10]}"
    repeated = sorted(i for i in set(shown) if shown.count(i) > 1)
    assert not repeated, f"shown twice: {repeated[:10]}"


async def test_a_visitor_dropping_twenty_times_misses_no_staff_message(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]], settings: Settings
) -> None:
    mikko = await on_duty("mikko", "adviser", "Mikko")
    first = await visitor()
    await first.start("Hei, onko palkkatuesta apua?")
    [chat_id] = await mikko.own_chat_ids(1)
    token = first.token
    await first.close()

    reader = NaiveReader("/chat", lambda after: {"after": after})
    await reader.connect(url(client), auth={"token": token})
    async with writing(lambda text: mikko.send(chat_id, text)) as acked:
        await flap(reader, url(client), auth={"token": token})
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.3)  # the last live copies arrive
    await reader.drop()

    assert message_ids(settings, chat_id, "staff") == sorted(acked) and len(acked) > 150
    assert_each_shown_once(reader.shown, message_ids(settings, chat_id))


async def test_a_counsellor_dropping_twenty_times_misses_no_visitor_message(
    client: TestClient,
    sanna_on_duty: Callable[[], Awaitable[tuple[TestClient, Staff]]],
    visitor: Callable[..., Awaitable[Visitor]],
    settings: Settings,
) -> None:
    signed_in, console = await sanna_on_duty()
    v = await visitor()
    await v.start("Hei, tarvitsen apua työnhakuun.")
    [chat_id] = await console.own_chat_ids(1)
    # The console stays on (so the chat stays with Sanna); a second tab of hers flaps.
    reader = NaiveReader("/staff", lambda after: {"chat_id": chat_id, "after": after})
    headers = {"Cookie": cookie(signed_in)}
    await reader.connect(url(client), headers=headers)

    async def send(text: str) -> Any:
        return await v.call("send", {"text": text, "client_id": new_client_id()})

    async with writing(send) as acked:
        await flap(reader, url(client), headers=headers)
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.3)
    await reader.drop()

    all_ids = message_ids(settings, chat_id)
    assert set(acked) <= set(all_ids) and len(acked) > 150
    assert_each_shown_once(reader.shown, all_ids)


async def test_a_console_hears_a_chat_assigned_after_it_connected_without_resuming(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]]
) -> None:
    """A chat new to a socket has nothing it could have missed: it is heard live at once."""
    mikko = await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    await v.start("Alku")
    await mikko.own_chat_ids(1)
    sent = await v.send("Toinen viesti")
    assert (await mikko.next("message"))["id"] == sent["id"]


async def test_a_reconnected_console_hears_a_known_chat_only_after_resuming_it(
    client: TestClient,
    sanna_on_duty: Callable[[], Awaitable[tuple[TestClient, Staff]]],
    visitor: Callable[..., Awaitable[Visitor]],
    opened: list[Any],
) -> None:
    signed_in, first = await sanna_on_duty()
    v = await visitor()
    await v.start("Alku")
    [chat_id] = await first.own_chat_ids(1)
    again = Staff(cookie(signed_in))
    opened.append(again)
    await again.connect(url(client))
    before = await v.send("Ennen jatkamista")
    with pytest.raises(asyncio.TimeoutError):
        await again.next("message", wait_s=0.3)
    ack = await again.call("resume", {"chat_id": chat_id, "after": before["id"] - 1})
    assert ack == {"ok": True, "last_id": before["id"]}
    assert [m["id"] for m in again.drain("message")] == [before["id"]]
    after = await v.send("Jatkamisen jälkeen")
    assert (await again.next("message"))["id"] == after["id"]


async def test_a_reconnected_visitor_hears_its_chat_only_after_resuming(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]]
) -> None:
    mikko = await on_duty("mikko", "adviser", "Mikko")
    first = await visitor()
    started = await first.start("Alku")
    [chat_id] = await mikko.own_chat_ids(1)
    await first.close()
    again = await visitor(first.token)
    early = await mikko.send(chat_id, "Ennen jatkamista")
    with pytest.raises(asyncio.TimeoutError):
        await again.next("message", wait_s=0.3)
    ack = await again.resume(started["message_id"])
    assert ack["last_id"] == early["id"] and ack["chat"]["chat_id"] == chat_id
    assert [m["id"] for m in again.drain("message")] == [early["id"]]
    late = await mikko.send(chat_id, "Jatkamisen jälkeen")
    assert (await again.next("message"))["id"] == late["id"]


async def test_a_long_transcript_is_replayed_a_page_at_a_time(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]], settings: Settings
) -> None:
    """A replay stays far below a socket's send queue limit, whatever the chat's length."""
    mikko = await on_duty("mikko", "adviser", "Mikko")
    first = await visitor()
    await first.start("Alku")
    [chat_id] = await mikko.own_chat_ids(1)
    sent = await asyncio.gather(*(mikko.send(chat_id, f"Viesti {n}") for n in range(449)))
    assert all("id" in ack for ack in sent)
    again = await visitor(first.token)
    pages, after = [], 0
    while True:
        ack = await again.resume(after)
        page = [m["id"] for m in again.drain("message")]
        assert page and page == sorted(page) and page[0] > after
        assert ack["last_id"] == page[-1]
        pages.append(len(page))
        after = ack["last_id"]
        if not ack.get("more"):
            break
    assert pages == [200, 200, 50]
    assert sum(pages) == len(message_ids(settings, chat_id)) == 450
