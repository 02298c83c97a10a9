"""A fair chat queue: a few chats waiting per address, starts given back when nobody answered,
and a wait estimate that a flood of empty chats cannot pull to zero."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service import keys
from service.app import create_app
from service.rate_limits import MemoryRateLimiter
from service.settings import DEFAULT_LIMITS, Limit, Settings
from service.storage import presence
from tests.chat_clients import Staff, Visitor
from tests.conftest import FakeClock, add_staff, cookie, rows, sign_in, url

ClientFactory = Callable[..., Awaitable[TestClient]]
NewVisitor = Callable[..., Awaitable[Visitor]]
OnDuty = Callable[..., Awaitable[Staff]]


@pytest.fixture
def hourly() -> int:
    """The address's chat starts an hour; a test may parametrize it."""
    return 4


@pytest.fixture
def settings(tmp_path: Path, hourly: int, database_url: str | None) -> Settings:
    """A small hourly allowance per address, so a start wrongly counted shows at once."""
    return Settings(
        db_path=tmp_path / "koppi.sqlite3",
        database_url=database_url,
        secret="test-secret-not-for-production",
        limits={**DEFAULT_LIMITS, "chat_start.address": Limit(hourly, 3600)},
    )


async def set_auto_assign(client: TestClient, on: bool) -> None:
    async with client.server.app[keys.DB].transaction() as tx:
        await tx.execute(
            "UPDATE chat_settings SET value = ? WHERE name = 'auto_assign'", (int(on),)
        )


async def set_capacity(client: TestClient, username: str, capacity: int) -> None:
    db = client.server.app[keys.DB]
    staff_id = await db.fetch_value("SELECT id FROM staff WHERE username = ?", (username,))
    async with db.transaction() as tx:
        await presence.set_capacity(tx, staff_id, capacity)


def waiting_keys(settings: Settings) -> list[str | None]:
    return [r[0] for r in rows(settings, "SELECT waiting_key FROM chats WHERE status = 'waiting'")]


async def test_one_address_has_three_chats_waiting_and_its_flood_costs_nothing(
    client: TestClient, on_duty: OnDuty, visitor: NewVisitor, settings: Settings
) -> None:
    await set_auto_assign(client, False)
    mikko = await on_duty("mikko", "adviser", "Mikko")
    flood = [await visitor() for _ in range(30)]
    acks = [await v.start(f"Jonossa {n}") for n, v in enumerate(flood)]
    admitted = [(v, a) for v, a in zip(flood, acks, strict=True) if "chat_id" in a]
    assert [a["position"] for _, a in admitted] == [1, 2, 3]
    refused = [a for a in acks if "error" in a]
    assert len(refused) == 27
    assert {(a["error"], a["retry_after"]) for a in refused} == {("rate_limited", 30)}
    assert "odottaa jo useampi" in refused[0]["message"], "a kind word, in Finnish"
    # The waiting rows carry today's keyed hash of the address, never the address.
    stored = waiting_keys(settings)
    assert len(stored) == 3 and len(set(stored)) == 1
    assert stored[0] is not None and "127.0.0.1" not in stored[0] and len(stored[0]) == 32
    assert rows(settings, "SELECT count(*) FROM chats") == [(3,)], "nothing kept of a refusal"

    # One waiting visitor leaves before anyone answered: a place in line and the start are free.
    (a, _), (b, b_ack), (c, _) = admitted
    assert await a.call("end", {}) == {"ok": True}
    assert "chat_id" in await (await visitor()).start("Pääsenkö nyt jonoon?")
    assert "error" in await (await visitor()).start("Entä minä?"), "three wait again"

    # Staff take one: it no longer waits (nor keeps the key), so the next visitor gets in.
    assert await mikko.call("accept", {"chat_id": b_ack["chat_id"]}) == {
        "chat_id": b_ack["chat_id"]
    }
    assert "id" in await mikko.send(b_ack["chat_id"], "Hei, miten voin auttaa?")
    assert rows(settings, "SELECT waiting_key FROM chats WHERE id = ?", (b_ack["chat_id"],)) == [
        (None,)
    ]
    assert "chat_id" in await (await visitor()).start("Minäkin haluaisin jutella.")
    # Four starts count now (b, c, d, e): the 27 refusals and a's start were given back. b's
    # visitor leaves after an answer, which keeps its start counted: the hour is used up.
    assert await b.call("end", {}) == {"ok": True}
    late = await (await visitor()).start("Ja minä?")
    assert late["error"] == "rate_limited" and late["retry_after"] > 30, "the hourly limit"
    # c leaves before anyone answered: its start is given back, and the next one gets in.
    assert await c.call("end", {}) == {"ok": True}
    assert "chat_id" in await (await visitor()).start("Vuoroni?")


