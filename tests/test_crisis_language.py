"""Crisis help on the ask form, the asker's follow-up page and the JSON API comes in the page's
language, with that language's crisis line, and says so when the crisis words were written in
another language."""

from __future__ import annotations

import json
import re

from aiohttp.test_utils import TestClient

from service import i18n
from service.settings import Settings
from tests.conftest import rows

FINNISH_CRISIS = "Haluan kuolla, en jaksa enää hakea töitä. Mitä teen?"
SWEDISH_CRISIS = "Jag vill dö, jag orkar inte söka jobb längre. Vad gör jag?"
PHONE = " Ring mig på 040 123 4567."
IN_FINNISH = (
    "We saw words in Finnish that may point to a crisis. The help is shown in the language"
    " of this page."
)


def _in(lang: str, message: str) -> str:
    with i18n.speaking(lang):
        return i18n.gettext(message)


def _form(body: str, **extra: str) -> dict[str, str]:
    return {"category": "tyonhaku", "title": "", "body": body, "publish": "no", **extra}


def _note(page: str) -> str | None:
    """The crisis help's note as shown, or None when it is hidden."""
    found = re.search(r'<p class="crisis-note" data-part="crisis-note"( hidden)?>([^<]*)</p>', page)
    assert found, "no crisis help on the page"
    return None if found[1] else found[2]


def _swedish_help(page: str, settings: Settings) -> None:
    assert '<html lang="sv">' in page
    assert 'class="crisis-help"' in page and settings.crisis_phones["sv"] == "09 2525 0112"
    assert "09 2525 0112" in page and settings.crisis_phones["fi"] not in page


async def test_a_swedish_page_notes_finnish_crisis_words_on_the_form_and_follow_up_page(
    client: TestClient, settings: Settings
) -> None:
    note = _in("sv", IN_FINNISH)
    assert note != IN_FINNISH and note.startswith("Vi såg ord på finska"), note

    # With personal details the form comes back unsent, already with the help and the note.
    warned = await client.post("/ask?lang=sv", data=_form(FINNISH_CRISIS + PHONE))
    page = await warned.text()
    assert warned.status == 422 and 'id="personal-warning"' in page
    _swedish_help(page, settings)
    assert _note(page) == note

    sent = await client.post(
        "/ask?lang=sv", data=_form(FINNISH_CRISIS + PHONE, personal_ok="yes"), allow_redirects=False
    )
    assert sent.status == 303, await sent.text()
    followup = sent.headers["Location"]
    page = await (await client.get(followup)).text()
    _swedish_help(page, settings)
    assert _note(page) == note
    # The language is kept with the question's crisis flag, so the page says it again later.
    (flags,) = rows(settings, "SELECT flags FROM questions")[0]
    assert {"phrase": "haluan kuolla", "action": "crisis", "lang": "fi"} in json.loads(flags)
    again = await (await client.get(followup.replace("?new=1", ""))).text()
    assert _note(again) == note

    # The same page in Finnish has nothing to note: the words were in the page's language.
    finnish = await (await client.get(followup.replace("?new=1", "") + "?lang=fi")).text()
    assert '<html lang="fi">' in finnish and "09 2525 0111" in finnish
    assert _note(finnish) is None


async def test_a_question_stored_without_the_language_shows_help_without_a_note(
    client: TestClient, settings: Settings
) -> None:
    sent = await client.post("/ask?lang=sv", data=_form(FINNISH_CRISIS), allow_redirects=False)
    assert sent.status == 303
    rows(settings, "UPDATE questions SET flags = ?", ('[{"phrase": "x", "action": "crisis"}]',))
    page = await (await client.get(sent.headers["Location"])).text()
    _swedish_help(page, settings)
    assert _note(page) is None


async def test_a_finnish_page_with_finnish_crisis_words_has_no_note(
    client: TestClient, settings: Settings
) -> None:
    warned = await client.post("/ask?lang=fi", data=_form(FINNISH_CRISIS + PHONE))
    page = await warned.text()
    assert warned.status == 422 and "09 2525 0111" in page
    assert _note(page) is None
    sent = await client.post("/ask?lang=fi", data=_form(FINNISH_CRISIS), allow_redirects=False)
    page = await (await client.get(sent.headers["Location"])).text()
    assert "09 2525 0111" in page and _note(page) is None
    # A Swedish phrase on the Finnish page is noted, in Finnish.
    sent = await client.post("/ask?lang=fi", data=_form(SWEDISH_CRISIS), allow_redirects=False)
    page = await (await client.get(sent.headers["Location"])).text()
    in_swedish = (
        "We saw words in Swedish that may point to a crisis. The help is shown in the"
        " language of this page."
    )
    assert _note(page) == _in("fi", in_swedish) != in_swedish


async def test_the_json_api_notes_the_crisis_words_language(
    client: TestClient, settings: Settings
) -> None:
    note = _in("sv", IN_FINNISH)
    body = {"body": FINNISH_CRISIS + PHONE, "category": "tyonhaku", "publish": False}
    warned = await client.post("/api/questions?lang=sv", json=body)
    assert warned.status == 422
    help_ = (await warned.json())["crisis_help"]
    assert help_ == {
        "emergency": "112",
        "crisis_line": settings.crisis_phones["sv"],
        "chat_url": settings.crisis_chat_url,
        "note": note,
    }
    sent = await client.post(
        "/api/questions?lang=sv", json={**body, "personal_data_confirmed": True}
    )
    assert sent.status == 201
    assert (await sent.json())["crisis_help"]["note"] == note

    finnish = await client.post(
        "/api/questions?lang=fi", json={**body, "personal_data_confirmed": True}
    )
    help_ = (await finnish.json())["crisis_help"]
    assert help_["crisis_line"] == settings.crisis_phones["fi"] and "note" not in help_
