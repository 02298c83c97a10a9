"""The staff second factor over HTTP: enrolment sent to first, codes at sign-in, replayed and
off-clock codes refused, recovery codes once each, the coordinators' reset; on both engines."""

from __future__ import annotations

import dataclasses
import html as html_lib
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable

import pyotp
import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestClient

from service import auth, second_factor
from service.app import create_app
from service.settings import Settings
from tests.conftest import (
    PASSWORD,
    ClientFactory,
    FakeClock,
    add_staff,
    csrf_token,
    dump,
    rows,
    staff_id,
)

WRONG = "The code is not right"
# Said only at enrolment: at sign-in a code for another time is just a wrong code.
DRIFT = "minutes off"

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


def _error(page: str) -> str:
    found = re.search(r'<p class="error-summary" role="alert" id="code-error">(.*?)</p>', page)
    assert found, "the code form shows why"
    return found.group(1)


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
    ahead = await sanna.post(
        "/staff/second-factor",
        data={
            "code": pyotp.TOTP(secret).at(clock.now.timestamp() + 10 * 60),
            "csrf_token": csrf_token(page),
        },
    )
    text = html_lib.unescape(await ahead.text())
    assert ahead.status == 400 and "about 10 minutes off" in text, "enrolment names the drift"
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
    status, wrong_page = await _code(browser, "123456")
    assert status == 401 and WRONG in wrong_page
    status, page = await _code(browser, pyotp.TOTP(secret).at(clock.now))
    assert status == 401 and "already been used" in page, "the enrolment's step is spent"
    # A code from a clock 10 minutes off: refused with the wrong code's message, which says
    # to check the clock; naming the drift would confirm a guess that works 10 minutes later.
    off = clock.now.timestamp() + 10 * 60
    status, off_page = await _code(browser, pyotp.TOTP(secret).at(off))
    assert status == 401 and WRONG in off_page and "clock is set automatically" in off_page
    assert DRIFT not in off_page and "10 minutes" not in off_page
    assert _error(off_page) == _error(wrong_page), "the same answer as a wrong code"
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
    assert status == 401 and WRONG in page


async def test_the_code_step_is_held_back_like_passwords(
    client: TestClient, new_client: NewClient, clock: FakeClock, settings: Settings
) -> None:
    secret, _codes = await _enrolled(client, new_client, clock)
    browser = await new_client()
    await _password(browser, "sanna")
    for _ in range(settings.login_max_failures):
        clock.advance(seconds=5)  # past the member's short slow-down after a few wrong codes
        assert (await _code(browser, "000000"))[0] == 401
    clock.advance(seconds=30)
    status, page = await _code(browser, pyotp.TOTP(secret).at(clock.now))
    assert status == 401 and "locked for 15 minutes" in page, "even the right code now"
    clock.advance(minutes=4)
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
    wrong = await api.post("/api/staff/login", json={**login, "code": "123456"})
    off = pyotp.TOTP(secret).at(clock.now.timestamp() - 10 * 60)
    late = await api.post("/api/staff/login", json={**login, "code": off})
    assert wrong.status == late.status == 401
    assert await late.json() == await wrong.json(), "a code for another time is just wrong"
    assert (await late.json())["second_factor"] == "code_wrong"
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


def test_only_enrolment_searches_far_steps_for_a_wrong_clock(clock: FakeClock) -> None:
    secret = second_factor.new_secret()
    ahead = pyotp.TOTP(secret).at(clock.now.timestamp() + 10 * 60)
    checked = second_factor.check_code(secret, ahead, clock.now, 0)
    assert checked == second_factor.CodeResult(second_factor.CodeCheck.WRONG)
    diagnosed = second_factor.check_code(secret, ahead, clock.now, 0, diagnose_clock=True)
    assert diagnosed.outcome is second_factor.CodeCheck.CLOCK_OFF and diagnosed.minutes_off == 10


def _forwarded_app(settings: Settings, clock: FakeClock) -> web.Application:
    """Behind a trusted proxy, so a test can speak from many client addresses."""
    changed = dataclasses.replace(settings, staff_2fa=True, trust_forwarded=True)
    return create_app(changed, clock=clock)


