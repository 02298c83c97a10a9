"""The moderation queue: claims, edits, answers, rejections, audit rows and role checks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from service.settings import Settings
from tests.conftest import FakeClock, ask, csrf_token, rows, search_rows

StaffClient = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def sanna(staff_client: StaffClient) -> TestClient:
    return await staff_client("sanna", "counsellor", "Sanna")


@pytest.fixture
async def mikko(staff_client: StaffClient) -> TestClient:
    return await staff_client("mikko", "adviser", "Mikko")


async def test_queue_is_oldest_first_with_waiting_time(
    client: TestClient, sanna: TestClient, clock: FakeClock
) -> None:
    first = await ask(client, body="Ensimmäinen kysymys työnhausta")
    clock.advance(minutes=40)
    second = await ask(
        client, body="Toinen kysymys opiskelusta", category="opiskelu", publish=False
    )
    clock.advance(minutes=5)
    queue = await (await sanna.get("/api/staff/queue")).json()
    assert [(q["id"], q["waited_s"], q["publish"]) for q in queue] == [
        (first["id"], 45 * 60, True),
        (second["id"], 5 * 60, False),
    ]
    html = await (await sanna.get("/staff/queue")).text()
    assert html.index("Ensimmäinen") < html.index("Toinen")


async def test_claim_is_exclusive_until_it_lapses(
    client: TestClient, sanna: TestClient, mikko: TestClient, clock: FakeClock
) -> None:
    qid = (await ask(client))["id"]
    claimed = await sanna.post(f"/api/staff/questions/{qid}/claim", json={})
    assert claimed.status == 200 and (await claimed.json())["claimed_by"] == "Sanna"
    second = await mikko.post(f"/api/staff/questions/{qid}/claim", json={})
    assert second.status == 409
    assert "Sanna" in (await second.json())["error"]
    answer = await mikko.post(
        f"/api/staff/questions/{qid}/answer", json={"body": "Vastaus", "publish": True}
    )
    assert answer.status == 409, "others cannot act on a claimed question"
    page = await mikko.get(f"/staff/questions/{qid}")
    assert "Sanna" in await page.text()
    clock.advance(minutes=29)
    assert (await mikko.post(f"/api/staff/questions/{qid}/claim", json={})).status == 409
    clock.advance(minutes=2)
    queue = await (await mikko.get("/api/staff/queue")).json()
    assert queue[0]["claimed_by"] is None, "a claim idle for 30 minutes lapses"
    taken = await mikko.post(f"/api/staff/questions/{qid}/claim", json={})
    assert taken.status == 200 and (await taken.json())["claimed_by"] == "Mikko"


async def test_release_returns_question_to_queue(
    client: TestClient, sanna: TestClient, mikko: TestClient
) -> None:
    qid = (await ask(client))["id"]
    await sanna.post(f"/api/staff/questions/{qid}/claim", json={})
    assert (await mikko.post(f"/api/staff/questions/{qid}/release", json={})).status == 409
    released = await sanna.post(f"/api/staff/questions/{qid}/release", json={})
    assert released.status == 200 and (await released.json())["claimed_by"] is None
    assert (await mikko.post(f"/api/staff/questions/{qid}/claim", json={})).status == 200


async def test_edit_then_publish_shows_edited_text(
    client: TestClient, sanna: TestClient, settings: Settings
) -> None:
    created = await ask(client, body="Olen Matti Meikäläinen Kuopiosta, miten pääsen työpajaan?")
    qid = created["id"]
    await sanna.post(f"/api/staff/questions/{qid}/claim", json={})
    edited = await sanna.patch(
        f"/api/staff/questions/{qid}",
        json={
            "body": "Miten pääsen työpajaan?",
            "title": "Työpajaan pääseminen",
            "category": "tyopajat",
        },
    )
    assert edited.status == 200
    assert (await edited.json())["body"] == "Miten pääsen työpajaan?"
    bad = await sanna.patch(f"/api/staff/questions/{qid}", json={"category": "ei-ole"})
    assert bad.status == 400 and "category" in (await bad.json())["errors"]
    short = await sanna.patch(f"/api/staff/questions/{qid}", json={"body": "lyhyt"})
    assert short.status == 400 and "body" in (await short.json())["errors"]
    answered = await sanna.post(
        f"/api/staff/questions/{qid}/answer",
        json={"body": "Ota yhteyttä työpajaan suoraan.", "publish": True},
    )
    state = await answered.json()
    assert state["status"] == "published" and state["claimed_by"] is None
    public = await (await client.get(f"/q/{qid}")).text()
    assert "Miten pääsen työpajaan?" in public and "Meikäläinen" not in public
    assert "meikäläinen" not in str(search_rows(settings)).lower()
    audit = rows(
        settings,
        "SELECT action, target_type, target_id, detail FROM audit_log "
        "WHERE target_type = 'question' ORDER BY id",
    )
    assert [a[0] for a in audit] == ["claim", "edit", "answer"]
    assert json.loads(audit[1][3]) == {"fields": ["body", "title", "category"]}
    assert all("Meikäläinen" not in str(a) for a in audit), "audit rows hold no asker text"


async def test_publish_refused_when_asker_wanted_private(
    client: TestClient, mikko: TestClient
) -> None:
    qid = (await ask(client, publish=False))["id"]
    refused = await mikko.post(
        f"/api/staff/questions/{qid}/answer", json={"body": "Vastaus", "publish": True}
    )
    assert refused.status == 400 and "publish" in (await refused.json())["errors"]
    private = await mikko.post(
        f"/api/staff/questions/{qid}/answer", json={"body": "Vastaus", "publish": False}
    )
    assert (await private.json())["status"] == "answered"
    assert (await (await client.get("/api/questions")).json())["total"] == 0


async def test_reject_needs_reason_and_closes_question(
    client: TestClient, mikko: TestClient
) -> None:
    qid = (await ask(client))["id"]
    empty = await mikko.post(f"/api/staff/questions/{qid}/reject", json={"reason": "  "})
    assert empty.status == 400 and "reason" in (await empty.json())["errors"]
    done = await mikko.post(
        f"/api/staff/questions/{qid}/reject", json={"reason": "Ei kuulu palveluun."}
    )
    assert (await done.json())["status"] == "rejected"
    again = await mikko.post(
        f"/api/staff/questions/{qid}/answer", json={"body": "Vastaus", "publish": False}
    )
    assert again.status == 409
    assert (await (await mikko.get("/api/staff/queue")).json()) == []


async def test_bad_action_payloads(client: TestClient, mikko: TestClient) -> None:
    qid = (await ask(client))["id"]
    no_flag = await mikko.post(f"/api/staff/questions/{qid}/answer", json={"body": "Vastaus"})
    assert no_flag.status == 400 and "publish" in (await no_flag.json())["errors"]
    array = await mikko.post(f"/api/staff/questions/{qid}/answer", json=["x"])
    assert array.status == 400
    huge = await mikko.post(
        f"/api/staff/questions/{qid}/answer", json={"body": "x" * 10001, "publish": False}
    )
    assert huge.status == 400
    assert (await mikko.post("/api/staff/questions/9999/claim", json={})).status == 404
    assert (await mikko.patch(f"/api/staff/questions/{qid}", json={})).status == 400


async def test_usage_events_carry_no_text(
    client: TestClient, sanna: TestClient, settings: Settings, clock: FakeClock
) -> None:
    qid = (await ask(client, body="Salainen kysymys kuntouttavasta työtoiminnasta"))["id"]
    clock.advance(hours=2)
    await sanna.post(f"/api/staff/questions/{qid}/claim", json={})
    await sanna.post(
        f"/api/staff/questions/{qid}/answer", json={"body": "Vastausteksti", "publish": True}
    )
    events = rows(settings, "SELECT kind, category, seconds FROM usage_events ORDER BY id")
    assert events == [
        ("question_asked", "tyopajat", None),
        ("question_claimed", "tyopajat", 7200.0),
        ("question_answered", "tyopajat", 7200.0),
        ("question_published", "tyopajat", None),
    ]
    everything = str(rows(settings, "SELECT * FROM usage_events"))
    assert "Salainen" not in everything and "Vastausteksti" not in everything


async def test_staff_routes_refuse_anonymous_and_wrong_role(
    client: TestClient, staff_client: StaffClient
) -> None:
    qid = (await ask(client))["id"]
    for method, path in [
        ("GET", "/api/staff/queue"),
        ("POST", f"/api/staff/questions/{qid}/claim"),
        ("GET", "/api/staff/me"),
        ("PATCH", f"/api/staff/questions/{qid}"),
    ]:
        response = await client.request(method, path, json={})
        assert response.status == 401, path
    page = await client.get("/staff/queue", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"].startswith("/staff/login?next=")
    coordinator = await staff_client("helena", "coordinator", "Helena")
    assert (await coordinator.get("/api/staff/queue")).status == 403
    assert (await coordinator.post(f"/api/staff/questions/{qid}/claim", json={})).status == 403
    assert (await coordinator.get("/staff/queue")).status == 403
    assert (await coordinator.get("/api/staff/me")).status == 200


async def test_html_flow_with_csrf(client: TestClient, sanna: TestClient) -> None:
    qid = (await ask(client))["id"]
    page = await sanna.get(f"/staff/questions/{qid}")
    html = await page.text()
    token = csrf_token(html)
    forged = await sanna.post(f"/staff/questions/{qid}/claim", data={"csrf_token": "x"})
    assert forged.status == 403
    missing = await sanna.post(f"/staff/questions/{qid}/claim", data={})
    assert missing.status == 403
    claimed = await sanna.post(f"/staff/questions/{qid}/claim", data={"csrf_token": token})
    assert claimed.status == 200
    assert f'action="/staff/questions/{qid}/answer"' in await claimed.text()
    answer = await sanna.post(
        f"/staff/questions/{qid}/answer", data={"csrf_token": token, "body": "", "publish": "yes"}
    )
    assert answer.status == 400, "an empty answer is refused on the page"
    done = await sanna.post(
        f"/staff/questions/{qid}/answer",
        data={"csrf_token": token, "body": "Tervetuloa käymään Ohjaamossa.", "publish": "yes"},
    )
    assert done.status == 200
    assert "Tervetuloa käymään Ohjaamossa." in await (await client.get(f"/q/{qid}")).text()
