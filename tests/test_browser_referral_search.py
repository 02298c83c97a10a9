"""In headless Chromium: a counsellor types an answer, searches the directory, ticks a service
found, and the typed answer, its cursor and the services already ticked are all still there;
without JavaScript the search posts the draft and the page comes back with it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import APIRequestContext, Browser, Page, expect

from tests.live_server import ROOT, LiveServer, output_dir
from tests.test_browser_chat import Problems

pytestmark = pytest.mark.browser
PASSWORD = "browser-test-password"
QUESTION = "Minulla on velkaa ja haen töitä, mistä saisin apua?"
TYPED = "Hei! Kannattaa ottaa yhteyttä näihin palveluihin. Ne auttavat maksutta."
DEMO = json.loads((ROOT / "web/demo/directory.json").read_text(encoding="utf-8"))


def service(fragment: str) -> dict[str, Any]:
    """A demo service, its name as the English page shows it."""
    found = dict(next(s for s in DEMO if fragment in s["name"]))
    found["name"] = found.get("translations", {}).get("en", {}).get("name") or found["name"]
    return found


@pytest.fixture
def server(tmp_path: Path, database_url: str | None) -> Iterator[LiveServer]:
    koppi = LiveServer(tmp_path, database_url)
    koppi.cli("migrate")
    koppi.cli("directory", "import", str(ROOT / "web/demo/directory.json"))
    koppi.cli(
        "create-staff", "sanna", "--role", "counsellor", "--name", "Sanna", stdin=PASSWORD + "\n"
    )
    with koppi.running():
        yield koppi


def _asked(request: APIRequestContext, url: str) -> int:
    asked = request.post(
        url + "/api/questions", data={"body": QUESTION, "category": "tyonhaku", "publish": True}
    )
    assert asked.status == 201, asked.text()
    return int(asked.json()["id"])


def _claimed_by_sanna(browser: Browser, url: str, *, javascript: bool) -> tuple[Page, int]:
    """Sanna signed in (the session cookie in the browser), on a question she has claimed."""
    context = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1100, "height": 900}
    )
    page = context.new_page()
    signed_in = page.request.post(
        url + "/api/staff/login", data={"username": "sanna", "password": PASSWORD}
    )
    assert signed_in.status == 200, signed_in.text()
    question_id = _asked(page.request, url)
    page.goto(f"{url}/staff/questions/{question_id}?lang=en")
    page.get_by_role("button", name="Claim this question").click()
    expect(page.locator("#answer-body")).to_be_visible()
    return page, question_id


def _ticked(page: Page) -> list[str]:
    return list(
        page.eval_on_selector_all(
            "#referral-options input[name=services]:checked", "boxes => boxes.map(b => b.value)"
        )
    )


def _selection(page: Page) -> list[int]:
    return list(page.eval_on_selector("#answer-body", "el => [el.selectionStart, el.selectionEnd]"))


def test_search_keeps_the_answer_its_cursor_and_cards(server: LiveServer, browser: Browser) -> None:
    shots, url = output_dir(), server.url
    problems = Problems()
    page, question_id = _claimed_by_sanna(browser, url, javascript=True)
    problems.watch(page)
    ohjaamo, debt = service("Ohjaamo"), service("velkaneuvonta")

    answer = page.locator("#answer-body")
    answer.click()
    page.keyboard.type(TYPED)
    # The cursor before "Ne auttavat …", as if she went back to add something there.
    for _ in range(len("Ne auttavat maksutta.")):
        page.keyboard.press("ArrowLeft")
    cursor = len(TYPED) - len("Ne auttavat maksutta.")
    assert _selection(page) == [cursor, cursor]
    page.get_by_role("checkbox", name=re.compile("^" + re.escape(ohjaamo["name"]))).check()
    page.evaluate("window.notReloaded = true")
    page.screenshot(path=str(shots / "referral-search-before.png"), full_page=True)

    # By keyboard: type the words, Enter searches (and sends nothing).
    page.locator("#find").fill("velka")
    page.locator("#find").press("Enter")
    status = page.locator("#referral-status")
    expect(status).to_have_text(re.compile(r"^\d+ services? found\."))
    expect(status).to_have_attribute("aria-live", "polite")
    found = page.get_by_role("checkbox", name=re.compile("^" + re.escape(debt["name"])))
    expect(found).to_be_visible()
    assert page.evaluate("window.notReloaded") is True, "the page was not reloaded"
    assert page.url.endswith(f"/staff/questions/{question_id}")
    assert answer.input_value() == TYPED
    assert _selection(page) == [cursor, cursor], "the cursor stays where it was"
    assert _ticked(page) == [ohjaamo["id"]], "the service ticked before the search stays ticked"

    found.focus()
    page.keyboard.press("Space")
    assert _ticked(page) == [ohjaamo["id"], debt["id"]]
    page.screenshot(path=str(shots / "referral-search-found.png"), full_page=True)
    # Back in the answer, typing goes in where the cursor was left.
    answer.focus()
    page.keyboard.type("Kirjoita heille. ")
    final = TYPED[:cursor] + "Kirjoita heille. " + TYPED[cursor:]
    assert answer.input_value() == final

    page.locator("input[name=publish][value=no]").check()
    page.get_by_role("button", name="Send the answer").click()
    expect(page).to_have_url(re.compile(rf"/staff/questions/{question_id}$"))
    state = page.request.get(f"{url}/api/staff/questions/{question_id}").json()
    assert state["answers"][0]["body"] == final
    assert state["answers"][0]["referrals"] == [ohjaamo["id"], debt["id"]]
    expect(page.locator(".referral-card")).to_have_count(2)
    page.screenshot(path=str(shots / "referral-search-sent.png"), full_page=True)
    assert problems == []


def test_search_without_javascript_posts_the_draft(server: LiveServer, browser: Browser) -> None:
    page, question_id = _claimed_by_sanna(browser, server.url, javascript=False)
    ohjaamo, debt = service("Ohjaamo"), service("velkaneuvonta")
    page.locator("#answer-body").fill(TYPED)
    page.get_by_role("checkbox", name=re.compile("^" + re.escape(ohjaamo["name"]))).check()
    page.locator("input[name=publish][value=no]").check()
    page.locator("#find").fill("velka")
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/staff/questions/{question_id}/find$"))
    expect(page.locator("#referral-status")).to_have_text(re.compile(r"services? found"))
    expect(page.locator("#answer-body")).to_have_value(TYPED)
    expect(page.locator("input[name=publish][value=no]")).to_be_checked()
    assert _ticked(page) == [ohjaamo["id"]]
    page.get_by_role("checkbox", name=re.compile("^" + re.escape(debt["name"]))).check()
    page.screenshot(path=str(output_dir() / "referral-search-no-js.png"), full_page=True)
    page.get_by_role("button", name="Send the answer").click()
    expect(page).to_have_url(re.compile(rf"/staff/questions/{question_id}$"))
    state = page.request.get(f"{server.url}/api/staff/questions/{question_id}").json()
    assert state["answers"][0]["body"] == TYPED
    assert state["answers"][0]["referrals"] == [ohjaamo["id"], debt["id"]]
