"""The staff second factor over HTTP: enrolment sent to first, codes at sign-in, replayed and
off-clock codes refused, recovery codes once each, the coordinators' reset; on both engines."""

from __future__ import annotations

import dataclasses
import html as html_lib
import re
from collections.abc import Awaitable, Callable

import pyotp
import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import PASSWORD, FakeClock, add_staff, csrf_token, dump, rows, staff_id

NewClient = Callable[[], Awaitable[TestClient]]


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> web.Application:
    """Second factor required, as outside the demo."""
    return create_app(dataclasses.replace(settings, staff_2fa=True), clock=clock)


async def _password(who: TestClient, username: str, password: str = PASSWORD) -> str:
    """Post the sign-in form; where it sends the browser."""
    # In English (remembered in a cookie): the tests read the messages.
    token = csrf_token(await (await who.get("/staff/login?lang=en")).text())
    response = await who.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    return response.headers["Location"]


async def _code(who: TestClient, code: str) -> tuple[int, str]:
    token = csrf_token(await (await who.get("/staff/login/code")).text())
    response = await who.post(
        "/staff/login/code", data={"code": code, "csrf_token": token}, allow_redirects=False
    )
    return response.status, html_lib.unescape(await response.text())


def _secret(page: str) -> str:
    found = re.search(r'<code id="secret-key">([A-Z2-7 ]+)</code>', page)
    assert found, "the key is shown beside the QR code"
    return found.group(1).replace(" ", "")


async def _enrol(who: TestClient, clock: FakeClock) -> tuple[str, list[str]]:
    """Enrol as a person would: read the key, type the app's code; (secret, recovery codes)."""
    page = await (await who.get("/staff/second-factor")).text()
    secret = _secret(page)
    done = await who.post(
        "/staff/second-factor",
        data={"code": pyotp.TOTP(secret).at(clock.now), "csrf_token": csrf_token(page)},
    )
    assert done.status == 200, await done.text()
    codes = re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", await done.text())
    return secret, codes


async def _enrolled(
    client: TestClient, new_client: NewClient, clock: FakeClock, username: str = "sanna"
) -> tuple[str, list[str]]:
    await add_staff(client, username, "counsellor", "Sanna")
    first = await new_client()
    await _password(first, username)
    secret, codes = await _enrol(first, clock)
    await first.post("/api/staff/logout", json={})
    return secret, codes


async def test_without_a_factor_only_enrolment_is_reachable(
    client: TestClient, new_client: NewClient, clock: FakeClock, settings: Settings
) -> None:
    await add_staff(client, "sanna", "counsellor", "Sanna")
    await add_staff(client, "helena", "coordinator")
    sanna = await new_client()
    await _password(sanna, "sanna", PASSWORD)
    for path in ("/staff", "/staff/queue", "/staff/chat", "/staff/account", "/coordinator/staff"):
        sent = await sanna.get(path, allow_redirects=False)
        assert sent.status == 303 and sent.headers["Location"] == "/staff/second-factor", path
    for path in ("/api/staff/queue", "/api/staff/me", "/api/coordinator/categories"):
        refused = await sanna.get(path)
        assert refused.status == 403, path
        body = await refused.json()
        assert body["reason"] == "second_factor_enrolment_required" and body["error"], path
    listener = socketio.AsyncClient(reconnection=False)
    cookies = "; ".join(f"{c.key}={c.value}" for c in sanna.session.cookie_jar)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await listener.connect(
            str(client.make_url("/")),
            namespaces=["/staff"],
            headers={"Cookie": cookies},
            transports=["websocket"],
            wait_timeout=5,
        )
    page = await (await sanna.get("/staff/second-factor")).text()
    assert '<svg width="' in page and 'class="qr-code"' in page, "the QR code is inline SVG"
    assert "/staff/queue" not in page, "the menu offers nothing else"
    secret = _secret(page)
    wrong = await sanna.post(
        "/staff/second-factor", data={"code": "000000", "csrf_token": csrf_token(page)}
    )
    assert wrong.status == 400 and 'id="code-error"' in await wrong.text()
    assert _secret(await wrong.text()) == secret, "the same key is shown again after a typo"
    assert (await sanna.get("/staff/queue", allow_redirects=False)).status == 303
    done = await sanna.post(
        "/staff/second-factor",
        data={"code": pyotp.TOTP(secret).at(clock.now), "csrf_token": csrf_token(page)},
    )
    assert done.status == 200 and done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", await done.text())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert (await sanna.get("/staff/queue")).status == 200, "this session passed enrolment"
    stored = dump(settings)
    assert secret not in stored, "the secret is kept encrypted"
    assert not any(c in stored or c.replace("-", "") in stored for c in codes), "hashed codes"
    assert rows(settings, "SELECT count(*) FROM audit_log WHERE action = 'enrol_second_factor'")[
        0
    ] == (1,)
    again = await sanna.get("/staff/second-factor", allow_redirects=False)
    assert again.status == 303 and again.headers["Location"] == "/staff/account", "shown once"


