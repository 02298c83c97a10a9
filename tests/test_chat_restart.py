"""A chat survives stopping and starting the server process on the same database."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.chat_clients import Staff, Visitor
from tests.live_server import LiveServer, staff_cookie

PASSWORD = "restart-test-password"


def test_chat_continues_after_a_restart(tmp_path: Path, database_url: str | None) -> None:
    server = LiveServer(tmp_path, database_url)
    server.cli("migrate")
    server.cli("create-staff", "mikko", "--role", "adviser", "--name", "Mikko", stdin=PASSWORD)

    async def before() -> tuple[str, str, int, int]:
        staff = Staff(await staff_cookie(server.url, "mikko", PASSWORD))
        visitor = Visitor()
        await staff.connect(server.url)
        await staff.available()
        token = await visitor.connect(server.url)
        await visitor.start("Ennen uudelleenkäynnistystä")
        chat_id = (await staff.own_chat_ids(1))[0]
        last = (await staff.send(chat_id, "Vastaan heti"))["id"]
        await visitor.next("message")
        await asyncio.gather(staff.close(), visitor.close())
        return staff.cookie, token, chat_id, last

    async def after(cookie: str, token: str, chat_id: int, last: int) -> None:
        staff, visitor = Staff(cookie), Visitor(token)
        try:
            await staff.connect(server.url)
            assert (await staff.own_chat_ids(1)) == [chat_id], "the assignment survived"
            await visitor.connect(server.url)
            assert visitor.token == token, "the visitor is still known"
            state = await visitor.call("resume", {"after": 0})
            history = visitor.drain("message")
            assert [m["text"] for m in history] == ["Ennen uudelleenkäynnistystä", "Vastaan heti"]
            assert state["chat"]["status"] == "active" and state["chat"]["name"] == "Mikko"
            # The console resumes the chat it knew, as the page does on every connect.
            resumed = await staff.call("resume", {"chat_id": chat_id, "after": last})
            assert resumed == {"ok": True, "last_id": last}
            reply = await visitor.send("Jatketaan")
            assert reply["id"] > last, "ids keep growing across the restart"
            assert (await staff.next("message"))["text"] == "Jatketaan"
        finally:
            await asyncio.gather(staff.close(), visitor.close())

    with server.running():
        kept = asyncio.run(before())
    with server.running():
        asyncio.run(after(*kept))
