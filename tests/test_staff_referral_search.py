"""The directory search on the staff answer page keeps the draft: without JavaScript the Find
button posts the draft and the page comes back with it and the services found; with JavaScript
the page asks a staff-only JSON endpoint."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from moderation.directory import do_import
from service import keys
from service.settings import Settings
from tests.conftest import ask, csrf_token, rows
from web import DEMO_DIR

StaffClient = Callable[..., Awaitable[TestClient]]
DEMO = json.loads((DEMO_DIR / "directory.json").read_text(encoding="utf-8"))
DRAFT = "Hei! Talousasioissa <kannattaa> kääntyä ammattilaisen puoleen & ajoissa."


def service_id(fragment: str) -> str:
    return str(next(s["id"] for s in DEMO if fragment in s["name"]))


@pytest.fixture
async def directory(app: web.Application, client: TestClient) -> None:
    report = await do_import(app[keys.DIRECTORY], copy.deepcopy(DEMO), acting_staff=None)
    assert not report.failures


@pytest.fixture
async def claimed(
    client: TestClient, staff_client: StaffClient, directory: None
) -> tuple[TestClient, int]:
    """Sanna, a counsellor, has claimed a question about finding work; pages in English."""
    asked = await ask(client, body="Miten haen kesätöitä ensimmäistä kertaa?", category="tyonhaku")
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    await sanna.get("/staff/queue?lang=en")
    assert (await sanna.post(f"/api/staff/questions/{asked['id']}/claim", json={})).status == 200
    return sanna, int(asked["id"])


def checked_services(html: str) -> set[str]:
    return set(re.findall(r'name="services" value="([0-9a-f-]+)" checked', html))


def offered_services(html: str) -> set[str]:
    return set(re.findall(r'name="services" value="([0-9a-f-]+)"', html))


async def test_find_without_javascript_keeps_the_draft_and_shows_what_was_found(
    claimed: tuple[TestClient, int], settings: Settings
) -> None:
    sanna, qid = claimed
    page = await (await sanna.get(f"/staff/questions/{qid}")).text()
    ohjaamo, debt = service_id("Ohjaamo"), service_id("velkaneuvonta")
    assert ohjaamo in offered_services(page) and debt not in offered_services(page)
    # The search button is part of the answer form, posting to the find action.
    form = page[page.index('id="answer-form"') : page.index("</form>", page.index("answer-form"))]
    assert f'formaction="/staff/questions/{qid}/find"' in form and 'name="find"' in form
    draft = [
        ("csrf_token", csrf_token(page)),
        ("body", DRAFT),
        ("publish", "no"),
        ("services", ohjaamo),
        ("find", "velka"),
        ("find_services", "1"),
    ]
    found = await sanna.post(f"/staff/questions/{qid}/find", data=draft, allow_redirects=False)
    assert found.status == 200
    html = await found.text()
    escaped = DRAFT.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f'name="body" rows="10">{escaped}</textarea>' in html, "the typed answer is kept"
    assert checked_services(html) == {ohjaamo}, "the ticked service is kept, ticked"
    assert debt in offered_services(html), "the search found the debt advice"
    assert 'value="velka"' in html
    assert re.search(r'role="status"[^>]*>\d+ services? found\.</p>', html)
    assert re.search(r'name="publish" value="no" checked', html), "the publish choice is kept"
    assert not re.search(r'name="publish" value="yes"[^>]* checked', html)
    # Nothing was stored: the question still waits, no answer, no audit row for the search.
    assert rows(settings, "SELECT status FROM questions WHERE id = ?", (qid,)) == [("pending",)]
    assert rows(settings, "SELECT count(*) FROM answers") == [(0,)]
    actions = {a for (a,) in rows(settings, "SELECT action FROM audit_log")}
    assert "answer" not in actions and not any("find" in a for a in actions)

    # Then the answer goes with both services.
    sent = await sanna.post(
        f"/staff/questions/{qid}/answer",
        data=[
            ("csrf_token", csrf_token(html)),
            ("body", DRAFT),
            ("publish", "no"),
            ("services", ohjaamo),
            ("services", debt),
            ("find", "velka"),
        ],
        allow_redirects=False,
    )
    assert sent.status == 303, await sent.text()
    state = await (await sanna.get(f"/api/staff/questions/{qid}")).json()
    assert state["answers"][0]["referrals"] == [ohjaamo, debt]
    assert state["answers"][0]["body"] == DRAFT


async def test_find_is_a_csrf_checked_staff_form(
    claimed: tuple[TestClient, int], client: TestClient, staff_client: StaffClient
) -> None:
    sanna, qid = claimed
    forged = await sanna.post(f"/staff/questions/{qid}/find", data={"body": DRAFT, "find": "velka"})
    assert forged.status == 403
    token = csrf_token(await (await client.get("/staff/login")).text())
    anonymous = await client.post(
        f"/staff/questions/{qid}/find",
        data={"csrf_token": token, "find": "velka"},
        allow_redirects=False,
    )
    assert anonymous.status == 302 and anonymous.headers["Location"].startswith("/staff/login")
    helena = await staff_client("helena", "coordinator", "Helena")
    page = await (await helena.get("/staff/login")).text()
    refused = await helena.post(
        f"/staff/questions/{qid}/find", data={"csrf_token": csrf_token(page), "find": "velka"}
    )
    assert refused.status == 403


async def test_the_json_search_requires_an_answering_staff_member(
    claimed: tuple[TestClient, int], client: TestClient, staff_client: StaffClient
) -> None:
    sanna, qid = claimed
    path = f"/api/staff/questions/{qid}/referral-options"
    found = await sanna.get(path, params={"find": "velka"})
    assert found.status == 200
    data: dict[str, Any] = await found.json()
    ids = [s["service_id"] for s in data["services"]]
    assert service_id("velkaneuvonta") in ids
    assert data["total"] == len(ids) and data["find"] == "velka"
    assert data["message"] == f"{len(ids)} service{'s' if len(ids) != 1 else ''} found."
    first = data["services"][0]
    assert {"service_id", "name", "summary"} <= set(first)
    topic = await (await sanna.get(path)).json()
    assert service_id("Ohjaamo") in [s["service_id"] for s in topic["services"]]
    nothing = await (await sanna.get(path, params={"find": "zzxqv"})).json()
    assert nothing["services"] == [] and nothing["total"] == 0
    assert nothing["message"] == "0 services found."
    assert (await sanna.get("/api/staff/questions/999999/referral-options")).status == 404

    anonymous = await client.get(path, params={"find": "velka"})
    assert anonymous.status == 401
    assert "application/json" in anonymous.headers["Content-Type"]
    helena = await staff_client("helena", "coordinator", "Helena")
    assert (await helena.get(path, params={"find": "velka"})).status == 403
