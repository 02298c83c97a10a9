"""The live chat over real socket.io clients against a real server and SQLite file."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from moderation.chat import upkeep
from moderation.directory import do_import
from service import keys
from service.storage import presence
from service.storage.chat_messages import Draft
from tests.chat_clients import Staff, Visitor, new_client_id
from tests.conftest import FakeClock, cookie, rows, url
from web import DEMO_DIR

StaffClient = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def chatting(
    on_duty: Callable[..., Awaitable[Staff]], visitor: Callable[..., Awaitable[Visitor]]
) -> Callable[[str], Awaitable[tuple[Staff, Visitor, int]]]:
    """Mikko the adviser on duty, and a visitor whose chat he has: (mikko, visitor, chat id)."""

    async def make(text: str) -> tuple[Staff, Visitor, int]:
        mikko = await on_duty("mikko", "adviser", "Mikko")
        v = await visitor()
        await v.start(text)
        return mikko, v, (await mikko.own_chat_ids(1))[0]

    return make


async def set_capacity(client: TestClient, username: str, capacity: int) -> None:
    db = client.server.app[keys.DB]
    staff_id = await db.fetch_value("SELECT id FROM staff WHERE username = ?", (username,))
    async with db.transaction() as tx:
        await presence.set_capacity(tx, staff_id, capacity)


async def set_auto_assign(client: TestClient, on: bool) -> None:
    async with client.server.app[keys.DB].transaction() as tx:
        await tx.execute(
            "UPDATE chat_settings SET value = ? WHERE name = 'auto_assign'", (int(on),)
        )


async def test_closed_without_staff_and_the_attempt_is_counted(
    client: TestClient, visitor: Callable[..., Awaitable[Visitor]], settings: Any
) -> None:
    v = await visitor()
    assert len(v.token) >= 22, "at least 128 bits"
    assert (await v.next("status"))["open"] is False
    ack = await v.start("Onko chat auki?")
    assert ack["error"] == "closed"
    assert rows(settings, "SELECT count(*) FROM chats") == [(0,)]
    assert rows(settings, "SELECT count(*) FROM chat_messages") == [(0,)]
    assert rows(settings, "SELECT kind, detail FROM usage_events") == [
        ("chat_requested", '{"open": false}')
    ]
    # The token is kept only as a hash, and only once the visitor has a chat.
    assert rows(settings, "SELECT token_hash FROM visitors") == [
        (hashlib.sha256(v.token.encode()).hexdigest(),)
    ]


async def test_chat_opens_with_staff_and_assigns_to_the_fitting_role(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]], settings: Any
) -> None:
    sanna = await on_duty("sanna", "counsellor", "Sanna")
    mikko = await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    await v.until("status", lambda s: s["open"])
    ack = await v.start("Miten kirjoitan hyvän työhakemuksen?")
    assert ack["position"] == 0 and ack["eta_s"] == 0 and ack["message_id"] > 0
    assigned = await v.next("assigned")
    assert assigned == {"role": "adviser", "role_label": "Työllisyysneuvoja", "name": "Mikko"}
    [chat_id] = await mikko.own_chat_ids(1)
    await mikko.call("resume", {"chat_id": chat_id, "after": 0})
    first = await mikko.next("message")
    assert first["text"] == "Miten kirjoitan hyvän työhakemuksen?" and first["from"] == "visitor"

    reply = await mikko.send(chat_id, "Hei! Autan mielelläni.")
    got = await v.next("message")
    assert got["id"] == reply["id"] and got["from"] == "staff" and "client_id" not in got
    assert got["name"] == "Mikko", "staff messages say who wrote them"
    sent = await v.send("Kiitos!")
    echoed = await mikko.next("message")
    assert echoed == {
        "chat_id": chat_id,
        "id": sent["id"],
        "from": "visitor",
        "text": "Kiitos!",
        "at": echoed["at"],
    }
    assert sent["id"] > reply["id"]
    assert sanna.drain("message") == [], "messages reach only the chat's own staff"

    # A social topic prefers the counsellor.
    w = await visitor()
    await w.start("Jaksaminen on ollut vaikeaa.", category="jaksaminen")
    assert (await w.next("assigned"))["name"] == "Sanna"
    kinds = [r[0] for r in rows(settings, "SELECT kind FROM usage_events ORDER BY id")]
    assert kinds.count("chat_assigned") == 2 and "chat_first_reply" in kinds


async def test_queue_positions_and_estimates_for_three_waiting_visitors(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]]
) -> None:
    staff = await on_duty("mikko", "adviser", "Mikko")
    await set_capacity(client, "mikko", 1)
    first = await visitor()
    await first.start()
    await first.next("assigned")
    waiting = [await visitor() for _ in range(3)]
    acks = [await w.start(f"Odotan vuoroani numero {n}") for n, w in enumerate(waiting, 1)]
    assert [a["position"] for a in acks] == [1, 2, 3]
    # One slot, ten minutes' default handle time: each place in line adds ten minutes.
    assert [a["eta_s"] for a in acks] == [600, 1200, 1800]
    queue = await staff.until("queue", lambda q: len(q["items"]) == 3)
    assert [i["first_message"]["fi"] for i in queue["items"]] == [
        "Odotan vuoroani numero 1",
        "Odotan vuoroani numero 2",
        "Odotan vuoroani numero 3",
    ]
    # The first waiting visitor leaves: the others move up, live.
    await waiting[0].call("end", {})
    moved = await waiting[2].until("queue", lambda q: q["position"] == 2)
    assert moved["eta_s"] == 1200
    assert (await waiting[1].until("queue", lambda q: q["position"] == 1))[
        "offer_question"
    ] is False


async def test_manual_accept_and_transfer_to_colleague_and_to_role(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]], settings: Any
) -> None:
    await set_auto_assign(client, False)
    sanna = await on_duty("sanna", "counsellor", "Sanna")
    mikko = await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    ack = await v.start("Tarvitsen apua asumistuen kanssa.", category="asuminen")
    assert ack["position"] == 1
    assert await sanna.call("accept", {}) == {"chat_id": ack["chat_id"]}
    assert (await v.next("assigned"))["name"] == "Sanna"
    assert (await mikko.call("accept", {"chat_id": ack["chat_id"]}))["error"] == "conflict"

    done = await sanna.call(
        "transfer", {"chat_id": ack["chat_id"], "to_staff": 2, "note": "Kysyy myös töistä"}
    )
    assert done == {"ok": True}
    assert (await v.next("assigned")) == {
        "role": "adviser",
        "role_label": "Työllisyysneuvoja",
        "name": "Mikko",
    }
    mine = await mikko.until("chats", lambda p: len(p["items"]) == 1)
    assert mine["items"][0]["notes"][0]["text"] == "Kysyy myös töistä"
    assert (await sanna.send(ack["chat_id"], "Vielä yksi asia"))["error"] == "conflict"

    await mikko.call("transfer", {"chat_id": ack["chat_id"], "to_role": "counsellor", "note": ""})
    back = await v.until("queue", lambda q: q["position"] == 1)
    assert back["position"] == 1
    queued = await mikko.until(
        "queue", lambda q: len(q["items"]) == 1 and q["items"][0]["returned"]
    )
    assert queued["items"][0]["wanted_role"] == "counsellor" and queued["items"][0]["returned"]
    # Whoever handed it on no longer reads it, nor may anyone but the wanted role take it.
    assert (await mikko.call("resume", {"chat_id": ack["chat_id"], "after": 0}))["error"]
    assert (await mikko.call("accept", {"chat_id": ack["chat_id"]}))["error"] == "conflict"
    assert (await mikko.call("accept", {}))["error"] == "not_found"
    assert await sanna.call("accept", {}) == {"chat_id": ack["chat_id"]}
    assert rows(settings, "SELECT count(*) FROM usage_events WHERE kind = 'chat_transferred'") == [
        (2,)
    ]
    assert "Kysyy" not in str(rows(settings, "SELECT detail FROM usage_events"))


@pytest.mark.parametrize("round_", range(15))
async def test_concurrent_accepts_never_double_assign_or_exceed_capacity(
    client: TestClient,
    on_duty: Any,
    visitor: Callable[..., Awaitable[Visitor]],
    settings: Any,
    round_: int,
) -> None:
    await set_auto_assign(client, False)
    sanna = await on_duty("sanna", "counsellor", "Sanna")
    mikko = await on_duty("mikko", "adviser", "Mikko")
    await set_capacity(client, "sanna", 1)
    await set_capacity(client, "mikko", 1)
    chat_ids = [(await (await visitor()).start(f"Odottaja {n}"))["chat_id"] for n in range(3)]
    # Both go for the same chat at once, then both ask for two more each.
    same = await asyncio.gather(
        sanna.call("accept", {"chat_id": chat_ids[0]}),
        mikko.call("accept", {"chat_id": chat_ids[0]}),
    )
    assert sorted("chat_id" in a for a in same) == [False, True]
    more = await asyncio.gather(*(s.call("accept", {}) for s in (sanna, mikko, sanna, mikko)))
    taken = [a["chat_id"] for a in [*same, *more] if "chat_id" in a]
    assert len(taken) == len(set(taken)) == 2, "two people, capacity one each"
    assert {a["error"] for a in [*same, *more] if "error" in a} <= {"conflict", "capacity"}
    per_staff = rows(
        settings,
        "SELECT assigned_to, count(*) FROM chats WHERE status = 'active' GROUP BY assigned_to",
    )
    assert sorted(count for _, count in per_staff) == [1, 1]


async def test_a_visitor_sees_only_their_own_chat(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]]
) -> None:
    mikko = await on_duty("mikko", "adviser", "Mikko")
    await on_duty("sanna", "counsellor", "Sanna")
    owner = await visitor()
    await owner.start("Tämä on yksityinen viesti.")
    chat_id = (await mikko.own_chat_ids(1))[0]

    stranger = await visitor("not-a-real-token")
    assert stranger.token != "not-a-real-token", "an unknown token is replaced"
    assert await stranger.call("resume", {"after": 0}) == {"chat": None}
    assert (await stranger.send("Hei", "x1"))["error"] == "conflict"
    assert stranger.drain("message") == []
    # Guessing a chat id gives nothing: visitors cannot name a chat at all, staff get refused.
    sanna = await on_duty("sanna2", "counsellor", "Sanna", available=False)
    refused = await sanna.call("resume", {"chat_id": chat_id, "after": 0})
    assert refused["error"] == "forbidden"
    assert (await sanna.send(chat_id, "Luen salaa"))["error"] == "conflict"
    assert sanna.drain("message") == []


async def test_resume_delivers_exactly_the_missed_messages_and_resends_are_idempotent(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]], settings: Any
) -> None:
    mikko = await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    start = await v.start("Ensimmäinen viesti")
    chat_id = (await mikko.own_chat_ids(1))[0]
    sent = await v.send("Toinen viesti", "same-id")
    again = await v.send("Toinen viesti", "same-id")
    assert again == sent
    assert rows(settings, "SELECT count(*) FROM chat_messages WHERE client_id = 'same-id'") == [
        (1,)
    ]
    last_seen = sent["id"]
    await v.close()

    missed = [(await mikko.send(chat_id, f"Vastaus {n}"))["id"] for n in range(3)]
    back = await visitor(v.token)
    state = await back.call("resume", {"after": last_seen})
    got = back.drain("message")
    assert [m["id"] for m in got] == missed
    assert [m["text"] for m in got] == ["Vastaus 0", "Vastaus 1", "Vastaus 2"]
    assert state["chat"]["status"] == "active" and state["chat"]["name"] == "Mikko"

    await back.call("resume", {"after": 0})
    everything = back.drain("message")
    assert [m["id"] for m in everything] == [start["message_id"], sent["id"], *missed]
    assert everything[1]["client_id"] == "same-id", "own messages carry their client id"


async def test_messages_are_checked(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]]
) -> None:
    await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    assert (await v.start("x" * 2001))["field"] == "text"
    assert (await v.start("Hei", category="nope"))["field"] == "category"
    assert (await v.call("start", ["not", "an", "object"]))["error"] == "invalid"
    assert (await v.start("Hei", client_id=""))["field"] == "client_id"
    await v.start("Hei, aloitan keskustelun.")
    too_long = await v.send("y" * 2001)
    assert too_long["error"] == "invalid" and too_long["field"] == "text"
    assert "2000" in too_long["message"]
    assert (await v.send("   "))["field"] == "text"
    assert (await v.call("resume", {"after": -1}))["field"] == "after"


async def test_twenty_messages_a_minute_then_a_clear_refusal(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]]
) -> None:
    await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    await v.start("Aloitan.")
    for n in range(20):
        assert "id" in await v.send(f"viesti {n}")
    refused = await v.send("liikaa")
    assert refused["error"] == "rate_limited" and 1 <= refused["retry_after"] <= 60


async def test_end_rate_and_wrap_up(
    client: TestClient,
    chatting: Any,
    settings: Any,
) -> None:
    mikko, v, chat_id = await chatting("Kysyisin työkokeilusta.")
    assert (await v.call("rate", {"score": 5}))["error"] == "conflict", "only after the end"
    bad = await mikko.call("end", {"chat_id": chat_id, "category": "tyonhaku", "outcome": "?"})
    assert bad["field"] == "outcome"
    ok = await mikko.call("end", {"chat_id": chat_id, "category": "tyonhaku", "outcome": "advice"})
    assert ok == {"ok": True}
    assert await v.next("ended") == {"by": "staff"}
    assert (await v.call("rate", {"score": 6}))["field"] == "score"
    assert await v.call("rate", {"score": 4, "helped": True}) == {"ok": True}
    assert (await v.call("rate", {"score": 1}))["error"] == "conflict"
    assert rows(settings, "SELECT rating, helped, outcome, ended_by FROM chats") == [
        (4, 1, "advice", "staff")
    ]
    detail = rows(settings, "SELECT detail FROM usage_events WHERE kind = 'chat_rated'")
    assert detail == [('{"helped": true, "score": 4}',)]
    state = await v.call("resume", {"after": 0})
    assert state["chat"]["rated"] is True and state["chat"]["ended_by"] == "staff"


async def test_visitor_end_then_staff_wraps_up(
    client: TestClient,
    chatting: Any,
    settings: Any,
) -> None:
    mikko, v, chat_id = await chatting("Lyhyt kysymys.")
    assert await v.call("end", {}) == {"ok": True}
    assert await mikko.next("ended") == {"chat_id": chat_id, "by": "visitor"}
    pending = await mikko.until("chats", lambda p: p["items"] and p["items"][0]["wrap_up_needed"])
    assert pending["items"][0]["chat_id"] == chat_id
    wrap = {"chat_id": chat_id, "category": "opiskelu", "outcome": "no_contact"}
    assert await mikko.call("end", wrap) == {"ok": True}
    assert rows(settings, "SELECT wrap_category, outcome FROM chats") == [
        ("opiskelu", "no_contact")
    ]
    assert (await v.send("Vielä?"))["error"] == "conflict"


async def test_convert_to_a_private_question(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]], settings: Any
) -> None:
    mikko = await on_duty("mikko", "adviser", "Mikko")
    await set_capacity(client, "mikko", 0)
    v = await visitor()
    ack = await v.start("Miten haen palkkatukea, kun olen ollut pitkään työttömänä?")
    assert ack["position"] == 1 and ack["eta_s"] is None
    assert (await v.next("queue"))["offer_question"] is True
    converted = await v.call("convert", {})
    assert converted["url"] == "/f/" + converted["code"]
    assert await v.next("ended") == {"by": "visitor"}
    followup = await client.get(converted["url"])
    assert "palkkatukea" in await followup.text()
    assert rows(settings, "SELECT publish_allowed, status FROM questions") == [(0, "pending")]
    assert rows(settings, "SELECT outcome, question_id IS NOT NULL FROM chats") == [("question", 1)]
    questions = await mikko.until("questions", lambda q: len(q["items"]) == 1)
    assert "palkkatukea" in questions["items"][0]["body"]
    kinds = {r[0] for r in rows(settings, "SELECT kind FROM usage_events")}
    assert {"chat_converted_to_question", "question_asked"} <= kinds
    assert "chat_abandoned" not in kinds, "taking the offer is not abandoning the chat"


async def test_block_ends_the_chat_and_refuses_new_ones(
    client: TestClient,
    chatting: Any,
    settings: Any,
    clock: FakeClock,
) -> None:
    mikko, v, chat_id = await chatting("Asiatonta tekstiä.")
    assert (await mikko.call("block", {"chat_id": chat_id, "hours": 5, "reason": "x"}))[
        "field"
    ] == "hours"
    block = {"chat_id": chat_id, "hours": 24, "reason": "Toistuvaa häirintää"}
    assert await mikko.call("block", block) == {"ok": True}
    assert await v.next("ended") == {"by": "staff"}
    refused = await v.start("Uusi yritys")
    assert refused["error"] == "blocked" and refused["until"] == "2026-11-25T10:00:00Z"
    audit = rows(settings, "SELECT target_type, detail FROM audit_log WHERE action = 'chat_block'")
    assert [(kind, json.loads(detail)) for kind, detail in audit] == [
        ("chat", {"hours": 24, "reason": "Toistuvaa häirintää"})
    ]
    clock.advance(hours=25)
    assert "chat_id" in await v.start("Uusi yritys huomenna")


async def test_idle_visitor_times_out_and_absent_staff_hand_chats_back(
    client: TestClient,
    on_duty: Any,
    visitor: Callable[..., Awaitable[Visitor]],
    settings: Any,
    clock: FakeClock,
) -> None:
    chat = client.server.app[keys.CHAT]
    mikko = await on_duty("mikko", "adviser", "Mikko")
    quiet, staying = await visitor(), await visitor()
    await quiet.start("Kirjoitan ja lähden.")
    await staying.start("Minä odotan.")
    ids = await mikko.own_chat_ids(2)
    await quiet.close()
    gone = await mikko.until("chats", lambda p: not all(i["visitor_connected"] for i in p["items"]))
    assert [i["chat_id"] for i in gone["items"] if not i["visitor_connected"]] == [ids[0]]
    clock.advance(minutes=9)
    await upkeep.tick(chat)
    assert rows(settings, "SELECT count(*) FROM chats WHERE status = 'active'") == [(2,)]
    clock.advance(minutes=2)
    await upkeep.tick(chat)
    assert await mikko.until("ended", lambda e: e["by"] == "timeout")
    assert rows(settings, "SELECT id, ended_by FROM chats WHERE status = 'ended'") == [
        (ids[0], "timeout")
    ]

    # The counsellor's connection drops: brief absence keeps the chat, two minutes returns it.
    await mikko.close()
    await asyncio.sleep(0.2)  # the server notices the closed socket
    clock.advance(seconds=90)
    await upkeep.tick(chat)
    assert rows(settings, "SELECT status FROM chats WHERE id = ?", (ids[1],)) == [("active",)]
    off = "SELECT count(*) FROM usage_events WHERE kind = 'staff_availability' AND detail LIKE ?"
    assert rows(settings, off, ('%"on": false%',)) == [(0,)]
    clock.advance(seconds=31)
    await upkeep.tick(chat)
    assert rows(settings, "SELECT status, returned FROM chats WHERE id = ?", (ids[1],)) == [
        ("waiting", 1)
    ]
    assert (await staying.until("queue", lambda q: True))["position"] == 1
    # Gone for two minutes is no longer on duty, once: staffed hours end here.
    await upkeep.tick(chat)
    assert rows(settings, off, ('%"on": false%',)) == [(1,)]
    assert rows(settings, "SELECT available FROM staff_presence") == [(0,)]


async def test_client_id_makes_start_idempotent(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]], settings: Any
) -> None:
    await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    client_id = new_client_id()
    first = await v.start("Alku", client_id=client_id)
    again = await v.start("Alku", client_id=client_id)
    assert first == {**again, "position": first["position"], "eta_s": first["eta_s"]}
    assert rows(settings, "SELECT count(*) FROM chats") == [(1,)]
    assert (await v.start("Toinen chat"))["error"] == "invalid"


HOSTILE = [
    None,
    [],
    "text",
    7,
    {"chat_id": True},
    {"chat_id": 10**30, "after": 10**30},
    {"chat_id": -1, "after": -1},
    {"chat_id": "1", "text": ["a"], "client_id": {"x": 1}},
    {"text": "\ud800 rikki", "client_id": "\udfff"},
    {"category": None, "score": 3.5, "helped": "yes", "hours": True, "on": "yes"},
    {"to_staff": 10**30, "to_role": 5, "note": 7, "outcome": None, "reason": 42},
]


async def test_hostile_payloads_get_an_answer_and_change_nothing(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]], settings: Any
) -> None:
    mikko = await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    await v.start("Tavallinen alku.")
    await mikko.own_chat_ids(1)
    before = rows(settings, "SELECT count(*) FROM chat_messages")
    for payload in HOSTILE:
        for event in ("start", "send", "resume", "end", "rate", "convert"):
            acts = event in ("end", "convert") or (
                event == "resume" and "after" not in str(payload)
            )
            if acts and (payload is None or isinstance(payload, dict)):
                continue  # valid for these events (no fields needed): they would really act
            ack = await v.call(event, payload)
            assert ack.get("error") in {"invalid", "conflict", "not_found"}, (event, payload, ack)
            assert "message" in ack
        for event in ("available", "accept", "send", "resume", "transfer", "end", "block"):
            ack = await mikko.call(event, payload)
            assert ack.get("error") in {"invalid", "not_found", "conflict"}, (event, payload, ack)
    assert rows(settings, "SELECT count(*) FROM chat_messages") == before
    assert rows(settings, "SELECT status FROM chats") == [("active",)]


async def test_expired_staff_session_gets_no_chat_text(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]], clock: FakeClock
) -> None:
    mikko = await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    await v.start("Alku")
    await mikko.own_chat_ids(1)
    clock.advance(hours=13)
    await v.send("Tämä ei saa mennä vanhentuneelle istunnolle")
    for _ in range(50):
        if "/staff" not in mikko.sio.namespaces:
            break
        await asyncio.sleep(0.05)
    assert "/staff" not in mikko.sio.namespaces
    assert mikko.drain("message") == []


async def test_ended_is_told_once(client: TestClient, chatting: Any) -> None:
    mikko, v, chat_id = await chatting("Alku")
    await v.call("end", {})
    wrap = {"chat_id": chat_id, "category": "tyonhaku", "outcome": "advice"}
    assert await mikko.call("end", wrap) == {"ok": True}
    await mikko.until("chats", lambda p: p["items"] == [])
    assert v.drain("ended") == [{"by": "visitor"}]
    assert mikko.drain("ended") == [{"chat_id": chat_id, "by": "visitor"}]


async def test_rate_limit_survives_a_reconnect(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]]
) -> None:
    await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    await v.start("Aloitan.")
    for n in range(20):
        await v.send(f"viesti {n}")
    await v.close()
    again = await visitor(v.token)
    assert (await again.send("vielä"))["error"] == "rate_limited"


async def test_a_malformed_token_gets_a_new_one(
    client: TestClient, visitor: Callable[..., Awaitable[Visitor]]
) -> None:
    for bad in ("\ud800", "x" * 500, "short"):
        v = await visitor(bad)
        assert v.token != bad and len(v.token) >= 22


async def test_one_client_id_twice_in_a_batch_is_stored_and_told_once(
    client: TestClient,
    chatting: Any,
    settings: Any,
) -> None:
    mikko, v, chat_id = await chatting("Alku")
    visitor_id = rows(settings, "SELECT visitor_id FROM chats")[0][0]
    log = client.server.app[keys.CHAT].messages
    drafts = [
        Draft(chat_id, "visitor", visitor_id, text, "dup", "2026-11-24T10:00:00Z")
        for text in ("kerran", "ERI TEKSTI")
    ]
    first, second = await asyncio.gather(*(log.append(d) for d in drafts))
    assert first is not None and second is not None
    assert first.id == second.id and [first.fresh, second.fresh] == [True, False]
    assert first.text == "kerran"
    assert rows(settings, "SELECT text FROM chat_messages WHERE client_id = 'dup'") == [("kerran",)]


async def test_a_second_socket_of_the_same_visitor_sees_messages_sent_from_the_first(
    client: TestClient, on_duty: Any, visitor: Callable[..., Awaitable[Visitor]]
) -> None:
    mikko = await on_duty("mikko", "adviser", "Mikko")
    first = await visitor()
    await first.start("Alku")
    await mikko.own_chat_ids(1)
    second = await visitor(first.token)
    await second.resume()
    assert [m["text"] for m in second.drain("message")] == ["Alku"]
    sent = await first.send("Kirjoitan ensimmäisestä välilehdestä")
    copy = await second.next("message")
    assert copy["id"] == sent["id"] and copy["client_id"]
    assert (await mikko.next("message"))["id"] == sent["id"]
    assert first.drain("message") == [], "the sender learns the id from the acknowledgement"


async def test_signing_out_returns_chats_at_once(
    client: TestClient,
    staff_client: StaffClient,
    on_duty: Any,
    visitor: Callable[..., Awaitable[Visitor]],
    opened: list[Any],
) -> None:
    signed_in = await staff_client("mikko", "adviser", "Mikko")
    mikko = Staff(cookie(signed_in))
    opened.append(mikko)
    await mikko.connect(url(client))
    await mikko.available()
    v = await visitor()
    await v.start("Alku")
    await v.next("assigned")
    assert (await signed_in.post("/api/staff/logout", json={})).status == 204
    assert (await v.until("queue", lambda q: True))["position"] == 1, "no two minutes' wait"
    sanna = await on_duty("sanna", "counsellor", "Sanna")
    assert (await v.next("assigned"))["name"] == "Sanna"
    await sanna.own_chat_ids(1)


async def test_staff_refer_a_service_and_the_visitor_sees_the_card(
    client: TestClient,
    chatting: Callable[[str], Awaitable[tuple[Staff, Visitor, int]]],
    visitor: Callable[..., Awaitable[Visitor]],
    settings: Any,
) -> None:
    directory = json.loads((DEMO_DIR / "directory.json").read_text(encoding="utf-8"))
    await do_import(client.server.app[keys.DIRECTORY], directory, acting_staff=None)
    ohjaamo = next(s for s in directory if s["name"].startswith("Ohjaamo"))
    mikko, v, chat_id = await chatting("Tarvitsen apua CV:n kanssa.")
    refused = await mikko.call("refer", {"chat_id": chat_id, "service_id": 5, "client_id": "r0"})
    assert refused["error"] == "invalid" and refused["field"] == "service_id"
    unknown = "00000000-0000-4000-8000-000000000000"
    refused = await mikko.call(
        "refer", {"chat_id": chat_id, "service_id": unknown, "client_id": "r0"}
    )
    assert refused["error"] == "invalid"
    ack = await mikko.call(
        "refer", {"chat_id": chat_id, "service_id": ohjaamo["id"], "client_id": "r1"}
    )
    card = ack["referral"]
    assert (card["service_id"], card["name"], card["link"]) == (
        ohjaamo["id"],
        ohjaamo["name"],
        f"/services/{ohjaamo['id']}",
    )
    assert card["phone"] == ohjaamo["phones"][0]["number"] and "open_now" in card
    got = await v.until("message", lambda m: m["id"] == ack["id"])
    assert got["referral"] == card and got["text"] == ohjaamo["name"]
    again = await mikko.call(
        "refer", {"chat_id": chat_id, "service_id": ohjaamo["id"], "client_id": "r1"}
    )
    assert again["id"] == ack["id"], "a resend is stored once"
    events = rows(
        settings,
        "SELECT channel, category, subject_id, detail FROM usage_events"
        " WHERE kind = 'referral_made'",
    )
    assert [(c, k, s, json.loads(d)["service_id"]) for c, k, s, d in events] == [
        ("chat", "tyonhaku", chat_id, ohjaamo["id"])
    ]
    # A reconnecting visitor gets the card again with the replay.
    await v.close()
    back = await visitor(v.token)
    await back.call("resume", {"after": 0})
    replayed = [m for m in back.drain("message") if m["id"] == ack["id"]]
    assert replayed and replayed[0]["referral"]["name"] == ohjaamo["name"]
