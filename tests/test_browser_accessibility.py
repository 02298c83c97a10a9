"""In headless Chromium on a demo server: axe-core finds no serious or critical accessibility
problem on any page (public, staff, coordinator; a chat before, during and after) at a desktop
and a phone width, in Finnish, Swedish and English. The accessibility statement's date of the
last check is the day this file last changed (tests/test_accessibility_statement.py)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from service.demo import LOGINS_FILE
from tests.axe import axe_violations, poor_chart_text, readable
from tests.live_server import LiveServer, output_dir
from tests.test_browser_chat import Problems

pytestmark = pytest.mark.browser
LANGUAGES = ("fi", "sv", "en")
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}
COORDINATOR_PAGES = (
    "/coordinator/stats",
    "/coordinator/staff",
    "/coordinator/categories",
    "/coordinator/watched-words",
    "/coordinator/chat",
    "/coordinator/directory",
    "/coordinator/audit",
)
ASKED = "Mistä saisin apua työnhakuun ja opiskelupaikan etsimiseen? Olen 19 ja asun yksin."
ANSWER = "Ohjaamossa autetaan juuri tällaisissa asioissa, maksutta ja ilman ajanvarausta."
WAITING = "Voinko saada toimeentulotukea, jos opiskelen? Numeroni on 040 123 4567."
FIRST = "Hei, haluaisin jutella työnhausta ja siitä, mistä saisi apua."
REPLY = "Hei! Kiva kun kirjoitit. Tässä palvelu, josta saat apua."


@dataclass(frozen=True)
class Content:
    """What the pages show: a published answer with a referral card, its follow-up code, a
    directory service and a question still waiting."""

    answered_id: int
    code: str
    service_id: str
    waiting_id: int


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One demo server: staff, questions, the directory and months of statistics. SQLite
    only: the pages are the same on either engine, and this runs 36 pages six times."""
    live = LiveServer(tmp_path_factory.mktemp("accessibility"))
    live.env["KOPPI_DEMO"] = "1"
    # Six chats and many questions from one address in a few minutes.
    live.env["KOPPI_RATE_LIMITS"] = "0"
    # The privacy notice's and the accessibility statement's optional details, all shown.
    live.env["KOPPI_CONTROLLER_NAME"] = "Esimerkkilän kaupunki"
    live.env["KOPPI_CONTROLLER_ADDRESS"] = "Kaupungintalo, PL 1, 00100 Esimerkkilä"
    live.env["KOPPI_DPO_CONTACT"] = "tietosuoja@esimerkkila.fi"
    live.env["KOPPI_ACCESSIBILITY_FEEDBACK"] = "saavutettavuus@esimerkkila.fi"
    with live.running():
        yield live


def _password(server: LiveServer, username: str) -> str:
    """Demo mode writes `username<TAB>role<TAB>password` lines beside the database."""
    logins = (Path(server.env["KOPPI_DB"]).parent / LOGINS_FILE).read_text(encoding="utf-8")
    for line in logins.splitlines():
        name, _role, password = line.split("\t")
        if name == username:
            return password
    raise AssertionError(f"demo mode made no {username}")


@pytest.fixture(scope="module")
def content(server: LiveServer) -> Content:
    # In a thread of its own: Playwright's sync API may already run an event loop here.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, _content(server.url, _password(server, "sanna"))).result()


async def _content(url: str, password: str) -> Content:
    jar = aiohttp.CookieJar(unsafe=True)  # keeps cookies for the loopback address too
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        asked = await _ask(session, url, ASKED, publish=True)
        waiting = await _ask(session, url, WAITING, publish=False)
        signed_in = await session.post(
            url + "/api/staff/login", json={"username": "sanna", "password": password}
        )
        assert signed_in.status == 200, await signed_in.text()
        found = await session.get(url + "/api/hsds/services", params={"search": "ohjaamo"})
        service = (await found.json())["contents"][0]
        question = f"{url}/api/staff/questions/{asked['id']}"
        claimed = await session.post(question + "/claim", json={})
        assert claimed.status == 200, await claimed.text()
        answered = await session.post(
            question + "/answer",
            json={"body": ANSWER, "publish": True, "services": [service["id"]]},
        )
        assert answered.status == 200, await answered.text()
    return Content(int(asked["id"]), str(asked["code"]), str(service["id"]), int(waiting["id"]))


