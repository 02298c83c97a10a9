"""The asker's private follow-up: status, answer or reason, and deleting by code."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from service.settings import Settings
from tests.conftest import ask, rows, search_rows

StaffClient = Callable[..., Awaitable[TestClient]]


async def test_status_moves_from_pending_to_published(
    client: TestClient, staff_client: StaffClient
) -> None:
    created = await ask(client)
    code = created["code"]
    pending = await (await client.get(f"/api/followup/{code}")).json()
    assert pending["status"] == "pending" and pending["question"]["answers"] == []
    counsellor = await staff_client("sanna", "counsellor", "Sanna")
    qid = created["id"]
    await counsellor.post(f"/api/staff/questions/{qid}/claim", json={})
    await counsellor.post(
        f"/api/staff/questions/{qid}/answer",
        json={"body": "Tervetuloa työpajaan!", "publish": True},
    )
    done = await (await client.get(f"/api/followup/{code}")).json()
    assert done["status"] == "published"
    assert done["question"]["answers"][0]["body"] == "Tervetuloa työpajaan!"
    assert done["question"]["answers"][0]["role"] == "counsellor"
    page = await (await client.get(f"/f/{code}")).text()
    assert "Tervetuloa työpajaan!" in page and "Sosiaaliohjaaja Sanna" in page


async def test_private_answer_and_rejection_reason(
    client: TestClient, staff_client: StaffClient
) -> None:
    adviser = await staff_client("mikko", "adviser", "Mikko")
    private = await ask(client, publish=False)
    rejected = await ask(client)
    await adviser.post(
        f"/api/staff/questions/{private['id']}/answer",
        json={"body": "Vastaan vain sinulle.", "publish": False},
    )
    await adviser.post(
        f"/api/staff/questions/{rejected['id']}/reject",
        json={"reason": "Kysymys koski toista palvelua."},
    )
    answered = await (await client.get(f"/api/followup/{private['code']}")).json()
    assert answered["status"] == "answered"
    declined = await (await client.get(f"/api/followup/{rejected['code']}")).json()
    assert (
        declined["status"] == "rejected" and declined["reason"] == "Kysymys koski toista palvelua."
    )
    page = await (await client.get(f"/f/{rejected['code']}")).text()
    assert "Kysymys koski toista palvelua." in page
    board = await (await client.get("/api/questions")).json()
    assert board["total"] == 0, "neither a private nor a rejected question reaches the board"


async def test_unknown_or_malformed_code_is_404(client: TestClient) -> None:
    await ask(client)
    assert (await client.get("/api/followup/" + "A" * 24)).status == 404
    assert (await client.get("/f/" + "A" * 24)).status == 404
    assert (await client.get("/f/short")).status == 404
    assert (await client.get("/f/" + "x" * 500)).status == 404
    assert (await client.delete("/api/followup/" + "B" * 24)).status == 404


async def test_lookup_form_opens_the_code_page(client: TestClient) -> None:
    created = await ask(client)
    response = await client.get(
        "/f", params={"code": " " + created["code"] + " "}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == f"/f/{created['code']}"
    bad = await client.get("/f", params={"code": "nonsense!"})
    assert bad.status == 404 and 'id="code-error"' in await bad.text()
    assert bad.headers["Cache-Control"] == "no-store", "the typed text may be someone's code"
    empty = await client.get("/f", params={"code": "  "})
    assert empty.status == 400 and 'id="code-error"' in await empty.text()


async def test_asker_deletes_published_question_everywhere(
    client: TestClient, staff_client: StaffClient, settings: Settings
) -> None:
    created = await ask(client, body="Miten palkkatuki toimii työnantajalle käytännössä?")
    adviser = await staff_client("mikko", "adviser")
    await adviser.post(
        f"/api/staff/questions/{created['id']}/answer",
        json={"body": "Palkkatuki maksetaan työnantajalle.", "publish": True},
    )
    assert (await (await client.get("/api/questions?q=palkkatuki")).json())["total"] == 1
    assert (await client.get(f"/q/{created['id']}")).status == 200
    assert re.search(r'class="card\b', await (await client.get("/?q=palkkatuki")).text())
    response = await client.delete(f"/api/followup/{created['code']}")
    assert response.status == 204
    assert (await client.get(f"/api/followup/{created['code']}")).status == 404
    assert (await client.get(f"/q/{created['id']}")).status == 404, "the cached page is gone too"
    assert (await (await client.get("/api/questions?q=palkkatuki")).json())["total"] == 0
    assert not re.search(r'class="card\b', await (await client.get("/?q=palkkatuki")).text())
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(0,)]
    assert rows(settings, "SELECT COUNT(*) FROM answers") == [(0,)]
    assert search_rows(settings) == []
    kinds = [r[0] for r in rows(settings, "SELECT kind FROM usage_events ORDER BY id")]
    assert kinds[-1] == "question_deleted"


async def test_delete_through_the_page_form(client: TestClient, settings: Settings) -> None:
    created = await ask(client)
    unconfirmed = await client.post(f"/f/{created['code']}/delete")
    assert unconfirmed.status == 400 and 'id="confirm-error"' in await unconfirmed.text()
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(1,)]
    response = await client.post(f"/f/{created['code']}/delete", data={"confirm": "yes"})
    assert response.status == 200
    assert rows(settings, "SELECT COUNT(*) FROM questions") == [(0,)]


async def test_private_pages_are_not_cached_or_indexed(client: TestClient) -> None:
    created = await ask(client)
    for path in (f"/f/{created['code']}", f"/api/followup/{created['code']}", "/staff/login"):
        response = await client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert response.headers["X-Robots-Tag"] == "noindex, nofollow", path
        assert response.headers["Referrer-Policy"] == "same-origin", path
    robots = await (await client.get("/robots.txt")).text()
    assert "Disallow: /f/" in robots
