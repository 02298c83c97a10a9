"""In headless Chromium with the second factor required: a counsellor enrols by typing the key
shown beside the QR code into an "app" (pyotp here), signs out, signs in with password and code,
and once with a recovery code. Screenshots go to the test output folder."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.live_server import LiveServer, output_dir
from tests.test_browser_chat import Problems

pytestmark = pytest.mark.browser
PASSWORD = "kolme kissaa kävelee"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, module_database_url: str | None
) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("second-factor"), module_database_url)
    live.env["KOPPI_STAFF_2FA"] = "1"
    live.cli("create-staff", "sanna", "--role", "counsellor", "--name", "Sanna", stdin=PASSWORD)
    with live.running():
        yield live


def _password(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/staff/login?lang=en")
    page.get_by_label("Username").fill("sanna")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()


def _next_step(after: int) -> None:
    """An app shows a new code every 30 s; the one used to enrol is spent."""
    while int(time.time()) // 30 <= after:
        time.sleep(0.5)


def test_enrol_then_sign_in_with_a_code_and_with_a_recovery_code(
    browser: Browser, server: LiveServer
) -> None:
    shots = output_dir() / "second-factor"
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    problems = Problems()
    page = problems.watch(context.new_page())
    try:
        _password(page, server)
        # A first sign-in leads to enrolment, and nothing else opens.
        expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
        expect(page.locator("svg.qr-code")).to_be_visible()
        expect(page.get_by_role("link", name="Question queue")).to_have_count(0)
        page.screenshot(path=str(shots / "enrol.png"), full_page=True)
        page.goto(server.url + "/staff/queue")
        expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()

        secret = page.locator("#secret-key").inner_text().replace(" ", "")
        totp = pyotp.TOTP(secret)
        page.get_by_label("The six-digit code your app shows now").fill("000000")
        page.get_by_role("button", name="Confirm and turn on").click()
        expect(page.locator("#code-error")).to_be_visible()
        enrolled_step = int(time.time()) // 30
        page.get_by_label("The six-digit code your app shows now").fill(totp.now())
        page.get_by_role("button", name="Confirm and turn on").click()
        expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
        codes = page.locator(".recovery-codes code").all_inner_texts()
        assert len(codes) == 10
        page.screenshot(path=str(shots / "recovery-codes.png"), full_page=True)
        page.get_by_role("link", name="I have saved them: continue").click()
        expect(page.get_by_role("link", name="Question queue")).to_be_visible()
        _sign_out(page)

        # Password, then the app's next code.
        _password(page, server)
        expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
        page.screenshot(path=str(shots / "code.png"), full_page=True)
        _next_step(enrolled_step)
        page.get_by_label("Code from your authenticator app").fill(totp.now())
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("link", name="Question queue")).to_be_visible()
        page.screenshot(path=str(shots / "signed-in.png"), full_page=True)
        _sign_out(page)

        # Password, then a recovery code; the same code does not work twice.
        _password(page, server)
        page.get_by_label("Code from your authenticator app").fill(codes[0])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("link", name="Question queue")).to_be_visible()
        page.goto(server.url + "/staff/account")
        expect(page.get_by_text("You have 9 unused recovery codes.")).to_be_visible()
        page.screenshot(path=str(shots / "account.png"), full_page=True)
        _sign_out(page)
        _password(page, server)
        page.get_by_label("Code from your authenticator app").fill(codes[0])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("already been used")
        page.screenshot(path=str(shots / "recovery-code-spent.png"), full_page=True)
        assert list(problems) == [], "no script errors, no CSP refusals (the inline QR SVG)"
    finally:
        context.close()