async def test_wrong_codes_slow_every_address_then_close_the_code_step(
    aiohttp_client: ClientFactory, settings: Settings, clock: FakeClock
) -> None:
    client = await aiohttp_client(_forwarded_app(settings, clock))

    async def fresh() -> TestClient:
        return await aiohttp_client(client.server)

    secret, _codes = await _enrolled(client, fresh, clock)
    api = await fresh()
    login = {"username": "sanna", "password": PASSWORD}

    async def attempt(address: int, code: str) -> tuple[int, dict[str, object]]:
        response = await api.post(
            "/api/staff/login",
            json={**login, "code": code},
            headers={"X-Forwarded-For": f"10.{address}.0.1", "Accept-Language": "en"},
        )
        return response.status, await response.json()

    for address in range(auth.CODE_SLOW_AFTER):
        status, body = await attempt(address, "000000")
        assert (status, body["second_factor"]) == (401, "code_wrong")
    # A fresh address is held back too: only someone with the password gets this far.
    status, body = await attempt(99, "000000")
    assert status == 401 and "Wait" in str(body["error"]) and "second_factor" not in body
    wrong = auth.CODE_SLOW_AFTER
    while wrong < auth.CODE_LOCK_AFTER - 1:
        clock.advance(seconds=31)
        status, body = await attempt(100 + wrong, "000000")
        assert (status, body["second_factor"]) == (401, "code_wrong"), wrong
        wrong += 1
    assert rows(settings, "SELECT count(*) FROM audit_log WHERE action = 'second_factor_locked'")[
        0
    ] == (0,)
    clock.advance(seconds=31)
    status, body = await attempt(150, "000000")
    assert (status, body["second_factor"]) == (401, "code_locked")
    assert "sign in again from the start" in str(body["error"])
    [(actor, target)] = rows(
        settings,
        "SELECT staff_id, target_id FROM audit_log WHERE action = 'second_factor_locked'",
    )
    assert actor == target == staff_id(settings, "sanna")
    clock.advance(seconds=31)
    status, body = await attempt(151, pyotp.TOTP(secret).at(clock.now))
    assert (status, body["second_factor"]) == (401, "code_locked"), "even the right code"
    # In a browser: the pending sign-in is dropped and the password form shown.
    browser = await fresh()
    await _password(browser, "sanna")
    status, page = await _code(browser, pyotp.TOTP(secret).at(clock.now))
    assert status == 401 and "Too many wrong codes" in page and 'action="/staff/login"' in page
    assert auth.PENDING_COOKIE not in {c.key for c in browser.session.cookie_jar}
    clock.advance(minutes=settings.login_lock_minutes)
    status, body = await attempt(152, pyotp.TOTP(secret).at(clock.now))
    assert status == 200 and body["username"] == "sanna", "after the window, from the start"


async def test_a_changed_service_secret_is_refused_clearly_never_500(
    client: TestClient,
    new_client: NewClient,
    aiohttp_client: ClientFactory,
    clock: FakeClock,
    settings: Settings,
) -> None:
    secret, codes = await _enrolled(client, new_client, clock)
    await add_staff(client, "helena", "counsellor")
    helena = await new_client()
    await _password(helena, "helena")
    page = await (await helena.get("/staff/second-factor")).text()
    helena_secret = _secret(page)
    changed = dataclasses.replace(settings, staff_2fa=True, secret="another-secret-entirely")
    moved = await aiohttp_client(create_app(changed, clock=clock))
    clock.advance(seconds=30)
    browser = await aiohttp_client(moved.server)
    await _password(browser, "sanna")
    for typed in (pyotp.TOTP(secret).at(clock.now), codes[0]):
        status, text = await _code(browser, typed)
        assert status == 401 and "can no longer be checked" in text, typed
        assert "Ask a coordinator to reset it" in text
    api = await aiohttp_client(moved.server)
    refused = await api.post(
        "/api/staff/login",
        json={"username": "sanna", "password": PASSWORD, "code": pyotp.TOTP(secret).at(clock.now)},
        headers={"Accept-Language": "en"},
    )
    assert refused.status == 401
    assert (await refused.json())["second_factor"] == "second_factor_unusable"
    # Enrolment begun under the old secret: confirming starts over with a new key, no 500.
    carried = await aiohttp_client(moved.server)
    carried.session.cookie_jar.update_cookies(
        {c.key: c.value for c in helena.session.cookie_jar}, carried.make_url("/")
    )
    anchor = next(c.value for c in helena.session.cookie_jar if c.key == "koppi_csrf")
    confirmed = await carried.post(
        "/staff/second-factor",
        data={
            "code": pyotp.TOTP(helena_secret).at(clock.now),
            "csrf_token": auth.csrf_token(changed.secret, anchor),
        },
        allow_redirects=False,
    )
    assert confirmed.status == 303 and confirmed.headers["Location"] == "/staff/second-factor"
    fresh_page = await (await carried.get("/staff/second-factor")).text()
    assert _secret(fresh_page) != helena_secret, "a new key sealed under the new secret"


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KOPPI_DB": str(settings.db_path),
        "KOPPI_SECRET": settings.secret,
        "KOPPI_DEMO": "0",
    }
    env.pop("KOPPI_DATABASE_URL", None)
    if settings.database_url:
        env["KOPPI_DATABASE_URL"] = settings.database_url
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "service", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )


async def test_the_command_line_resets_a_second_factor(
    client: TestClient, new_client: NewClient, clock: FakeClock, settings: Settings
) -> None:
    """For the last coordinator who lost their phone, or after KOPPI_SECRET changed."""
    secret, _codes = await _enrolled(client, new_client, clock, "helena")
    target = staff_id(settings, "helena")
    browser = await new_client()
    await _password(browser, "helena")
    clock.advance(seconds=30)
    assert (await _code(browser, pyotp.TOTP(secret).at(clock.now)))[0] == 303
    done = _cli(settings, "reset-second-factor", "helena")
    assert done.returncode == 0 and "helena" in done.stdout, done.stderr
    assert (await browser.get("/staff/queue", allow_redirects=False)).status == 302, "signed out"
    [(actor, detail)] = rows(
        settings,
        "SELECT staff_id, detail FROM audit_log WHERE action = 'reset_second_factor'"
        " AND target_id = ?",
        (target,),
    )
    assert actor is None and detail is None, "done by the system, not a staff member"
    again = await new_client()
    assert await _password(again, "helena") == "/staff", "the password alone, then enrolment"
    twice = _cli(settings, "reset-second-factor", "helena")
    assert twice.returncode == 2 and "has no second factor" in twice.stderr
    nobody = _cli(settings, "reset-second-factor", "nobody")
    assert nobody.returncode == 2 and "No staff member with that username" in nobody.stderr
