"""In headless Chromium on a 390×844 phone: the queue is honest. The offer to send the words as
a question appears once the young person has actually waited past the coordinators' threshold
(while the estimate says "soon"); a queued chat whose young person closed the tab leaves the
counsellor's waiting list, is never handed to anyone and is ended as abandoned after the grace;
and a transfer to a colleague shows as a line in the young person's conversation."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from service.clock import to_iso
from service.settings import Settings
from tests.conftest import rows
from tests.live_server import LiveServer, output_dir
from tests.test_browser_chat import PASSWORD, Problems, chat_console

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
# Long enough that a busy CI machine still shows the waiting page before the offer is due.
THRESHOLD_S = 15


def _server(tmp_path: Path, database_url: str | None) -> tuple[LiveServer, Settings]:
    server = LiveServer(tmp_path, database_url)
    # Housekeeping every second, so the grace's end is noticed at once.
    server.env["KOPPI_CHAT_TICK_SECONDS"] = "1"
    server.cli("migrate")
    for name, role in (("sanna", "counsellor"), ("mikko", "adviser")):
        server.cli("create-staff", name, "--role", role, "--name", name.title(), stdin=PASSWORD)
    return server, Settings(db_path=tmp_path / "koppi.sqlite3", database_url=database_url)


def _shots() -> Path:
    folder = output_dir() / "phone-first"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _close_all(browser: Browser) -> None:
    """Before the server stops, which it does promptly only once its sockets are gone."""
    for context in browser.contexts:
        context.close()


def _phone(browser: Browser, server: LiveServer, problems: Problems, topic: str, text: str) -> Page:
    """A young person on a phone starts a chat."""
    page = problems.watch(browser.new_context(viewport=PHONE).new_page())
    page.goto(server.url + "/chat")
    expect(page.locator("#chat-connection")).to_have_attribute("data-state", "connected")
    page.select_option("#chat-category", topic)
    page.fill("#chat-first", text)
    page.click("#start-button")
    return page


def test_the_offer_appears_after_the_time_actually_waited(
    browser: Browser, tmp_path: Path, database_url: str | None
) -> None:
    problems = Problems()
    server, target = _server(tmp_path, database_url)
    # Sanna takes chats by hand: she is free, so the estimate says "soon", far below the
    # threshold; only the time waited can bring the offer.
    rows(target, "UPDATE chat_settings SET value = 0 WHERE name = 'auto_assign'")
    rows(
        target,
        f"UPDATE chat_settings SET value = {THRESHOLD_S} WHERE name = 'offer_question_after_s'",
    )
    with server.running():
        chat_console(browser, server, problems, username="sanna", available=True)
        young = _phone(browser, server, problems, "tyonhaku", "Hei, voisinko kysyä työnhausta?")
        started = time.monotonic()
        expect(young.locator("#chat")).to_have_attribute("data-view", "waiting")
        expect(young.locator("#queue-position")).to_contain_text("1")
        expect(young.locator("#offer")).to_be_hidden()
        assert time.monotonic() - started < THRESHOLD_S, "too slow to see the offer missing"
        young.screenshot(path=str(_shots() / "queue-waiting.png"))

        expect(young.locator("#offer")).to_be_visible(timeout=(THRESHOLD_S + 10) * 1000)
        assert time.monotonic() - started >= THRESHOLD_S - 1
        expect(young.locator("#convert-button")).to_be_in_viewport()
        young.screenshot(path=str(_shots() / "queue-offer.png"))
        young.click("#convert-button")
        expect(young.locator("#chat-converted")).to_be_visible()
        _close_all(browser)
    assert problems == []


def test_a_closed_tab_leaves_the_queue_and_is_freed_after_the_grace(
    browser: Browser, tmp_path: Path, database_url: str | None
) -> None:
    problems = Problems()
    server, target = _server(tmp_path, database_url)
    # Sanna is on duty with no room, so the young person waits for a free place.
    rows(target, "UPDATE staff SET chat_capacity = 0 WHERE username = 'sanna'")
    with server.running():
        sanna = chat_console(browser, server, problems, username="sanna", available=True)
        young = _phone(browser, server, problems, "raha", "Rahat loppuvat, mitä teen?")
        expect(young.locator("#chat")).to_have_attribute("data-view", "waiting")
        expect(sanna.locator("#waiting-list li")).to_have_count(1)
        chat_id = rows(target, "SELECT id FROM chats")[0][0]

        young.context.close()  # the tab is closed before anyone took the chat
        expect(sanna.locator("#waiting-list li")).to_have_count(0)
        expect(sanna.locator("#take-next")).to_be_disabled()
        # An adviser with room comes on duty: nothing is handed to him.
        mikko = chat_console(browser, server, problems, username="mikko", available=True)
        expect(mikko.locator("#take-next")).to_be_disabled()
        expect(mikko.locator(".chat-panel")).to_have_count(0)
        sanna.screenshot(path=str(_shots() / "queue-left-console.png"), full_page=True)
        assert rows(target, "SELECT status, assigned_to FROM chats") == [("waiting", None)]

        # The grace (two minutes) has passed: moved back in the database rather than waited for
        # here (tests/test_queue_honesty.py times the grace itself with a controlled clock).
        away = rows(target, "SELECT visitor_away_since FROM chats")[0][0]
        assert away is not None
        long_ago = to_iso(datetime.now(UTC) - timedelta(minutes=3))
        rows(target, "UPDATE chats SET visitor_away_since = ? WHERE id = ?", (long_ago, chat_id))
        deadline = time.monotonic() + 15
        while rows(target, "SELECT status FROM chats")[0][0] != "ended":
            assert time.monotonic() < deadline, "the chat was not freed"
            time.sleep(0.2)
        kinds = rows(target, "SELECT kind FROM usage_events WHERE subject_id = ?", (chat_id,))
        assert ("chat_abandoned",) in kinds and ("chat_assigned",) not in kinds
        expect(mikko.locator(".chat-panel")).to_have_count(0)
        _close_all(browser)
    assert problems == []


def test_a_transfer_is_a_line_in_the_young_persons_conversation(
    browser: Browser, tmp_path: Path, database_url: str | None
) -> None:
    problems = Problems()
    server, target = _server(tmp_path, database_url)
    line = "Keskustelu siirtyi: työllisyysneuvoja Mikko jatkaa."
    with server.running():
        sanna = chat_console(browser, server, problems, username="sanna", available=True)
        young = _phone(browser, server, problems, "jaksaminen", "Jaksaminen on vähissä.")
        expect(young.locator("#chat")).to_have_attribute("data-view", "room")
        panel = sanna.locator(".chat-panel")
        box = panel.locator("textarea[data-id=text]")
        box.fill("Hei, täällä Sanna. Puhutaanko myös töistä?")
        box.press("Enter")
        expect(young.locator("#messages .msg-staff")).to_have_count(1)
        mikko = chat_console(browser, server, problems, username="mikko", available=True)

        panel.locator("[data-part=transfer-summary]").click()
        mikko_id = rows(target, "SELECT id FROM staff WHERE username = 'mikko'")[0][0]
        panel.locator("select[data-id=transfer-to]").select_option(f"staff:{mikko_id}")
        panel.locator("form[data-part=transfer-form] button[type=submit]").click()
        shown = young.locator("#messages .msg-system", has_text=line)
        expect(shown).to_have_count(1)
        expect(shown).to_be_in_viewport()
        expect(young.locator("#staff-name")).to_contain_text("Mikko")
        expect(mikko.locator(".chat-panel .msg-system", has_text=line)).to_have_count(1)
        young.screenshot(path=str(_shots() / "queue-transfer.png"))

        young.reload()  # replayed in its place after a reload
        expect(young.locator("#messages .msg-system", has_text=line)).to_have_count(1)
        texts = young.locator("#messages .msg .msg-text").all_inner_texts()
        assert texts[-1] == line
        _close_all(browser)
    assert problems == []
