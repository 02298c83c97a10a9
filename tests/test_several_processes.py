"""Three Koppi processes on one PostgreSQL database and one Redis, as `docs/deploy.md` runs them.

Each process is a real `python -m service serve` on its own loopback port; the clients are real
socket.io clients and HTTP requests. The processes are started together on an empty database,
so the migrations are applied by whichever gets the migration lock first."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from service.clock import to_iso
from service.storage.db import schema_version
from tests.chat_clients import Staff, Visitor
from tests.conftest import PostgresDatabases, csrf_token
from tests.live_server import LiveServer, staff_cookie
from tests.redis_server import Redis

pytestmark = pytest.mark.postgresql

PASSWORD = "several-processes-password"
TICK_S = 1  # housekeeping and heartbeats every second: a dead process is noticed in three
_redis_databases = itertools.count(40)


class Fleet:
    def __init__(self, folder: Path, database_url: str, redis_url: str) -> None:
        self.database_url = database_url
        self.servers = [LiveServer(folder / name, database_url) for name in ("a", "b", "c")]
        for server in self.servers:
            server.env.update(
                KOPPI_REDIS_URL=redis_url,
                KOPPI_CHAT_TICK_SECONDS=str(TICK_S),
                KOPPI_RETENTION_FIRST_DELAY_SECONDS="1",
            )
        self.a, self.b, self.c = self.servers

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()


@pytest.fixture(scope="module")
def fleet(
    postgres: PostgresDatabases, redis_server: Redis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fleet]:
    folder = tmp_path_factory.mktemp("fleet")
    for name in ("a", "b", "c"):
        (folder / name).mkdir()
    fleet = Fleet(folder, postgres.new(), redis_server.url(next(_redis_databases)))
    # Started together on an empty database: one applies the migrations, all serve.
    for server in fleet.servers:
        server.start()
    try:
        for server in fleet.servers:
            server.wait_until_up()
        for name, role in (("mikko", "adviser"), ("sanna", "counsellor"), ("liisa", "adviser")):
            fleet.a.cli(
                "create-staff", name, "--role", role, "--name", name.title(), stdin=PASSWORD
            )
        fleet.a.cli("create-staff", "helena", "--role", "coordinator", stdin=PASSWORD)
        yield fleet
    finally:
        for server in fleet.servers:
            server.stop()


async def _staff(server: LiveServer, name: str) -> Staff:
    staff = Staff(await staff_cookie(server.url, name, PASSWORD))
    await staff.connect(server.url)
    return staff


async def _closed(*clients: Staff | Visitor) -> None:
    await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)


def test_started_together_on_an_empty_database(fleet: Fleet) -> None:
    async def check() -> None:
        versions = await fleet.fetch("SELECT version FROM koppi_schema_version")
        assert [r["version"] for r in versions] == [schema_version()], "applied once, all of it"
        async with aiohttp.ClientSession() as session:
            for server in fleet.servers:
                async with session.get(server.url + "/api/categories") as response:
                    assert response.status == 200
        alive = await fleet.fetch("SELECT count(*) AS n FROM processes")
        assert alive[0]["n"] == 3, "each process beats in the processes table"

    asyncio.run(check())
    for server in fleet.servers:
        assert "Traceback" not in server.log.read_text(), server.log.read_text()


def test_a_chat_between_processes_with_typing_and_a_transfer(fleet: Fleet) -> None:
    async def run() -> None:
        mikko = await _staff(fleet.b, "mikko")
        visitor = Visitor()
        sanna: Staff | None = None
        try:
            await mikko.available()
            await visitor.connect(fleet.a.url)
            started = await visitor.start("Hei prosessilta A")
            chat_id = started["chat_id"]
            assert (await mikko.own_chat_ids(1)) == [chat_id], "B's counsellor got A's chat"
            await mikko.call("resume", {"chat_id": chat_id, "after": 0})
            first = await mikko.until("message", lambda m: m["text"] == "Hei prosessilta A")
            assert first["id"] == started["message_id"]
            assigned = await visitor.next("assigned")
            assert assigned["name"] == "Mikko"

            # Both directions, and typing both ways.
            sent = await mikko.send(chat_id, "Hei prosessilta B")
            got = await visitor.until("message", lambda m: m["text"] == "Hei prosessilta B")
            assert got["id"] == sent["id"]
            await visitor.sio.emit("typing", {}, namespace="/chat")
            assert (await mikko.next("typing"))["chat_id"] == chat_id
            await mikko.sio.emit("typing", {"chat_id": chat_id}, namespace="/staff")
            assert (await visitor.next("typing"))["from"] == "staff"
            reply = await visitor.send("Kiitos B")
            assert (await mikko.until("message", lambda m: m["text"] == "Kiitos B"))["id"] == (
                reply["id"]
            )

            # A transfer to a colleague on process C: she hears it, the visitor is told.
            sanna = await _staff(fleet.c, "sanna")
            await sanna.available()
            sanna_id = (await fleet.fetch("SELECT id FROM staff WHERE username = 'sanna'"))[0]["id"]
            ack = await mikko.call(
                "transfer", {"chat_id": chat_id, "to_staff": sanna_id, "note": "Opiskeluasia"}
            )
            assert ack == {"ok": True}
            assert (await sanna.own_chat_ids(1)) == [chat_id]
            moved = await visitor.until("assigned", lambda p: p["name"] == "Sanna")
            assert moved["name"] == "Sanna"
            line = await visitor.until("message", lambda m: m["from"] == "system")
            assert line["text"] == "Keskustelu siirtyi: sosiaaliohjaaja Sanna jatkaa."
            await sanna.call("resume", {"chat_id": chat_id, "after": 0})
            # The transfer's line may also have reached her live, before or after the replay.
            history = [(m["id"], m["text"]) for m in sanna.drain("message")]
            assert [text for _, text in sorted(set(history))] == [
                "Hei prosessilta A",
                "Hei prosessilta B",
                "Kiitos B",
                line["text"],
            ]
            from_c = await sanna.send(chat_id, "Hei prosessilta C")
            got = await visitor.until("message", lambda m: m["text"] == "Hei prosessilta C")
            assert got["id"] == from_c["id"]
            ended = await sanna.call(
                "end", {"chat_id": chat_id, "outcome": "referred", "category": "tyonhaku"}
            )
            assert ended == {"ok": True}, ended
            await visitor.until("ended", lambda p: True)
            await mikko.available(False)
            await sanna.available(False)
        finally:
            await _closed(mikko, visitor, *([sanna] if sanna else []))

    asyncio.run(run())


def test_queue_positions_and_the_waiting_list_across_processes(fleet: Fleet) -> None:
    async def run() -> None:
        mikko = await _staff(fleet.b, "mikko")
        sanna = await _staff(fleet.c, "sanna")
        visitors = [Visitor() for _ in range(3)]
        try:
            await mikko.available()
            chats = []
            for visitor in visitors:
                await visitor.connect(fleet.a.url)
                chats.append((await visitor.start("Jonossa prosessilla A"))["chat_id"])
            # Mikko's two seats are taken; the third chat waits, and its visitor on A is told
            # its place, while Sanna's console on C lists it.
            assert sorted(await mikko.own_chat_ids(2)) == chats[:2]
            position = await visitors[2].until("queue", lambda p: p.get("position") == 1)
            assert position["position"] == 1
            listed = await sanna.until(
                "queue", lambda p: chats[2] in [i["chat_id"] for i in p["items"]]
            )
            assert [i["chat_id"] for i in listed["items"]] == [chats[2]]
            # Sanna comes on duty on C: the waiting chat is hers, and gone from both lists.
            await sanna.available()
            assert (await sanna.own_chat_ids(1)) == [chats[2]]
            await mikko.until("queue", lambda p: not p["items"])
            assert (await visitors[2].until("assigned", lambda p: True))["name"] == "Sanna"
            for staff, chat_id in ((mikko, chats[0]), (mikko, chats[1]), (sanna, chats[2])):
                ended = await staff.call(
                    "end", {"chat_id": chat_id, "outcome": "referred", "category": "tyonhaku"}
                )
                assert ended == {"ok": True}, ended
            await mikko.available(False)
            await sanna.available(False)
        finally:
            await _closed(mikko, sanna, *visitors)

    asyncio.run(run())


def test_a_waiting_chat_whose_visitor_left_is_freed_by_the_leader_wherever_it_was(
    fleet: Fleet,
) -> None:
    """Presence is per process: leaving on A takes the chat out of the line everywhere,
    coming back on C within the grace puts it back in its place, and the leader ends it
    as abandoned once its visitor has been gone longer than the grace."""

    async def run() -> None:
        mikko = await _staff(fleet.b, "mikko")
        talking = [Visitor() for _ in range(2)]
        leaving, behind, back = Visitor(), Visitor(), None
        try:
            await mikko.available()
            for visitor in talking:
                await visitor.connect(fleet.a.url)
                await visitor.start("Mikon kanssa prosessilla A")
            taken = await mikko.own_chat_ids(2)
            await leaving.connect(fleet.a.url)
            left_id = (await leaving.start("Odotan prosessilla A"))["chat_id"]
            await behind.connect(fleet.c.url)
            behind_id = (await behind.start("Odotan prosessilla C"))["chat_id"]
            assert (await behind.until("queue", lambda p: True))["position"] == 2

            await leaving.close()
            await behind.until("queue", lambda p: p["position"] == 1)
            await mikko.until("queue", lambda p: [i["chat_id"] for i in p["items"]] == [behind_id])

            back = Visitor(leaving.token)
            await back.connect(fleet.c.url)
            state = (await back.resume())["chat"]
            assert (state["chat_id"], state["position"]) == (left_id, 1)
            await behind.until("queue", lambda p: p["position"] == 2)

            # Gone again, and (as if) for longer than the grace: the leader's tick ends it.
            await back.close()
            await behind.until("queue", lambda p: p["position"] == 1)
            long_ago = to_iso(datetime.now(UTC) - timedelta(minutes=2))
            await fleet.fetch(
                "UPDATE chats SET visitor_away_since = $1 WHERE id = $2", long_ago, left_id
            )
            deadline = time.monotonic() + 10
            while (await fleet.fetch("SELECT status FROM chats WHERE id = $1", left_id))[0][
                "status"
            ] != "ended":
                assert time.monotonic() < deadline, "the leader did not end the chat"
                await asyncio.sleep(0.2)
            abandoned = await fleet.fetch(
                "SELECT count(*) AS n FROM usage_events"
                " WHERE kind = 'chat_abandoned' AND subject_id = $1",
                left_id,
            )
            assert abandoned[0]["n"] == 1
            for chat_id in taken:
                ended = await mikko.call(
                    "end", {"chat_id": chat_id, "outcome": "referred", "category": "tyonhaku"}
                )
                assert ended == {"ok": True}, ended
            assert (await behind.until("assigned", lambda p: True))["name"] == "Mikko"
            ended = await mikko.call(
                "end", {"chat_id": behind_id, "outcome": "advice", "category": "tyonhaku"}
            )
            assert ended == {"ok": True}, ended
            await mikko.available(False)
        finally:
            await _closed(mikko, *talking, leaving, behind, *([back] if back else []))

    asyncio.run(run())


def test_a_question_published_on_b_is_on_every_board_within_a_second(fleet: Fleet) -> None:
    async def run() -> None:
        async with aiohttp.ClientSession() as session:
            # Every board rendered (and cached) first, so a stale cache would show.
            for server in fleet.servers:
                async with session.get(server.url + "/") as response:
                    assert "Julkaistaanko tämä kaikkialla" not in await response.text()
            asked = await session.post(
                fleet.a.url + "/api/questions",
                json={
                    "body": "Julkaistaanko tämä kaikkialla?",
                    "category": "tyopajat",
                    "publish": True,
                },
            )
            assert asked.status == 201, await asked.text()
            qid = (await asked.json())["id"]
        cookie = await staff_cookie(fleet.b.url, "mikko", PASSWORD)
        headers = {"Cookie": cookie}
        async with aiohttp.ClientSession(headers=headers) as staff:
            base = f"{fleet.b.url}/api/staff/questions/{qid}"
            assert (await staff.post(base + "/claim", json={})).status == 200
            answered = await staff.post(
                base + "/answer", json={"body": "Julkaistu vastaus", "publish": True}
            )
            assert answered.status == 200, await answered.text()
        published = time.monotonic()
        async with aiohttp.ClientSession() as session:
            for server in (fleet.a, fleet.c):
                while True:
                    async with session.get(server.url + "/") as response:
                        if "Julkaistaanko tämä kaikkialla" in await response.text():
                            break
                    assert time.monotonic() - published < 1.0, f"not on {server.url} in 1 s"
                    await asyncio.sleep(0.05)

    asyncio.run(run())


def test_the_eleventh_question_from_one_address_is_refused_by_any_process(fleet: Fleet) -> None:
    async def run() -> None:
        statuses = []
        async with aiohttp.ClientSession() as session:
            for server in itertools.islice(itertools.cycle(fleet.servers), 12):
                response = await session.post(
                    server.url + "/api/questions",
                    json={
                        "body": "Kysymys rajan testaamiseksi",
                        "category": "tyopajat",
                        "publish": True,
                    },
                )
                statuses.append(response.status)
                if response.status == 429:
                    assert int(response.headers["Retry-After"]) > 0
            # The question of the previous test counted too: ten in the hour, whichever
            # process took them.
            assert statuses[:9] == [201] * 9 and statuses[9:] == [429] * 3, statuses
            for server in fleet.servers:
                refused = await session.post(
                    server.url + "/api/questions",
                    json={"body": "Vielä yksi kysymys", "category": "tyopajat", "publish": True},
                )
                assert refused.status == 429

    asyncio.run(run())


def test_a_watched_word_added_on_c_applies_on_a_at_once(fleet: Fleet) -> None:
    async def run() -> None:
        cookie = await staff_cookie(fleet.c.url, "helena", PASSWORD)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar, headers={"Cookie": cookie}) as helena:
            page = await helena.get(fleet.c.url + "/coordinator/watched-words")
            token = csrf_token(await page.text())
            added = await helena.post(
                fleet.c.url + "/coordinator/watched-words",
                data={"csrf_token": token, "phrase": "kielletty", "lang": "fi", "action": "block"},
                allow_redirects=False,
            )
            assert added.status == 303, await added.text()
        visitor = Visitor()
        try:
            await visitor.connect(fleet.a.url)
            refused = await visitor.start("Tämä on kielletty sana")
            assert refused.get("error") == "refused_words", refused
        finally:
            await visitor.close()

    asyncio.run(run())


def test_one_process_leads_the_background_work(fleet: Fleet) -> None:
    leaders = [s for s in fleet.servers if "leads the background work" in s.log.read_text()]
    assert len(leaders) == 1, [s.log.read_text()[-2000:] for s in fleet.servers]

    deadline = time.monotonic() + 10
    while not any("retention: " in s.log.read_text() for s in fleet.servers):
        assert time.monotonic() < deadline, "the retention sweep never ran"
        time.sleep(0.2)
    sweepers = [s for s in fleet.servers if "retention: " in s.log.read_text()]
    assert sweepers == leaders, "only the leader sweeps"


def test_staff_on_b_stay_available_when_a_restarts_and_a_killed_process_loses_nothing(
    fleet: Fleet,
) -> None:
    async def run() -> None:
        liisa = await _staff(fleet.b, "liisa")
        visitor = Visitor()
        try:
            await liisa.available()
            liisa_id = (await fleet.fetch("SELECT id FROM staff WHERE username = 'liisa'"))[0]["id"]

            fleet.a.stop()  # a restart, as `systemctl restart koppi@…` does
            fleet.a.start()
            fleet.a.wait_until_up()
            row = (
                await fleet.fetch(
                    "SELECT available, connections FROM staff_presence WHERE staff_id = $1",
                    liisa_id,
                )
            )[0]
            assert (row["available"], row["connections"]) == (1, 1), "B's socket is still hers"

            # A visitor on the restarted A gets her, on B.
            token = await visitor.connect(fleet.a.url)
            started = await visitor.start("Hei uudelleenkäynnistyneeltä A:lta")
            chat_id = started["chat_id"]
            assert chat_id in await liisa.own_chat_ids(1)
            await liisa.call("resume", {"chat_id": chat_id, "after": 0})
            acked = [started["message_id"]]
            for n in range(3):
                acked.append((await visitor.send(f"Viesti {n}"))["id"])
                acked.append((await liisa.send(chat_id, f"Vastaus {n}"))["id"])
            seen = [m["id"] for m in visitor.drain("message")]
            await asyncio.sleep(0.3)
            seen += [m["id"] for m in visitor.drain("message")]
            last = max(seen)
            # The page holds its own messages (ids from the acknowledgements) and liisa's.
            known = set(seen) | set(acked)
            assert known == set(acked)

            # A dies mid-chat; liisa keeps writing; the visitor comes back through B.
            fleet.a.kill()
            with pytest.raises(Exception):  # noqa: B017 - A is gone: any failure will do
                await visitor.send("Katosiko yhteys?")
            await visitor.sio.disconnect()
            while_away = [
                (await liisa.send(chat_id, f"Oletko vielä siellä {n}"))["id"] for n in (1, 2)
            ]
            acked += while_away
            again = Visitor(token)
            await again.connect(fleet.b.url)
            state = await again.resume(after=last)
            replayed = [m["id"] for m in again.drain("message")]
            # A page keeps what it has and adds what is new (the replay may look a few seconds
            # back, in case two processes delivered out of order).
            assert set(replayed) - known == set(while_away)
            new = [i for i in replayed if i not in known]
            assert new == while_away, "every acknowledged message once, in order"
            assert state["chat"]["status"] == "active"
            after = await again.send("Täällä ollaan, B:n kautta")
            got = await liisa.until("message", lambda m: m["text"] == "Täällä ollaan, B:n kautta")
            assert got["id"] == after["id"]
            stored = await fleet.fetch(
                "SELECT id FROM chat_messages WHERE chat_id = $1 ORDER BY id", chat_id
            )
            assert set(acked) <= {r["id"] for r in stored}
            await again.close()

            # The others notice the killed process when its beat stops, and forget its sockets.
            deadline = time.monotonic() + 15
            while len(await fleet.fetch("SELECT id FROM processes")) != 2:
                assert time.monotonic() < deadline, "the dead process was never noticed"
                await asyncio.sleep(0.5)
            row = (
                await fleet.fetch(
                    "SELECT available, connections FROM staff_presence WHERE staff_id = $1",
                    liisa_id,
                )
            )[0]
            assert (row["available"], row["connections"]) == (1, 1)
        finally:
            await _closed(liisa, visitor)
            if fleet.a.process is None:
                fleet.a.start()
                fleet.a.wait_until_up()

    asyncio.run(run())


def _leading(servers: list[LiveServer]) -> list[LiveServer]:
    """The processes whose /metrics say they lead now."""

    async def read() -> list[LiveServer]:
        found = []
        async with aiohttp.ClientSession() as session:
            for server in servers:
                async with session.get(server.url + "/metrics") as response:
                    if "\nkoppi_leader 1.0" in await response.text():
                        found.append(server)
        return found

    return asyncio.run(read())


def test_when_the_leader_dies_another_takes_over(fleet: Fleet) -> None:
    leaders = _leading(fleet.servers)
    assert len(leaders) == 1, "one leader among three"
    others = [s for s in fleet.servers if s is not leaders[0]]
    leaders[0].kill()
    try:
        deadline = time.monotonic() + 15
        while not (taken := _leading(others)):
            assert time.monotonic() < deadline, "no process took the lead"
            time.sleep(0.2)
        assert len(taken) == 1, "exactly one new leader"
    finally:
        leaders[0].start()
        leaders[0].wait_until_up()