async def test_a_crisis_may_pass_the_waiting_cap_by_one_and_a_refusal_still_brings_help(
    client: TestClient, on_duty: OnDuty, visitor: NewVisitor, settings: Settings
) -> None:
    await set_auto_assign(client, False)
    await on_duty("mikko", "adviser", "Mikko")
    for n in range(3):
        assert "chat_id" in await (await visitor()).start(f"Jonossa {n}")
    assert (await (await visitor()).start("Minäkin."))["error"] == "rate_limited"
    crisis = await (await visitor()).start("En tiedä mitä tehdä, I want to die.")
    assert crisis["position"] == 1 and crisis["crisis_help"]["emergency"] == "112"
    # A flood of crisis words cannot fill the front of the queue: the next one waits its turn,
    # and is shown the crisis help at once all the same.
    again = await (await visitor()).start("En halua elää enää.")
    assert again["error"] == "rate_limited" and again["crisis_help"]["emergency"] == "112"
    assert rows(settings, "SELECT count(*) FROM chats WHERE urgent = 1") == [(1,)]


async def test_a_chat_taken_by_staff_keeps_its_start_counted_when_the_visitor_leaves(
    client: TestClient, on_duty: OnDuty, visitor: NewVisitor
) -> None:
    """Start, be taken, leave before a reply, repeat: a counsellor's time is not free."""
    await on_duty("mikko", "adviser", "Mikko")
    for n in range(4):  # the test's hourly address limit
        v = await visitor()
        assert (await v.start(f"Hei {n}"))["position"] == 0, "taken at once"
        assert await v.call("end", {}) == {"ok": True}
    late = await (await visitor()).start("Vielä yksi")
    assert late["error"] == "rate_limited" and late["retry_after"] > 30


async def _answered_chat(
    mikko: Staff, visitor: NewVisitor, clock: FakeClock, handle_s: int
) -> None:
    """A real chat: taken at once, answered, ended by its visitor `handle_s` seconds later."""
    v = await visitor()
    ack = await v.start("Tarvitsen apua CV:n kanssa.")
    assert ack["position"] == 0
    assert "id" in await mikko.send(ack["chat_id"], "Hei! Kerro lisää.")
    clock.advance(seconds=handle_s)
    assert await v.call("end", {}) == {"ok": True}


@pytest.mark.parametrize("hourly", [30])  # the default: this test is about the estimate
async def test_a_flood_of_empty_chats_does_not_poison_the_estimate(
    client: TestClient, on_duty: OnDuty, visitor: NewVisitor, clock: FakeClock
) -> None:
    mikko = await on_duty("mikko", "adviser", "Mikko")
    await set_capacity(client, "mikko", 1)
    for handle_s in (300, 600, 900):
        await _answered_chat(mikko, visitor, clock, handle_s)
        clock.advance(seconds=60)
    # Mikko's one place is taken; the next visitor waits one turn of the median, 600 s.
    busy = await visitor()
    assert (await busy.start("Minulla on kysymys."))["position"] == 0
    first = await visitor()
    before = await first.start("Odotan vuoroani.")
    assert before["position"] == 1 and before["eta_s"] == 600
    assert await first.call("end", {}) == {"ok": True}

    # Twenty chats started and ended at once on a free place (the clock stands still): each
    # is taken at once and left before anyone answered.
    await set_capacity(client, "mikko", 2)
    for n in range(20):
        v = await visitor()
        ack = await v.start(f"Tulva {n}")
        assert ack["position"] == 0, "taken at once, so a handle time of 0 s"
        assert await v.call("end", {}) == {"ok": True}
    await set_capacity(client, "mikko", 1)

    waiting = [await visitor() for _ in range(2)]
    after = [await w.start(f"Odotan {n}") for n, w in enumerate(waiting)]
    assert [a["eta_s"] for a in after] == [600, 1200]
    # Past the 900 s threshold the second is offered to send a question instead.
    second = await waiting[1].until("queue", lambda q: q["position"] == 2)
    assert second["eta_s"] == 1200 and second["offer_question"] is True
    first_in_line = await waiting[0].until("queue", lambda q: q["position"] == 1)
    assert first_in_line["offer_question"] is False


