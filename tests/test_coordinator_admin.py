"""Coordinators manage staff accounts and categories on server-rendered pages, with audit rows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from service.settings import Settings
from tests.chat_clients import Staff, Visitor
from tests.conftest import dump, rows, sign_in, staff_id
from tests.conftest import staff_post as post

StaffClient = Callable[..., Awaitable[TestClient]]
STAFF = "/coordinator/staff"
CATEGORIES = "/coordinator/categories"


def shown_password(html: str) -> str:
    return html.split('<p class="code"><code>')[1].split("</code>")[0]


async def create(who: TestClient, username: str, role: str, **extra: str) -> ClientResponse:
    return await post(who, STAFF, username=username, role=role, **extra)


async def login_status(client: TestClient, username: str, password: str) -> int:
    response = await client.post(
        "/api/staff/login", json={"username": username, "password": password}
    )
    return response.status


def audit(settings: Settings, *actions: str) -> list[tuple[Any, ...]]:
    marks = ", ".join("?" for _ in actions)
    return rows(
        settings,
        f"SELECT action, target_type, target_id, detail, staff_id FROM audit_log"
        f" WHERE action IN ({marks}) ORDER BY id",
        actions,
    )


async def test_only_coordinators_reach_the_pages(
    client: TestClient, staff_client: StaffClient, coordinator: TestClient, settings: Settings
) -> None:
    for path in (STAFF, CATEGORIES):
        anonymous = await client.get(path, allow_redirects=False)
        assert anonymous.status == 302
        assert anonymous.headers["Location"] == "/staff/login?next=" + path
        assert (await coordinator.get(path)).status == 200
    target = staff_id(settings, "helena")
    posts: list[tuple[str, dict[str, str]]] = [
        (STAFF, {"username": "intruder", "role": "admin"}),
        (f"{STAFF}/{target}/role", {"role": "counsellor"}),
        (f"{STAFF}/{target}/active", {"active": "0"}),
        (f"{STAFF}/{target}/password", {}),
        (CATEGORIES, {"slug": "luvaton", "name_fi": "Luvaton"}),
        (f"{CATEGORIES}/1", {"name_fi": "Luvaton"}),
        (f"{CATEGORIES}/1/active", {"active": "0"}),
    ]
    for role in ("counsellor", "adviser"):
        member = await staff_client(f"{role}1", role)
        for path in (STAFF, CATEGORIES):
            assert (await member.get(path)).status == 403, (role, path)
        for path, data in posts:
            assert (await post(member, path, **data)).status == 403, (role, path)
    assert rows(settings, "SELECT count(*) FROM staff WHERE username = 'intruder'") == [(0,)]
    assert rows(settings, "SELECT active, role FROM staff WHERE id = ?", (target,)) == [
        (1, "coordinator")
    ]
    assert rows(settings, "SELECT count(*) FROM categories WHERE slug = 'luvaton'") == [(0,)]
    assert not audit(settings, "staff_role", "staff_deactivate", "category_edit")
    forged = await coordinator.post(STAFF, data={"username": "x-y-z", "role": "counsellor"})
    assert forged.status == 403, "a post without the form token is refused"


async def test_create_shows_a_password_once_that_signs_in(
    coordinator: TestClient, new_client: Callable[[], Awaitable[TestClient]], settings: Settings
) -> None:
    listing = await (await coordinator.get(STAFF)).text()
    assert '<th scope="row">helena</th>' in listing
    created = await create(coordinator, "sanna.k", "counsellor", first_name="Sanna")
    assert created.status == 200
    assert created.headers["Cache-Control"] == "no-store"
    html = await created.text()
    password = shown_password(html)
    assert len(password) >= 10
    assert "sanna.k" in html and "Sanna" in html
    assert password not in await (await coordinator.get(STAFF)).text(), "shown only once"
    assert password not in dump(settings), "never stored in clear"
    sanna = await new_client()
    await sign_in(sanna, "sanna.k", password)
    assert (await sanna.get("/staff/queue")).status == 200
    new_id = staff_id(settings, "sanna.k")
    [(action, target_type, target_id, detail, actor)] = audit(settings, "create_staff")[-1:]
    assert (target_type, target_id, actor) == ("staff", new_id, staff_id(settings, "helena"))
    assert json.loads(detail) == {"role": "counsellor"}
    assert rows(settings, "SELECT role, first_name, active FROM staff WHERE id = ?", (new_id,)) == [
        ("counsellor", "Sanna", 1)
    ]


@pytest.mark.parametrize(
    ("data", "status", "field"),
    [
        ({"username": "helena", "role": "counsellor"}, 409, "username"),
        ({"username": "HELENA", "role": "counsellor"}, 409, "username"),
        ({"username": "ab", "role": "counsellor"}, 400, "username"),
        ({"username": "has space", "role": "counsellor"}, 400, "username"),
        ({"username": "ääkkönen", "role": "counsellor"}, 400, "username"),
        ({"username": "x" * 41, "role": "counsellor"}, 400, "username"),
        ({"username": "", "role": "counsellor"}, 400, "username"),
        # Erased accounts are renamed so: an account may not take such a name beforehand.
        ({"username": "poistettu-2", "role": "counsellor"}, 400, "username"),
        ({"username": "Poistettu-x", "role": "counsellor"}, 400, "username"),
        ({"username": "newbie", "role": "boss"}, 400, "role"),
        ({"username": "newbie", "role": "counsellor", "first_name": "x" * 41}, 400, "first_name"),
    ],
)
async def test_bad_new_accounts_name_the_field(
    coordinator: TestClient,
    settings: Settings,
    data: dict[str, str],
    status: int,
    field: str,
) -> None:
    refused = await post(coordinator, STAFF, **data)
    assert refused.status == status
    html = await refused.text()
    assert f'id="{field}-error"' in html and 'class="error-summary"' in html
    assert rows(settings, "SELECT count(*) FROM staff") == [(1,)]


async def test_reset_password_signs_out_and_only_the_new_one_works(
    client: TestClient, coordinator: TestClient, staff_client: StaffClient, settings: Settings
) -> None:
    mikko = await staff_client("mikko", "adviser", "Mikko")
    assert (await mikko.get("/staff/queue")).status == 200
    target = staff_id(settings, "mikko")
    reset = await post(coordinator, f"{STAFF}/{target}/password")
    assert reset.status == 200 and reset.headers["Cache-Control"] == "no-store"
    password = shown_password(await reset.text())
    assert password not in dump(settings)
    gone = await mikko.get("/staff/queue", allow_redirects=False)
    assert gone.status == 302 and gone.headers["Location"].startswith("/staff/login")
    assert (await mikko.get("/api/staff/me")).status == 401
    assert rows(settings, "SELECT count(*) FROM staff_sessions WHERE staff_id = ?", (target,)) == [
        (0,)
    ]
    assert await login_status(client, "mikko", "correct horse battery") == 401
    await sign_in(client, "mikko", password)
    [(_, target_type, target_id, detail, _actor)] = audit(settings, "staff_password_reset")
    assert (target_type, target_id, detail) == ("staff", target, None)


async def test_deactivate_ends_sessions_and_sign_in_then_reactivate(
    client: TestClient, coordinator: TestClient, staff_client: StaffClient, settings: Settings
) -> None:
    mikko = await staff_client("mikko", "adviser", "Mikko")
    target = staff_id(settings, "mikko")
    done = await post(coordinator, f"{STAFF}/{target}/active", active="0")
    assert done.status == 303 and done.headers["Location"] == STAFF + "?done=deactivated"
    assert 'role="status"' in await (await coordinator.get(done.headers["Location"])).text()
    assert (await mikko.get("/staff/queue", allow_redirects=False)).status == 302
    assert rows(settings, "SELECT count(*) FROM staff_sessions WHERE staff_id = ?", (target,)) == [
        (0,)
    ]
    assert await login_status(client, "mikko", "correct horse battery") == 401
    again = await post(coordinator, f"{STAFF}/{target}/active", active="1")
    assert again.status == 303
    await sign_in(client, "mikko")
    assert [a[0] for a in audit(settings, "staff_deactivate", "staff_reactivate")] == [
        "staff_deactivate",
        "staff_reactivate",
    ]
    bad = await post(coordinator, f"{STAFF}/{target}/active", active="maybe")
    assert bad.status == 400 and f'id="active-{target}-error"' in await bad.text()
    assert (await post(coordinator, f"{STAFF}/999/active", active="0")).status == 404
    assert (await post(coordinator, f"{STAFF}/999/password")).status == 404


async def test_nobody_changes_their_own_account(
    coordinator: TestClient, settings: Settings
) -> None:
    me = staff_id(settings, "helena")
    for path, data, field in (
        (f"{STAFF}/{me}/active", {"active": "0"}, "active"),
        (f"{STAFF}/{me}/role", {"role": "admin"}, "role"),
        (f"{STAFF}/{me}/role", {"role": "counsellor"}, "role"),
        (f"{STAFF}/{me}/password", {}, "password"),
    ):
        refused = await post(coordinator, path, **data)
        assert refused.status in (400, 409), path
        assert f'id="{field}-{me}-error"' in await refused.text()
    assert rows(settings, "SELECT role, active FROM staff WHERE id = ?", (me,)) == [
        ("coordinator", 1)
    ]
    assert (await coordinator.get(STAFF)).status == 200, "still signed in"


async def test_only_an_admin_manages_admins(
    client: TestClient, coordinator: TestClient, staff_client: StaffClient, settings: Settings
) -> None:
    root = await staff_client("root", "admin")
    await staff_client("sanna", "counsellor")
    admin_id, sanna_id = staff_id(settings, "root"), staff_id(settings, "sanna")
    refusals = (
        (STAFF, {"username": "boss", "role": "admin"}, "role-error"),
        (f"{STAFF}/{sanna_id}/role", {"role": "admin"}, f"role-{sanna_id}-error"),
        (f"{STAFF}/{admin_id}/role", {"role": "counsellor"}, f"role-{admin_id}-error"),
        (f"{STAFF}/{admin_id}/active", {"active": "0"}, f"active-{admin_id}-error"),
        (f"{STAFF}/{admin_id}/password", {}, f"password-{admin_id}-error"),
    )
    for path, data, error_id in refusals:
        refused = await post(coordinator, path, **data)
        assert refused.status == 403, path
        assert f'id="{error_id}"' in await refused.text()
    assert rows(
        settings,
        "SELECT role, active FROM staff WHERE id IN (?, ?) ORDER BY id",
        (
            admin_id,
            sanna_id,
        ),
    ) == [("admin", 1), ("counsellor", 1)]
    # Coordinators still manage the other roles, and may make a coordinator.
    changed = await post(coordinator, f"{STAFF}/{sanna_id}/role", role="coordinator")
    assert changed.status == 303 and changed.headers["Location"] == STAFF + "?done=role"
    # But one coordinator cannot take over, demote or lock out another.
    for path, data, error_id in (
        (f"{STAFF}/{sanna_id}/password", {}, f"password-{sanna_id}-error"),
        (f"{STAFF}/{sanna_id}/role", {"role": "counsellor"}, f"role-{sanna_id}-error"),
        (f"{STAFF}/{sanna_id}/active", {"active": "0"}, f"active-{sanna_id}-error"),
    ):
        refused = await post(coordinator, path, **data)
        assert refused.status == 403, path
        assert f'id="{error_id}"' in await refused.text()
    # An administrator may do all of it.
    made = await create(root, "boss", "admin")
    assert made.status == 200
    await sign_in(client, "boss", shown_password(await made.text()))
    boss_id = staff_id(settings, "boss")
    assert (await post(root, f"{STAFF}/{sanna_id}/role", role="admin")).status == 303
    assert (await post(root, f"{STAFF}/{boss_id}/role", role="coordinator")).status == 303
    assert (await post(root, f"{STAFF}/{sanna_id}/active", active="0")).status == 303
    roles = rows(settings, "SELECT username, role, active FROM staff ORDER BY id")
    assert roles == [
        ("helena", "coordinator", 1),
        ("root", "admin", 1),
        ("sanna", "admin", 0),
        ("boss", "coordinator", 1),
    ]
    role_audit = [
        (target, json.loads(detail)) for _, _, target, detail, _ in audit(settings, "staff_role")
    ]
    assert role_audit == [
        (sanna_id, {"role": "coordinator", "previous": "counsellor"}),
        (sanna_id, {"role": "admin", "previous": "coordinator"}),
        (boss_id, {"role": "coordinator", "previous": "admin"}),
    ]


async def test_deactivating_an_available_counsellor_returns_their_chat(
    client: TestClient,
    coordinator: TestClient,
    on_duty: Callable[..., Awaitable[Staff]],
    visitor: Callable[..., Awaitable[Visitor]],
    settings: Settings,
) -> None:
    sanna = await on_duty("sanna", "counsellor", "Sanna")
    guest = await visitor()
    await guest.start("Tarvitsen apua rahahuoliin.", category="raha")
    [chat_id] = await sanna.own_chat_ids(1)
    target = staff_id(settings, "sanna")
    assert rows(settings, "SELECT available FROM staff_presence WHERE staff_id = ?", (target,)) == [
        (1,)
    ]
    assert (await post(coordinator, f"{STAFF}/{target}/active", active="0")).status == 303
    assert rows(settings, "SELECT available FROM staff_presence WHERE staff_id = ?", (target,)) == [
        (0,)
    ]
    assert rows(settings, "SELECT status, assigned_to FROM chats WHERE id = ?", (chat_id,)) == [
        ("waiting", None)
    ]
    assert (await guest.until("queue", lambda q: True))["position"] == 1
    for _ in range(50):  # the server closed her console socket
        if not sanna.sio.connected or "/staff" not in sanna.sio.namespaces:
            break
        await asyncio.sleep(0.05)
    assert "/staff" not in sanna.sio.namespaces


async def test_a_role_change_closes_the_console_socket(
    coordinator: TestClient, on_duty: Callable[..., Awaitable[Staff]], settings: Settings
) -> None:
    mikko = await on_duty("mikko", "adviser", "Mikko")
    target = staff_id(settings, "mikko")
    assert (await post(coordinator, f"{STAFF}/{target}/role", role="coordinator")).status == 303
    for _ in range(50):
        if "/staff" not in mikko.sio.namespaces:
            break
        await asyncio.sleep(0.05)
    assert "/staff" not in mikko.sio.namespaces
    assert rows(settings, "SELECT available FROM staff_presence WHERE staff_id = ?", (target,)) == [
        (0,)
    ]


async def test_categories_added_renamed_and_deactivated_show_on_public_pages(
    client: TestClient, coordinator: TestClient, settings: Settings
) -> None:
    assert "Kela-asiat" not in await (await client.get("/")).text()  # the board page is cached
    added = await post(
        coordinator,
        CATEGORIES,
        slug="kela-asiat",
        name_fi="Kela-asiat",
        name_en="Kela matters",
        chat_role="counsellor",
        position="7",
    )
    assert added.status == 303 and added.headers["Location"] == CATEGORIES + "?done=added"
    ask = await (await client.get("/ask")).text()
    assert '<option value="kela-asiat">Kela-asiat</option>' in ask
    assert "Kela-asiat" in await (await client.get("/")).text(), "the cached board was forgotten"
    assert "Kela matters" in await (await client.get("/ask?lang=en")).text()
    [(category_id, chat_role, position, active)] = rows(
        settings, "SELECT id, chat_role, position, active FROM categories WHERE slug = 'kela-asiat'"
    )
    assert (chat_role, position, active) == ("counsellor", 7, 1)
    listing = await (await coordinator.get(CATEGORIES)).text()
    assert "kela-asiat" in listing and "Kela matters" in listing
    # The category is a directory taxonomy term too, so import files can name it.
    [(term_id, term)] = rows(
        settings,
        "SELECT t.id, t.code || '|' || t.name || '|' || t.taxonomy FROM categories c"
        " JOIN taxonomy_terms t ON t.id = c.term_id WHERE c.id = ?",
        (category_id,),
    )
    assert term == "kela-asiat|Kela-asiat|koppi-category" and term_id in listing
    assert (await client.get("/services?category=kela-asiat")).status == 200

    renamed = await post(
        coordinator,
        f"{CATEGORIES}/{category_id}",
        name_fi="Kela ja etuudet",
        name_en="",
        chat_role="",
        position="2",
    )
    assert renamed.status == 303
    ask = await (await client.get("/ask")).text()
    assert '<option value="kela-asiat">Kela ja etuudet</option>' in ask
    assert "Kela-asiat" not in ask
    board = await (await client.get("/")).text()
    assert "Kela ja etuudet" in board and "Kela-asiat" not in board
    assert rows(
        settings, "SELECT name_en, chat_role, position FROM categories WHERE id = ?", (category_id,)
    ) == [(None, None, 2)]
    assert rows(
        settings, "SELECT name, description FROM taxonomy_terms WHERE id = ?", (term_id,)
    ) == [("Kela ja etuudet", "Kela ja etuudet")]

    gone = await post(coordinator, f"{CATEGORIES}/{category_id}/active", active="0")
    assert gone.status == 303
    assert 'value="kela-asiat"' not in await (await client.get("/ask")).text()
    assert "Kela ja etuudet" not in await (await client.get("/")).text()
    assert (await client.get("/?category=kela-asiat")).status == 404
    assert "Kela ja etuudet" in await (await coordinator.get(CATEGORIES)).text(), "still listed"
    back = await post(coordinator, f"{CATEGORIES}/{category_id}/active", active="1")
    assert back.status == 303
    assert 'value="kela-asiat"' in await (await client.get("/ask")).text()

    actions = [
        (a, t, i)
        for a, t, i, _, _ in audit(
            settings, "category_add", "category_edit", "category_deactivate", "category_reactivate"
        )
    ]
    assert actions == [
        ("category_add", "category", category_id),
        ("category_edit", "category", category_id),
        ("category_deactivate", "category", category_id),
        ("category_reactivate", "category", category_id),
    ]


@pytest.mark.parametrize(
    ("data", "status", "field"),
    [
        ({"slug": "Iso-Kirjain", "name_fi": "Nimi"}, 400, "slug"),
        ({"slug": "a", "name_fi": "Nimi"}, 400, "slug"),
        ({"slug": "x" * 31, "name_fi": "Nimi"}, 400, "slug"),
        ({"slug": "ä-kirjain", "name_fi": "Nimi"}, 400, "slug"),
        ({"slug": "raha", "name_fi": "Nimi"}, 409, "slug"),
        ({"slug": "uusi", "name_fi": ""}, 400, "name_fi"),
        ({"slug": "uusi", "name_fi": "   "}, 400, "name_fi"),
        ({"slug": "uusi", "name_fi": "x" * 61}, 400, "name_fi"),
        ({"slug": "uusi", "name_fi": "Nimi", "name_en": "x" * 61}, 400, "name_en"),
        ({"slug": "uusi", "name_fi": "Nimi", "chat_role": "coordinator"}, 400, "chat_role"),
        ({"slug": "uusi", "name_fi": "Nimi", "position": "kolme"}, 400, "position"),
        ({"slug": "uusi", "name_fi": "Nimi", "position": "9" * 5000}, 400, "position"),
    ],
)
async def test_bad_categories_name_the_field(
    coordinator: TestClient,
    settings: Settings,
    data: dict[str, str],
    status: int,
    field: str,
) -> None:
    before = rows(settings, "SELECT count(*) FROM categories")
    refused = await post(coordinator, CATEGORIES, **data)
    assert refused.status == status
    html = await refused.text()
    assert f'id="{field}-error"' in html and 'class="error-summary"' in html
    assert rows(settings, "SELECT count(*) FROM categories") == before
    assert not audit(settings, "category_add")


async def test_a_bad_edit_keeps_the_category_and_names_the_field(
    coordinator: TestClient, settings: Settings
) -> None:
    raha = rows(settings, "SELECT id, name_fi FROM categories WHERE slug = 'raha'")[0]
    refused = await post(coordinator, f"{CATEGORIES}/{raha[0]}", name_fi="", position="1")
    assert refused.status == 400
    assert f'id="name_fi-{raha[0]}-error"' in await refused.text()
    assert rows(settings, "SELECT id, name_fi FROM categories WHERE slug = 'raha'") == [raha]
    missing = await post(coordinator, f"{CATEGORIES}/999", name_fi="Ei ole")
    assert missing.status == 404
    assert (await post(coordinator, f"{CATEGORIES}/999/active", active="0")).status == 404
