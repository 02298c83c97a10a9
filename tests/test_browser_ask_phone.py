"""In headless Chromium at 390×844: asking, the code a person can keep, and remembering it.

A code typed in small letters is found; the copy buttons copy; "remember on this device" is off
until turned on, then the board says when the answer has come, and forgetting clears it; after
a refused form or a personal-data warning the message has focus and is on the screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, ViewportSize, expect

from tests.axe import axe_violations, readable
from tests.live_server import LiveServer, output_dir

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 390, "height": 844}
PASSWORD = "browser-test-password"
QUESTION = "Pääsenkö nuorten työpajaan, vaikka keskeytin ammattikoulun kesken?"
ANSWER = "Pääset! Työpajaan voi hakeutua Ohjaamon tai työllisyyspalvelujen kautta."
CODE_SHAPE = re.compile(r"KOPPI(?:-[0-9A-HJKMNP-TV-Z]{4}){5}")
STORE = "koppi.remembered"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module (SQLite: the pages are the same on either engine)."""
    live = LiveServer(tmp_path_factory.mktemp("ask-phone"))
    live.env["KOPPI_RATE_LIMITS"] = "0"
    live.cli("migrate")
    live.cli("create-staff", "sanna", "--role", "counsellor", "--name", "Sanna", stdin=PASSWORD)
    with live.running():
        yield live


@pytest.fixture(scope="module")
def shots() -> Path:
    folder = output_dir() / "phone-first"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def phone(browser: Browser, server: LiveServer) -> Iterator[BrowserContext]:
    context = browser.new_context(
        viewport=PHONE,
        base_url=server.url,
        permissions=["clipboard-read", "clipboard-write"],
    )
    yield context
    context.close()


def _ask(page: Page, body: str = QUESTION) -> str:
    """Send a question through the form; the code shown on the received page."""
    page.goto("/ask")
    page.select_option("#category", "tyopajat")
    page.fill("#body", body)
    page.check("input[name=publish][value=yes]")
    page.click("form.ask button[type=submit]")
    expect(page.locator(".code-notice")).to_be_visible()
    code = page.locator("#followup-code").inner_text().strip()
    assert CODE_SHAPE.fullmatch(code), code
    return code


def _in_view(page: Page, selector: str) -> bool:
    return bool(
        page.eval_on_selector(
            selector,
            "el => { const r = el.getBoundingClientRect();"
            " return r.top >= 0 && r.top < window.innerHeight && r.height > 0; }",
        )
    )


def _accessible(page: Page, where: str) -> None:
    found = axe_violations(page)
    assert not found, readable(where, found)


def _focused(page: Page, selector: str) -> bool:
    return bool(page.eval_on_selector(selector, "el => el === document.activeElement"))


def _answer(context: BrowserContext, question_text: str, answer: str) -> None:
    """Sanna answers and publishes, over the staff JSON API."""
    api = context.request
    signed_in = api.post("/api/staff/login", data={"username": "sanna", "password": PASSWORD})
    assert signed_in.ok, signed_in.text()
    queue = api.get("/api/staff/queue").json()
    items = queue["items"] if isinstance(queue, dict) else queue
    found = [q for q in items if q["body"] == question_text]
    assert found, items
    qid = found[0]["id"]
    assert api.post(f"/api/staff/questions/{qid}/claim", data={}).ok
    sent = api.post(f"/api/staff/questions/{qid}/answer", data={"body": answer, "publish": True})
    assert sent.ok, sent.text()


def test_a_code_typed_in_small_letters_is_found(phone: BrowserContext, shots: Path) -> None:
    page = phone.new_page()
    page.goto("/ask")
    page.screenshot(path=str(shots / "ask.png"), full_page=True)
    _accessible(page, "ask")
    code = _ask(page)
    page.screenshot(path=str(shots / "ask-received.png"), full_page=True)
    _accessible(page, "received")
    link = page.locator("#followup-link")
    expect(link).to_have_text(f"{page.url.split('/f/')[0]}/f/{code}")

    page.goto("/f")
    typed = " ".join(code.lower().removeprefix("koppi-").split("-"))
    page.fill("#code", typed)
    page.click("form.lookup button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/f/{code}$"))
    expect(page.locator("article.question")).to_contain_text(QUESTION)
    page.screenshot(path=str(shots / "followup.png"), full_page=True)

    page.goto("/f")
    page.fill("#code", "koppi-7qx4-m2rd-9twe-h5ka-3b80")
    page.click("form.lookup button[type=submit]")
    expect(page.locator(".error-summary")).to_be_visible()
    assert _focused(page, ".error-summary") and _in_view(page, ".error-summary")
    expect(page.locator("#code")).to_have_value("koppi-7qx4-m2rd-9twe-h5ka-3b80")
    expect(page.locator("#code-hint")).to_contain_text("KOPPI-")
    page.screenshot(path=str(shots / "followup-wrong-code.png"), full_page=True)
    _accessible(page, "wrong code")