@pytest.mark.parametrize("hourly", [30])
async def test_short_answered_chats_do_not_drop_the_estimate_below_the_floor(
    client: TestClient, on_duty: OnDuty, visitor: NewVisitor, clock: FakeClock
) -> None:
    mikko = await on_duty("mikko", "adviser", "Mikko")
    await set_capacity(client, "mikko", 1)
    for _ in range(3):
        await _answered_chat(mikko, visitor, clock, 5)
    assert (await (await visitor()).start("Kysymys."))["position"] == 0
    ack = await (await visitor()).start("Odotan.")
    assert ack["position"] == 1 and ack["eta_s"] == 120


async def test_no_waiting_cap_when_rate_limits_are_off(
    aiohttp_client: ClientFactory,
    settings: Settings,
    clock: FakeClock,
    opened: list[Any],
) -> None:
    client = await aiohttp_client(
        create_app(dataclasses.replace(settings, rate_limits=False), clock=clock)
    )
    await set_auto_assign(client, False)
    await add_staff(client, "mikko", "adviser", "Mikko")
    await sign_in(client, "mikko")
    mikko = Staff(cookie(client))
    opened.append(mikko)
    await mikko.connect(url(client))
    await mikko.available()
    for n in range(6):
        v = Visitor()
        opened.append(v)
        await v.connect(url(client))
        assert (await v.start(f"Jonossa {n}"))["position"] == n + 1
    assert waiting_keys(settings) == [None] * 6, "no address key kept when there is no cap"


def test_the_cap_is_a_setting() -> None:
    env = {"KOPPI_SECRET": "s", "KOPPI_MAX_WAITING_PER_ADDRESS": "5"}
    assert Settings.from_env(env).max_waiting_per_address == 5
    assert Settings.from_env({"KOPPI_SECRET": "s"}).max_waiting_per_address == 3


async def test_a_held_start_is_given_back_once_and_only_within_its_window() -> None:
    limiter = MemoryRateLimiter({"chat_start.address": Limit(2, 3600)}, max_keys=3)
    keys_ = {"address": "x"}
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    for chat_id in (1, 2):
        assert await limiter.take("chat_start", keys_, now) is None
        await limiter.hold(chat_id, "chat_start", keys_, now)
    assert await limiter.check("chat_start", keys_, now) is not None
    await limiter.give_back(1)
    await limiter.give_back(1)  # a second time changes nothing
    assert await limiter.take("chat_start", keys_, now) is None
    assert await limiter.check("chat_start", keys_, now) is not None
    await limiter.forget(2)
    await limiter.give_back(2)
    assert await limiter.check("chat_start", keys_, now) is not None, "forgotten: stays counted"
    # Held starts past their window are dropped, and the table never outgrows max_keys.
    later = now + timedelta(hours=2)
    await limiter.hold(5, "chat_start", keys_, now)
    await limiter.hold(6, "chat_start", keys_, later)
    assert list(limiter._held) == [6]
    for chat_id in range(10, 20):
        await limiter.hold(chat_id, "chat_start", keys_, later)
    assert len(limiter._held) == 3
    assert MemoryRateLimiter({}, enabled=False, max_waiting=3).waiting_cap is None
    assert MemoryRateLimiter({}, max_waiting=3).waiting_cap == 3