async def test_sign_in_asks_for_the_code_before_any_session(
    client: TestClient, new_client: NewClient, clock: FakeClock, settings: Settings
) -> None:
    secret, _codes = await _enrolled(client, new_client, clock)
    sessions = rows(settings, "SELECT count(*) FROM staff_sessions")
    browser = await new_client()
    assert (await _password(browser, "sanna")).startswith("/staff/login/code")
    assert rows(settings, "SELECT count(*) FROM staff_sessions") == sessions, "no session yet"
    assert (await browser.get("/staff/queue", allow_redirects=False)).status == 302
    assert (await browser.get("/api/staff/me")).status == 401
    status, page = await _code(browser, "123456")
    assert status == 401 and "Wrong code" in page
    status, page = await _code(browser, pyotp.TOTP(secret).at(clock.now))
    assert status == 401 and "already been used" in page, "the enrolment's step is spent"
    off = clock.now.timestamp() + 10 * 60
    status, page = await _code(browser, pyotp.TOTP(secret).at(off))
    assert status == 401 and "10 minutes off" in page
    clock.advance(seconds=30)
    code = pyotp.TOTP(secret).at(clock.now)
    status, _page = await _code(browser, code)
    assert status == 303
    assert (await browser.get("/staff/queue")).status == 200
    other = await new_client()
    await _password(other, "sanna")
    status, page = await _code(other, code)
    assert status == 401 and "already been used" in page, "a replayed code within its window"


async def test_code_from_the_step_before_or_after_is_accepted_only_once(
    client: TestClient, new_client: NewClient, clock: FakeClock
) -> None:
    secret, _codes = await _enrolled(client, new_client, clock)
    clock.advance(minutes=5)
    browser = await new_client()
    await _password(browser, "sanna")
    behind = clock.now.timestamp() - 30
    status, _ = await _code(browser, pyotp.TOTP(secret).at(behind))
    assert status == 303, "a phone a step behind"
    browser = await new_client()
    await _password(browser, "sanna")
    status, page = await _code(browser, pyotp.TOTP(secret).at(behind))
    assert status == 401 and "already been used" in page
    ahead = clock.now.timestamp() + 30
    assert (await _code(browser, pyotp.TOTP(secret).at(ahead)))[0] == 303
    browser = await new_client()
    await _password(browser, "sanna")
    status, page = await _code(browser, pyotp.TOTP(secret).at(clock.now))
    assert status == 401 and "already been used" in page, "older than the last step used"


async def test_recovery_codes_work_once_each(
    client: TestClient, new_client: NewClient, clock: FakeClock
) -> None:
    _secret_, codes = await _enrolled(client, new_client, clock)
    browser = await new_client()
    await _password(browser, "sanna")
    status, _ = await _code(browser, codes[0].lower().replace("-", " "))
    assert status == 303, "typed in lower case with a space"
    assert (await browser.get("/staff/queue")).status == 200
    account = await (await browser.get("/staff/account")).text()
    assert "9 unused recovery codes" in account
    again = await new_client()
    await _password(again, "sanna")
    status, page = await _code(again, codes[0])
    assert status == 401 and "recovery code has already been used" in page
    status, page = await _code(again, "ABCDE-FGHJK")
    assert status == 401 and "Wrong code" in page


async def test_the_code_step_is_held_back_like_passwords(
    client: TestClient, new_client: NewClient, clock: FakeClock, settings: Settings
) -> None:
    secret, _codes = await _enrolled(client, new_client, clock)
    browser = await new_client()
    await _password(browser, "sanna")
    for _ in range(settings.login_max_failures):
        assert (await _code(browser, "000000"))[0] == 401
    clock.advance(seconds=30)
    status, page = await _code(browser, pyotp.TOTP(secret).at(clock.now))
    assert status == 401 and "locked for 15 minutes" in page, "even the right code now"
    clock.advance(minutes=4, seconds=30)
    status, page = await _code(browser, pyotp.TOTP(secret).at(clock.now))
    assert status == 401 and "locked" in page
    clock.advance(minutes=11)
    # The password's few minutes have passed: start again from the password.
    expired = await browser.post(
        "/staff/login/code",
        data={"code": "1", "csrf_token": csrf_token(await (await browser.get("/staff")).text())},
        allow_redirects=False,
    )
    assert expired.status == 303 and expired.headers["Location"].startswith("/staff/login?")
    await _password(browser, "sanna")
    assert (await _code(browser, pyotp.TOTP(secret).at(clock.now)))[0] == 303
    assert ("sign_in_locked",) in rows(settings, "SELECT action FROM audit_log")