async def _ask(session: aiohttp.ClientSession, url: str, body: str, *, publish: bool) -> Any:
    asked = await session.post(
        url + "/api/questions",
        json={
            "body": body,
            "category": "tyonhaku",
            "publish": publish,
            "personal_data_confirmed": True,
        },
    )
    assert asked.status == 201, await asked.text()
    return await asked.json()


class Audit:
    """Runs axe on each page as it is shown and gathers every finding, so that one run lists
    all the problems of a language and width rather than the first."""

    def __init__(self, server: LiveServer, lang: str, width: str) -> None:
        self.server = server
        self.lang = lang
        self.width = width
        self.findings: list[str] = []
        self.checked: list[str] = []

    def url(self, path: str) -> str:
        joiner = "&" if "?" in path else "?"
        return f"{self.server.url}{path}{joiner}lang={self.lang}"

    def open(self, page: Page, path: str, *, status: int = 200) -> None:
        response = page.goto(self.url(path))
        assert response is not None
        assert response.status == status, (path, response.status)
        expect(page.locator("html")).to_have_attribute("lang", self.lang)

    def check(self, page: Page, what: str) -> None:
        """axe on the page as it is now, plus the contrast of chart text, which axe skips."""
        where = f"{what} ({self.lang}, {self.width}, {page.url})"
        self.checked.append(what)
        violations = axe_violations(page)
        if violations:
            self.findings.append(readable(where, violations))
        poor = poor_chart_text(page)
        if poor:
            self.findings.append(f"{where}: chart text below 4.5:1:\n  " + "\n  ".join(poor))

    def visit(self, page: Page, path: str, what: str, *, status: int = 200) -> None:
        self.open(page, path, status=status)
        self.check(page, what)


def _context(browser: Browser, width: str) -> BrowserContext:
    w, h = WIDTHS[width]
    return browser.new_context(viewport={"width": w, "height": h})


def _sign_in(page: Page, audit: Audit, username: str, path: str) -> None:
    audit.open(page, f"/staff/login?next={path}")
    page.fill("#username", username)
    page.fill("#password", _password(audit.server, username))
    page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(path)))


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_serious_accessibility_problems_anywhere(
    browser: Browser, server: LiveServer, content: Content, lang: str, width: str
) -> None:
    audit = Audit(server, lang, width)
    problems = Problems()
    contexts = [_context(browser, width) for _ in range(3)]
    try:
        visitor, staff, coordinator = (problems.watch(c.new_page()) for c in contexts)
        _public_pages(visitor, audit, content)
        _staff_pages(staff, visitor, audit, content)
        _coordinator_pages(coordinator, audit)
        _second_factor_sign_in(problems.watch(contexts[1].new_page()), audit)
        visitor.screenshot(path=str(output_dir() / f"accessibility-{lang}-{width}.png"))
    finally:
        for context in contexts:
            context.close()
    assert not audit.findings, "\n\n".join(audit.findings)
    assert list(problems) == []
    assert len(audit.checked) >= 33, audit.checked


