"""Safety in the live chat: personal details warned about, block words refused, crisis words
answered with help and put first for staff, review words flagged to staff only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from moderation.watched_word_admin import WATCHLIST_CHANGED
from service import keys
from service.storage import watched_words
from tests.chat_clients import Staff, Visitor, new_client_id
from tests.conftest import rows
from tests.test_chat_socket import set_auto_assign

NewVisitor = Callable[..., Awaitable[Visitor]]
OnDuty = Callable[..., Awaitable[Staff]]
PHONE = "040 123 4567"


@pytest.fixture
def chatting(
    on_duty: OnDuty, visitor: NewVisitor
) -> Callable[[], Awaitable[tuple[Staff, Visitor, int]]]:
    """Mikko the adviser on duty, and a visitor whose chat he has: (mikko, visitor, chat id)."""

    async def make() -> tuple[Staff, Visitor, int]:
        mikko = await on_duty("mikko", "adviser", "Mikko")
        v = await visitor()
        await v.start("Hei, tarvitsisin apua työnhakuun.")
        [chat_id] = await mikko.own_chat_ids(1)
        assert (await mikko.call("resume", {"chat_id": chat_id, "after": 0}))["ok"] is True
        await mikko.next("message")
        return mikko, v, chat_id

    return make


async def add_word(client: TestClient, phrase: str, action: str, lang: str = "fi") -> None:
    app = client.server.app
    async with app[keys.DB].transaction() as tx:
        await watched_words.insert(
            tx, phrase=phrase, lang=lang, action=action, at="2026-01-01T00:00:00Z"
        )
        tx.announce(WATCHLIST_CHANGED)  # as the admin page's change does: every process reloads


def message_count(settings: Any) -> int:
    return int(rows(settings, "SELECT count(*) FROM chat_messages")[0][0])


async def test_a_phone_number_is_warned_about_and_sent_only_when_confirmed(
    chatting: Callable[[], Awaitable[tuple[Staff, Visitor, int]]], settings: Any
) -> None:
    mikko, v, chat_id = await chatting()
    before = message_count(settings)
    client_id = new_client_id()
    text = f"Voitteko soittaa numeroon {PHONE}?"
    ack = await v.call("send", {"text": text, "client_id": client_id})
    assert ack["error"] == "personal_data" and ack["field"] == "text" and ack["message"]
    assert [(p["kind"], p["text"]) for p in ack["personal_data"]] == [("phone", PHONE)]
    assert ack["personal_data"][0]["label"]
    assert message_count(settings) == before, "nothing is stored before the writer decides"
    assert mikko.drain("message") == []

    sent = await v.call("send", {"text": text, "client_id": client_id, "personal_ok": True})
    assert isinstance(sent["id"], int) and "crisis_help" not in sent
    got = await mikko.next("message")
    assert got["id"] == sent["id"] and got["text"] == text and "flags" not in got
    assert message_count(settings) == before + 1
    # Only `true` confirms.
    again = await v.call("send", {"text": PHONE, "client_id": new_client_id(), "personal_ok": 1})
    assert again["error"] == "personal_data"


async def test_a_warned_first_message_starts_no_chat_until_confirmed(
    on_duty: OnDuty, visitor: NewVisitor, settings: Any
) -> None:
    await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    client_id = new_client_id()
    payload = {"category": "tyonhaku", "text": f"Soita {PHONE}", "client_id": client_id}
    ack = await v.call("start", payload)
    assert ack["error"] == "personal_data" and ack["personal_data"][0]["text"] == PHONE
    assert rows(settings, "SELECT count(*) FROM chats") == [(0,)]
    assert rows(settings, "SELECT count(*) FROM usage_events WHERE kind = 'chat_requested'") == [
        (0,)
    ]
    started = await v.call("start", {**payload, "personal_ok": True})
    assert started["chat_id"] > 0 and started["message_id"] > 0
    assert rows(settings, "SELECT text FROM chat_messages") == [(f"Soita {PHONE}",)]


async def test_warnings_do_not_use_up_the_message_limit(
    chatting: Callable[[], Awaitable[tuple[Staff, Visitor, int]]], client: TestClient
) -> None:
    """Each warned send is given back: the user who confirms is not counted twice."""
    mikko, v, chat_id = await chatting()
    assert client.server.app[keys.RATE_LIMITER].enabled
    for _ in range(25):  # above the default 20 a minute; the test clock stands still
        ack = await v.call("send", {"text": PHONE, "client_id": new_client_id()})
        assert ack["error"] == "personal_data"
    assert "id" in await v.send("Kiitos")


async def test_a_block_word_is_refused_and_nothing_is_stored(
    client: TestClient,
    chatting: Callable[[], Awaitable[tuple[Staff, Visitor, int]]],
    visitor: NewVisitor,
    settings: Any,
) -> None:
    await add_word(client, "roskapost*", "block")
    mikko, v, chat_id = await chatting()
    before = message_count(settings)
    ack = await v.send("Ostakaa roskapostia halvalla")
    assert ack["error"] == "refused_words" and ack["field"] == "text" and ack["message"]
    assert message_count(settings) == before
    assert mikko.drain("message") == []

    w = await visitor()
    started = await w.start("roskapostia tarjolla")
    assert started["error"] == "refused_words"
    assert rows(settings, "SELECT count(*) FROM chats") == [(1,)]


async def test_a_crisis_word_shows_help_and_puts_the_chat_first(
    client: TestClient, on_duty: OnDuty, visitor: NewVisitor, settings: Any
) -> None:
    await set_auto_assign(client, False)
    mikko = await on_duty("mikko", "adviser", "Mikko")
    calm = await (await visitor()).start("Miten haen kesätöitä?")
    assert "crisis_help" not in calm
    v = await visitor()
    ack = await v.start("En tiedä mitä tehdä, I want to die.")
    assert ack["position"] == 1, "the waiting visitor is told they are next"
    help_ = ack["crisis_help"]
    assert help_["emergency"] == "112" and help_["crisis_line"] and help_["chat_url"]
    assert rows(settings, "SELECT id, urgent FROM chats ORDER BY id") == [
        (calm["chat_id"], 0),
        (ack["chat_id"], 1),
    ]
    queue = await mikko.until("queue", lambda q: len(q["items"]) == 2)
    assert [(i["chat_id"], i["urgent"]) for i in queue["items"]] == [
        (ack["chat_id"], True),
        (calm["chat_id"], False),
    ]
    # Taking the next chat takes the urgent one.
    assert await mikko.call("accept", {}) == {"chat_id": ack["chat_id"]}
    mine = await mikko.until("chats", lambda p: len(p["items"]) == 1)
    assert mine["items"][0]["urgent"] is True


async def test_a_crisis_word_later_in_the_chat_marks_it_urgent(
    chatting: Callable[[], Awaitable[tuple[Staff, Visitor, int]]], settings: Any
) -> None:
    mikko, v, chat_id = await chatting()
    assert rows(settings, "SELECT urgent FROM chats") == [(0,)]
    ack = await v.send("Haluan kuolla.")
    assert ack["crisis_help"]["emergency"] == "112"
    assert rows(settings, "SELECT urgent FROM chats") == [(1,)]
    mine = await mikko.until("chats", lambda p: p["items"] and p["items"][0]["urgent"])
    assert mine["items"][0]["chat_id"] == chat_id
    got = await mikko.next("message")
    assert got["id"] == ack["id"] and got["flags"][0]["action"] == "crisis"


async def test_a_review_word_is_flagged_to_staff_only(
    chatting: Callable[[], Awaitable[tuple[Staff, Visitor, int]]], visitor: NewVisitor
) -> None:
    mikko, v, chat_id = await chatting()
    other_tab = await visitor(v.token)
    await other_tab.resume()
    sent = await v.send("Kaverini käyttää huumeita, mitä teen?")
    assert "flags" not in sent and "crisis_help" not in sent
    got = await mikko.next("message")
    assert got["id"] == sent["id"]
    assert got["flags"] == [{"phrase": "huume*", "action": "review"}]
    echo = await other_tab.until("message", lambda m: m["id"] == sent["id"])
    assert "flags" not in echo, "the young person never sees the flags"
    # A console reloaded later sees the flag again on replay.
    assert (await mikko.call("resume", {"chat_id": chat_id, "after": 0}))["ok"] is True
    replayed = [await mikko.next("message") for _ in range(2)]
    assert "flags" not in replayed[0] and replayed[1]["flags"][0]["phrase"] == "huume*"
    visitor_replay = await v.call("resume", {"after": 0})
    assert visitor_replay["chat"]["chat_id"] == chat_id
    assert all("flags" not in m for m in v.drain("message"))
