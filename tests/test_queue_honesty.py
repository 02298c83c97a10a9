"""An honest queue, over real socket.io clients against a real server, on both engines.

The offer to send the words as a question comes when the time actually waited reaches the
coordinators' threshold (and at once when the estimate is already longer); a waiting chat
whose young person left is out of the line at once and ended as abandoned after a short grace,
while coming back within it keeps the place; and a transfer writes a line into the
conversation, in the young person's language."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from moderation.chat import upkeep
from service import keys
from service.realtime.chat_hub import OFFER_CHECK_S
from service.settings import Settings
from tests.chat_clients import TIMEOUT, Staff, Visitor
from tests.conftest import FakeClock, rows, staff_id, url
from tests.test_chat_socket import set_auto_assign, set_capacity

OnDuty = Callable[..., Awaitable[Staff]]
NewVisitor = Callable[..., Awaitable[Visitor]]
# A pushed offer arrives within one look of the clock, and a little for the push itself.
OFFER_LATENCY_S = OFFER_CHECK_S + 1.5


async def _threshold(client: TestClient, seconds: int) -> None:
    async with client.server.app[keys.DB].transaction() as tx:
        await tx.execute(
            "UPDATE chat_settings SET value = ? WHERE name = 'offer_question_after_s'", (seconds,)
        )


async def _tick(client: TestClient) -> None:
    await upkeep.tick(client.server.app[keys.CHAT])


def _offers(visitor: Visitor) -> list[bool]:
    return [q["offer_question"] for q in visitor.drain("queue")]


# ---- the offer follows the time actually waited ---------------------------------------------


async def test_the_offer_comes_when_the_time_waited_passes_the_threshold(
    client: TestClient, on_duty: OnDuty, visitor: NewVisitor, clock: FakeClock
) -> None:
    """Mikko is free but takes chats by hand: the estimate is "at once" (0 s), far below the
    one-minute threshold, yet the young person who has waited a minute is offered."""
    await set_auto_assign(client, False)
    await _threshold(client, 60)
    await on_duty("mikko", "adviser", "Mikko")
    first = await visitor()
    ack = await first.start("Odotan, että joku vastaa.")
    assert (ack["position"], ack["eta_s"]) == (1, 0)
    assert (await first.next("queue"))["offer_question"] is False
    clock.advance(seconds=30)
    later = await visitor()
    await later.start("Minäkin odotan.")
    assert (await later.next("queue"))["offer_question"] is False

    # Short of the threshold nothing is pushed at all, however long the clock is looked at.
    clock.advance(seconds=29)
    await asyncio.sleep(OFFER_LATENCY_S)
    assert _offers(first) == [] and _offers(later) == []

    clock.advance(seconds=1)  # the first has waited 60 s, the later one 30 s
    assert (await first.next("queue", OFFER_LATENCY_S))["offer_question"] is True
    await asyncio.sleep(OFFER_CHECK_S)
    assert _offers(first) == [], "one push when the offer came, not one per look"
    assert _offers(later) == []
    resumed = await first.resume()
    assert resumed["chat"]["offer_question"] is True
    assert (await later.resume())["chat"]["offer_question"] is False

    clock.advance(seconds=30)
    assert (await later.next("queue", OFFER_LATENCY_S))["offer_question"] is True
    converted = await first.call("convert", {})
    assert converted["url"] == "/f/" + converted["code"]


async def test_the_offer_comes_at_once_when_the_estimate_is_longer(
    client: TestClient, on_duty: OnDuty, visitor: NewVisitor
) -> None:
    """Mikko's one place is taken: the next young person waits about ten minutes by the
    estimate, past the five-minute threshold, and is offered at once."""
    await _threshold(client, 300)
    mikko = await on_duty("mikko", "adviser", "Mikko")
    await set_capacity(client, "mikko", 1)
    talking = await visitor()
    await talking.start()
    await mikko.own_chat_ids(1)
    waiting = await visitor()
    ack = await waiting.start("Odotan vuoroani.")
    assert (ack["position"], ack["eta_s"]) == (1, 600)
    assert (await waiting.next("queue"))["offer_question"] is True


async def test_a_chat_back_in_the_queue_counts_its_new_wait(
    client: TestClient, on_duty: OnDuty, visitor: NewVisitor, clock: FakeClock, settings: Settings
) -> None:
    """Talking is not waiting: a chat transferred back to the queue after ten minutes of
    conversation is offered when its new wait reaches the threshold, not at once."""
    await _threshold(client, 60)
    sanna = await on_duty("sanna", "counsellor", "Sanna")
    mikko = await on_duty("mikko", "adviser", "Mikko", available=False)
    v = await visitor()
    chat_id = (await v.start("Jaksaminen on ollut vaikeaa.", category="jaksaminen"))["chat_id"]
    await sanna.own_chat_ids(1)
    clock.advance(minutes=10)
    await set_auto_assign(client, False)
    await mikko.available()  # free: the estimate for the chat handed on is 0 s
    await sanna.call("transfer", {"chat_id": chat_id, "to_role": "adviser", "note": ""})
    assert (await v.until("queue", lambda q: True))["offer_question"] is False
    assert rows(settings, "SELECT queued_at FROM chats") == [("2026-11-24T10:10:00Z",)]
    clock.advance(seconds=61)
    assert (await v.until("queue", lambda q: True, OFFER_LATENCY_S))["offer_question"] is True


async def test_the_coordinators_label_says_which_rule_applies(coordinator: TestClient) -> None:
    page = await (await coordinator.get("/coordinator/chat?lang=en")).text()
    assert "when the young person has waited this long" in page
    assert "The offer comes at once if the estimated wait is already longer" in page


# ---- a young person who left the queue -------------------------------------------------------


async def _busy_desk(on_duty: OnDuty, visitor: NewVisitor, client: TestClient) -> tuple[Staff, int]:
    """Mikko on duty with room for one chat, which a young person already has: (Mikko, the
    chat's id)."""
    mikko = await on_duty("mikko", "adviser", "Mikko")
    await set_capacity(client, "mikko", 1)
    talking = await visitor()
    await talking.start("Puhun jo Mikon kanssa.")
    return mikko, (await mikko.own_chat_ids(1))[0]


async def test_a_young_person_who_left_is_freed_after_the_grace_and_counted_as_abandoned(
    client: TestClient,
    on_duty: OnDuty,
    visitor: NewVisitor,
    clock: FakeClock,
    settings: Settings,
    coordinator: TestClient,
) -> None:
    mikko, _talking = await _busy_desk(on_duty, visitor, client)
    leaving, staying = await visitor(), await visitor()
    left_id = (await leaving.start("Odotan, mutta suljen kohta välilehden."))["chat_id"]
    stay_id = (await staying.start("Minä jään odottamaan."))["chat_id"]
    assert (await staying.until("queue", lambda q: True))["position"] == 2
    await mikko.until("queue", lambda q: [i["chat_id"] for i in q["items"]] == [left_id, stay_id])

    # The tab closes: out of the line at once, so nobody behind waits for it.
    await leaving.close()
    assert (await staying.until("queue", lambda q: q["position"] == 1))["eta_s"] == 600
    await mikko.until("queue", lambda q: [i["chat_id"] for i in q["items"]] == [stay_id])

    # A counsellor comes on duty: she gets the one still here, never the one who left.
    sanna = await on_duty("sanna", "counsellor", "Sanna")
    assert await sanna.own_chat_ids(1) == [stay_id]
    assert (await sanna.call("accept", {"chat_id": left_id}))["error"] == "conflict"
    clock.advance(seconds=119)
    await _tick(client)
    assert rows(settings, "SELECT status, assigned_to FROM chats WHERE id = ?", (left_id,)) == [
        ("waiting", None)
    ]

    clock.advance(seconds=2)
    await _tick(client)
    assert rows(settings, "SELECT status, ended_by FROM chats WHERE id = ?", (left_id,)) == [
        ("ended", "timeout")
    ]
    abandoned = "SELECT subject_id, seconds FROM usage_events WHERE kind = 'chat_abandoned'"
    assert rows(settings, abandoned) == [(left_id, 121.0)]
    stats = await coordinator.get("/api/stats?from=2026-11-24&to=2026-11-24")
    chat = (await stats.json())["chat"]
    assert chat["abandoned"] == 1 and chat["abandon_wait"]["n"] == 1
    held = "SELECT id FROM chats WHERE status = 'active' AND assigned_to = ?"
    assert rows(settings, held, (staff_id(settings, "sanna"),)) == [(stay_id,)]


async def test_coming_back_within_the_grace_keeps_the_place(
    client: TestClient,
    on_duty: OnDuty,
    visitor: NewVisitor,
    clock: FakeClock,
    settings: Settings,
) -> None:
    mikko, talking = await _busy_desk(on_duty, visitor, client)
    reloading, behind = await visitor(), await visitor()
    chat_id = (await reloading.start("Sivu latautuu kohta uudelleen."))["chat_id"]
    await behind.start("Olen jonossa toisena.")
    assert (await behind.until("queue", lambda q: True))["position"] == 2
    await reloading.close()
    await behind.until("queue", lambda q: q["position"] == 1)

    clock.advance(seconds=100)
    back = await visitor(reloading.token)
    state = (await back.resume())["chat"]
    assert (state["chat_id"], state["status"], state["position"]) == (chat_id, "waiting", 1)
    await behind.until("queue", lambda q: q["position"] == 2)
    clock.advance(seconds=30)  # past the grace counted from when the tab closed
    await _tick(client)
    assert rows(settings, "SELECT status FROM chats WHERE id = ?", (chat_id,)) == [("waiting",)]

    # The first in line still: Mikko's free place goes to the one who came back.
    wrap = {"chat_id": talking, "category": "tyonhaku", "outcome": "advice"}
    assert await mikko.call("end", wrap) == {"ok": True}
    assert (await back.next("assigned"))["name"] == "Mikko"
    assert rows(settings, "SELECT assigned_to IS NOT NULL FROM chats WHERE id = ?", (chat_id,)) == [
        (1,)
    ]


# ---- a transfer is written into the conversation ---------------------------------------------


class _VisitorIn(Visitor):
    """A young person whose phone asks for `lang` pages."""

    def __init__(self, lang: str, token: str | None = None) -> None:
        super().__init__(token)
        self.lang = lang

    async def connect(self, base: str) -> str:
        await self.sio.connect(
            base,
            namespaces=[self.namespace],
            auth={"token": self.token},
            headers={"Accept-Language": self.lang},
            transports=["websocket"],
            wait_timeout=TIMEOUT,
        )
        self.token = (await self.next("session"))["token"]
        return self.token


@pytest.fixture
def visitor_in(client: TestClient, opened: list[Any]) -> Callable[..., Awaitable[Visitor]]:
    async def make(lang: str, token: str | None = None) -> Visitor:
        v = _VisitorIn(lang, token)
        opened.append(v)
        await v.connect(url(client))
        return v

    return make


TO_MIKKO = {
    "fi": "Keskustelu siirtyi: työllisyysneuvoja Mikko jatkaa.",
    "sv": "Chatten flyttades: sysselsättningsrådgivare Mikko fortsätter.",
}
TO_ADVISERS = {
    "fi": "Keskustelu siirtyi jonoon: seuraava vapaa työllisyysneuvoja jatkaa.",
    "sv": "Chatten flyttades till kön: nästa lediga sysselsättningsrådgivare fortsätter.",
}


async def _replayed(who: Visitor | Staff, ack: dict[str, Any]) -> list[dict[str, Any]]:
    assert "error" not in ack, ack
    return [m for m in who.drain("message") if m["id"] <= ack["last_id"]]


@pytest.mark.parametrize("lang", ["fi", "sv"])
async def test_a_transfer_to_a_colleague_is_a_line_in_the_conversation(
    client: TestClient,
    on_duty: OnDuty,
    visitor_in: Callable[..., Awaitable[Visitor]],
    settings: Settings,
    lang: str,
) -> None:
    sanna = await on_duty("sanna", "counsellor", "Sanna")
    v = await visitor_in(lang)
    chat_id = (await v.start("Etsin töitä, mutta jaksaminen on koetuksella."))["chat_id"]
    await sanna.own_chat_ids(1)
    said = await sanna.send(chat_id, "Hei, täällä Sanna.")
    await v.until("message", lambda m: m["id"] == said["id"])
    mikko = await on_duty("mikko", "adviser", "Mikko")
    mikko_id = rows(settings, "SELECT id FROM staff WHERE username = 'mikko'")[0][0]

    assert await sanna.call("transfer", {"chat_id": chat_id, "to_staff": mikko_id}) == {"ok": True}
    line = await v.until("message", lambda m: m["from"] == "system")
    assert line["text"] == TO_MIKKO[lang]
    assert set(line) == {"id", "from", "text", "at"}
    live = await mikko.until("message", lambda m: m["from"] == "system")
    assert live == {**line, "chat_id": chat_id}
    assert sanna.drain("message") == [], "whoever handed it on reads no more of it"
    stored = "SELECT id, sender, text, staff_id, client_id FROM chat_messages ORDER BY id"
    assert rows(settings, stored)[-1] == (line["id"], "system", TO_MIKKO[lang], None, None)

    # Replayed in its place, to the young person after a reload and to Mikko's console.
    again = await visitor_in(lang, v.token)
    replay = await _replayed(again, await again.resume())
    assert [m["from"] for m in replay] == ["visitor", "staff", "system"]
    assert replay[-1] == line
    mikko.drain("message")
    console = await _replayed(mikko, await mikko.call("resume", {"chat_id": chat_id, "after": 0}))
    assert [m["text"] for m in console][-1] == TO_MIKKO[lang]


@pytest.mark.parametrize("lang", ["fi", "sv"])
async def test_a_transfer_to_the_queue_is_a_line_in_the_conversation(
    client: TestClient,
    on_duty: OnDuty,
    visitor_in: Callable[..., Awaitable[Visitor]],
    settings: Settings,
    lang: str,
) -> None:
    sanna = await on_duty("sanna", "counsellor", "Sanna")
    v = await visitor_in(lang)
    chat_id = (await v.start("Tarvitsen apua työnhakuun."))["chat_id"]
    await sanna.own_chat_ids(1)
    await sanna.call("transfer", {"chat_id": chat_id, "to_role": "adviser", "note": "Työasia"})
    line = await v.until("message", lambda m: m["from"] == "system")
    assert line["text"] == TO_ADVISERS[lang]
    assert (await v.until("queue", lambda q: True))["position"] == 1

    mikko = await on_duty("mikko", "adviser", "Mikko")
    assert await mikko.own_chat_ids(1) == [chat_id]
    replay = await _replayed(mikko, await mikko.call("resume", {"chat_id": chat_id, "after": 0}))
    assert [(m["from"], m["text"]) for m in replay][-1] == ("system", TO_ADVISERS[lang])
    assert "Työasia" not in str(replay), "the note stays with staff"


async def test_a_chat_sent_back_while_its_young_person_is_away_gets_the_whole_grace(
    client: TestClient,
    on_duty: OnDuty,
    visitor: NewVisitor,
    clock: FakeClock,
    settings: Settings,
) -> None:
    """A locked phone mid-conversation: the queue's grace starts when the chat rejoins it."""
    sanna = await on_duty("sanna", "counsellor", "Sanna")
    v = await visitor()
    chat_id = (await v.start("Puhelin menee kohta lukkoon."))["chat_id"]
    await sanna.own_chat_ids(1)
    await v.close()
    clock.advance(seconds=180)  # away for three minutes, inside the conversation's allowance
    await sanna.call("transfer", {"chat_id": chat_id, "to_role": "adviser"})
    await _tick(client)
    status = "SELECT status FROM chats WHERE id = ?"
    assert rows(settings, status, (chat_id,)) == [("waiting",)]
    clock.advance(seconds=121)
    await _tick(client)
    assert rows(settings, status, (chat_id,)) == [("ended",)]
