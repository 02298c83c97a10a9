"""A question's way through the safety checks: personal details, watched words, crisis help,
the staff queue's order, masking and the confirmed publish."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiohttp.test_utils import TestClient

from moderation import actions, intake
from moderation.filters.personal_data import LABELS
from moderation.watched_word_admin import WATCHLIST_CHANGED
from service import i18n, keys
from service.app import create_app
from service.settings import Limit, Settings
from service.storage import watched_words
from tests.conftest import ask, csrf_token, rows

PHONE = "Soita mulle numeroon 040 123 4567, en osaa täyttää työnhakulomaketta."
CRISIS = "En jaksa enää mitään, haluan kuolla. Miten saan apua työnhakuun?"
StaffFactory = Callable[..., Awaitable[TestClient]]


def fi(message: str) -> str:
    """The page's words in Finnish, the language a first visit gets."""
    with i18n.speaking("fi"):
        return i18n.gettext(message)


def _form(body: str, **extra: str) -> dict[str, str]:
    return {"category": "tyonhaku", "title": "", "body": body, "publish": "yes", **extra}


def _count(settings: Settings) -> int:
    return int(rows(settings, "SELECT count(*) FROM questions")[0][0])


async def _watch(client: TestClient, phrase: str, action: str) -> None:
    """A coordinator's word, stored and loaded as the admin page does."""
    app = client.server.app
    async with app[keys.DB].transaction() as tx:
        await watched_words.insert(tx, phrase=phrase, lang="fi", action=action, at="2026-11-24")
        tx.announce(WATCHLIST_CHANGED)  # as the admin page's change does: every process reloads


async def test_the_form_warns_about_a_phone_number_and_stores_nothing_until_confirmed(
    client: TestClient, settings: Settings
) -> None:
    warned = await client.post("/ask", data=_form(PHONE), allow_redirects=False)
    page = await warned.text()
    assert warned.status == 422
    assert fi(LABELS["phone"]) in page and "<mark>040 123 4567</mark>" in page
    assert 'name="personal_ok" value="yes"' in page
    assert PHONE in page  # the text comes back to be edited
    assert _count(settings) == 0

    sent = await client.post("/ask", data=_form(PHONE, personal_ok="yes"), allow_redirects=False)
    assert sent.status == 303 and sent.headers["Location"].startswith("/f/")
    assert rows(settings, "SELECT body FROM questions") == [(PHONE,)]


async def test_text_without_personal_details_goes_straight_through(
    client: TestClient, settings: Settings
) -> None:
    sent = await client.post(
        "/ask", data=_form("Miten haen kesätöihin kaupungille?"), allow_redirects=False
    )
    assert sent.status == 303
    assert _count(settings) == 1


async def test_the_api_answers_422_with_the_findings_until_confirmed(
    client: TestClient, settings: Settings
) -> None:
    body = "Sähköpostini on minna.m@example.com ja tunnukseni 131052-308T."
    refused = await client.post(
        "/api/questions", json={"body": body, "category": "tyonhaku", "publish": False}
    )
    assert refused.status == 422
    payload = await refused.json()
    assert [f["kind"] for f in payload["personal_data"]] == ["email", "identity_code"]
    assert payload["personal_data"][1]["text"] == "131052-308T"
    assert "body" in payload["errors"]
    assert _count(settings) == 0

    wrong = await client.post(
        "/api/questions",
        json={"body": body, "category": "tyonhaku", "publish": False, "personal_data_confirmed": 1},
    )
    assert wrong.status == 400
    assert "personal_data_confirmed" in (await wrong.json())["errors"]

    stored = await ask(client, body=body, personal_data_confirmed=True)
    assert stored["status"] == "pending" and "crisis_help" not in stored


async def test_a_block_word_is_refused_with_the_text_kept(
    client: TestClient, settings: Settings
) -> None:
    await _watch(client, "roskapost*", "block")
    refused = await client.post(
        "/ask", data=_form("Ostakaa roskapostipalvelua halvalla nyt heti!"), allow_redirects=False
    )
    assert refused.status == 400
    page = await refused.text()
    assert fi(intake.BLOCKED) in page and "roskapostipalvelua" in page
    api = await client.post(
        "/api/questions",
        json={"body": "Roskapostia kaikille nyt heti!", "category": "muu", "publish": True},
    )
    assert api.status == 400 and "body" in (await api.json())["errors"]
    assert _count(settings) == 0


