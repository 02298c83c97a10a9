"""In headless Chromium: pages reloaded in the middle of a burst of messages show every message
exactly once, on the young person's page and on the counsellor's console."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.chat_clients import Staff, Visitor
from tests.live_server import BROWSER_ARGS, LiveServer, chromium_path, output_dir, staff_cookie

pytestmark = pytest.mark.browser
PASSWORD = "gap-test-password"
BURST = 150  # one message every 20 ms: three seconds
RELOADS = 3


def _server(tmp_path: Path, database_url: str | None) -> LiveServer:
    server = LiveServer(tmp_path, database_url)
    server.env["KOPPI_RATE_LIMITS"] = "0"  # fifty messages a second is past any chat limit
    server.cli("migrate")
    server.cli("create-staff", "sanna", "--role", "counsellor", "--name", "Sanna", stdin=PASSWORD)
    return server


class Worker:
    """An event loop in a thread of its own for the socket.io clients, beside Playwright's."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable[Any]) -> Any:
        return self.submit(coro).result(timeout=60)

    def submit(self, coro: Awaitable[Any]) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@contextmanager
def burst(
    worker: Worker, send: Callable[[str], Awaitable[Any]], prefix: str
) -> Iterator[Future[Any]]:
    """BURST numbered messages, one every 20 ms, on the worker's loop while the test drives
    the browser; the future is done when all were acknowledged."""

    async def loop() -> None:
        for n in range(1, BURST + 1):
            ack = await send(f"{prefix} {n:03d}")
            assert "id" in ack, ack
            await asyncio.sleep(0.02)

    future = worker.submit(loop())
    try:
        yield future
    finally:
        future.result(timeout=60)


def _reload_during(page: Page, done: Future[Any]) -> int:
    reloads = 0
    while reloads < RELOADS and not done.done():
        time.sleep(0.6)
        page.reload()
        reloads += 1
    return reloads


def _assert_each_once(page: Page, selector: str, prefix: str) -> None:
    texts = page.locator(selector)
    expect(texts.filter(has_text=prefix)).to_have_count(BURST, timeout=15_000)
    shown = [t for t in texts.all_inner_texts() if t.startswith(prefix)]
    assert sorted(shown) == [f"{prefix} {n:03d}" for n in range(1, BURST + 1)]


def test_reloading_either_page_during_a_burst_shows_every_message_once(
    tmp_path: Path, database_url: str | None
) -> None:
    shots = output_dir()
    server = _server(tmp_path, database_url)
    worker = Worker()
    with server.running(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            # Sanna's console is a socket.io client here; the young person's page is real.
            cookie = worker.run(staff_cookie(server.url, "sanna", PASSWORD))
            console = Staff(cookie)
            worker.run(console.connect(server.url))
            worker.run(console.available())

            young = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            young.goto(server.url + "/chat")
            expect(young.locator("#chat-connection")).to_have_attribute("data-state", "connected")
            young.select_option("#chat-category", "tyonhaku")
            young.fill("#chat-first", "Hei, kysyisin kesätöistä.")
            young.click("#start-button")
            expect(young.locator("#chat")).to_have_attribute("data-view", "room")
            [chat_id] = worker.run(console.own_chat_ids(1))

            with burst(worker, lambda text: console.send(chat_id, text), "Sanna") as done:
                assert _reload_during(young, done) == RELOADS
            _assert_each_once(young, "#messages .msg-staff .msg-text", "Sanna")
            young.screenshot(path=str(shots / "chat-gaps-visitor.png"))

            # The other way round: the console reloads while the young person writes.
            token = young.evaluate("() => sessionStorage.getItem('koppi.chat.token')")
            assert token, "the young person's page keeps its token"
            young.close()
            writer = Visitor(token)
            worker.run(writer.connect(server.url))
            staff_page = browser.new_context().new_page()
            staff_page.goto(server.url + "/staff/login")
            staff_page.fill("#username", "sanna")
            staff_page.fill("#password", PASSWORD)
            staff_page.click("form button[type=submit]")
            staff_page.goto(server.url + "/staff/chat")
            expect(staff_page.locator(".chat-panel")).to_have_count(1)
            with burst(worker, writer.send, "Nuori") as done:
                assert _reload_during(staff_page, done) == RELOADS
            _assert_each_once(staff_page, ".chat-panel .msg-visitor .msg-text", "Nuori")
            staff_page.screenshot(path=str(shots / "chat-gaps-console.png"))
            worker.run(writer.close())
            worker.run(console.close())
        finally:
            browser.close()
            worker.stop()
