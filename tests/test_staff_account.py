"""A staff member's own account (changing the password), and the coordinators' confirmation
pages, personal-data export and erasure of a departed colleague's name."""

from __future__ import annotations

import html as html_lib
import json
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from service.settings import Settings
from tests.conftest import PASSWORD, add_staff, ask, csrf_token, rows, sign_in, staff_id

StaffClient = Callable[..., Awaitable[TestClient]]
NEW = "kolme kissaa kävelee"


async def _change(who: TestClient, **fields: str) -> ClientResponse:
    page = await (await who.get("/staff/account")).text()
    return await who.post(
        "/staff/account/password",
        data={"csrf_token": csrf_token(page), **fields},
        allow_redirects=False,
    )


async def _login(client: TestClient, username: str, password: str) -> int:
    response = await client.post(
        "/api/staff/login", json={"username": username, "password": password}
    )
    return response.status


async def test_bad_password_changes_are_refused_by_field(
    client: TestClient, staff_client: StaffClient, settings: Settings
) -> None:
    sanna = await staff_client("sanna", "counsellor")
    page = await (await sanna.get("/staff/account")).text()
    assert 'href="/staff/account"' in page and 'aria-current="page"' in page, "in the nav"
    refusals = [
        ({"current": "wrong-password-x", "new": NEW, "again": NEW}, "current"),
        ({"current": PASSWORD, "new": "lyhyt", "again": "lyhyt"}, "new"),
        ({"current": PASSWORD, "new": "Password1234", "again": "Password1234"}, "new"),
        ({"current": PASSWORD, "new": "QWERTYUIOP123", "again": "QWERTYUIOP123"}, "new"),
        ({"current": PASSWORD, "new": NEW, "again": NEW + "!"}, "again"),
        ({"current": PASSWORD, "new": PASSWORD, "again": PASSWORD}, "new"),
        ({"current": "", "new": NEW, "again": NEW}, "current"),
    ]
    for fields, field in refusals:
        refused = await _change(sanna, **fields)
        assert refused.status == 400, fields
        assert f'id="{field}-error"' in await refused.text(), fields
    assert await _login(client, "sanna", PASSWORD) == 200, "the password is unchanged"
    assert not rows(settings, "SELECT 1 FROM audit_log WHERE action = 'change_own_password'")


async def test_changing_the_password_ends_the_other_sessions_only(
    client: TestClient,
    staff_client: StaffClient,
    new_client: Callable[[], Awaitable[TestClient]],
    settings: Settings,
) -> None:
    sanna = await staff_client("sanna", "counsellor")
    elsewhere = await new_client()
    await sign_in(elsewhere, "sanna")
    changed = await _change(sanna, current=PASSWORD, new=NEW, again=NEW)
    assert changed.status == 303 and changed.headers["Location"] == "/staff/account?done=password"
    assert 'role="status"' in await (await sanna.get(changed.headers["Location"])).text()
    assert (await sanna.get("/staff/queue")).status == 200, "this session stays"
    assert (await elsewhere.get("/api/staff/me")).status == 401, "the other one ended"
    assert await _login(client, "sanna", PASSWORD) == 401
    assert await _login(client, "sanna", NEW) == 200
    target = staff_id(settings, "sanna")
    assert rows(
        settings,
        "SELECT staff_id, target_id FROM audit_log WHERE action = 'change_own_password'",
    ) == [(target, target)]


async def test_dangerous_steps_ask_for_confirmation_first(
    coordinator: TestClient, staff_client: StaffClient, settings: Settings
) -> None:
    await staff_client("mikko", "adviser", "Mikko")
    target = staff_id(settings, "mikko")
    listing = await (await coordinator.get("/coordinator/staff")).text()
    for step in ("deactivate", "password"):
        assert f'href="/coordinator/staff/{target}/confirm/{step}"' in listing
    assert f'action="/coordinator/staff/{target}/active"' not in listing, "no one-click deactivate"
    page = await coordinator.get(f"/coordinator/staff/{target}/confirm/deactivate?lang=en")
    text = html_lib.unescape(await page.text())
    assert page.status == 200 and "Deactivate mikko?" in text
    assert f'action="/coordinator/staff/{target}/active"' in text and 'value="0"' in text
    assert 'href="/coordinator/staff#staff-' in text, "a way back"
    assert rows(settings, "SELECT active FROM staff WHERE id = ?", (target,)) == [(1,)]
    reset = await coordinator.get(f"/coordinator/staff/{target}/confirm/password")
    assert f'action="/coordinator/staff/{target}/password"' in await reset.text()
    assert (await coordinator.get(f"/coordinator/staff/{target}/confirm/nonsense")).status == 404
    assert (await coordinator.get("/coordinator/staff/999/confirm/erase")).status == 404


