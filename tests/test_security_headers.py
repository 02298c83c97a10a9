"""Security headers on every route, Secure cookies and HSTS under TLS, quick exit and privacy."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from service.app import MAX_BODY, create_app
from service.http.middleware import SOCKET_PATH
from service.settings import Settings
from tests.conftest import PASSWORD, FakeClock, add_staff, ask

StaffClient = Callable[..., Awaitable[TestClient]]
ClientFactory = Callable[..., Awaitable[TestClient]]
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def _published(client: TestClient, staff: TestClient) -> dict[str, str]:
    """A published question (for /q/{id}) and a second one whose code the follow-up uses."""
    shown = await ask(client, body="Miten kirjoitan hyvän työhakemuksen ensimmäiseen työhön?")
    response = await staff.post(
        f"/api/staff/questions/{shown['id']}/answer",
        json={"body": "Kerro lyhyesti, miksi juuri sinä.", "publish": True},
    )
    assert response.status == 200, await response.text()
    private = await ask(client)
    return {"id": str(shown["id"]), "code": private["code"], "private_id": str(private["id"])}


def _requests(app: web.Application, values: dict[str, str]) -> list[tuple[str, str]]:
    """(method, path) for every route but Socket.IO's, path parameters filled in.
    Sign-outs come last so that a signed-in client stays signed in for the rest."""
    fill = {
        "id": values["id"],
        "code": values["code"],
        "table": "questions",
        "action": "claim",
        "name": "service.json",
        "compiled": "compiled",
    }
    found: set[tuple[str, str]] = set()
    for route in app.router.routes():
        resource = route.resource
        assert resource is not None
        if isinstance(resource, web.StaticResource):
            path = "/static/css/koppi.css"
        else:
            path = re.sub(r"\{(\w+)\}", lambda m: fill[m[1]], resource.canonical)
        if path.startswith(SOCKET_PATH) or route.method in {"HEAD", "OPTIONS"}:
            continue
        found.add((route.method, path))
    return sorted(found, key=lambda r: ("logout" in r[1], r[1], r[0]))


def _check(response_headers: object, where: str, *, tls: bool) -> None:
    headers = response_headers
    assert hasattr(headers, "get") and hasattr(headers, "getall")
    csp = headers.get("Content-Security-Policy")
    assert csp, f"{where}: no Content-Security-Policy"
    assert "frame-ancestors 'none'" in csp, where
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert not re.search(r"https?:|//|\*", csp), f"{where}: another origin in {csp}"
    assert headers.get("Referrer-Policy") == "same-origin", where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    hsts = headers.get("Strict-Transport-Security")
    if tls:
        assert hsts == "max-age=31536000; includeSubDomains", where
    else:
        assert hsts is None, where
        for cookie in headers.getall("Set-Cookie", []):
            assert "secure" not in cookie.lower(), f"{where}: {cookie}"


async def _sweep(client: TestClient, requests: list[tuple[str, str]], *, tls: bool = False) -> int:
    checked = 0
    for method, path in requests:
        data = b"" if method in _BODY_METHODS else None
        response = await client.request(method, path, data=data, allow_redirects=False)
        await response.read()
        assert response.status < 500, f"{method} {path}: {response.status}"
        _check(response.headers, f"{method} {path} -> {response.status}", tls=tls)
        checked += 1
    return checked


async def test_every_route_has_the_headers_anonymous_and_signed_in(
    client: TestClient, staff_client: StaffClient, coordinator: TestClient
) -> None:
    counsellor = await staff_client("sanna", "counsellor", "Sanna")
    values = await _published(client, counsellor)
    requests = _requests(client.server.app, values)
    assert len(requests) > 60, "the sweep sees the whole router"
    for who in (client, counsellor, coordinator):
        assert await _sweep(who, requests) == len(requests)


async def test_error_pages_and_static_files_have_the_headers(client: TestClient) -> None:
    cases = [
        ("GET", "/no-such-page", None, 404),
        ("GET", "/static/no-such-file.css", None, 404),
        ("PUT", "/", b"", 405),
        ("POST", "/ask", b"body=" + b"x" * (MAX_BODY + 10), 413),
        ("GET", "/static/js/quick-exit.js", None, 200),
        ("GET", "/robots.txt", None, 200),
    ]
    for method, path, data, status in cases:
        response = await client.request(
            method, path, data=data, headers=_FORM, allow_redirects=False
        )
        assert response.status == status, f"{method} {path}"
        _check(response.headers, f"{method} {path}", tls=False)
    # A redirect raised by a handler carries them too.
    response = await client.get("/staff/queue", allow_redirects=False)
    assert response.status in {302, 303}
    _check(response.headers, "redirect", tls=False)


@pytest.fixture
async def tls_client(
    aiohttp_client: ClientFactory, settings: Settings, clock: FakeClock
) -> TestClient:
    return await aiohttp_client(create_app(dataclasses.replace(settings, tls=True), clock=clock))


async def test_tls_adds_hsts_and_secure_cookies(tls_client: TestClient) -> None:
    await add_staff(tls_client, "sanna", "counsellor", "Sanna")
    login = await tls_client.post(
        "/api/staff/login", json={"username": "sanna", "password": PASSWORD}
    )
    assert login.status == 200
    staff_cookies = login.headers.getall("Set-Cookie")
    assert any(c.startswith("koppi_staff=") for c in staff_cookies)
    assert all("Secure" in c for c in staff_cookies), staff_cookies
    _check(login.headers, "login", tls=True)

    page = await tls_client.get("/?lang=en")
    lang_cookie = [c for c in page.headers.getall("Set-Cookie") if c.startswith("lang=")]
    assert lang_cookie and "Secure" in lang_cookie[0] and "HttpOnly" in lang_cookie[0]

    # The Secure staff cookie is not sent back over the test's plain HTTP: sweep as a visitor.
    asked = await ask(tls_client)
    values = {"id": str(asked["id"]), "code": asked["code"]}
    requests = _requests(tls_client.server.app, values)
    assert await _sweep(tls_client, requests, tls=True) == len(requests)


async def test_cookies_are_not_secure_without_tls(client: TestClient) -> None:
    page = await client.get("/?lang=en")
    lang_cookie = [c for c in page.headers.getall("Set-Cookie") if c.startswith("lang=")]
    assert lang_cookie and "Secure" not in lang_cookie[0]
    await add_staff(client, "sanna", "counsellor", "Sanna")
    login = await client.post("/api/staff/login", json={"username": "sanna", "password": PASSWORD})
    assert login.status == 200
    assert not any("Secure" in c for c in login.headers.getall("Set-Cookie"))


QUICK_EXIT = 'id="quick-exit"'
PRIVACY_LINK = 'href="/privacy"'


async def test_public_pages_have_quick_exit_and_privacy_link(
    client: TestClient, staff_client: StaffClient
) -> None:
    counsellor = await staff_client("sanna", "counsellor", "Sanna")
    values = await _published(client, counsellor)
    pages = {
        "/": 200,
        "/ask": 200,
        f"/q/{values['id']}": 200,
        "/f": 200,
        f"/f/{values['code']}": 200,
        "/chat": 200,
        "/services": 200,
        "/privacy": 200,
        "/no-such-page": 404,
    }
    for path, status in pages.items():
        response = await client.get(path)
        assert response.status == status, path
        page = await response.text()
        assert QUICK_EXIT in page, path
        assert 'href="https://yle.fi/" rel="noreferrer"' in page, path
        assert '<script src="/static/js/quick-exit.js"></script>' in page, path
        assert PRIVACY_LINK in page, path
        assert "<style" not in page and " style=" not in page, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), f"{path}: inline script"
        # Links a person may follow (the exit, crisis help) are fine; nothing may be loaded.
        assert not re.search(r'src="(https?:)?//', page), f"{path}: a third-party resource"
        assert not re.search(r'<link[^>]*href="(https?:)?//', page), f"{path}: third-party CSS"


async def test_staff_pages_have_privacy_link_but_no_quick_exit(
    client: TestClient, staff_client: StaffClient, coordinator: TestClient
) -> None:
    counsellor = await staff_client("sanna", "counsellor", "Sanna")
    values = await _published(client, counsellor)
    login = await client.get("/staff/login")
    assert QUICK_EXIT not in await login.text()
    pages = [
        (counsellor, "/staff/queue"),
        (counsellor, f"/staff/questions/{values['private_id']}"),
        (counsellor, "/staff/chat"),
        (coordinator, "/coordinator/stats"),
        (coordinator, "/coordinator/staff"),
        (coordinator, "/coordinator/audit"),
    ]
    for who, path in pages:
        response = await who.get(path)
        assert response.status == 200, path
        page = await response.text()
        assert QUICK_EXIT not in page and "quick-exit.js" not in page, path
        assert PRIVACY_LINK in page, path


async def test_privacy_notice_shows_the_configured_retention(
    aiohttp_client: ClientFactory, settings: Settings, clock: FakeClock
) -> None:
    custom = dataclasses.replace(
        settings, retain_chat_days=12, retain_private_days=45, retain_rejected_days=1
    )
    client = await aiohttp_client(create_app(custom, clock=clock))
    page = await (await client.get("/privacy?lang=en")).text()
    assert "A chat is deleted 12 days after it ends." in page
    assert "deleted 45 days after the answer" in page
    assert "deleted 1 day after we tell you why" in page
    for heading in (
        "What do we store?",
        "How long do we keep it?",
        "Who sees it?",
        "What we never store",
        "Your rights and who to contact",
    ):
        assert heading in page


def test_quick_exit_address_setting(tmp_path: Path) -> None:
    env = {"KOPPI_DB": str(tmp_path / "koppi.sqlite3"), "KOPPI_SECRET": "s"}
    assert Settings.from_env(env).quick_exit_url == "https://yle.fi/"
    for good in ("https://www.foreca.fi/", "http://127.0.0.1:8123/neutral", "http://localhost/x"):
        assert Settings.from_env({**env, "KOPPI_QUICK_EXIT_URL": good}).quick_exit_url == good
    for bad in ("http://example.com/", "/privacy", "javascript:alert(1)", "https://a b/"):
        with pytest.raises(ValueError):
            Settings.from_env({**env, "KOPPI_QUICK_EXIT_URL": bad})
