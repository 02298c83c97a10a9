"""`port-db`: a SQLite Koppi filled through the running service moves to PostgreSQL whole, or
not at all: the same board, search, follow-up codes, sign-ins and chats, ids that keep growing,
and a refused or failed copy that leaves the target as it was."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from service.settings import Settings
from tests.chat_clients import Staff, Visitor
from tests.conftest import PostgresDatabases, dump
from tests.live_server import LiveServer, run_command, staff_cookie
from tests.live_server import one_error_line as refusal_line

pytestmark = pytest.mark.postgresql

PASSWORD = "port-test-password"
WORD = "hitsauskurssille"  # in one published question only
PUBLISHED = [
    f"Miten pääsen {WORD}, jos minulla ei ole vielä ammattitutkintoa?",
    "Voiko työpajassa suorittaa ajokortin teoriaosuuden samalla kun opiskelee?",
    "Saako työpajasta palkkaa vai maksetaanko siellä vain ylläpitokorvausta?",
]
PRIVATE = "Kenelle voin puhua luottamuksellisesti, kun kotona on vaikeaa?"
PENDING = "Onko kesällä avoimia paikkoja nuorten kesätöihin kaupungilla?"
REJECTED = "Tämä kysymys koskee kokonaan toista palvelua kuin työpajoja."
CHAT = ["Hei, tarvitsisin apua työnhakuun.", "Hei! Autan mielelläni.", "Kiitos, kerron lisää."]


@dataclass(frozen=True)
class Source:
    """A SQLite Koppi with content, and what its service showed before the port."""

    path: Path
    board: dict[str, Any]
    found: list[int]
    private_code: str
    followup: dict[str, Any]
    chat_token: str
    highest_question: int
    highest_message: int  # SQLite's AUTOINCREMENT counter: above every message left


def koppi(db: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPPI_")}
    env |= {"KOPPI_DB": str(db), "KOPPI_SECRET": "port-test-secret"}
    if url:
        env["KOPPI_DATABASE_URL"] = url
    return run_command(env, *args)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """One `koppi:` line, after nothing else: no traceback, no stray log."""
    assert done.stdout == ""
    return refusal_line(done)


async def call(
    session: aiohttp.ClientSession, method: str, url: str, cookie: str = "", **json: Any
) -> Any:
    headers = {"Cookie": cookie} if cookie else {}
    async with session.request(method, url, json=json or None, headers=headers) as response:
        assert response.status < 300, (method, url, response.status, await response.text())
        return await response.json()


async def _fill(base: str) -> dict[str, Any]:
    """Questions asked, answered, kept private and rejected, and a chat, all over the wire."""
    async with aiohttp.ClientSession() as web:
        cookie = await staff_cookie(base, "mikko", PASSWORD)
        staff_api = f"{base}/api/staff/questions"
        asked = {}
        for body in [*PUBLISHED, PRIVATE, PENDING, REJECTED]:
            publish = body != PRIVATE
            asked[body] = await call(
                web,
                "POST",
                f"{base}/api/questions",
                body=body,
                category="tyopajat",
                publish=publish,
            )
        for body in PUBLISHED:
            answer = {"body": f"Vastaus: {body[:20]}", "publish": True}
            await call(web, "POST", f"{staff_api}/{asked[body]['id']}/answer", cookie, **answer)
        private = {"body": "Vastaan vain sinulle.", "publish": False}
        await call(web, "POST", f"{staff_api}/{asked[PRIVATE]['id']}/answer", cookie, **private)
        reason = {"reason": "Kysymys koski toista palvelua."}
        await call(web, "POST", f"{staff_api}/{asked[REJECTED]['id']}/reject", cookie, **reason)
        board = await call(web, "GET", f"{base}/api/questions")
        found = await call(web, "GET", f"{base}/api/questions?q={WORD}")
        followup = await call(web, "GET", f"{base}/api/followup/{asked[PRIVATE]['code']}")

    staff, visitor = Staff(cookie), Visitor()
    try:
        await staff.connect(base)
        await staff.available()
        token = await visitor.connect(base)
        await visitor.start(CHAT[0])
        chat_id = (await staff.own_chat_ids(1))[0]
        await staff.send(chat_id, CHAT[1])
        await visitor.next("message")
        await visitor.send(CHAT[2])
        last = await staff.send(chat_id, "Tämä viesti poistetaan ennen siirtoa.")
    finally:
        await asyncio.gather(staff.close(), visitor.close())
    return {
        "board": board,
        "found": [item["id"] for item in found["items"]],
        "private_code": asked[PRIVATE]["code"],
        "followup": followup,
        "chat_token": token,
        "last_message": last["id"],
    }


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    folder = tmp_path_factory.mktemp("sqlite-koppi")
    server = LiveServer(folder)
    server.env["KOPPI_RATE_LIMITS"] = "0"
    server.cli("migrate")
    server.cli("create-staff", "mikko", "--role", "adviser", "--name", "Mikko", stdin=PASSWORD)
    with server.running():
        seen = asyncio.run(_fill(server.url))
    path = folder / "koppi.sqlite3"
    with sqlite3.connect(path) as conn:
        # The newest message goes, as a retention sweep would take it: SQLite's counter still
        # remembers its id, and PostgreSQL must never give it out again.
        conn.execute("DELETE FROM chat_messages WHERE id = ?", (seen["last_message"],))
        highest_question = conn.execute("SELECT max(id) FROM questions").fetchone()[0]
        (counter,) = conn.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'chat_messages'"
        ).fetchone()
    conn.close()
    assert counter == seen["last_message"] > 0
    assert seen["found"] and len(seen["board"]["items"]) == len(PUBLISHED)
    return Source(
        path=path,
        board=seen["board"],
        found=seen["found"],
        private_code=seen["private_code"],
        followup=seen["followup"],
        chat_token=seen["chat_token"],
        highest_question=highest_question,
        highest_message=counter,
    )


def copy_of(source: Source, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "koppi.sqlite3"
    with sqlite3.connect(source.path) as original, sqlite3.connect(target) as copy:
        original.backup(copy)
    copy.close()
    original.close()
    return target


@pytest.fixture
def target(postgres: PostgresDatabases) -> Iterator[str]:
    url = postgres.new()
    yield url
    postgres.drop(url)


def public_tables(postgres: PostgresDatabases, url: str) -> int:
    name = url.rsplit("/", 1)[1]
    sql = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    return int(postgres.cluster.psql(sql, name).strip())


async def _check_on_postgres(base: str, source: Source) -> None:
    async with aiohttp.ClientSession() as web:
        assert await call(web, "GET", f"{base}/api/questions") == source.board
        found = await call(web, "GET", f"{base}/api/questions?q={WORD}")
        assert [item["id"] for item in found["items"]] == source.found
        followup = await call(web, "GET", f"{base}/api/followup/{source.private_code}")
        assert followup == source.followup, "the asker's code still opens the private answer"
        cookie = await staff_cookie(base, "mikko", PASSWORD)  # the same password signs in
        new = await call(
            web,
            "POST",
            f"{base}/api/questions",
            body=PENDING + " Entä syksyllä?",
            category="tyopajat",
            publish=True,
        )
        assert new["id"] > source.highest_question, "the question sequence moved past the copy"

    staff, old, fresh = Staff(cookie), Visitor(source.chat_token), Visitor()
    try:
        await old.connect(base)
        assert old.token == source.chat_token, "the visitor is still known"
        await old.resume(after=0)
        assert [m["text"] for m in old.drain("message")] == CHAT, "the chat came along"
        await staff.connect(base)
        await staff.available()
        await fresh.connect(base)
        started = await fresh.start("Uusi keskustelu siirron jälkeen.")
        assert started["message_id"] > source.highest_message, "no message id is given twice"
    finally:
        await asyncio.gather(staff.close(), old.close(), fresh.close())


def test_port_keeps_the_board_search_codes_sign_ins_chats_and_ids(
    source: Source, target: str, tmp_path: Path
) -> None:
    db = copy_of(source, tmp_path / "sqlite")
    done = koppi(db, "port-db", target)
    assert done.returncode == 0, done.stderr
    printed = {t: int(n) for t, n in re.findall(r"^(\w+): (\d+) rows$", done.stdout, re.M)}
    assert {"questions", "answers", "staff", "chats", "chat_messages", "usage_events"} <= set(
        printed
    )
    with sqlite3.connect(db) as conn:
        for table, count in printed.items():
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == count, table  # noqa: S608
    conn.close()
    assert printed["questions"] == len(PUBLISHED) + 3 and printed["chat_messages"] == len(CHAT)
    assert "every table's row count checked" in done.stdout

    server = LiveServer(tmp_path / "postgresql", database_url=target)
    (tmp_path / "postgresql").mkdir()
    with server.running():
        asyncio.run(_check_on_postgres(server.url, source))


def test_port_refuses_a_target_that_is_not_empty(
    source: Source, target: str, tmp_path: Path
) -> None:
    db = copy_of(source, tmp_path / "sqlite")
    assert koppi(db, "port-db", target).returncode == 0
    on_target = Settings(db_path=tmp_path / "unused", database_url=target, secret="x")
    before = sorted(dump(on_target).splitlines())

    line = one_error_line(koppi(db, "port-db", target))
    assert "is not empty" in line and "changed nothing" in line
    assert sorted(dump(on_target).splitlines()) == before


# Rows SQLite kept that PostgreSQL cannot take, in tables copied after others were.
BAD_ROWS = {
    "words in a number column": (
        "UPDATE usage_events SET seconds = 'puolitoista' WHERE id = {id}",
        "usage_events",
        "table usage_events, row id {id}, column seconds: 'puolitoista' is not a number",
    ),
    "an answer to a question that is gone": (
        "UPDATE answers SET question_id = 99999 WHERE id = {id}",
        "answers",
        'table answers: insert or update on table "answers" violates foreign key constraint',
    ),
    "a NUL character in a chat message": (
        "UPDATE chat_messages SET text = 'ennen' || char(0) || 'jälkeen' WHERE id = {id}",
        "chat_messages",
        "table chat_messages, row id {id}, column text: the text holds a NUL character",
    ),
}


@pytest.mark.parametrize("bad", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_a_copy_failing_half_way_leaves_the_target_empty(
    source: Source,
    target: str,
    postgres: PostgresDatabases,
    tmp_path: Path,
    bad: tuple[str, str, str],
) -> None:
    sql, table, message = bad
    db = copy_of(source, tmp_path / "broken")
    with sqlite3.connect(db) as conn:
        (row_id,) = conn.execute(f"SELECT max(id) FROM {table}").fetchone()  # noqa: S608
        assert conn.execute(sql.format(id=row_id)).rowcount == 1
    conn.close()

    line = one_error_line(koppi(db, "port-db", target))
    assert message.format(id=row_id) in line, line
    assert "nothing was copied" in line
    assert public_tables(postgres, target) == 0, "no table, so no half copy a service could open"

    # The failed run left nothing in the way: the intact database ports into the same target.
    assert koppi(copy_of(source, tmp_path / "intact"), "port-db", target).returncode == 0
    assert public_tables(postgres, target) > 0
