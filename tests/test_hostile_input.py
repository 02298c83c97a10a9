"""Odd and hostile input gets a 4xx naming the problem, never a 500, and leaks nothing."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from service.http.private_log import AccessLogger, mask_path
from service.settings import Settings
from tests.conftest import PASSWORD, add_staff, ask, rows


@pytest.mark.parametrize(
    "path", ["/?page=²", "/api/questions?page=%C2%B2", "/api/questions?page=1e3"]
)
async def test_non_ascii_digits_in_page_are_refused(client: TestClient, path: str) -> None:
    response = await client.get(path)
    assert response.status == 400


async def test_non_ascii_digits_in_ids_are_not_found(client: TestClient) -> None:
    assert (await client.get("/q/²")).status == 404
    assert (await client.get("/api/questions/²")).status == 404


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"body": ' + b"1" * 5000 + b"}", "application/json"),
        (b"[" * 50_000 + b"]" * 50_000, "application/json"),
        (
            b'{"body": "\\ud800 kysymys on t\\u00e4ss\\u00e4", "category": "raha",'
            b' "publish": true}',
            "application/json",
        ),
        (b'{"body": "ok"}', "application/json; charset=bogus"),
        (b'{"body": "\xff\xfe"}', "application/json"),
    ],
)
async def test_malformed_json_is_a_400_naming_the_body(
    client: TestClient, body: bytes, content_type: str
) -> None:
    response = await client.post(
        "/api/questions", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == 400
    assert "body" in (await response.json())["errors"]


async def test_lone_surrogate_in_login_is_refused(client: TestClient) -> None:
    response = await client.post(
        "/api/staff/login",
        data=b'{"username": "\\ud800", "password": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400


async def test_undecodable_form_and_file_upload_are_refused(
    client: TestClient, settings: Settings
) -> None:
    raw = await client.post(
        "/ask",
        data=b"body=\xff\xfe&category=raha&publish=yes",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=bogus"},
    )
    assert raw.status == 400
    upload = FormData()
    upload.add_field("category", "raha")
    upload.add_field("publish", "yes")
    upload.add_field("body", b"file contents here", filename="hostname")
    uploaded = await client.post("/ask", data=upload)
    assert uploaded.status == 400 and "body" in await uploaded.text()
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(0,)]


async def test_parallel_guesses_cannot_outrun_the_lock(client: TestClient) -> None:
    await add_staff(client, "koordinaattori", "coordinator")
    guesses = [
        client.post(
            "/api/staff/login", json={"username": "koordinaattori", "password": f"wrong{n}"}
        )
        for n in range(30)
    ]
    right = client.post(
        "/api/staff/login", json={"username": "koordinaattori", "password": PASSWORD}
    )
    statuses = [r.status for r in await asyncio.gather(*guesses, right)]
    assert statuses[-1] == 401, "the right password arrives after five failures and is locked out"
    assert set(statuses) == {401}
    again = await client.post(
        "/api/staff/login", json={"username": "koordinaattori", "password": PASSWORD}
    )
    assert again.status == 401 and "15" in (await again.json())["error"]


async def test_cached_search_page_never_shows_another_visitors_words(client: TestClient) -> None:
    private = "minä olen huolissani koska en saa töitä Matti Meikäläinen 0401234567"
    await client.get("/", params={"q": private})
    page = await (
        await client.get("/", params={"q": "minä olen huolissani koska en saa töitä"})
    ).text()
    assert "Meikäläinen" not in page and "0401234567" not in page


async def test_language_links_stay_local_and_keep_only_known_parameters(client: TestClient) -> None:
    base = str(client.make_url("/")).rstrip("/")
    page = await (await client.session.get(base + "//evil.example/x")).text()
    assert 'href="//evil.example' not in page
    assert 'href="/evil.example/x?lang=en"' in page
    board = await (await client.get("/", params={"q": "kela", "secret": "Matti"})).text()
    assert 'href="/?q=kela&amp;lang=en"' in board
    assert "Matti" not in board


async def test_ask_form_does_not_preset_consent_to_publish(client: TestClient) -> None:
    page = await (await client.get("/ask")).text()
    assert "checked" not in page


def test_codes_are_masked_in_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    code = "AHxYfcI7dBvcSxejrwGzMcNr"
    assert mask_path(f"/f/{code}/delete") == "/f/…/delete"
    assert mask_path(f"/api/followup/{code}") == "/api/followup/…"
    assert mask_path("/q/12") == "/q/12"

    class Request:
        method, path = "GET", f"/f/{code}"

    class Response:
        status, body_length = 200, 512

    logger = logging.getLogger("test.access")
    with caplog.at_level(logging.INFO, logger="test.access"):
        AccessLogger(logger, "").log(Request(), Response(), 0.001)  # type: ignore[arg-type]
    assert code not in caplog.text and "/f/…" in caplog.text and "127.0.0.1" not in caplog.text


async def test_search_finds_inflected_short_word(client: TestClient, staff_client) -> None:  # type: ignore[no-untyped-def]
    adviser = await staff_client("mikko", "adviser")
    created = await ask(
        client, body="Voinko saada asumistukea, jos asun kimppakämpässä?", category="raha"
    )
    await adviser.post(
        f"/api/staff/questions/{created['id']}/answer", json={"body": "Voit.", "publish": True}
    )
    found = await (await client.get("/api/questions", params={"q": "tuki"})).json()
    assert [q["id"] for q in found["items"]] == [created["id"]]
