"""The HSDS service directory: import, export, the read API, public pages and referral cards."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient

from moderation.directory import DirectoryContext, do_import, export
from service import keys
from service.settings import Settings
from service.storage.db import open_database
from tests.conftest import FakeClock, ask, csrf_token, rows
from web import DEMO_DIR

StaffClient = Callable[..., Awaitable[TestClient]]
DEMO = json.loads((DEMO_DIR / "directory.json").read_text(encoding="utf-8"))
JOB_SEARCH_TERM = "c49ddcd3-79d3-58e0-9fb3-cd970d4396bf"


def by_name(fragment: str) -> dict[str, Any]:
    return next(s for s in DEMO if fragment in s["name"])


@pytest.fixture
async def demo_directory(app: web.Application, client: TestClient) -> list[dict[str, Any]]:
    report = await do_import(app[keys.DIRECTORY], copy.deepcopy(DEMO), acting_staff=None)
    assert report.counts["created"] == len(DEMO) and not report.failures
    return DEMO


async def test_export_import_export_round_trip_is_identical(
    app: web.Application,
    demo_directory: list[dict[str, Any]],
    another_database: Callable[[], Settings],
    clock: FakeClock,
) -> None:
    first = await export(app[keys.DB])
    assert len(first) == len(DEMO)
    empty = open_database(another_database())
    await empty.open()
    try:
        report = await do_import(DirectoryContext(empty, clock), first, acting_staff=None)
        assert report.counts == {"created": len(DEMO), "updated": 0, "unchanged": 0, "failed": 0}
        second = await export(empty)
    finally:
        await empty.close()
    assert json.dumps(second, ensure_ascii=False) == json.dumps(first, ensure_ascii=False)
    # Nothing of the demo file was lost on the way: each record comes back with its fields.
    original = by_name("Ohjaamo")
    exported = next(s for s in first if s["id"] == original["id"])
    for key in ("name", "description", "status", "minimum_age", "translations", "phones"):
        assert exported.get(key) == original.get(key)


async def test_import_is_idempotent_and_replaces_a_changed_record(
    app: web.Application, demo_directory: list[dict[str, Any]], settings: Settings
) -> None:
    ctx = app[keys.DIRECTORY]
    again = await do_import(ctx, copy.deepcopy(DEMO), acting_staff=None)
    assert again.counts["unchanged"] == len(DEMO)
    changed = copy.deepcopy(by_name("Ohjaamo"))
    changed["phones"] = changed["phones"][:1]
    changed["phones"][0]["number"] = "+358 40 000 0000"
    report = await do_import(ctx, [changed], acting_staff=None)
    assert report.counts["updated"] == 1
    phones = rows(settings, "SELECT number FROM phones WHERE service_id = ?", (changed["id"],))
    assert phones == [("+358 40 000 0000",)]
    assert rows(settings, "SELECT count(*) FROM services") == [(len(DEMO),)]


async def test_malformed_records_are_reported_and_the_others_imported(
    app: web.Application, client: TestClient, settings: Settings
) -> None:
    good = copy.deepcopy(by_name("Ohjaamo"))
    no_name = copy.deepcopy(by_name("Kela"))
    del no_name["name"]
    bad_status = copy.deepcopy(by_name("Etsivä"))
    bad_status["status"] = "open"
    negative_age = copy.deepcopy(by_name("velka"))
    negative_age["minimum_age"] = -3
    half_bad = copy.deepcopy(DEMO[-1])
    half_bad["phones"] = [{"id": "x", "number": "123"}]  # the service is fine, a phone is not
    items = [no_name, good, bad_status, negative_age, "not an object", half_bad]
    report = await do_import(app[keys.DIRECTORY], items, acting_staff=None)
    outcomes = [
        (r.index, r.outcome, [e.field for e in r.errors], [w.field for w in r.warnings])
        for r in report.records
    ]
    assert outcomes == [
        (0, "failed", ["name"], []),
        (1, "created", [], []),
        (2, "failed", ["status"], []),
        # The standard allows a negative age; Koppi cannot use it: left out, with a warning.
        (3, "created", [], ["minimum_age"]),
        (4, "failed", ["record"], []),
        (5, "failed", ["phones[0].id"], []),
    ]
    # Nothing of a failed record was written, not even the parts that were valid.
    assert sorted(rows(settings, "SELECT id FROM services")) == sorted(
        [(good["id"],), (negative_age["id"],)]
    )
    assert rows(
        settings, "SELECT minimum_age FROM services WHERE id = ?", (negative_age["id"],)
    ) == [(None,)]
    assert rows(settings, "SELECT count(*) FROM phones WHERE service_id = ?", (half_bad["id"],))[
        0
    ] == (0,)


async def test_hsds_api_pages_and_searches(
    client: TestClient, demo_directory: list[dict[str, Any]]
) -> None:
    about = await (await client.get("/api/hsds/")).json()
    assert about["version"] == "3.0" and about["openapi_url"].endswith("/api/hsds/openapi.json")
    first = await (await client.get("/api/hsds/services?per_page=5")).json()
    assert first["total_items"] == len(DEMO)
    assert (first["page_number"], first["size"], first["first_page"]) == (1, 5, True)
    assert first["total_pages"] == -(-len(DEMO) // 5)
    last = await client.get(f"/api/hsds/services?per_page=5&page={first['total_pages']}")
    last_page = await last.json()
    assert last_page["last_page"] and last_page["size"] == len(DEMO) - 5 * (
        first["total_pages"] - 1
    )
    seen = set()
    for page in range(1, first["total_pages"] + 1):
        body = await (await client.get(f"/api/hsds/services?per_page=5&page={page}")).json()
        seen.update(s["id"] for s in body["contents"])
    assert seen == {s["id"] for s in DEMO}, "paging shows every service once"
    # Finnish-aware: an inflected form finds the workshop services.
    found = await (await client.get("/api/hsds/services?search=työpajoissa")).json()
    names = [s["name"] for s in found["contents"]]
    # (The category "työpajat" is a taxonomy term: a service in it matches, after the names.)
    assert {"Nuorten työpaja Verstas", "Mediapaja Pikseli"} <= set(names)
    filtered = await (
        await client.get(f"/api/hsds/services?taxonomy_term_id={JOB_SEARCH_TERM}")
    ).json()
    expected = {
        s["id"]
        for s in DEMO
        if any(a["taxonomy_term_id"] == JOB_SEARCH_TERM for a in s["attributes"])
    }
    assert {s["id"] for s in filtered["contents"]} == expected
    one = await (await client.get(f"/api/hsds/services/{DEMO[0]['id']}")).json()
    assert one["name"] == DEMO[0]["name"] and one["attributes"][0]["taxonomy_term"]["name"]
    nothing = await (await client.get("/api/hsds/services?search=zzxqv")).json()
    assert (nothing["total_items"], nothing["empty"]) == (0, True)
    for bad, field in (
        ("per_page=0", "per_page"),
        ("page=x", "page"),
        ("taxonomy_term_id=1", "taxonomy_term_id"),
    ):
        response = await client.get(f"/api/hsds/services?{bad}")
        assert response.status == 400 and field in (await response.json())["errors"]
    assert (await client.get("/api/hsds/services/not-a-uuid")).status == 404


async def test_public_directory_pages_search_filter_and_show_a_service(
    client: TestClient, demo_directory: list[dict[str, Any]]
) -> None:
    listing = await (await client.get("/services?lang=en")).text()
    assert "Services for young people" in listing
    workshop = await (await client.get("/services", params={"q": "työpaja", "lang": "fi"})).text()
    crisis = by_name("kriisilinja")
    assert by_name("Verstas")["name"] in workshop and crisis["name"] not in workshop
    open_now = await (await client.get("/services", params={"open": "1"})).text()
    assert crisis["name"] in open_now, "the 24/7 crisis line is always open"
    page = await (await client.get(f"/services/{crisis['id']}")).text()
    assert crisis["name"] in page and crisis["phones"][0]["number"] in page
    assert "Avoinna nyt" in page or "Open now" in page
    assert (await client.get("/services/00000000-0000-4000-8000-000000000000")).status == 404
    assert (await client.get("/services?category=nope")).status == 404


async def test_referral_in_an_answer_shows_as_cards_and_is_counted(
    client: TestClient,
    staff_client: StaffClient,
    demo_directory: list[dict[str, Any]],
    settings: Settings,
) -> None:
    asked = await ask(
        client, body="Mistä saisin apua työnhakuun ja CV:n tekemiseen?", category="tyonhaku"
    )
    mikko = await staff_client("mikko", "adviser", "Mikko")
    qid = asked["id"]
    ohjaamo, workshop = by_name("Ohjaamo"), by_name("Verstas")
    defunct = copy.deepcopy(by_name("Kela"))
    assert (await mikko.post(f"/api/staff/questions/{qid}/claim", json={})).status == 200
    refused = await mikko.post(
        f"/api/staff/questions/{qid}/answer",
        json={"body": "Käy Ohjaamossa.", "publish": True, "services": ["nope"]},
    )
    assert refused.status == 400 and "services" in (await refused.json())["errors"]
    answered = await mikko.post(
        f"/api/staff/questions/{qid}/answer",
        json={
            "body": "Käy Ohjaamossa.",
            "publish": True,
            "services": [ohjaamo["id"], workshop["id"]],
        },
    )
    assert answered.status == 200
    assert (await answered.json())["answers"][0]["referrals"] == [ohjaamo["id"], workshop["id"]]
    board = await (await client.get(f"/q/{qid}")).text()
    followup = await (await client.get(f"/f/{asked['code']}")).text()
    for html in (board, followup):
        assert html.count('class="referral-card"') == 2
        assert ohjaamo["name"] in html and ohjaamo["phones"][0]["number"] in html
    events = rows(
        settings,
        "SELECT channel, category, subject_id, detail FROM usage_events"
        " WHERE kind = 'referral_made' ORDER BY id",
    )
    assert [(c, cat, s, json.loads(d)["service_id"]) for c, cat, s, d in events] == [
        ("question", "tyonhaku", qid, ohjaamo["id"]),
        ("question", "tyonhaku", qid, workshop["id"]),
    ]
    assert defunct  # a service no longer active cannot be referred to:
    defunct["status"] = "defunct"
    await do_import(client.server.app[keys.DIRECTORY], [defunct], acting_staff=None)
    second = (await ask(client, body="Toinen kysymys rahasta ja tuista"))["id"]
    await mikko.post(f"/api/staff/questions/{second}/claim", json={})
    late = await mikko.post(
        f"/api/staff/questions/{second}/answer",
        json={"body": "Katso Kela.", "publish": False, "services": [defunct["id"]]},
    )
    assert late.status == 400


async def test_staff_answer_form_offers_the_topics_services(
    client: TestClient, staff_client: StaffClient, demo_directory: list[dict[str, Any]]
) -> None:
    qid = (await ask(client, body="Miten haen kesätöitä ensimmäistä kertaa?", category="tyonhaku"))[
        "id"
    ]
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    await sanna.post(f"/api/staff/questions/{qid}/claim", json={})
    page = await (await sanna.get(f"/staff/questions/{qid}")).text()
    assert 'name="services"' in page and by_name("Ohjaamo")["id"] in page
    found = await (await sanna.get(f"/staff/questions/{qid}", params={"find": "velka"})).text()
    assert by_name("velka")["id"] in found


async def test_coordinators_import_from_the_page_and_download_the_export(
    client: TestClient, staff_client: StaffClient, settings: Settings
) -> None:
    assert (await client.get("/coordinator/directory", allow_redirects=False)).status in (
        302,
        303,
        401,
    )
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    assert (await sanna.get("/coordinator/directory")).status == 403
    assert (await sanna.post("/api/coordinator/directory/import", json=[])).status == 403
    helena = await staff_client("helena", "coordinator", "Helena")
    page = await (await helena.get("/coordinator/directory")).text()
    token = csrf_token(page)
    broken = copy.deepcopy(DEMO[:3])
    broken[1]["maximum_age"] = "lots"
    form = FormData()
    form.add_field("csrf_token", token)
    form.add_field(
        "file", json.dumps(broken), filename="directory.json", content_type="application/json"
    )
    result = await helena.post("/coordinator/directory", data=form)
    html = await result.text()
    assert result.status == 200 and "maximum_age" in html
    assert rows(settings, "SELECT count(*) FROM services") == [(2,)]
    audit = rows(settings, "SELECT action, detail FROM audit_log WHERE action = 'directory_import'")
    assert json.loads(audit[-1][1]) == {"created": 2, "updated": 0, "unchanged": 0, "failed": 1}
    download = await helena.get("/coordinator/directory/export.json")
    assert download.status == 200 and "attachment" in download.headers["Content-Disposition"]
    assert len(json.loads(await download.text())) == 2
    api = await helena.post("/api/coordinator/directory/import", json=DEMO)
    assert (await api.json())["created"] == len(DEMO) - 2