async def test_crisis_words_show_help_at_once_and_put_the_question_first(
    client: TestClient, settings: Settings, staff_client: StaffFactory
) -> None:
    older = await ask(client)
    sent = await client.post("/ask", data=_form(CRISIS), allow_redirects=False)
    assert sent.status == 303
    page = await (await client.get(sent.headers["Location"])).text()
    assert "crisis-help" in page and 'href="tel:112"' in page
    assert "09 2525 0111" in page and "https://sekasin.fi/" in page
    # The asker's own page keeps the help while the question waits; the board shows nothing.
    urgent_id, flags = rows(settings, "SELECT id, flags FROM questions WHERE urgent = 1")[0]
    assert {"phrase": "haluan kuolla", "action": "crisis", "lang": "fi"} in json.loads(flags)

    counsellor = await staff_client("sanna", "counsellor", "Sanna")
    queue = await (await counsellor.get("/api/staff/queue")).json()
    assert [item["id"] for item in queue] == [urgent_id, older["id"]]
    assert queue[0]["urgent"] is True and queue[1]["urgent"] is False
    html = await (await counsellor.get("/staff/queue")).text()
    assert html.index("badge-urgent") < html.index(f'href="/staff/questions/{older["id"]}"')

    warned = await client.post(
        "/api/questions",
        json={"body": "I want to die. Call me 040 123 4567.", "category": "muu", "publish": False},
    )
    assert warned.status == 422
    assert (await warned.json())["crisis_help"]["emergency"] == "112"
    api = await ask(client, body="I want to die, nothing works. Can anyone help me find a job?")
    assert api["crisis_help"] == {
        "emergency": "112",
        "crisis_line": "09 2525 0111",
        "chat_url": "https://sekasin.fi/",
        # English words on a Finnish request: the help says it is in the page's language.
        "note": fi(
            "We saw words in English that may point to a crisis. The help is shown in the"
            " language of this page."
        ),
    }


async def test_crisis_help_gives_the_crisis_line_of_the_readers_language(
    client: TestClient,
) -> None:
    await client.get("/ask?lang=en")
    form = _form("I want to die and cannot find any work at all.")
    sent = await client.post("/ask", data=form, allow_redirects=False)
    page = await (await client.get(sent.headers["Location"])).text()
    assert "09 2525 0116" in page and "09 2525 0111" not in page


async def test_a_review_word_flags_the_question_for_staff(
    client: TestClient, settings: Settings, staff_client: StaffFactory
) -> None:
    question = await ask(client, body="Kaverit käyttää huumeita, miten pääsen töihin silti?")
    counsellor = await staff_client("sanna", "counsellor", "Sanna")
    queue = await (await counsellor.get("/api/staff/queue")).json()
    assert queue[0]["id"] == question["id"] and queue[0]["urgent"] is False
    assert queue[0]["flags"] == [{"phrase": "huume*", "action": "review"}]
    html = await (await counsellor.get("/staff/queue")).text()
    assert f"{fi('Check:')} huume*" in html


async def _claimed(counsellor: TestClient, question_id: int) -> str:
    page = await (await counsellor.get(f"/staff/questions/{question_id}")).text()
    claimed = await counsellor.post(
        f"/staff/questions/{question_id}/claim", data={"csrf_token": csrf_token(page)}
    )
    return await claimed.text()


