"""In headless Chromium at 390×844: similar answered questions show while a question is typed
on /ask, after a pause, and one opens its answer in place with the typed text kept."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, Request, expect

from tests.axe import axe_violations, readable
from tests.live_server import LiveServer, output_dir
from tests.test_browser_chat import Problems

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
PASSWORD = "browser-test-password"
TITLE = "Työttömyysturva valmistumisen jälkeen"
ASKED = "Miten työttömyysturva toimii, kun valmistun ammattikoulusta keväällä?"
ANSWER = "Työttömyysturvaa haetaan Kelasta, kun olet ilmoittautunut työnhakijaksi TE-palveluihin."
TYPED = "Hei! Saanko työttömyysturvasta rahaa, jos en heti löydä töitä koulun jälkeen?"
SIMILAR = "/api/questions/similar"


def _publish(base: str, staff: requests.Session, body: str, title: str | None = None) -> int:
    asked = requests.post(
        base + "/api/questions",
        json={"body": body, "title": title, "category": "raha", "publish": True},
        timeout=10,
    )
    assert asked.status_code == 201, asked.text
    question = int(asked.json()["id"])
    answered = staff.post(
        f"{base}/api/staff/questions/{question}/answer",
        json={"body": ANSWER if title else "Kiitos kysymyksestä, tässä vastaus.", "publish": True},
        timeout=10,
    )
    assert answered.status_code == 200, answered.text
    return question


@pytest.fixture
def server(tmp_path: Path, database_url: str | None) -> Iterator[LiveServer]:
    """A board with one answered question about unemployment benefit among others."""
    live = LiveServer(tmp_path, database_url)
    live.env["KOPPI_LIMIT_ASK_ADDRESS"] = "100/3600"
    live.cli("migrate")
    live.cli("create-staff", "sanna", "--role", "counsellor", "--name", "Sanna", stdin=PASSWORD)
    with live.running(), requests.Session() as staff:
        signed_in = staff.post(
            live.url + "/api/staff/login",
            json={"username": "sanna", "password": PASSWORD},
            timeout=10,
        )
        assert signed_in.status_code == 200, signed_in.text
        for n in range(8):
            _publish(live.url, staff, f"Kysymys {n} kesätyöstä, kahvilasta ja kaupan kassasta.")
        _publish(live.url, staff, ASKED, TITLE)
        yield live


def _box(page: Page, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box


def test_similar_questions_show_while_typing_and_open_in_place(
    server: LiveServer, browser: Browser
) -> None:
    shots = output_dir() / "phone-first"
    shots.mkdir(parents=True, exist_ok=True)
    problems = Problems()
    page = problems.watch(browser.new_context(viewport=PHONE).new_page())
    asked: list[str] = []

    def count(request: Request) -> None:
        if SIMILAR in request.url:
            asked.append(request.url)

    page.on("request", count)
    page.goto(server.url + "/ask")
    similar = page.locator("#similar")
    expect(similar).to_be_hidden()

    # Typed as a person types: no request while the fingers move, one after the pause.
    body = page.locator("#body")
    body.press_sequentially(TYPED, delay=25)
    expect(similar).to_be_visible()
    items = similar.locator(".similar-item")
    expect(items).to_have_count(1)
    expect(items.first.locator("h3")).to_have_text(TITLE)
    expect(items.first.locator(".similar-category")).to_have_text("Raha ja etuudet")
    expect(page.locator("#similar-status")).to_have_text(
        "1 vastattu kysymys muistuttaa sinun kysymystäsi."
    )
    assert len(asked) == 1, asked
    assert "text=Hei!%20Saanko" in asked[0] and "lang=fi" in asked[0]

    # The same words again (a space added and taken away): nothing is asked again.
    body.press("End")
    body.press("Space")
    body.press("Backspace")
    page.wait_for_timeout(700)
    assert len(asked) == 1, asked

    # The answer opens under its question; the page and the typed text stay.
    opener = items.first.get_by_role("button", name="Näytä vastaus")
    assert _box(page, "#similar .similar-open")["height"] >= 44
    assert _box(page, "#similar-toggle")["height"] >= 44
    opener.click()
    answer = items.first.locator(".similar-answer")
    expect(answer).to_be_visible()
    expect(answer).to_contain_text(ANSWER)
    expect(answer).to_contain_text("Sosiaaliohjaaja Sanna")
    expect(items.first.get_by_role("button", name="Piilota vastaus")).to_have_attribute(
        "aria-expanded", "true"
    )
    assert body.input_value() == TYPED
    assert page.url == server.url + "/ask"
    # The phone's screen as the young person sees it: their text above, the answer below.
    body.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(shots / "ask-similar.png"))
    problems_found = axe_violations(page)
    assert not problems_found, readable("/ask with similar questions", problems_found)

    # Typing on keeps the opened answer open while its question still matches.
    body.press("End")
    body.press_sequentially(" Kela kysyi lisätietoja.", delay=25)
    page.wait_for_timeout(900)
    assert len(asked) == 2, asked
    expect(answer).to_be_visible()

    # The heading folds the list away and opens it again.
    toggle = page.locator("#similar-toggle")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(similar.locator(".similar-items")).to_be_hidden()
    toggle.click()
    expect(similar.locator(".similar-items")).to_be_visible()

    # Text with nothing like it on the board hides the box again, silently.
    body.fill("")
    body.press_sequentially("Harrastan kitaransoittoa ja sählyä.", delay=10)
    expect(similar).to_be_hidden()
    expect(page.locator("#similar-status")).to_have_text("")
    assert body.input_value() == "Harrastan kitaransoittoa ja sählyä."
    assert not problems, problems


def test_without_javascript_nothing_shows_and_the_form_works(
    server: LiveServer, browser: Browser
) -> None:
    page = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
    page.goto(server.url + "/ask")
    page.select_option("#category", "raha")
    page.fill("#body", TYPED)
    expect(page.locator("#similar")).to_be_hidden()
    page.check("input[name=publish][value=yes]")
    page.click("form.ask button[type=submit]")
    expect(page).to_have_url(re.compile(r"/ask/received|/f/"))


def test_in_swedish_everything_shown_is_swedish(server: LiveServer, browser: Browser) -> None:
    page = browser.new_context(viewport=PHONE).new_page()
    # A Finnish page first: a label worked out once would then stay Finnish for everyone.
    page.goto(server.url + "/ask?lang=fi")
    page.goto(server.url + "/ask?lang=sv")
    page.locator("#body").fill(TYPED)
    item = page.locator("#similar .similar-item").first
    expect(page.locator("#similar-toggle")).to_have_text("Redan besvarade: liknande frågor")
    expect(item.locator(".similar-category")).to_have_text("Pengar och förmåner")
    expect(page.locator("#similar-status")).to_have_text("1 besvarad fråga liknar din.")
    item.get_by_role("button", name="Visa svaret").click()
    expect(item.locator(".similar-answer")).to_contain_text("Socialhandledare Sanna")
