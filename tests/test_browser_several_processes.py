"""In headless Chromium, through the shipped nginx config in front of two Koppi processes (one
PostgreSQL, one Redis): a young person and a counsellor chat, the process holding both their
sockets is restarted mid-chat while each writes a message, and both screens end up showing
every message exactly once, in the order the database stored them."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import asyncpg
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import PostgresDatabases
from tests.live_server import BROWSER_ARGS, LiveServer, chromium_path, output_dir
from tests.nginx_proxy import HOW_TO_GET, nginx_path, running_nginx
from tests.test_browser_chat import Problems

pytestmark = [pytest.mark.postgresql, pytest.mark.browser]
PASSWORD = "several-processes-browser-password"
SHOT = "several-processes"  # screenshot names: several-processes-<who>-<when>.png
VISITOR = "#messages"
CONSOLE = ".chat-panel [data-part=messages]"
STOP_S = 10  # as LiveServer.stop: SIGKILL when SIGTERM has not ended the process by then

FIRST = "Hei, voinko kysyä asumistuesta?"
REPLY = "Hei! Totta kai, kerro vähän tilanteestasi."
SECOND = "Muutin juuri omaan asuntoon ja vuokra on iso."
ANSWER = "Asumistukea haetaan Kelasta, katsotaan yhdessä mitä tarvitset."
STAFF_DURING = "Kirjoitin tämän, kun yhteys oli hetken poikki."
VISITOR_DURING = "Katkesiko yhteys? Olen vielä täällä."
VISITOR_AFTER = "Nyt näkyy taas, kiitos."
STAFF_AFTER = "Hyvä, jatketaan siitä mihin jäimme."


def _sign_in(browser: Browser, base: str, problems: Problems) -> Page:
    """Sanna signs in on the chat console through the proxy and goes available."""
    page = problems.watch(browser.new_context(viewport={"width": 1100, "height": 900}).new_page())
    page.goto(base + "/staff/chat")
    expect(page).to_have_url(re.compile(r"/staff/login"))
    page.fill("#username", "sanna")
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/staff/chat$"))
    expect(page.locator("#staff-connection")).to_have_attribute("data-state", "connected")
    page.check("#available")
    expect(page.locator("#staff-chat")).to_have_attribute("data-available", "yes")
    return page


def _transcript(page: Page, scope: str) -> list[tuple[str, str, str]]:
    """The conversation on a screen as (sender, text, delivery state), top to bottom."""
    return [
        (kind, text, state)
        for kind, text, state in page.evaluate(
            """scope => Array.from(document.querySelectorAll(
                   scope + " .msg-visitor, " + scope + " .msg-staff"))
                 .map(li => [li.classList.contains("msg-visitor") ? "visitor" : "staff",
                             li.querySelector(".msg-text").textContent,
                             li.dataset.state || ""])""",
            scope,
        )
    ]


def _sockets(server: LiveServer) -> dict[str, int]:
    """Socket.IO connections a process holds, by namespace, from its own /metrics (loopback)."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=5) as response:  # noqa: S310
        text = response.read().decode()
    found = re.findall(r'^koppi_sockets_connected\{namespace="([^"]+)"\} (\S+)$', text, re.M)
    return {namespace: int(float(count)) for namespace, count in found}


def _stored(database_url: str) -> list[tuple[str, str]]:
    """Every visitor and staff message stored, in id order (the order both screens must show)."""

    async def fetch() -> list[tuple[str, str]]:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT sender, text FROM chat_messages WHERE sender <> 'system' ORDER BY id"
            )
        finally:
            await conn.close()
        return [(row["sender"], row["text"]) for row in rows]

    # Playwright's sync API owns this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, fetch()).result(timeout=30)


