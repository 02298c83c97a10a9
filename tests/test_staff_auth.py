"""Staff sign-in: argon2 hashes, cookie flags, lock after five failures, sign-out, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from aiohttp.test_utils import TestClient

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


async def test_five_failures_lock_the_username_for_fifteen_minutes(
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
