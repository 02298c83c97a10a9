"""Staff pushes send what changed: one colleague's availability is one small event for each
console, not the whole list again, so the traffic grows with the staff count, not its square."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from tests.chat_clients import Staff, Visitor
from tests.test_chat_socket import set_capacity

CONSOLES = 12


async def _settle() -> None:
    await asyncio.sleep(0.2)


async def test_one_colleague_becoming_available_is_one_small_change_for_each_console(
    client: TestClient, on_duty: Callable[..., Awaitable[Staff]]
) -> None:
    consoles = [
        await on_duty(f"neuvoja{n}", "adviser", f"Neuvoja {n}", available=False)
        for n in range(CONSOLES)
    ]
    await _settle()
    for console in consoles:
        console.changes["colleagues"].clear()
        console.drain("colleagues")
    await consoles[0].available()
    await _settle()
    me = next(iter(c for c in consoles[0].lists["colleagues"].values() if c["available"]))
    for console in consoles:
        [delta] = console.changes["colleagues"]
        assert delta == {"items": [me], "gone": []}
        assert len(json.dumps(delta)) < 200
        assert console.lists["colleagues"][me["id"]]["available"] is True
        assert len(console.lists["colleagues"]) == CONSOLES


@pytest.fixture
def every_chat_waits(
    client: TestClient, on_duty: Callable[..., Awaitable[Staff]]
) -> Callable[[], Awaitable[Staff]]:
    """The chat open (Mikko available, with room for no chat), so every chat waits; Sanna's
    console, not available, watches the waiting list."""

    async def make() -> Staff:
        sanna = await on_duty("sanna", "counsellor", "Sanna", available=False)
        await on_duty("mikko", "adviser", "Mikko")
        await set_capacity(client, "mikko", 0)
        return sanna

    return make


async def test_the_waiting_list_changes_item_by_item_and_stays_in_queue_order(
    on_duty: Callable[..., Awaitable[Staff]],
    visitor: Callable[..., Awaitable[Visitor]],
    every_chat_waits: Callable[[], Awaitable[Staff]],
) -> None:
    sanna = await every_chat_waits()
    first, second = await visitor(), await visitor()
    await first.start("Ensimmäinen")
    await second.start("Toinen")
    queue = await sanna.until("queue", lambda q: len(q["items"]) == 2)
    assert [i["first_message"]["fi"] for i in queue["items"]] == ["Ensimmäinen", "Toinen"]
    added = [d for d in sanna.changes["queue"] if d["items"]]
    assert all(len(d["items"]) == 1 and d["items"][0]["waited_s"] >= 0 for d in added)
    urgent = await visitor()
    await urgent.start("En halua elää enää")  # a crisis phrase puts it first
    queue = await sanna.until("queue", lambda q: len(q["items"]) == 3)
    assert queue["items"][0]["urgent"] is True
    gone_chat = queue["items"][1]["chat_id"]
    assert (await first.call("end", {}))["ok"] is True
    queue = await sanna.until("queue", lambda q: len(q["items"]) == 2)
    assert sanna.changes["queue"][-1] == {"items": [], "gone": [gone_chat]}
    # A console connecting now is given the list as the others hold it.
    late = await on_duty("liisa", "counsellor", "Liisa", available=False)
    whole = await late.next("queue")
    assert [i["chat_id"] for i in whole["items"]] == [i["chat_id"] for i in queue["items"]]


async def test_a_console_greeted_during_changes_ends_with_the_same_lists_as_the_others(
    on_duty: Callable[..., Awaitable[Staff]],
    visitor: Callable[..., Awaitable[Visitor]],
    every_chat_waits: Callable[[], Awaitable[Staff]],
) -> None:
    """Greeting and change pushes share one step, so no change falls between them."""
    first = await every_chat_waits()
    visitors = [await visitor() for _ in range(3)]  # at most 3 wait from one address

    async def connect_late() -> Staff:
        await asyncio.sleep(0.01)
        return await on_duty("liisa", "counsellor", "Liisa", available=False)

    late, *_ = await asyncio.gather(
        connect_late(), *(v.start(f"Hei {n}") for n, v in enumerate(visitors))
    )
    await _settle()
    assert len(first.lists["queue"]) == 3
    assert late.lists["queue"].keys() == first.lists["queue"].keys()
    assert late.lists["colleagues"] == first.lists["colleagues"]


async def test_the_waiting_list_shows_personal_details_masked_in_each_language(
    visitor: Callable[..., Awaitable[Visitor]],
    every_chat_waits: Callable[[], Awaitable[Staff]],
) -> None:
    """The list goes to the whole desk: details show only in a chat a counsellor takes."""
    sanna = await every_chat_waits()
    young = await visitor()
    started = await young.start("Soita minulle 040 123 4567, kiitos", personal_ok=True)
    assert "chat_id" in started, started
    queue = await sanna.until("queue", lambda q: len(q["items"]) == 1)
    shown = queue["items"][0]["first_message"]
    assert shown["fi"] == "Soita minulle [puhelinnumero], kiitos", shown
    assert "040" not in json.dumps(shown) and set(shown) == {"fi", "sv", "en"}
    assert shown["sv"] != shown["fi"] and shown["en"] != shown["fi"]