def _public_pages(page: Page, audit: Audit, content: Content) -> None:
    audit.visit(page, "/", "board")
    audit.open(page, f"/q/{content.answered_id}")
    expect(page.locator(".referral-card")).to_have_count(1)
    audit.check(page, "question with an answer and a referral card")
    audit.visit(page, "/ask", "ask form")
    send = page.locator("main form.ask button[type=submit]").first
    page.fill("#body", "Apua?")
    send.click()
    expect(page.locator(".error-summary")).to_be_visible()
    audit.check(page, "ask form with errors")
    # A phone number and a crisis phrase: the personal-data warning and the crisis help.
    page.select_option("#category", "tyonhaku")
    page.fill("#body", "Soita minulle 040 765 4321, en jaksa enää ja haluan kuolla.")
    page.check("input[name=publish][value=no]")
    send.click()
    expect(page.locator("#personal-warning")).to_be_visible()
    audit.check(page, "ask form with a personal-data warning and crisis help")
    page.fill("#body", "Miten haen kesätöitä, kun en ole ennen ollut töissä?")
    send.click()
    expect(page).to_have_url(re.compile(r"/f/[^?]+\?new=1"))
    audit.check(page, "ask received")
    audit.visit(page, "/f", "follow-up lookup")
    audit.visit(page, f"/f/{content.code}", "follow-up page")
    audit.visit(page, "/services", "service directory")
    audit.visit(page, f"/services/{content.service_id}", "a service")
    audit.visit(page, "/privacy", "privacy notice")
    audit.visit(page, "/accessibility", "accessibility statement")
    audit.visit(page, "/no-such-page", "404 page", status=404)
    audit.visit(page, "/q/999999999", "404 question", status=404)
    audit.visit(page, "/staff/login", "staff sign-in form")


def _staff_pages(staff: Page, visitor: Page, audit: Audit, content: Content) -> None:
    _sign_in(staff, audit, "sanna", "/staff/queue")
    audit.visit(staff, "/staff/queue", "staff queue")
    audit.visit(staff, f"/staff/questions/{content.waiting_id}", "staff question page")
    audit.visit(staff, "/staff/account", "staff account")
    # Begins an enrolment that is never confirmed: the page with the QR code and the key.
    audit.visit(staff, "/staff/second-factor", "second-factor enrolment")
    _chat(staff, visitor, audit)


def _chat(staff: Page, visitor: Page, audit: Audit) -> None:
    """A whole chat: the visitor's page and the staff console checked at each stage."""
    audit.open(staff, "/staff/chat")
    expect(staff.locator("#staff-connection")).to_have_attribute("data-state", "connected")
    audit.check(staff, "staff chat console, no chats")
    if not staff.is_checked("#available"):
        staff.check("#available")
    expect(staff.locator("#staff-chat")).to_have_attribute("data-available", "yes")

    audit.open(visitor, "/chat")
    expect(visitor.locator("#chat-connection")).to_have_attribute("data-state", "connected")
    audit.check(visitor, "chat page before a chat")
    visitor.select_option("#chat-category", "tyonhaku")
    visitor.fill("#chat-first", FIRST)
    visitor.click("#start-button")
    expect(visitor.locator("#chat")).to_have_attribute("data-view", "room")

    panel = staff.locator(".chat-panel").first
    expect(panel.locator(".msg-visitor")).to_have_count(1)
    panel.locator("[data-id=text]").fill(REPLY)
    panel.locator("[data-id=text]").press("Enter")
    panel.locator("details.tool > summary").first.click()  # "Refer to a service"
    panel.locator("[data-id=refer-q]").fill("ohjaamo")
    panel.locator("[data-part=refer-form] button[type=submit]").click()
    panel.locator("[data-part=refer-results] button").first.click()
    expect(panel.locator(".msg-own .referral-card")).to_have_count(1)
    audit.check(staff, "staff chat console with a chat")

    expect(visitor.locator("#messages .msg-staff")).to_have_count(2)
    expect(visitor.locator("#messages .referral-card")).to_have_count(1)
    audit.check(visitor, "chat page during a chat")

    visitor.click("#end-button")
    expect(visitor.locator("#chat")).to_have_attribute("data-view", "ended")
    audit.check(visitor, "chat page after the chat ended")

    expect(panel.locator(".msg-system")).to_have_count(1)
    audit.check(staff, "staff chat console, wrap-up")
    panel.locator("[data-id=end-outcome]").select_option(index=1)
    panel.locator("[data-part=end-form] button[type=submit]").click()
    expect(staff.locator(".chat-panel")).to_have_count(0)