async def test_staff_see_findings_highlighted_and_mask_them_with_one_click(
    client: TestClient, settings: Settings, staff_client: StaffFactory
) -> None:
    body = "Olen Kalle, puh 040 123 4567, asun Mannerheimintie 12 B 34. Haen töitä."
    question = await ask(client, body=body, personal_data_confirmed=True)
    counsellor = await staff_client("sanna", "counsellor", "Sanna")
    page = await _claimed(counsellor, question["id"])
    assert f'<mark title="{fi(LABELS["phone"])}">040 123 4567</mark>' in page
    assert "Mannerheimintie 12 B 34</mark>" in page
    queue = await (await counsellor.get("/api/staff/queue")).json()
    assert queue[0]["personal_data"] == ["address", "phone"]

    start = body.index("040")
    masked = await counsellor.post(
        f"/staff/questions/{question['id']}/mask",
        data={"csrf_token": csrf_token(page), "field": "body", "start": start, "end": start + 12},
    )
    assert masked.status == 200
    assert rows(settings, "SELECT body FROM questions") == [
        (f"Olen Kalle, puh {fi(actions.MASKED)}, asun Mannerheimintie 12 B 34. Haen töitä.",)
    ]
    # The same span again no longer holds a finding: refused rather than cutting other words.
    again = await counsellor.post(
        f"/staff/questions/{question['id']}/mask",
        data={"csrf_token": csrf_token(page), "field": "body", "start": start, "end": start + 12},
    )
    assert again.status == 409
    api = await counsellor.post(
        f"/api/staff/questions/{question['id']}/mask", json={"field": "body", "start": "x"}
    )
    assert api.status == 400 and "start" in (await api.json())["errors"]
    everything = await counsellor.post(
        f"/staff/questions/{question['id']}/mask",
        data={"csrf_token": csrf_token(page), "field": "all"},
    )
    assert everything.status == 200
    assert rows(settings, "SELECT body, edited FROM questions") == [
        (f"Olen Kalle, puh {fi(actions.MASKED)}, asun {fi(actions.MASKED)}. Haen töitä.", 1)
    ]
    audits = rows(settings, "SELECT detail FROM audit_log WHERE action = 'mask' ORDER BY id")
    assert [json.loads(d) for (d,) in audits] == [{"kinds": ["phone"]}, {"kinds": ["address"]}]
    assert "040" not in " ".join(d for (d,) in audits)


async def test_publishing_unmasked_details_needs_a_confirmation_that_is_audited(
    client: TestClient, settings: Settings, staff_client: StaffFactory
) -> None:
    body = "Voiko joku soittaa 040 123 4567? Haen työpajaan Tampereella."
    question = await ask(client, body=body, personal_data_confirmed=True)
    counsellor = await staff_client("sanna", "counsellor", "Sanna")
    page = await _claimed(counsellor, question["id"])
    assert 'name="personal_data_confirmed"' in page
    answer = {
        "csrf_token": csrf_token(page),
        "body": "Hei! Työpajaan pääset näin.",
        "publish": "yes",
    }
    refused = await counsellor.post(f"/staff/questions/{question['id']}/answer", data=answer)
    assert refused.status == 400
    assert fi(actions.UNMASKED) in await refused.text()
    assert rows(settings, "SELECT status FROM questions") == [("pending",)]

    api = await counsellor.post(
        f"/api/staff/questions/{question['id']}/answer",
        json={"body": "Hei!", "publish": True},
    )
    assert api.status == 400
    assert "personal_data_confirmed" in (await api.json())["errors"]

    confirmed = await counsellor.post(
        f"/staff/questions/{question['id']}/answer",
        data={**answer, "personal_data_confirmed": "yes"},
    )
    assert confirmed.status == 200
    assert rows(settings, "SELECT status FROM questions") == [("published",)]
    (detail,) = rows(settings, "SELECT detail FROM audit_log WHERE action = 'answer'")[0]
    assert json.loads(detail) == {"publish": True, "personal_data_confirmed": ["phone"]}


async def test_a_private_answer_needs_no_confirmation(
    client: TestClient, settings: Settings, staff_client: StaffFactory
) -> None:
    question = await ask(
        client, body="Soita 040 123 4567 kiitos, kysyn kesätöistä.", personal_data_confirmed=True
    )
    counsellor = await staff_client("sanna", "counsellor", "Sanna")
    page = await _claimed(counsellor, question["id"])
    answered = await counsellor.post(
        f"/staff/questions/{question['id']}/answer",
        data={"csrf_token": csrf_token(page), "body": "Hei, näin haet.", "publish": "no"},
    )
    assert answered.status == 200
    assert rows(settings, "SELECT status FROM questions") == [("answered",)]


async def test_a_personal_details_warning_does_not_use_up_the_asking_limit(
    aiohttp_client: Any, settings: Settings, clock: Any
) -> None:
    limited = replace(settings, limits={**settings.limits, "ask.address": Limit(2, 3600)})
    client = await aiohttp_client(create_app(limited, clock=clock))
    warned = await client.post("/ask", data=_form(PHONE), allow_redirects=False)
    assert warned.status == 422
    anyway = await client.post("/ask", data=_form(PHONE, personal_ok="yes"), allow_redirects=False)
    clean = await client.post("/ask", data=_form("Miten haen kesätöihin?"), allow_redirects=False)
    assert (anyway.status, clean.status) == (303, 303)
    third = await client.post("/ask", data=_form("Entä syksyllä?  Kiitos."), allow_redirects=False)
    assert third.status == 429
