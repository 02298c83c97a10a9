"""In headless Chromium set to Finland Swedish (Accept-Language sv-FI): the board, the ask form
and the chat come in Swedish, a Swedish crisis phrase brings the Swedish crisis help with the
Swedish crisis line, and the switch to Finnish keeps the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from service import i18n
from tests.live_server import BROWSER_ARGS, LiveServer, chromium_path, output_dir

pytestmark = pytest.mark.browser
PASSWORD = "browser-test-password\n"
CRISIS = "Jag orkar inte längre, jag vill dö."


def sv(message: str) -> str:
    """The catalogue's Swedish for an interface message; it must differ from the English."""
    translated = i18n.translations("sv").gettext(message)
    assert translated != message, f"no Swedish yet for {message!r}"
    return translated


def fi(message: str) -> str:
    return i18n.translations("fi").gettext(message)


def _problems(page: Page, problems: list[str]) -> Page:
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    return page


def _counsellor_on_duty(browser: Browser, server: LiveServer, problems: list[str]) -> Page:
    """Sanna signs in (a Finnish browser) and makes herself available on the chat console."""
    page = _problems(browser.new_context(locale="fi-FI").new_page(), problems)
    page.goto(server.url + "/staff/chat")
    expect(page).to_have_url(re.compile(r"/staff/login"))
    page.fill("#username", "sanna")
    page.fill("#password", PASSWORD.strip())
    page.click("form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/staff/chat$"))
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    expect(page.locator("#staff-connection")).to_have_attribute("data-state", "connected")
    page.check("#available")
    expect(page.locator("#staff-chat")).to_have_attribute("data-available", "yes")
    return page


def test_a_swedish_browser_gets_swedish_and_swedish_crisis_help(
    tmp_path: Path, database_url: str | None
) -> None:
    shots = output_dir()
    problems: list[str] = []
    server = LiveServer(tmp_path, database_url)
    server.cli("migrate")
    server.cli("create-staff", "sanna", "--role", "counsellor", "--name", "Sanna", stdin=PASSWORD)
    with server.running(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            _counsellor_on_duty(browser, server, problems)
            young = browser.new_context(locale="sv-FI", viewport={"width": 390, "height": 844})
            page = _problems(young.new_page(), problems)

            # The board: Swedish from the first visit, with no ?lang= and no cookie.
            page.goto(server.url + "/")
            expect(page.locator("html")).to_have_attribute("lang", "sv")
            expect(page.locator("h1")).to_have_text(sv("Ask about work, studies and everyday life"))
            expect(page.locator("nav.langs [aria-current]")).to_have_text("SV")
            page.screenshot(path=str(shots / "swedish-board.png"), full_page=True)

            # The ask form.
            page.goto(server.url + "/ask")
            expect(page.locator("html")).to_have_attribute("lang", "sv")
            expect(page.locator("h1")).to_have_text(sv("Ask a question"))
            page.screenshot(path=str(shots / "swedish-ask.png"), full_page=True)

            # The chat: a Swedish crisis phrase brings the Swedish help and crisis line.
            page.goto(server.url + "/chat")
            expect(page.locator("html")).to_have_attribute("lang", "sv")
            expect(page.locator("#chat h1")).to_have_text(sv("Chat with a counsellor"))
            expect(page.locator("#chat-connection")).to_have_attribute("data-state", "connected")
            expect(page.locator("#chat-connection")).to_have_text(sv("Connected"))
            page.select_option("#chat-category", "raha")
            page.fill("#chat-first", CRISIS)
            page.click("#start-button")
            crisis = page.locator("#chat-crisis")
            expect(crisis).to_be_visible()
            expect(crisis.locator("h2")).to_have_text(
                sv("If you are in danger or thinking of hurting yourself, get help now")
            )
            expect(crisis).to_contain_text("09 2525 0112")
            expect(crisis).not_to_contain_text("09 2525 0111")
            expect(crisis.locator("a[href='tel:0925250112']")).to_have_count(1)
            expect(page.locator("#messages .msg-visitor .msg-text")).to_have_text(CRISIS)
            page.screenshot(path=str(shots / "swedish-chat-crisis.png"), full_page=True)

            # The switch to Finnish keeps the page (and the chat on it), and is remembered.
            page.click("#menu-toggle")  # on a phone the language switch is in the menu
            page.locator("nav.langs a[hreflang=fi]").click()
            expect(page).to_have_url(re.compile(r"/chat\?lang=fi$"))
            expect(page.locator("html")).to_have_attribute("lang", "fi")
            expect(page.locator("#chat h1")).to_have_text(fi("Chat with a counsellor"))
            expect(page.locator("#chat-crisis")).to_be_visible()
            expect(page.locator("#chat-crisis")).to_contain_text("09 2525 0111")
            page.goto(server.url + "/ask")
            expect(page.locator("html")).to_have_attribute("lang", "fi")
            page.screenshot(path=str(shots / "swedish-switched-to-finnish.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
