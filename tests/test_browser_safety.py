"""In headless Chromium: quick exit by button and by Esc twice leaves no Koppi page behind."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.live_server import BROWSER_ARGS, LiveServer, chromium_path, free_port, output_dir

pytestmark = pytest.mark.browser
QUESTION = "Voinko tehdä kesätöitä, jos saan samaan aikaan työttömyysetuutta?"


class _Neutral(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        body = b"<!doctype html><title>Weather</title><h1>Neutral weather page</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def neutral_site() -> Iterator[str]:
    """A stand-in for the neutral site on another loopback port: the test never goes online."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Neutral)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/neutral"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def koppi(tmp_path: Path, database_url: str | None, exit_url: str) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path, database_url)
    server.env["KOPPI_QUICK_EXIT_URL"] = exit_url
    server.cli("migrate")
    with server.running():
        yield server


@contextmanager
def browsing(tmp_path: Path, database_url: str | None) -> Iterator[tuple[Page, LiveServer, str]]:
    """A new Chromium tab, Koppi, and the neutral site its quick exit leads to."""
    with (
        neutral_site() as exit_url,
        koppi(tmp_path, database_url, exit_url) as server,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            yield browser.new_context().new_page(), server, exit_url
        finally:
            browser.close()


def history_length(page: Page) -> int:
    return int(page.evaluate("history.length"))


def assert_left_for_good(page: Page, server: LiveServer, exit_url: str, entries: int) -> None:
    """On the neutral page, with no new history entry and nothing of Koppi behind it; this
    tab's Koppi sessionStorage is empty when Koppi is opened in it again."""
    expect(page).to_have_url(exit_url)
    expect(page.locator("h1")).to_have_text("Neutral weather page")
    assert history_length(page) == entries
    # Back leads to what the tab showed before Koppi (here the new tab's about:blank).
    page.go_back()
    expect(page).to_have_url("about:blank")
    page.goto(server.url + "/privacy")
    assert page.evaluate("sessionStorage.length") == 0


def test_quick_exit_button_after_asking(tmp_path: Path, database_url: str | None) -> None:
    with browsing(tmp_path, database_url) as (page, server, exit_url):
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(server.url + "/")
        entries = history_length(page)  # about:blank, then the board

        # Moving inside Koppi replaces the entry: a link, a GET form and a POST form.
        page.click("header nav a[href='/ask']")
        expect(page).to_have_url(server.url + "/ask")
        page.click("header nav a[href='/f']")
        page.fill("#code", "too-short")
        page.click("main form button[type=submit]")
        expect(page).to_have_url(re.compile(r"/f\?code=too-short$"))
        page.click("header nav a[href='/ask']")
        page.select_option("#category", "tyopajat")
        page.fill("#body", QUESTION)
        page.check("input[name=publish][value=no]")
        page.click("form.ask button[type=submit]")
        expect(page.locator(".code-notice")).to_be_visible()
        expect(page).to_have_url(re.compile(r"/f/[A-Za-z0-9_-]+\?new=1$"))
        assert history_length(page) == entries, "no Koppi page piled up in history"

        page.evaluate("sessionStorage.setItem('koppi-test', 'private')")
        button = page.locator("#quick-exit")
        expect(button).to_be_visible()
        expect(button).to_have_text(re.compile("Poistu nopeasti|Quick exit"))
        page.screenshot(path=str(output_dir() / "quick-exit.png"))
        before_exit = list(requested)
        button.click()
        assert_left_for_good(page, server, exit_url, entries)
    others = [u for u in before_exit if not u.startswith(server.url + "/")]
    assert not others, f"requests to other hosts: {others}"


def test_escape_twice_in_the_question_field(tmp_path: Path, database_url: str | None) -> None:
    with browsing(tmp_path, database_url) as (page, server, exit_url):
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(server.url + "/")
        entries = history_length(page)
        page.click("footer a[href='/privacy']")
        expect(page).to_have_url(server.url + "/privacy")
        page.click("header nav a[href='/ask']")
        expect(page).to_have_url(server.url + "/ask")
        assert history_length(page) == entries
        page.evaluate("sessionStorage.setItem('koppi-test', 'private')")
        page.fill("#body", "Minulla on kysymys")
        page.focus("#body")

        page.keyboard.press("Escape")  # one Esc alone does nothing
        page.wait_for_timeout(1700)
        page.keyboard.press("Escape")  # nor a second one after the window
        page.wait_for_timeout(300)
        expect(page).to_have_url(server.url + "/ask")

        before_exit = list(requested)
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
        assert_left_for_good(page, server, exit_url, entries)
    others = [u for u in before_exit if not u.startswith(server.url + "/")]
    assert not others, f"requests to other hosts: {others}"


def test_the_ask_form_warns_about_a_phone_number_and_shows_crisis_help(
    tmp_path: Path, database_url: str | None
) -> None:
    """Through the quick-exit script's form handling: Enter checks again, "Send anyway" sends."""
    with browsing(tmp_path, database_url) as (page, server, exit_url):
        page.goto(server.url + "/ask")
        page.select_option("#category", "jaksaminen")
        page.fill("#body", "En jaksa enää, haluan kuolla. Soita 040 123 4567?")
        page.check("input[name=publish][value=no]")
        page.click("form.ask button[type=submit]")
        warning = page.locator("#personal-warning")
        expect(warning).to_be_visible()
        expect(warning.locator("mark")).to_have_text("040 123 4567")
        expect(page.locator(".crisis-help")).to_contain_text("112")
        page.screenshot(path=str(output_dir() / "ask-personal-warning.png"))

        page.fill("#title", "Apua")
        page.press("#title", "Enter")  # the plain send button: checked again, not sent
        expect(page.locator("#personal-warning")).to_be_visible()
        expect(page).to_have_url(server.url + "/ask")

        page.click("button[name=personal_ok]")
        expect(page).to_have_url(re.compile(r"/f/[A-Za-z0-9_-]+\?new=1$"))
        expect(page.locator(".code-notice")).to_be_visible()
        expect(page.locator(".crisis-help")).to_contain_text("09 2525 0111")
