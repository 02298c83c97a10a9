"""Coordinators change the chat's settings and read the audit log on pages without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.settings import Settings
from service.storage import audit
from service.storage.engines import sqlite as sqlite_engine
from tests.conftest import FakeClock, add_staff, ask, csrf_token, rows, sign_in, staff_id

StaffClient = Callable[..., Awaitable[TestClient]]
CHAT = "/coordinator/chat"
AUDIT = "/coordinator/audit"


@pytest.fixture
async def coordinator(staff_client: StaffClient) -> TestClient:
    helena = await staff_client("helena", "coordinator", "Helena")
    await helena.get("/staff?lang=en")  # the messages below are the English originals
    return helena


async def post_form(who: TestClient, path: str, fields: dict[str, str], page: str = CHAT) -> Any:
    """Post like a browser: read the CSRF token from the page first; redirects not followed."""
    token = csrf_token(await (await who.get(page)).text())
    return await who.post(path, data={"csrf_token": token, **fields}, allow_redirects=False)


async def chat_config(who: TestClient) -> dict[str, Any]:
    response = await who.get("/api/coordinator/chat")
    assert response.status == 200
    return dict(await response.json())


def audit_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="audit-(\d+)"', html)]


HOURS_FORM = {
    "weekly-mon": "09:00-16:00",
    "weekly-tue": "09:00-16:00, 18:00–21:00",
    "weekly-wed": "",
    "weekly-thu": "10:00-14:00",
    "weekly-fri": "",
    "weekly-sat": "",
    "weekly-sun": "",
    "exceptions-0-day": "2026-12-24",
    "exceptions-0-hours": "",
    "exceptions-0-note": "Jouluaatto",
    "wait_minutes": "10",
}


async def test_only_coordinators_reach_the_pages(
    client: TestClient, staff_client: StaffClient, coordinator: TestClient, settings: Settings
) -> None:
    posts = (
        CHAT,
        CHAT + "/capacity/1",
        CHAT + "/canned",
        CHAT + "/canned/1",
        CHAT + "/canned/1/retire",
    )
    for path in (CHAT, AUDIT):
        anonymous = await client.get(path, allow_redirects=False)
        assert anonymous.status == 302
        assert anonymous.headers["Location"] == f"/staff/login?next={path}"
        assert (await coordinator.get(path)).status == 200
    login_token = csrf_token(await (await client.get("/staff/login")).text())
    for path in posts:
        anonymous = await client.post(path, data={"csrf_token": login_token}, allow_redirects=False)
        assert anonymous.status == 302, path
    for role in ("counsellor", "adviser"):
        who = await staff_client(f"{role}1", role)
        for path in (CHAT, AUDIT):
            assert (await who.get(path)).status == 403, (role, path)
        token = csrf_token(await (await who.get("/staff/queue")).text())
        for path in posts:
            refused = await who.post(
                path, data={"csrf_token": token, "capacity": "3"}, allow_redirects=False
            )
            assert refused.status == 403, (role, path)
    actions = rows(settings, "SELECT DISTINCT action FROM audit_log ORDER BY action")
    assert actions == [("create_staff",), ("sign_in",)], "no refused request changed anything"


async def test_hours_exception_and_wait_saved_through_the_form(
    coordinator: TestClient, settings: Settings
) -> None:
    saved = await post_form(coordinator, CHAT, HOURS_FORM)
    assert saved.status == 303 and saved.headers["Location"] == CHAT + "?done=hours"
    config = await chat_config(coordinator)
    assert config["weekly"] == {
        "mon": ["09:00-16:00"],
        "tue": ["09:00-16:00", "18:00-21:00"],
        "thu": ["10:00-14:00"],
    }, "empty days are closed"
    assert config["exceptions"] == [{"day": "2026-12-24", "hours": [], "note": "Jouluaatto"}]
    assert config["offer_question_after_s"] == 600
    assert config["auto_assign"] is False, "an unticked box switches auto-assign off"
    assert rows(settings, "SELECT action FROM audit_log WHERE target_type = 'chat_settings'") == [
        ("chat_configure",)
    ]
    page = await (await coordinator.get(saved.headers["Location"])).text()
    assert 'role="status">Opening hours and settings saved.' in page
    assert 'name="weekly-tue" value="09:00-16:00, 18:00-21:00"' in page
    assert 'name="exceptions-0-note" value="Jouluaatto"' in page
    assert 'name="exceptions-1-day" value=""' in page, "an empty row adds an exception"

    # Add a second exception with hours, remove the first, switch auto-assign on.
    again = {
        **HOURS_FORM,
        "exceptions-0-remove": "on",
        "exceptions-1-day": "2026-12-31",
        "exceptions-1-hours": "10:00-12:00",
        "exceptions-1-note": "",
        "auto_assign": "on",
        "wait_minutes": "1.5",
    }
    assert (await post_form(coordinator, CHAT, again)).status == 303
    config = await chat_config(coordinator)
    assert config["exceptions"] == [{"day": "2026-12-31", "hours": ["10:00-12:00"], "note": None}]
    assert config["auto_assign"] is True and config["offer_question_after_s"] == 90


async def test_bad_hours_are_shown_beside_their_field_with_the_typing_kept(
    coordinator: TestClient, settings: Settings
) -> None:
    assert (await post_form(coordinator, CHAT, HOURS_FORM)).status == 303
    before = await chat_config(coordinator)
    bad = {**HOURS_FORM, "weekly-mon": "25:00-26:00", "exceptions-0-note": "Aatto"}
    refused = await post_form(coordinator, CHAT, bad)
    assert refused.status == 400
    page = await refused.text()
    assert re.search(
        r'<p class="field-error" id="weekly-mon-error">Write times like 09:00-16:00', page
    )
    monday = re.search(r'<input id="weekly-mon"[^>]*>', page)
    assert monday is not None
    assert 'value="25:00-26:00"' in monday[0]
    assert 'aria-invalid="true"' in monday[0] and "weekly-mon-error" in monday[0]
    assert 'name="exceptions-0-note" value="Aatto"' in page
    assert 'name="weekly-tue" value="09:00-16:00, 18:00–21:00"' in page
    assert await chat_config(coordinator) == before, "nothing was saved"

    for fields, name in (
        ({"exceptions-0-day": "24.12.2026"}, "exceptions-0"),
        ({"wait_minutes": "soon"}, "wait_minutes"),
        ({"wait_minutes": "-1"}, "wait_minutes"),
        ({"weekly-fri": "09:00-12:00, 11:00-13:00"}, "weekly-fri"),
    ):
        refused = await post_form(coordinator, CHAT, {**HOURS_FORM, **fields})
        assert refused.status == 400, fields
        assert f'id="{name}-error"' in await refused.text(), fields
    assert len(rows(settings, "SELECT 1 FROM audit_log WHERE action = 'chat_configure'")) == 1


async def test_capacity_for_someone_who_never_opened_the_console(
    client: TestClient, coordinator: TestClient, settings: Settings
) -> None:
    await add_staff(client, "pekka", "adviser", "Pekka")
    pekka = staff_id(settings, "pekka")
    page = await (await coordinator.get(CHAT)).text()
    assert f'action="/coordinator/chat/capacity/{pekka}"' in page
    assert rows(settings, "SELECT count(*) FROM staff_presence") == [(0,)]
    saved = await post_form(coordinator, f"{CHAT}/capacity/{pekka}", {"capacity": "5"})
    assert saved.status == 303
    staff = {s["id"]: s["capacity"] for s in (await chat_config(coordinator))["staff"]}
    assert staff[pekka] == 5
    refused = await post_form(coordinator, f"{CHAT}/capacity/{pekka}", {"capacity": "99"})
    assert refused.status == 400
    html = await refused.text()
    assert f'id="capacity-{pekka}-error"' in html and 'value="99"' in html
    helena = staff_id(settings, "helena")
    missing = await post_form(coordinator, f"{CHAT}/capacity/{helena}", {"capacity": "1"})
    assert missing.status == 404
    assert rows(settings, "SELECT detail FROM audit_log WHERE action = 'chat_capacity'") == [
        ('{"capacity": 5}',)
    ]


async def test_canned_responses_added_edited_and_retired(
    coordinator: TestClient, settings: Settings
) -> None:
    added = await post_form(
        coordinator, CHAT + "/canned", {"title": "Ohjaamo", "body": "Tule käymään.", "position": ""}
    )
    assert added.status == 303
    seeded = len(rows(settings, "SELECT 1 FROM canned_responses WHERE active = 1")) - 1
    [item] = [c for c in (await chat_config(coordinator))["canned"] if c["title"] == "Ohjaamo"]
    assert item["position"] == 0
    refused = await post_form(
        coordinator, CHAT + "/canned", {"title": "", "body": "<b>kept</b>", "position": "1"}
    )
    assert refused.status == 400
    html = await refused.text()
    assert 'id="canned-new-title-error"' in html and "&lt;b&gt;kept&lt;/b&gt;" in html
    edited = await post_form(
        coordinator,
        f"{CHAT}/canned/{item['id']}",
        {"title": "Ohjaamo", "body": "Tule käymään maksutta.", "position": "-2"},
    )
    assert edited.status == 303
    item = (await chat_config(coordinator))["canned"][0]
    assert (item["body"], item["position"]) == ("Tule käymään maksutta.", -2)
    retired = await post_form(coordinator, f"{CHAT}/canned/{item['id']}/retire", {})
    assert retired.status == 303
    left = (await chat_config(coordinator))["canned"]
    assert len(left) == seeded and "Ohjaamo" not in [c["title"] for c in left]
    gone = await post_form(coordinator, f"{CHAT}/canned/{item['id']}/retire", {})
    assert gone.status == 404
    assert [
        r[0] for r in rows(settings, "SELECT action FROM audit_log WHERE target_type = 'canned'")
    ] == ["canned_add", "canned_edit", "canned_retire"]


async def test_audit_page_labels_filters_and_pages(
    client: TestClient,
    coordinator: TestClient,
    staff_client: StaffClient,
    settings: Settings,
    clock: FakeClock,
) -> None:
    # Tuesday 24 Nov 2026 12:00 Helsinki: sign-ins and the hours; 23:59 a canned response;
    # from midnight on (22:00 UTC) a new sign-in and two more.
    await staff_client("sanna", "counsellor", "Sanna")
    assert (await post_form(coordinator, CHAT, HOURS_FORM)).status == 303
    clock.advance(hours=11, minutes=59)
    canned = {"title": "Vastaus", "body": "<script>x</script>", "position": "1"}
    assert (await post_form(coordinator, CHAT + "/canned", canned)).status == 303
    clock.advance(minutes=1)
    await sign_in(coordinator, "helena")  # the session ran out at 22:00 UTC
    for _ in range(2):
        assert (await post_form(coordinator, CHAT + "/canned", canned)).status == 303
    helena, sanna = staff_id(settings, "helena"), staff_id(settings, "sanna")
    log = rows(settings, "SELECT id, action, staff_id, at FROM audit_log ORDER BY id DESC")
    assert [(r[1], r[2]) for r in log] == [
        ("canned_add", helena),
        ("canned_add", helena),
        ("sign_in", helena),
        ("canned_add", helena),
        ("chat_configure", helena),
        ("sign_in", sanna),
        ("create_staff", None),
        ("sign_in", helena),
        ("create_staff", None),
    ]
    ids = [r[0] for r in log]

    page = await (await coordinator.get(AUDIT)).text()
    assert audit_ids(page) == ids
    for label in ("Changed chat hours and settings", "Added a canned response", "Signed in"):
        assert label in page
    assert "helena (Helena)" in page and "sanna (Sanna)" in page and ">system<" in page
    assert "<script>" not in page.split("<main")[1]
    assert "25 Nov 2026, 00:00" in page and "24 Nov 2026, 23:59" in page

    for query, expected in (
        ("action=canned_add", [ids[0], ids[1], ids[3]]),
        (f"staff={sanna}", [ids[5]]),
        ("staff=system", [ids[6], ids[8]]),
        ("from=2026-11-25", ids[:3]),
        ("to=2026-11-24", ids[3:]),
        ("from=2026-11-24&to=2026-11-24", ids[3:]),
        (f"action=sign_in&staff={helena}&to=2026-11-24", [ids[7]]),
        (f"action=sign_in&staff={helena}&from=2026-11-25", [ids[2]]),
        ("target=chat_settings", [ids[4]]),
        ("target=canned&from=2026-11-25", ids[:2]),
        ("from=2026-11-26", []),
        ("to=2026-11-23", []),
    ):
        response = await coordinator.get(f"{AUDIT}?{query}")
        assert response.status == 200, query
        html = await response.text()
        assert audit_ids(html) == expected, query
        assert expected or "No entries match." in html

    for query, field in (
        ("from=2026-13-01", "from"),
        ("from=0001-01-01&to=9999-12-31", "from"),
        ("to=9999-12-31", "to"),
        ("to=yesterday", "to"),
        ("from=2026-11-25&to=2026-11-24", "to"),
        ("staff=abc", "staff"),
        ("staff=999", "staff"),
        ("action=DROP%20TABLE", "action"),
        ("before=x", "before"),
    ):
        response = await coordinator.get(f"{AUDIT}?{query}")
        assert response.status == 400, query
        html = await response.text()
        assert f'id="{field}-error"' in html, query
        assert "<tr id=" not in html


async def test_audit_pages_by_id_fifty_at_a_time(
    coordinator: TestClient, settings: Settings
) -> None:
    for n in range(55):
        added = await coordinator.post(
            "/api/coordinator/canned", json={"title": f"T{n}", "body": "b"}
        )
        assert added.status == 201
    newest = [r[0] for r in rows(settings, "SELECT id FROM audit_log ORDER BY id DESC")]
    first = await (await coordinator.get(AUDIT)).text()
    assert audit_ids(first) == newest[:50]
    older = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert older is not None and older[1] == f"{AUDIT}?before={newest[49]}"
    second = await (await coordinator.get(older[1])).text()
    assert audit_ids(second) == newest[50:]
    assert 'rel="next"' not in second and f'href="{AUDIT}"' in second
    by_action = await (await coordinator.get(f"{AUDIT}?action=canned_add")).text()
    link = re.search(r'<a href="([^"]+)" rel="next">', by_action)
    assert link is not None and link[1].startswith(f"{AUDIT}?action=canned_add&amp;before=")


class SqlSpy:
    """Stands in for the database to catch the SQL a storage function would run."""

    dialect = sqlite_engine.DIALECT

    def __init__(self) -> None:
        self.sql: list[str] = []

    async def fetch_all(self, sql: str, params: Any = ()) -> list[Any]:
        self.sql.append(sql)
        return []


@pytest.mark.sqlite_only  # SQLite's EXPLAIN QUERY PLAN; PostgreSQL's planner chooses for itself
async def test_audit_filters_use_the_indexes(client: TestClient, settings: Settings) -> None:
    await client.get("/")  # the app has migrated the database
    plans = {}
    for name, filters in (
        ("action", audit.LogFilter(action="sign_in", before=10)),
        ("time", audit.LogFilter(since="2026-11-24T00:00:00Z", until="2026-11-25T00:00:00Z")),
        ("time and staff", audit.LogFilter(staff_id=1, since="2026-11-24T00:00:00Z")),
    ):
        spy = SqlSpy()
        await audit.page(spy, filters, limit=51)  # type: ignore[arg-type]
        [sql] = spy.sql
        plan = rows(settings, "EXPLAIN QUERY PLAN " + sql, ("x",) * sql.count("?"))
        plans[name] = " ".join(str(step[-1]) for step in plan)
    assert "audit_log_action" in plans["action"]
    assert "audit_log_at" in plans["time"] and "audit_log_at" in plans["time and staff"]


async def test_audit_links_questions_and_shows_unknown_actions_raw(
    client: TestClient, coordinator: TestClient, staff_client: StaffClient, settings: Settings
) -> None:
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    question = await ask(client)
    claimed = await sanna.post(f"/api/staff/questions/{question['id']}/claim", json={})
    assert claimed.status == 200, await claimed.text()
    rows(
        settings,
        "INSERT INTO audit_log (at, staff_id, action, target_type, target_id, detail)"
        " VALUES ('2026-11-24T10:00:00Z', NULL, 'future_thing', 'gadget', 7, ?)",
        ('{"note": "<b>x</b>", "list": [1, true, null]}',),
    )
    page = await (await coordinator.get(AUDIT)).text()
    assert f'<a href="/staff/questions/{question["id"]}">#{question["id"]}</a>' in page
    assert "Claimed a question" in page
    assert "<td>future_thing</td>" in page and "gadget #7" in page
    assert "<dd>&lt;b&gt;x&lt;/b&gt;</dd>" in page and "<dd>1, yes, –</dd>" in page
