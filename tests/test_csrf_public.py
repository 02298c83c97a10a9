"""Cross-site posts: the public forms refuse a foreign or hidden (`null`) Origin, and staff
forms' CSRF anchor is renewed at sign-in and sign-out."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from playwright.sync_api import Request, expect, sync_playwright

from service.settings import Settings
from tests.conftest import PASSWORD, add_staff, ask, csrf_token, rows
from tests.live_server import BROWSER_ARGS, LiveServer, chromium_path

GOOD_TEXT = "Voinko saada palkkatukea, jos olen ollut työttömänä puoli vuotta?"
FORM = {"category": "raha", "body": GOOD_TEXT, "publish": "yes"}


def _own_origin(client: TestClient) -> str:
    return str(client.make_url("/").origin())


async def test_the_ask_form_refuses_a_hidden_or_foreign_origin(
    client: TestClient, settings: Settings
) -> None:
    refused = [
        {"Origin": "null"},  # a cross-site page under no-referrer, or a sandboxed frame
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "null", "Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
    ]
    client.session.cookie_jar.update_cookies({"lang": "en"})
    for headers in refused:
        response = await client.post("/ask", data=FORM, headers=headers, allow_redirects=False)
        page = await response.text()
        assert response.status == 403, headers
        assert "another site" in page, headers
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(0,)]


async def test_the_ask_form_from_this_site_still_works(
    client: TestClient, settings: Settings
) -> None:
    accepted = [
        {"Origin": _own_origin(client)},
        # What a browser may send from our own page (a privacy setting, or a page cached from
        # when our policy was no-referrer): null, with an unforgeable Sec-Fetch-Site.
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        {},  # no Origin: curl and old browsers, as on staff forms
    ]
    for headers in accepted:
        response = await client.post("/ask", data=FORM, headers=headers, allow_redirects=False)
        assert response.status == 303, (headers, await response.text())
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(3,)]


async def test_the_follow_up_delete_form_refuses_a_hidden_origin(
    client: TestClient, settings: Settings
) -> None:
    created = await ask(client)
    path = f"/f/{created['code']}/delete"
    refused = await client.post(path, data={"confirm": "yes"}, headers={"Origin": "null"})
    assert refused.status == 403
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(1,)]
    own = {"Origin": _own_origin(client)}
    deleted = await client.post(path, data={"confirm": "yes"}, headers=own)
    assert deleted.status == 200
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(0,)]


async def test_the_json_api_refuses_a_hidden_origin(client: TestClient, settings: Settings) -> None:
    body = {"body": GOOD_TEXT, "category": "raha", "publish": True}
    response = await client.post("/api/questions", json=body, headers={"Origin": "null"})
    assert response.status == 403
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(0,)]


async def test_a_token_from_before_sign_in_is_refused_after_it(client: TestClient) -> None:
    await add_staff(client, "sanna", "counsellor")
    before = csrf_token(await (await client.get("/staff/login")).text())
    signed_in = await client.post(
        "/staff/login",
        data={"username": "sanna", "password": PASSWORD, "csrf_token": before},
        allow_redirects=False,
    )
    assert signed_in.status == 303
    stale = await client.post("/staff/logout", data={"csrf_token": before}, allow_redirects=False)
    assert stale.status == 403, "a token seen before sign-in must not work in the session"
    assert (await client.get("/staff/queue", allow_redirects=False)).status == 200
    during = csrf_token(await (await client.get("/staff/queue")).text())
    assert during != before
    out = await client.post("/staff/logout", data={"csrf_token": during}, allow_redirects=False)
    assert out.status == 303
    after = csrf_token(await (await client.get("/staff/login")).text())
    assert after not in (before, during), "sign-out renews the anchor too"
    again = await client.post(
        "/staff/login",
        data={"username": "sanna", "password": PASSWORD, "csrf_token": during},
        allow_redirects=False,
    )
    assert again.status == 403, "the signed-out session's token is worthless"


@pytest.mark.browser
def test_chromium_asks_and_deletes_through_the_forms(
    tmp_path: Path, database_url: str | None
) -> None:
    """With scripts, the forms are sent by fetch; without, Chromium sends the form itself.
    Either way our `same-origin` referrer policy lets it name our Origin, which the forms
    need from browsers that send no Sec-Fetch-Site."""
    server = LiveServer(tmp_path, database_url)
    server.cli("migrate")
    sent: dict[bool, list[tuple[str | None, str | None]]] = {True: [], False: []}
    with server.running(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            for scripts in (True, False):
                page = browser.new_context(java_script_enabled=scripts).new_page()

                def record(request: Request, posts: list[tuple[str | None, str | None]]) -> None:
                    if request.method == "POST":
                        headers = request.all_headers()
                        posts.append((headers.get("origin"), headers.get("sec-fetch-site")))

                page.on("request", functools.partial(record, posts=sent[scripts]))
                page.goto(server.url + "/ask")
                page.select_option("#category", "tyopajat")
                page.fill("#body", GOOD_TEXT)
                page.check("input[name=publish][value=yes]")
                page.click("form.ask button[type=submit]")
                expect(page.locator(".code-notice")).to_be_visible()
                page.check("form.delete input[name=confirm]")
                page.click("form.delete button[type=submit]")
                expect(page.locator("main h1")).to_have_text("Kysymyksesi on poistettu")
        finally:
            browser.close()
    assert sent[True] == [(server.url, "same-origin")] * 2
    assert sent[False] == [(server.url, "same-origin")] * 2