async def test_api_sign_in_takes_the_code_in_the_same_request(
    client: TestClient, new_client: NewClient, clock: FakeClock
) -> None:
    secret, _codes = await _enrolled(client, new_client, clock)
    api = await new_client()
    login = {"username": "sanna", "password": PASSWORD}
    needed = await api.post("/api/staff/login", json=login)
    assert needed.status == 401 and (await needed.json())["second_factor"] == "code_needed"
    assert (await api.get("/api/staff/me")).status == 401
    bad = await api.post("/api/staff/login", json={**login, "code": 123456})
    assert bad.status == 400 and "code" in (await bad.json())["errors"]
    clock.advance(seconds=30)
    ok = await api.post(
        "/api/staff/login", json={**login, "code": pyotp.TOTP(secret).at(clock.now)}
    )
    assert ok.status == 200 and (await ok.json())["username"] == "sanna"
    assert (await api.get("/api/staff/queue")).status == 200


async def test_a_coordinator_resets_a_lost_factor_after_confirming(
    client: TestClient,
    new_client: NewClient,
    clock: FakeClock,
    settings: Settings,
) -> None:
    secret, _codes = await _enrolled(client, new_client, clock)
    sanna = await new_client()
    await _password(sanna, "sanna")
    clock.advance(seconds=30)
    assert (await _code(sanna, pyotp.TOTP(secret).at(clock.now)))[0] == 303
    helena_secret, _ = await _enrolled(client, new_client, clock, "helena")
    rows(settings, "UPDATE staff SET role = 'coordinator' WHERE username = 'helena'")
    helena = await new_client()
    await _password(helena, "helena")
    clock.advance(seconds=30)
    assert (await _code(helena, pyotp.TOTP(helena_secret).at(clock.now)))[0] == 303
    target = staff_id(settings, "sanna")
    listing = await (await helena.get("/coordinator/staff")).text()
    assert f'href="/coordinator/staff/{target}/confirm/second-factor"' in listing
    confirm = await helena.get(f"/coordinator/staff/{target}/confirm/second-factor?lang=en")
    page = html_lib.unescape(await confirm.text())
    assert confirm.status == 200 and "Reset the second factor of sanna?" in page
    assert f'action="/coordinator/staff/{target}/second-factor"' in page
    assert rows(
        settings, "SELECT count(*) FROM staff_second_factors WHERE staff_id = ?", (target,)
    )[0] == (1,), "opening the confirmation changes nothing"
    done = await helena.post(
        f"/coordinator/staff/{target}/second-factor",
        data={"csrf_token": csrf_token(page)},
        allow_redirects=False,
    )
    assert (
        done.status == 303 and done.headers["Location"] == "/coordinator/staff?done=second_factor"
    )
    assert (await sanna.get("/staff/queue", allow_redirects=False)).status == 302, "signed out"
    [(actor, detail)] = rows(
        settings,
        "SELECT staff_id, detail FROM audit_log WHERE action = 'reset_second_factor'"
        " AND target_id = ?",
        (target,),
    )
    assert actor == staff_id(settings, "helena") and detail is None
    again = await new_client()
    assert await _password(again, "sanna") == "/staff", "the password alone, then enrolment"
    assert (await again.get("/staff/queue", allow_redirects=False)).headers["Location"] == (
        "/staff/second-factor"
    )
    twice = await helena.post(
        f"/coordinator/staff/{target}/second-factor", data={"csrf_token": csrf_token(page)}
    )
    assert twice.status == 409 and "has no second factor" in html_lib.unescape(await twice.text())


async def test_with_the_factor_optional_an_enrolled_member_still_must_use_it(
    aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings, clock: FakeClock
) -> None:
    client = await aiohttp_client(create_app(settings, clock=clock))  # staff_2fa off
    await add_staff(client, "sanna", "counsellor")
    assert await _password(client, "sanna") == "/staff"
    assert (await client.get("/staff/queue")).status == 200, "no factor needed"
    account = await (await client.get("/staff/account")).text()
    assert 'href="/staff/second-factor"' in account
    secret, codes = await _enrol(client, clock)
    assert len(codes) == 10
    await client.post("/api/staff/logout", json={})
    assert (await _password(client, "sanna")).startswith("/staff/login/code")
    clock.advance(seconds=30)
    assert (await _code(client, pyotp.TOTP(secret).at(clock.now)))[0] == 303
    assert rows(settings, "SELECT count(*) FROM staff_recovery_codes") == [(10,)]
