"""In headless Chromium: referral cards from the service directory on a published answer, on
the directory pages, and in a live chat where a counsellor refers the visitor to a service."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.chat_clients import Staff, new_client_id
from tests.live_server import BROWSER_ARGS, ROOT, LiveServer, chromium_path, output_dir

pytestmark = pytest.mark.browser
PASSWORD = "browser-test-password"
QUESTION = "Mistä saisin apua työnhakuun ja opiskelupaikan etsimiseen?"
ANSWER = "Ohjaamossa autetaan juuri tällaisissa asioissa, maksutta ja ilman ajanvarausta."
FIRST = "Hei, etsin jotain paikkaa, josta saisi apua työnhakuun."


def _server(tmp_path: Path, database_url: str | None) -> LiveServer:
    server = LiveServer(tmp_path, database_url)
    server.cli("migrate")
    server.cli("directory", "import", str(ROOT / "web/demo/directory.json"))
    server.cli(
        "create-staff", "sanna", "--role", "counsellor", "--name", "Sanna", stdin=PASSWORD + "\n"
    )
    return server


def _session() -> aiohttp.ClientSession:
    """A client session that keeps cookies for the loopback address too."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _signed_in(session: aiohttp.ClientSession, url: str) -> None:
    response = await session.post(
        url + "/api/staff/login", json={"username": "sanna", "password": PASSWORD}
    )
    assert response.status == 200, await response.text()


async def _ohjaamo(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    response = await session.get(url + "/api/hsds/services", params={"search": "ohjaamo"})
    assert response.status == 200, await response.text()
    found = (await response.json())["contents"]
    assert found, "the demo directory has an Ohjaamo"
    return dict(found[0])


async def _answer_with_referral(url: str) -> tuple[int, dict[str, Any]]:
    """A visitor asks; Sanna claims, answers and publishes with the Ohjaamo card attached."""
    async with _session() as visitor:
        asked = await visitor.post(
            url + "/api/questions",
            json={"body": QUESTION, "category": "tyonhaku", "publish": True},
        )
        assert asked.status == 201, await asked.text()
        question_id = int((await asked.json())["id"])
    async with _session() as staff:
        await _signed_in(staff, url)
        service = await _ohjaamo(staff, url)
        claimed = await staff.post(f"{url}/api/staff/questions/{question_id}/claim", json={})
        assert claimed.status == 200, await claimed.text()
        answered = await staff.post(
            f"{url}/api/staff/questions/{question_id}/answer",
            json={"body": ANSWER, "publish": True, "services": [service["id"]]},
        )
        assert answered.status == 200, await answered.text()
        assert (await answered.json())["status"] == "published"
    return question_id, service


def test_answer_card_and_directory_pages(tmp_path: Path, database_url: str | None) -> None:
    shots = output_dir()
    server = _server(tmp_path, database_url)
    with server.running():
        question_id, service = asyncio.run(_answer_with_referral(server.url))
        name = service["name"]
        _check_pages(server, question_id, service, name, shots)


def _check_pages(
    server: LiveServer, question_id: int, service: dict[str, Any], name: str, shots: Path
) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            page = browser.new_context().new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{server.url}/q/{question_id}")
            card = page.locator(f".referral-card[data-service-id='{service['id']}']")
            expect(card).to_be_visible()
            expect(card.locator("h4 a")).to_have_text(name)
            expect(card.locator("h4 a")).to_have_attribute("href", f"/services/{service['id']}")
            page.screenshot(path=str(shots / "directory-answer-card.png"), full_page=True)

            page.goto(server.url + "/services")
            expect(page.get_by_text(name, exact=True).first).to_be_visible()
            page.screenshot(path=str(shots / "directory-list.png"), full_page=True)

            page.goto(f"{server.url}/services/{service['id']}")
            expect(page.get_by_text(name, exact=True).first).to_be_visible()
            page.screenshot(path=str(shots / "directory-service.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()


class _Counsellor(threading.Thread):
    """Sanna on a real /staff socket in her own event loop: on duty, she refers the first chat
    she gets to the Ohjaamo."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.ready = threading.Event()
        self.service: dict[str, Any] = {}
        self.ack: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as error:  # reported to the test thread
            self.error = error
            self.ready.set()

    async def _run(self) -> None:
        async with _session() as session:
            await _signed_in(session, self.url)
            self.service = await _ohjaamo(session, self.url)
            cookie = "; ".join(f"{c.key}={c.value}" for c in session.cookie_jar)
        staff = Staff(cookie)
        await staff.connect(self.url)
        try:
            await staff.available()
            self.ready.set()
            chat_id = (await self._chat(staff))[0]
            self.ack = await staff.call(
                "refer",
                {
                    "chat_id": chat_id,
                    "service_id": self.service["id"],
                    "client_id": new_client_id(),
                },
            )
        finally:
            await staff.close()

    async def _chat(self, staff: Staff) -> list[int]:
        payload = await staff.until(
            "chats",
            lambda p: any(i["status"] == "active" for i in p["items"]),
            wait_s=30,
        )
        return [i["chat_id"] for i in payload["items"] if i["status"] == "active"]


def test_counsellor_refers_the_visitor_in_chat(tmp_path: Path, database_url: str | None) -> None:
    shots = output_dir()
    server = _server(tmp_path, database_url)
    with server.running(), sync_playwright() as pw:
        counsellor = _Counsellor(server.url)
        counsellor.start()
        assert counsellor.ready.wait(20)
        assert counsellor.error is None, counsellor.error
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            errors: list[str] = []
            visitor = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            visitor.on("pageerror", lambda error: errors.append(str(error)))
            visitor.goto(server.url + "/chat")
            expect(visitor.locator("#chat-connection")).to_have_attribute("data-state", "connected")
            visitor.select_option("#chat-category", "tyonhaku")
            visitor.fill("#chat-first", FIRST)
            visitor.click("#start-button")
            expect(visitor.locator("#chat")).to_have_attribute("data-view", "room")

            counsellor.join(30)
            assert counsellor.error is None, counsellor.error
            ack = counsellor.ack
            service = counsellor.service
            assert isinstance(ack, dict) and isinstance(ack.get("id"), int), ack
            assert ack["referral"]["service_id"] == service["id"]

            card = visitor.locator("#messages .msg-staff .referral-card")
            expect(card).to_have_count(1)
            expect(card).to_be_visible()
            expect(card.locator("h4 a")).to_have_text(service["name"])
            expect(card.locator("h4 a")).to_have_attribute("href", f"/services/{service['id']}")
            visitor.screenshot(path=str(shots / "directory-chat-card.png"), full_page=True)

            # A reload restores the card from the stored transcript, once.
            visitor.reload()
            expect(visitor.locator("#chat")).to_have_attribute("data-view", "room")
            expect(card).to_have_count(1)
            expect(card.locator("h4 a")).to_have_text(service["name"])
            assert errors == []
        finally:
            browser.close()
