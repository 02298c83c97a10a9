"""Text people see: nothing invisible-only, no bidi overrides or control characters, and no
bytes silently turned into U+FFFD, on the ask form, the JSON API and the chat sockets alike."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from moderation.text import clean, has_visible
from service.settings import Settings
from tests.chat_clients import Staff, Visitor
from tests.conftest import ask, rows

GOOD_TEXT = "Voinko saada palkkatukea, jos olen ollut työttömänä puoli vuotta?"
INVISIBLE = [
    "\u200b" * 40,  # zero-width spaces
    "\u2060\ufeff" * 10,  # word joiners and byte-order marks
    "\u0301\u0308" * 10,  # combining marks with nothing to sit on
    " \t\u3000\u3164\u2800" * 4,  # spaces, Hangul filler, braille blank
    "\u202e\u2066\u200b" * 10,  # bidi controls around nothing
]
# Right-to-left override: "gpj.exe" would read as "exe.jpg" to staff.
DISGUISED = "Katso liite \u202egpj.exe ja \u2066eristetty\u2069 sekä \x85C1\x9b-merkit."
CLEAN = "Katso liite gpj.exe ja eristetty sekä C1-merkit."


@pytest.mark.parametrize("text", INVISIBLE)
def test_the_rule_finds_nothing_visible(text: str) -> None:
    assert not has_visible(clean(text))


def test_the_rule_removes_overrides_and_controls_but_keeps_marks_rtl_text_needs() -> None:
    assert clean(DISGUISED) == CLEAN
    hebrew = "שלום\u200f (Koppi)"  # RLM keeps the parenthesis where a Hebrew reader expects it
    assert clean(hebrew) == hebrew and has_visible(hebrew)
    assert has_visible(clean("👍")) and has_visible("\U0001fae8"), "emoji, even unassigned ones"
    assert clean("rivi 1\r\nrivi\t2") == "rivi 1\nrivi\t2"


@pytest.mark.parametrize("text", INVISIBLE)
async def test_the_ask_form_refuses_invisible_text_naming_the_field(
    client: TestClient, settings: Settings, text: str
) -> None:
    response = await client.post(
        "/ask", data={"category": "raha", "body": text, "publish": "yes"}, allow_redirects=False
    )
    page = await response.text()
    assert response.status == 400
    assert 'id="body-error"' in page and "ei ole yhtään näkyvää merkkiä" in page
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(0,)]


async def test_an_invisible_title_is_refused_too(client: TestClient, settings: Settings) -> None:
    response = await client.post(
        "/ask",
        data={"category": "raha", "title": "\u200b\u200b", "body": GOOD_TEXT, "publish": "yes"},
    )
    assert response.status == 400 and 'id="title-error"' in await response.text()
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(0,)]


async def test_the_api_refuses_invisible_text_naming_the_field(
    client: TestClient, settings: Settings
) -> None:
    for text in INVISIBLE:
        response = await client.post(
            "/api/questions", json={"body": text, "category": "raha", "publish": True}
        )
        assert response.status == 400, text
        assert "näkyvää" in (await response.json())["errors"]["body"]
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(0,)]


async def test_a_minimum_length_counts_only_characters_that_show(
    client: TestClient, settings: Settings
) -> None:
    padded = "Apua" + "\u200b" * 20  # four letters and twenty zero-width spaces
    response = await client.post(
        "/api/questions", json={"body": padded, "category": "raha", "publish": True}
    )
    assert response.status == 400
    assert "vähintään 10" in (await response.json())["errors"]["body"]
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(0,)]


async def test_overrides_and_controls_are_removed_on_the_form_and_the_api(
    client: TestClient, settings: Settings
) -> None:
    posted = await client.post(
        "/ask", data={"category": "raha", "body": DISGUISED, "publish": "yes"}
    )
    assert posted.status == 200
    await ask(client, body=DISGUISED, title="\u202dOtsikko\u202c\x9f")
    stored = rows(settings, "SELECT title, body FROM questions ORDER BY id")
    assert stored == [(None, CLEAN), ("Otsikko", CLEAN)]


@pytest.mark.parametrize(
    "raw",
    [
        b"category=raha&publish=yes&body=Kysymys+%FF%FE+rikki",  # percent-escaped bytes
        b"category=raha&publish=yes&body=Kysymys \xc3\x28 rikki",  # raw bytes
    ],
)
async def test_a_form_with_bytes_that_are_not_utf8_is_refused_naming_the_field(
    client: TestClient, settings: Settings, raw: bytes
) -> None:
    response = await client.post(
        "/ask", data=raw, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    page = await response.text()
    assert response.status == 400, page
    assert "Kentässä body on tavuja, jotka eivät ole tekstiä" in page
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(0,)]


async def test_a_real_replacement_character_typed_by_the_asker_is_kept(
    client: TestClient, settings: Settings
) -> None:
    body = "Kopioin tekstin ja siinä oli \ufffd-merkki, mitä se tarkoittaa?"
    response = await client.post(
        "/ask", data={"category": "raha", "body": body, "publish": "yes"}, allow_redirects=False
    )
    assert response.status == 303
    assert rows(settings, "SELECT body FROM questions") == [(body,)]


async def test_chat_start_and_send_refuse_invisible_text_and_remove_overrides(
    client: TestClient,
    settings: Settings,
    on_duty: Callable[..., Awaitable[Staff]],
    visitor: Callable[..., Awaitable[Visitor]],
) -> None:
    mikko = await on_duty("mikko", "adviser", "Mikko")
    v = await visitor()
    for text in INVISIBLE:
        refused = await v.start(text)
        assert refused["error"] == "invalid" and refused["field"] == "text", text
    assert rows(settings, "SELECT COUNT(*) FROM chats") == [(0,)]
    started = await v.start(DISGUISED)
    assert "message_id" in started, started
    chat_id = (await mikko.own_chat_ids(1))[0]
    for text in INVISIBLE:
        refused = await v.send(text)
        assert refused["error"] == "invalid" and refused["field"] == "text", text
        refused = await mikko.send(chat_id, text)
        assert refused["error"] == "invalid" and refused["field"] == "text", text
    assert "id" in await v.send(DISGUISED)
    assert "id" in await mikko.send(chat_id, DISGUISED)
    stored = rows(settings, "SELECT sender, text FROM chat_messages ORDER BY id")
    assert [text for _, text in stored if text != CLEAN] == [], stored
    assert len(stored) >= 3