def _until_refused(port: int) -> None:
    """Until nothing listens on `port` any more (a stopping process closes its listener first)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return
        time.sleep(0.02)
    raise AssertionError(f"port {port} still accepts connections 10 s after SIGTERM")


def _stopped(server: LiveServer, began: float) -> str:
    """Wait for a SIGTERM'd process as LiveServer.stop does (SIGKILL after STOP_S); how it went."""
    process = server.process
    assert process is not None
    try:
        process.wait(timeout=STOP_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        server.process = None
        return f"killed: still running {STOP_S} s after SIGTERM"
    server.process = None
    if process.returncode != 0:
        return f"exit status {process.returncode}"
    return f"exited by itself after {time.monotonic() - began:.1f} s"


def _shoot(visitor: Page, staff: Page, when: str) -> None:
    shots = output_dir()
    visitor.screenshot(path=str(shots / f"{SHOT}-visitor-{when}.png"), full_page=True)
    staff.screenshot(path=str(shots / f"{SHOT}-staff-{when}.png"), full_page=True)


def _connected(visitor: Page, staff: Page) -> None:
    expect(visitor.locator("#chat-connection")).to_have_attribute("data-state", "connected")
    expect(staff.locator("#staff-connection")).to_have_attribute("data-state", "connected")


def _each_once_in_stored_order(visitor: Page, staff: Page, database_url: str) -> None:
    stored = _stored(database_url)
    texts = [text for _, text in stored]
    assert len(set(texts)) == len(texts), stored
    for page, scope in ((visitor, VISITOR), (staff, CONSOLE)):
        expect(page.locator(f"{scope} .msg-visitor, {scope} .msg-staff")).to_have_count(len(stored))
        # Every message delivered and shown once, nothing still queued or failed.
        expect(page.locator(f"{scope} .msg:not([data-state=sent])")).to_have_count(0)
        shown = _transcript(page, scope)
        assert [(kind, text) for kind, text, _ in shown] == stored, (page.url, shown)


def test_a_chat_through_nginx_survives_restarting_the_process_holding_its_sockets(
    tmp_path: Path, postgres: PostgresDatabases, redis_url: str
) -> None:
    if nginx_path() is None:
        if os.environ.get("CI"):
            pytest.fail(HOW_TO_GET)
        pytest.skip(HOW_TO_GET)
    database_url = postgres.new()
    servers = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        server = LiveServer(tmp_path / name, database_url)
        server.env.update(
            KOPPI_REDIS_URL=redis_url, KOPPI_CHAT_TICK_SECONDS="1", KOPPI_TRUST_FORWARDED="1"
        )
        servers.append(server)
    problems = Problems()
    with ExitStack() as stack:
        for server in servers:
            server.start()
            stack.callback(server.stop)
        for server in servers:
            server.wait_until_up()
        servers[0].cli(
            "create-staff", "sanna", "--role", "counsellor", "--name", "Sanna", stdin=PASSWORD
        )
        proxy = stack.enter_context(
            running_nginx([server.port for server in servers], tmp_path / "nginx")
        )
        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        stack.callback(browser.close)

        # Everything through nginx: the counsellor's console and the young person's page.
        staff = _sign_in(browser, proxy.url, problems)
        visitor = problems.watch(
            browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        )
        visitor.goto(proxy.url + "/chat")
        expect(visitor.locator("#chat-connection")).to_have_attribute("data-state", "connected")
        visitor.select_option("#chat-category", "asuminen")
        visitor.fill("#chat-first", FIRST)
        visitor.click("#start-button")
        expect(visitor.locator("#staff-name")).to_have_text("Sosiaaliohjaaja Sanna")
        panel = staff.locator(".chat-panel")
        expect(panel).to_have_count(1)
        staff_text = panel.locator("textarea[data-id=text]")
        staff_text.fill(REPLY)
        staff_text.press("Enter")
        expect(visitor.locator(f"{VISITOR} .msg-staff .msg-text", has_text=REPLY)).to_have_count(1)
        visitor.fill("#chat-text", SECOND)
        visitor.press("#chat-text", "Enter")
        expect(panel.locator(".msg-visitor .msg-text", has_text=SECOND)).to_have_count(1)
        staff_text.fill(ANSWER)
        staff_text.press("Enter")
        expect(visitor.locator(f"{VISITOR} .msg-staff .msg-text", has_text=ANSWER)).to_have_count(1)
        _each_once_in_stored_order(visitor, staff, database_url)
        _shoot(visitor, staff, "1-before")

        # One client address, so nginx's sticky upstream put both pages' sockets on one process.
        held = {server.port: _sockets(server) for server in servers}
        [holder] = [s for s in servers if held[s.port].get("/chat") and held[s.port].get("/staff")]
        [other] = [s for s in servers if s is not holder]
        assert held[other.port].get("/chat", 0) == held[other.port].get("/staff", 0) == 0, held

        # `systemctl restart`: SIGTERM, then a fresh start. Once the process has stopped
        # listening (the first thing it does), both people write: their pages must keep the
        # messages until they are acknowledged, through whichever process.
        holder_process = holder.process
        assert holder_process is not None
        began = time.monotonic()
        holder_process.terminate()
        _until_refused(holder.port)
        staff_text.fill(STAFF_DURING)
        staff_text.press("Enter")
        visitor.fill("#chat-text", VISITOR_DURING)
        visitor.press("#chat-text", "Enter")
        during = {
            "visitor": visitor.locator("#chat-connection").get_attribute("data-state"),
            "staff": staff.locator("#staff-connection").get_attribute("data-state"),
            "visitor message": _transcript(visitor, VISITOR)[-1],
            "staff message": _transcript(staff, CONSOLE)[-1],
        }
        _shoot(visitor, staff, "2-during")
        stopped = _stopped(holder, began)
        holder.start()
        holder.wait_until_up()

        # Both pages came back through nginx (to the other process while this one was down)
        # and sent what they held: every message once, in the stored order, on both screens.
        _connected(visitor, staff)
        expect(panel.locator(".msg-visitor .msg-text", has_text=VISITOR_DURING)).to_have_count(1)
        expect(
            visitor.locator(f"{VISITOR} .msg-staff .msg-text", has_text=STAFF_DURING)
        ).to_have_count(1)
        _each_once_in_stored_order(visitor, staff, database_url)

        # The chat goes on live, both ways.
        visitor.fill("#chat-text", VISITOR_AFTER)
        visitor.press("#chat-text", "Enter")
        expect(panel.locator(".msg-visitor .msg-text", has_text=VISITOR_AFTER)).to_have_count(1)
        staff_text.fill(STAFF_AFTER)
        staff_text.press("Enter")
        expect(
            visitor.locator(f"{VISITOR} .msg-staff .msg-text", has_text=STAFF_AFTER)
        ).to_have_count(1)
        _each_once_in_stored_order(visitor, staff, database_url)
        texts = [text for _, text in _stored(database_url)]
        assert texts[:4] == [FIRST, REPLY, SECOND, ANSWER], texts
        # The two held messages went out on two sockets at once: either may be stored first.
        assert set(texts[4:6]) == {STAFF_DURING, VISITOR_DURING}, texts
        assert texts[6:] == [VISITOR_AFTER, STAFF_AFTER], texts
        _shoot(visitor, staff, "3-after")
        after = {server.port: _sockets(server) for server in servers}
        assert sum(s.get("/chat", 0) for s in after.values()) == 1, after
        assert sum(s.get("/staff", 0) for s in after.values()) == 1, after

    # SIGTERM closes the sockets, so the process stops at once (systemd gives it 30 s) and
    # the pages reconnect at once, instead of talking to a process on its way out.
    assert stopped.startswith("exited by itself"), (stopped, during)
    assert problems == []
    for server in servers:
        assert "Traceback" not in server.log.read_text(), server.log.read_text()[-3000:]
