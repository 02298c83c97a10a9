"""Staff sign-in: argon2 hashes, cookie flags, failures held back per (name, address) and slowed
per name but never a lock a stranger can set, sign-out, the CLI."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import PASSWORD, FakeClock, add_staff, csrf_token, rows, sign_in


async def test_password_is_stored_as_argon2id(client: TestClient, settings: Settings) -> None:
    await add_staff(client, "sanna", "counsellor")
    [(stored,)] = rows(settings, "SELECT password_hash FROM staff")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_session_cookie_flags_and_logout(client: TestClient, settings: Settings) -> None:
    await add_staff(client, "sanna", "counsellor", "Sanna")
    response = await client.post(
        "/api/staff/login", json={"username": "sanna", "password": PASSWORD}
    )
    assert response.status == 200
    cookie = response.headers["Set-Cookie"]
    assert "koppi_staff=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert (await (await client.get("/api/staff/me")).json())["first_name"] == "Sanna"
    token = response.cookies["koppi_staff"].value
    assert token not in str(rows(settings, "SELECT * FROM staff_sessions")), "only the hash is kept"
    assert (await client.post("/api/staff/logout", json={})).status == 204
    assert (await client.get("/api/staff/me")).status == 401
    assert rows(settings, "SELECT COUNT(*) FROM staff_sessions") == [(0,)]


async def test_wrong_password_and_unknown_user_look_the_same(client: TestClient) -> None:
    await add_staff(client, "sanna", "counsellor")
    wrong = await client.post("/api/staff/login", json={"username": "sanna", "password": "nope"})
    unknown = await client.post("/api/staff/login", json={"username": "nobody", "password": "nope"})
    assert wrong.status == unknown.status == 401
    assert (await wrong.json()) == (await unknown.json())
    bad = await client.post("/api/staff/login", json={"username": 5})
    assert bad.status == 400


async def test_five_failures_block_that_address_for_fifteen_minutes(
    client: TestClient, clock: FakeClock, settings: Settings
) -> None:
    await add_staff(client, "sanna", "counsellor")
    for _ in range(5):
        failed = await client.post(
            "/api/staff/login", json={"username": "sanna", "password": "wrong"}
        )
        assert failed.status == 401
    locked = await client.post("/api/staff/login", json={"username": "sanna", "password": PASSWORD})
    assert locked.status == 401 and "15" in (await locked.json())["error"]
    clock.advance(minutes=14)
    assert (
        await client.post("/api/staff/login", json={"username": "SANNA", "password": PASSWORD})
    ).status == 401
    clock.advance(minutes=2)
    await sign_in(client, "sanna")
    actions = [r[0] for r in rows(settings, "SELECT action FROM audit_log ORDER BY id")]
    assert "sign_in_locked" in actions and actions[-1] == "sign_in"


@pytest.fixture
async def proxied(
    aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings, clock: FakeClock
) -> TestClient:
    """Behind a trusted proxy, so a test can speak from several client addresses."""
    app = create_app(dataclasses.replace(settings, trust_forwarded=True), clock=clock)
    return await aiohttp_client(app)


async def _try(client: TestClient, address: str, password: str) -> ClientResponse:
    return await client.post(
        "/api/staff/login",
        json={"username": "sanna", "password": password},
        headers={"X-Forwarded-For": address},
    )


async def test_a_strangers_fifty_failures_do_not_stop_the_owner(
    proxied: TestClient, settings: Settings
) -> None:
    await add_staff(proxied, "sanna", "counsellor")
    for _ in range(50):
        assert (await _try(proxied, "203.0.113.66", "guess")).status == 401
    refused = await _try(proxied, "203.0.113.66", PASSWORD)
    assert refused.status == 401, "the stranger's own address is blocked, even with the password"
    owner = await _try(proxied, "198.51.100.7", PASSWORD)
    assert owner.status == 200, "the owner from her own address, at once"


async def test_failures_from_many_addresses_slow_the_name_but_never_lock_it(
    proxied: TestClient, clock: FakeClock, settings: Settings
) -> None:
    await add_staff(proxied, "sanna", "counsellor")
    # 50 wrong guesses spread over ten addresses, five each.
    for n in range(50):
        assert (await _try(proxied, f"203.0.113.{n % 10 + 1}", "guess")).status == 401
    # A guessing address that tries again is held back: at most one try per 30 seconds.
    slowed = await _try(proxied, "203.0.113.1", "guess")
    assert slowed.status == 401
    # The owner, from an address with no failures, gets straight in.
    assert (await _try(proxied, "198.51.100.7", PASSWORD)).status == 200
    # Had she mistyped once, she waits at most login_slow_max_seconds, never a lock.
    await _try(proxied, "198.51.100.8", "typo")
    wait = await _try(proxied, "198.51.100.8", PASSWORD)
    assert wait.status == 401
    message = (await wait.json())["error"]
    seconds = int(re.findall(r"\d+", message)[0])
    assert 0 < seconds <= settings.login_slow_max_seconds == 30, message
    clock.advance(seconds=settings.login_slow_max_seconds)
    assert (await _try(proxied, "198.51.100.8", PASSWORD)).status == 200


async def test_html_sign_in_needs_csrf_and_redirects_locally(client: TestClient) -> None:
    await add_staff(client, "sanna", "counsellor")
    form = await client.get("/staff/login?next=https://evil.example/")
    html = await form.text()
    token = csrf_token(html)
    assert 'value="/staff"' in html, "an off-site next is replaced"
    backslashed = await (await client.get("/staff/login?next=/%5Cevil.example/")).text()
    assert 'value="/staff"' in backslashed, "browsers read /\\ as //"
    no_token = await client.post("/staff/login", data={"username": "sanna", "password": PASSWORD})
    assert no_token.status == 403
    wrong = await client.post(
        "/staff/login", data={"username": "sanna", "password": "x", "csrf_token": token}
    )
    assert wrong.status == 401 and 'value="sanna"' in await wrong.text()
    ok = await client.post(
        "/staff/login",
        data={
            "username": "sanna",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/staff/queue",
        },
        allow_redirects=False,
    )
    assert ok.status == 303 and ok.headers["Location"] == "/staff/queue"
    # Sign-in renewed the CSRF anchor (tests/test_csrf_public.py): the signed-in page's token.
    token = csrf_token(await (await client.get("/staff/queue")).text())
    out = await client.post("/staff/logout", data={"csrf_token": token}, allow_redirects=False)
    assert out.status == 303
    assert (await client.get("/staff/queue", allow_redirects=False)).status == 302


def _cli(args: list[str], db: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KOPPI_DB": str(db), "KOPPI_SECRET": "cli-test-secret"}
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_cli_migrate_and_create_staff_from_stdin(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite3"
    migrated = _cli(["migrate"], db)
    assert migrated.returncode == 0 and "0001_board.sql" in migrated.stdout
    again = _cli(["migrate"], db)
    assert "up to date" in again.stdout
    created = _cli(
        ["create-staff", "liisa", "--role", "adviser", "--name", "Liisa"], db, "a-long-password-1\n"
    )
    assert created.returncode == 0, created.stderr
    short = _cli(["create-staff", "pekka", "--role", "adviser"], db, "short\n")
    assert short.returncode == 2 and "at least" in short.stderr
    common = _cli(["create-staff", "pekka", "--role", "adviser"], db, "Password1234\n")
    assert common.returncode == 2 and "too easy to guess" in common.stderr
    taken = _cli(["create-staff", "liisa", "--role", "adviser"], db, "a-long-password-1\n")
    assert taken.returncode == 2 and "taken" in taken.stderr
    bad_role = _cli(["create-staff", "x", "--role", "boss"], db, "a-long-password-1\n")
    assert bad_role.returncode != 0
    settings = Settings(db_path=db)
    assert rows(settings, "SELECT username, role, first_name FROM staff") == [
        ("liisa", "adviser", "Liisa")
    ]


def test_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    env = {"KOPPI_DB": str(tmp_path / "data" / "k.sqlite3")}
    first = Settings.from_env(env)
    second = Settings.from_env(env)
    assert first.secret == second.secret and len(first.secret) >= 40
    assert oct((tmp_path / "data" / "secret").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "data").stat().st_mode & 0o777) == "0o700"