# Mikko's recovery codes, kept between the languages and widths: the first run enrols him
# (the recovery codes page), each later one signs in with one of the codes (the code form).
_RECOVERY_CODES: list[str] = []


def _second_factor_sign_in(page: Page, audit: Audit) -> None:
    page.context.clear_cookies()
    audit.open(page, "/staff/login?next=/staff/queue")
    page.fill("#username", "mikko")
    page.fill("#password", _password(audit.server, "mikko"))
    page.click("main form button[type=submit]")
    if not _RECOVERY_CODES:
        expect(page).to_have_url(re.compile(r"/staff/queue"))
        page.goto(audit.url("/staff/second-factor"))
        page.fill("#code", "000000")  # wrong on purpose: the page with its error message
        page.click("main form button[type=submit]")
        secret = page.locator("#secret-key").inner_text().replace(" ", "")
        audit.check(page, "second-factor enrolment, with an error")
        page.fill("#code", pyotp.TOTP(secret).now())
        page.click("main form button[type=submit]")
        expect(page.locator(".recovery-codes code")).to_have_count(10)
        audit.check(page, "recovery codes")
        _RECOVERY_CODES.extend(page.locator(".recovery-codes code").all_inner_texts())
        return
    expect(page).to_have_url(re.compile(r"/staff/login/code"))
    audit.check(page, "sign-in code form")
    page.fill("#code", _RECOVERY_CODES.pop())
    page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/staff/queue"))


def _coordinator_pages(page: Page, audit: Audit) -> None:
    _sign_in(page, audit, "koordinaattori", COORDINATOR_PAGES[0])
    for path in COORDINATOR_PAGES:
        audit.visit(page, path, "coordinator " + path.rsplit("/", 1)[1])
    # A step that asks for confirmation first, on a colleague's account.
    page.goto(audit.url("/coordinator/staff"))
    confirm = page.locator("main a[href*='/confirm/deactivate']").first
    audit.visit(page, confirm.get_attribute("href") or "", "coordinator confirmation page")


# The element that has focus, and whether it shows it (an outline or a ring).
_FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const shown = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2)
    || style.boxShadow !== "none";
  const name = el.id || el.getAttribute("name") || el.textContent.trim().slice(0, 30);
  return {tag: el.tagName.toLowerCase(), name: name, shown: shown};
}"""


@pytest.mark.parametrize("width", list(WIDTHS))
def test_question_sent_with_the_keyboard_alone(
    browser: Browser, server: LiveServer, width: str
) -> None:
    """Tab reaches every control of the question form in order, each shows its focus, and the
    question goes with keys only: the check that the statement calls a keyboard check."""
    context = _context(browser, width)
    try:
        page = context.new_page()
        page.goto(server.url + "/ask?lang=fi")
        page.keyboard.press("Tab")
        first = page.evaluate(_FOCUSED)
        assert first == {"tag": "a", "name": "Siirry sisältöön", "shown": True}, first
        page.keyboard.press("Enter")  # the skip link
        reached: list[dict[str, Any]] = []
        for _ in range(40):
            page.keyboard.press("Tab")
            focused = page.evaluate(_FOCUSED)
            if focused is None:
                continue
            reached.append(focused)
            if focused["name"] == "category":
                page.keyboard.press("ArrowDown")  # the first topic
            elif focused["name"] == "body":
                page.keyboard.type("Miten haen kesätöitä, kun en ole ennen ollut töissä?")
            elif focused["name"] == "publish":
                page.keyboard.press("Space")  # "yes", the first choice
            elif focused["tag"] == "button":
                break
        hidden = [f for f in reached if not f["shown"]]
        assert not hidden, f"focus not shown on {hidden}"
        names = [f["name"] for f in reached]
        for control in ("category", "title", "body", "publish"):
            assert control in names, names
        assert "website" not in names, "the honeypot field takes no focus"
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/f/[^?]+\?new=1"))
    finally:
        context.close()
