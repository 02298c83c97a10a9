"""Coordinators set opening hours, settings, capacity and canned responses; pages show status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from tests.chat_clients import Staff, Visitor
from tests.conftest import FakeClock, cookie, rows, url

StaffClient = Callable[..., Awaitable[TestClient]]
WEEKDAYS_9_TO_16 = {day: ["09:00-16:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


async def test_only_coordinators_manage_the_chat(
    client: TestClient, staff_client: StaffClient, coordinator: TestClient
) -> None:
    counsellor = await staff_client("sanna", "counsellor")
    for who, status in ((client, 401), (counsellor, 403), (coordinator, 200)):
        assert (await who.get("/api/coordinator/chat")).status == status
        put = await who.put("/api/coordinator/chat", json={"weekly": {}})
        assert put.status == status


async def test_hours_round_trip_and_bad_hours_name_the_field(
    coordinator: TestClient, settings: Any
) -> None:
    config = {
        "weekly": {**WEEKDAYS_9_TO_16, "tue": ["09:00-16:00", "18:00-21:00"]},
        "exceptions": [{"day": "2026-12-24", "hours": [], "note": "Jouluaatto"}],
        "offer_question_after_s": 600,
        "auto_assign": False,
    }
    response = await coordinator.put("/api/coordinator/chat", json=config)
    assert response.status == 200
    saved = await response.json()
    assert {k: saved[k] for k in config} == config
    assert rows(settings, "SELECT action FROM audit_log WHERE target_type = 'chat_settings'") == [
        ("chat_configure",)
    ]
    for bad, field in (
        ({"weekly": {"mon": ["25:00-26:00"]}}, "weekly.mon"),
        ({"weekly": {"mon": ["09:00-12:00", "11:00-13:00"]}}, "weekly.mon"),
        ({"exceptions": [{"day": "2026-12-24", "hours": []}] * 367}, "exceptions"),
        ({"weekly": {"funday": []}}, "weekly"),
        ({"exceptions": [{"day": "24.12."}]}, "exceptions.0"),
        ({"offer_question_after_s": -1}, "offer_question_after_s"),
        ({"auto_assign": "yes"}, "auto_assign"),
    ):
        refused = await coordinator.put("/api/coordinator/chat", json=bad)
        assert refused.status == 400, bad
        assert field in (await refused.json())["errors"], bad
    assert (await (await coordinator.get("/api/coordinator/chat")).json())["weekly"] == config[
        "weekly"
    ], "a refused change leaves the saved hours alone"


async def test_outside_hours_the_chat_is_closed_even_with_staff(
    client: TestClient,
    coordinator: TestClient,
    staff_client: StaffClient,
    clock: FakeClock,
    opened: list[Any],
) -> None:
    # The test clock says Tuesday 24 Nov 2026 10:00 UTC = 12:00 in Helsinki.
    await coordinator.put("/api/coordinator/chat", json={"weekly": {"tue": ["13:00-16:00"]}})
    staff = Staff(cookie(await staff_client("mikko", "adviser", "Mikko")))
    opened.append(staff)
    await staff.connect(url(client))
    await staff.available()
    page = await (await client.get("/")).text()
    assert 'class="chat-status closed"' in page
    visitor = Visitor()
    opened.append(visitor)
    await visitor.connect(url(client))
    status = await visitor.next("status")
    assert status == {
        "open": False,
        "next_open": "2026-11-24T11:00:00Z",
        "offer_question_after_s": 900,
    }
    assert (await visitor.start())["error"] == "closed"
    clock.advance(hours=1)
    await staff.available(True)  # any change refreshes the status
    assert (await visitor.until("status", lambda s: s["open"]))["next_open"] is None
    assert "chat_id" in await visitor.start()
    assert 'class="chat-status open"' in await (await client.get("/")).text()


async def test_capacity_and_canned_responses(
    client: TestClient, coordinator: TestClient, staff_client: StaffClient, settings: Any
) -> None:
    sanna = await staff_client("sanna", "counsellor", "Sanna")
    staff_id = rows(settings, "SELECT id FROM staff WHERE username = 'sanna'")[0][0]
    path = f"/api/coordinator/staff/{staff_id}/chat-capacity"
    assert (await coordinator.put(path, json={"capacity": 21})).status == 400
    changed = await (await coordinator.put(path, json={"capacity": 3})).json()
    assert {s["id"]: s["capacity"] for s in changed["staff"]}[staff_id] == 3
    helena_id = rows(settings, "SELECT id FROM staff WHERE username = 'helena'")[0][0]
    no_chats = f"/api/coordinator/staff/{helena_id}/chat-capacity"
    assert (await coordinator.put(no_chats, json={"capacity": 3})).status == 404

    added = await coordinator.post(
        "/api/coordinator/canned", json={"title": "Ohjaamo", "body": "Ohjaamossa autetaan."}
    )
    assert added.status == 201
    item = next(c for c in (await added.json())["canned"] if c["title"] == "Ohjaamo")
    page = await (await sanna.get("/staff/chat")).text()
    assert "Ohjaamossa autetaan." in page
    edit = {"title": "Ohjaamo", "body": "Ohjaamossa autetaan maksutta."}
    assert (await coordinator.put(f"/api/coordinator/canned/{item['id']}", json=edit)).status == 200
    assert (await coordinator.delete(f"/api/coordinator/canned/{item['id']}")).status == 200
    assert (await coordinator.delete(f"/api/coordinator/canned/{item['id']}")).status == 404
    assert "Ohjaamossa" not in await (await sanna.get("/staff/chat")).text()
    actions = [
        r[0]
        for r in rows(
            settings,
            "SELECT action FROM audit_log WHERE target_type != 'staff_session' ORDER BY id",
        )
        if r[0] not in ("create_staff", "sign_in")
    ]
    assert actions == ["chat_capacity", "canned_add", "canned_edit", "canned_retire"]


async def test_chat_pages_need_the_right_people(
    client: TestClient, coordinator: TestClient
) -> None:
    assert (await client.get("/chat")).status == 200
    assert (await coordinator.get("/staff/chat")).status == 403
    anonymous = await client.get("/staff/chat", allow_redirects=False)
    assert anonymous.status == 302 and "/staff/login" in anonymous.headers["Location"]