def test_the_copy_buttons_copy(phone: BrowserContext) -> None:
    page = phone.new_page()
    code = _ask(page)
    page.get_by_role("button", name="Kopioi koodi").click()
    expect(page.locator(".copy-status")).to_have_text("Kopioitu")
    assert page.evaluate("navigator.clipboard.readText()") == code
    page.get_by_role("button", name="Kopioi linkki").click()
    assert page.evaluate("navigator.clipboard.readText()") == f"{page.url.split('?')[0]}"


def test_remember_on_this_device(
    phone: BrowserContext, browser: Browser, server: LiveServer, shots: Path
) -> None:
    page = phone.new_page()
    asked: list[str] = []

    def note(request: Request) -> None:
        if "/api/followup/" in request.url:
            asked.append(request.url)

    page.on("request", note)
    body = "Miten haen oppisopimukseen, jos en ole vielä löytänyt työpaikkaa?"
    code = _ask(page, body)
    panel = page.locator("#remember")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text(re.compile("jaetulla", re.I))  # the shared-device warning
    assert page.evaluate(f"localStorage.getItem('{STORE}')") is None, "off by default"

    page.goto("/")
    expect(page.locator("#remembered")).to_be_hidden()
    page.wait_for_load_state("networkidle")
    assert asked == [], "nothing remembered: nothing fetched"

    page.goto(f"/f/{code}")
    page.get_by_role("button", name="Muista tällä laitteella").click()
    expect(panel.locator(".remember-state")).to_contain_text("Muistetaan tällä laitteella")
    assert code in page.evaluate(f"localStorage.getItem('{STORE}')")

    page.goto("/")
    page.wait_for_load_state("networkidle")
    assert any(code in url for url in asked), "the board asks the follow-up API"
    expect(page.locator("#remembered")).to_be_hidden()  # no answer yet

    staff = browser.new_context(base_url=server.url)
    try:
        _answer(staff, body, ANSWER)
    finally:
        staff.close()
    page.goto("/")
    notice = page.locator("#remembered")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Kysymykseesi on vastattu")
    expect(notice.locator("a")).to_have_attribute("href", f"/f/{code}")
    page.screenshot(path=str(shots / "board-remembered.png"), full_page=True)
    _accessible(page, "board with a remembered answer")
    notice.locator("a").click()
    expect(page.locator(".answer")).to_contain_text(ANSWER)

    page.goto("/")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#remembered")).to_be_hidden()  # the answer was read here

    page.goto(f"/f/{code}")
    page.get_by_role("button", name="Unohda tältä laitteelta").click()
    expect(panel.locator(".remember-state")).to_contain_text("Unohdettu")
    assert page.evaluate(f"localStorage.getItem('{STORE}')") is None
    before = len(asked)
    page.goto("/")
    page.wait_for_load_state("networkidle")
    assert len(asked) == before, "forgotten: nothing fetched"


def test_focus_moves_to_the_error_summary_and_the_warning(
    phone: BrowserContext, shots: Path
) -> None:
    page = phone.new_page()
    page.goto("/ask")
    page.click("form.ask button[type=submit]")
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert _in_view(page, ".error-summary")
    page.screenshot(path=str(shots / "ask-with-errors.png"), full_page=False)

    page.select_option("#category", "tyopajat")
    page.fill("#body", "Voisitteko soittaa minulle numeroon 040 123 4567 huomenna?")
    page.check("input[name=publish][value=no]")
    page.click("form.ask button[type=submit]")
    warning = page.locator("#personal-warning")
    expect(warning).to_be_visible()
    expect(warning).to_be_focused()
    assert _in_view(page, "#personal-warning")
    page.screenshot(path=str(shots / "ask-personal-warning.png"), full_page=False)
    _accessible(page, "personal-data warning")


def test_without_javascript_asking_and_the_follow_up_work(
    browser: Browser, server: LiveServer
) -> None:
    context = browser.new_context(viewport=PHONE, base_url=server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        code = _ask(page, "Saako opintotukea, jos opiskelee vain puolet päivästä?")
        expect(page.locator("#followup-link")).to_be_visible()
        expect(page.locator("button[data-copy]").first).to_be_hidden()  # an enhancement only
        expect(page.locator("#remember")).to_be_hidden()
        page.goto("/f")
        page.fill("#code", code.lower())
        page.click("form.lookup button[type=submit]")
        expect(page).to_have_url(re.compile(rf"/f/{code}$"))
        expect(page.locator(".answer-expectation")).to_be_visible()
    finally:
        context.close()
