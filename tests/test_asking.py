"""Asking anonymously through the form and the API, and every refusal on the way in."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from service.settings import Settings
from tests.conftest import ask, dump, rows

GOOD_TEXT = "Voinko saada palkkatukea, jos olen ollut työttömänä puoli vuotta?"


async def test_form_success_redirects_to_private_code_page(
    client: TestClient, settings: Settings
) -> None:
    response = await client.post(
        "/ask",
        data={"category": "raha", "title": "Palkkatuki", "body": GOOD_TEXT, "publish": "yes"},
        allow_redirects=False,
    )
    assert response.status == 303
    location = response.headers["Location"]
    match = re.fullmatch(r"/f/(KOPPI(?:-[0-9A-HJKMNP-TV-Z]{4}){5})\?new=1", location)
    assert match, location
    code = match.group(1)
    page = await client.get(location)
    text = await page.text()
    assert page.status == 200
    assert code in text and GOOD_TEXT in text
    assert page.headers["Cache-Control"] == "no-store"
    stored = rows(settings, "SELECT body, title, publish_allowed, status FROM questions")
    assert stored == [(GOOD_TEXT, "Palkkatuki", 1, "pending")]
    assert code not in dump(settings), "the code itself must never be stored"


async def test_form_errors_keep_text_and_name_each_field(
    client: TestClient, settings: Settings
) -> None:
    response = await client.post(
        "/ask", data={"category": "nope", "title": "x" * 151, "body": "lyhyt", "publish": "yes"}
    )
    text = await response.text()
    assert response.status == 400
    assert (
        'id="body-error"' in text and 'id="category-error"' in text and 'id="title-error"' in text
    )
    assert ">lyhyt</textarea>" in text, "the asker's words are kept"
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(0,)]


async def test_form_missing_publish_choice_is_an_error(client: TestClient) -> None:
    response = await client.post("/ask", data={"category": "raha", "body": GOOD_TEXT})
    assert response.status == 400
    assert 'id="publish-error"' in await response.text()


async def test_honeypot_stores_nothing(client: TestClient, settings: Settings) -> None:
    response = await client.post(
        "/ask",
        data={"category": "raha", "body": GOOD_TEXT, "publish": "yes", "website": "http://spam"},
        allow_redirects=False,
    )
    assert response.status == 200
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(0,)]


async def test_api_ask_returns_code_and_records_event(
    client: TestClient, settings: Settings
) -> None:
    created = await ask(client, body=GOOD_TEXT, category="raha", publish=False)
    assert created["status"] == "pending"
    assert re.fullmatch(r"KOPPI(?:-[0-9A-HJKMNP-TV-Z]{4}){5}", created["code"])
    events = rows(settings, "SELECT kind, category, channel, detail FROM usage_events")
    assert events == [("question_asked", "raha", "question", '{"publish_allowed": false}')]


async def test_api_reports_every_bad_field(client: TestClient) -> None:
    response = await client.post(
        "/api/questions", json={"body": "", "category": "x", "publish": "maybe", "title": 5}
    )
    assert response.status == 400
    errors = (await response.json())["errors"]
    assert set(errors) == {"body", "category", "publish", "title"}


async def test_api_refuses_oversize_text(client: TestClient) -> None:
    response = await client.post(
        "/api/questions", json={"body": "a" * 4001, "category": "raha", "publish": True}
    )
    assert response.status == 400
    assert "4000" in (await response.json())["errors"]["body"]
    ok = await client.post(
        "/api/questions", json={"body": "a" * 4000, "category": "raha", "publish": True}
    )
    assert ok.status == 201


async def test_api_refuses_huge_body_non_json_and_foreign_origin(client: TestClient) -> None:
    huge = await client.post(
        "/api/questions",
        data=b'{"body": "' + b"a" * 400_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert huge.status == 413
    form = await client.post("/api/questions", data={"body": GOOD_TEXT})
    assert form.status == 415
    foreign = await client.post(
        "/api/questions",
        json={"body": GOOD_TEXT, "category": "raha", "publish": True},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status == 403
    broken = await client.post(
        "/api/questions", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status == 400
    assert "body" in (await broken.json())["errors"]


async def test_no_client_address_is_stored(client: TestClient, settings: Settings) -> None:
    await ask(client)
    await client.post("/ask", data={"category": "raha", "body": GOOD_TEXT, "publish": "no"})
    assert "127.0.0.1" not in dump(settings)