async def test_export_and_erase_a_departed_colleague(
    client: TestClient, coordinator: TestClient, staff_client: StaffClient, settings: Settings
) -> None:
    mikko = await staff_client("mikko", "adviser", "Mikko")
    target = staff_id(settings, "mikko")
    question = await ask(client)
    await mikko.post(f"/api/staff/questions/{question['id']}/claim")
    answered = await mikko.post(
        f"/api/staff/questions/{question['id']}/answer",
        json={"body": "Työpajaan voi hakea ympäri vuoden, kysy ohjaajalta.", "publish": True},
    )
    assert answered.status == 200, await answered.text()
    token = csrf_token(await (await coordinator.get("/coordinator/staff")).text())
    exported = await coordinator.post(
        f"/coordinator/staff/{target}/personal-data", data={"csrf_token": token}
    )
    assert exported.status == 200 and "attachment" in exported.headers["Content-Disposition"]
    data = json.loads(await exported.text())
    assert data["account"]["username"] == "mikko" and data["account"]["first_name"] == "Mikko"
    assert [a["question_id"] for a in data["answers"]] == [question["id"]]
    assert data["sessions"] and "token_hash" not in data["sessions"][0]
    assert "sign_in" in [row["action"] for row in data["audit_by_them"]]
    assert "Työpajaan" not in await exported.text(), "not the words written to the young person"
    assert "työpajaan" not in json.dumps(data).lower()
    # Erasing an active colleague is refused: deactivate first.
    refused = await coordinator.post(
        f"/coordinator/staff/{target}/erase", data={"csrf_token": token}
    )
    assert refused.status == 409 and f'id="erase-{target}-error"' in await refused.text()
    deactivated = await coordinator.post(
        f"/coordinator/staff/{target}/active", data={"csrf_token": token, "active": "0"}
    )
    assert deactivated.status == 200  # followed to the list
    confirm = html_lib.unescape(
        await (await coordinator.get(f"/coordinator/staff/{target}/confirm/erase?lang=en")).text()
    )
    assert (
        "cannot be undone" in confirm and f'action="/coordinator/staff/{target}/erase"' in confirm
    )
    audit_before = rows(settings, "SELECT id, staff_id, action FROM audit_log ORDER BY id")
    erased = await coordinator.post(
        f"/coordinator/staff/{target}/erase", data={"csrf_token": token}, allow_redirects=False
    )
    assert erased.status == 303 and erased.headers["Location"].endswith("done=erased")
    assert rows(settings, "SELECT username, first_name FROM staff WHERE id = ?", (target,)) == [
        (f"poistettu-{target}", None)
    ]
    assert rows(settings, "SELECT first_name FROM answers WHERE staff_id = ?", (target,)) == [
        (None,)
    ]
    audit_after = rows(settings, "SELECT id, staff_id, action FROM audit_log ORDER BY id")
    assert audit_after[: len(audit_before)] == audit_before, "the trail is untouched"
    assert audit_after[-1][1:] == (staff_id(settings, "helena"), "erase_personal_data")
    listing = html_lib.unescape(await (await coordinator.get("/coordinator/staff")).text())
    assert "Mikko" not in listing and f"poistettu-{target}" in listing
    assert await _login(client, "mikko", PASSWORD) == 401
    assert await _login(client, f"poistettu-{target}", PASSWORD) == 401
    back = await coordinator.post(
        f"/coordinator/staff/{target}/active", data={"csrf_token": token, "active": "1"}
    )
    assert back.status == 409, "an erased account stays off"
    audit_page = await coordinator.get("/coordinator/audit")
    assert "Mikko" not in await audit_page.text()


async def test_erasure_works_even_when_an_old_account_holds_the_pseudonym(
    client: TestClient, coordinator: TestClient, settings: Settings
) -> None:
    target = await add_staff(client, "mikko", "adviser", "Mikko")
    # The command line refuses the erased accounts' prefix now; an account made before could
    # still carry the very name the erasure would give.
    with pytest.raises(ValueError, match="poistettu-"):
        await add_staff(client, f"poistettu-{target}", "counsellor")
    other = await add_staff(client, "vanha", "counsellor")
    rows(settings, "UPDATE staff SET username = ? WHERE id = ?", (f"poistettu-{target}", other))
    token = csrf_token(await (await coordinator.get("/coordinator/staff")).text())
    await coordinator.post(
        f"/coordinator/staff/{target}/active", data={"csrf_token": token, "active": "0"}
    )
    erased = await coordinator.post(
        f"/coordinator/staff/{target}/erase", data={"csrf_token": token}, allow_redirects=False
    )
    assert erased.status == 303, await erased.text()
    [(name, first_name)] = rows(
        settings, "SELECT username, first_name FROM staff WHERE id = ?", (target,)
    )
    assert name.startswith(f"poistettu-{target}-") and first_name is None
    assert rows(settings, "SELECT username FROM staff WHERE id = ?", (other,)) == [
        (f"poistettu-{target}",)
    ]
