"""The deployment in deploy/ as docs/deploy.md installs it: nginx accepts the shipped site, a real
nginx rendered from it carries pages, Socket.IO polling and websockets to a real Koppi and keeps
/metrics, big bodies, spoofed addresses and client addresses out; the systemd units and the
settings example hold what the guide relies on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from service.settings import DEFAULT_CRISIS_PHONES, DEFAULT_LIMITS
from tests import nginx_proxy
from tests.live_server import LiveServer, free_port
from tests.nginx_proxy import HOW_TO_GET, Proxy, running_nginx, self_signed_certificate

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
ENGINE_IO = "/socket.io/?EIO=4&transport="
# A client address only the access-log test uses (Linux answers on all of 127.0.0.0/8).
CLIENT_ADDRESS = "127.0.0.2"


@pytest.fixture(scope="module")
def nginx() -> str:
    path = nginx_proxy.nginx_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(HOW_TO_GET)
        pytest.skip(HOW_TO_GET)
    return path


@pytest.fixture
def tls(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate and its key, made with openssl."""
    if shutil.which("openssl") is None:
        if os.environ.get("CI"):
            pytest.fail("openssl is not installed (run .ci/system-deps.sh)")
        pytest.skip("openssl is not installed")
    return self_signed_certificate(tmp_path)


@pytest.fixture(scope="module")
def koppi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One Koppi process on SQLite, configured as behind the proxy (several processes need
    PostgreSQL and Redis; their tests start their own). One sign-in per address per 15 minutes,
    so a test sees which address Koppi took."""
    server = LiveServer(tmp_path_factory.mktemp("koppi"))
    server.env["KOPPI_TRUST_FORWARDED"] = "1"
    server.env["KOPPI_LIMIT_SIGN_IN_ADDRESS"] = "1/900"
    with server.running():
        yield server


@pytest.fixture(scope="module")
def proxy(
    nginx: str, koppi: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Proxy]:
    with running_nginx([koppi.port], tmp_path_factory.mktemp("nginx")) as running:
        yield running


# --- nginx accepts what is shipped ---------------------------------------------------------------


def test_nginx_accepts_the_shipped_site(nginx: str, tls: tuple[Path, Path], tmp_path: Path) -> None:
    """As installed: TLS, the redirect server, the locations file, inside an nginx.conf like
    Debian's own; only ports, certificate and log paths are the test's."""
    certificate, key = tls
    site = nginx_proxy.site_as_shipped(tmp_path, certificate, key)
    checked = nginx_proxy.check_config(tmp_path, nginx_proxy.main_config(tmp_path, site))
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
    # Everything but the paths is the shipped text.
    assert "include " + str(nginx_proxy.LOCATIONS) in site
    assert site.count("server 127.0.0.1:808") == 6


def test_the_check_refuses_what_debian_nginx_would(
    nginx: str, tls: tuple[Path, Path], tmp_path: Path
) -> None:
    """The test's nginx.conf holds Debian's http-level settings: a site that repeats one of them
    fails here as it would on the server."""
    certificate, key = tls
    site = "gzip on;\n" + nginx_proxy.site_as_shipped(tmp_path, certificate, key)
    checked = nginx_proxy.check_config(tmp_path, nginx_proxy.main_config(tmp_path, site))
    assert checked.returncode != 0
    assert '"gzip" directive is duplicate' in checked.stderr


def test_the_guide_installs_the_files_where_they_look_for_each_other() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    site = nginx_proxy.SITE.read_text(encoding="utf-8")
    assert f"include {nginx_proxy.INSTALLED_LOCATIONS};" in site
    assert f"deploy/nginx/koppi-locations.conf {nginx_proxy.INSTALLED_LOCATIONS}" in guide
    assert "deploy/nginx/koppi.conf /etc/nginx/sites-available/koppi" in guide
    assert "deploy/koppi.env.example /etc/koppi/koppi.env" in guide
    assert "deploy/koppi /usr/local/bin/koppi" in guide
    for unit in UNITS.iterdir():
        assert f"deploy/systemd/{unit.name}" in guide, unit.name
    wrapper = (DEPLOY / "koppi").read_text(encoding="utf-8")
    process = (UNITS / "koppi@.service").read_text(encoding="utf-8")
    for path in ("/etc/koppi/koppi.env", "/opt/koppi/.venv/bin/python", "/var/lib/koppi"):
        assert path in wrapper and path in process, path


def test_the_test_site_keeps_the_shipped_locations_and_upstreams(tmp_path: Path) -> None:
    site = nginx_proxy.site_for_test(tmp_path, 9000, [7001, 7002])
    assert "listen 127.0.0.1:9000;" in site and "return 301" not in site
    assert not re.search(r"(?m)^\s*(ssl_|listen .*ssl)", site)
    assert "include " + str(nginx_proxy.LOCATIONS) in site
    sockets = re.search(r"upstream koppi_sockets \{(.*?)\}", site, re.S)
    assert sockets is not None
    assert "hash $remote_addr consistent;" in sockets[1]
    assert re.findall(r"server (\S+) max_fails=3 fail_timeout=10s;", sockets[1]) == [
        "127.0.0.1:7001",
        "127.0.0.1:7002",
    ]


# --- through a real nginx to a real Koppi --------------------------------------------------------


async def test_pages_and_static_files_pass_through(proxy: Proxy) -> None:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        page = await session.get(proxy.url + "/", headers={"Accept-Encoding": "gzip"})
        assert page.status == 200 and page.content_type == "text/html"
        assert "Content-Security-Policy" in page.headers  # Koppi's own headers reach the browser
        # Pages carry CSRF tokens and echo input: never compressed (BREACH).
        assert "Content-Encoding" not in page.headers
        script = await session.get(
            proxy.url + "/static/vendor/socket.io.min.js", headers={"Accept-Encoding": "gzip"}
        )
        assert script.status == 200
        assert script.headers["Content-Encoding"] == "gzip"
        assert "Last-Modified" in script.headers and "ETag" in script.headers
        for probe in ("/healthz", "/readyz"):
            answer = await session.get(proxy.url + probe)
            assert answer.status == 200, (probe, await answer.text())


async def test_socket_io_polls_then_upgrades_through_nginx(proxy: Proxy) -> None:
    """A browser's way: a polling handshake, then a websocket upgrade of the same session.
    The browser's Origin must be accepted, which takes the Host with its port."""
    origin = {"Origin": proxy.url}
    ws_base = proxy.url.replace("http://", "ws://")
    async with aiohttp.ClientSession() as session:
        handshake = await session.get(proxy.url + ENGINE_IO + "polling", headers=origin)
        text = await handshake.text()
        assert handshake.status == 200, text
        assert text.startswith("0")
        opened = json.loads(text[1:])
        assert "websocket" in opened["upgrades"]
        url = f"{ws_base}{ENGINE_IO}websocket&sid={opened['sid']}"
        async with session.ws_connect(url, origin=proxy.url) as ws:
            await ws.send_str("2probe")
            assert await ws.receive_str(timeout=5) == "3probe"
            await ws.send_str("5")  # upgrade done: the session now runs on the websocket

        async with session.ws_connect(ws_base + ENGINE_IO + "websocket", origin=proxy.url) as ws:
            first = await ws.receive_str(timeout=5)
            assert first.startswith("0") and "sid" in json.loads(first[1:])

        # The origin check is on (so the acceptance above means something).
        foreign = await session.get(
            proxy.url + ENGINE_IO + "polling", headers={"Origin": "https://elsewhere.example"}
        )
        assert foreign.status == 400


async def _engine_io_session(session: aiohttp.ClientSession, proxy: Proxy) -> list[int]:
    """A polling handshake, then a packet posted to the session and a poll for the answer:
    each must reach the process that holds the session (any other answers 400)."""
    handshake = await session.get(proxy.url + ENGINE_IO + "polling")
    assert handshake.status == 200
    polling = f"{proxy.url}{ENGINE_IO}polling&sid={json.loads((await handshake.text())[1:])['sid']}"
    posted = await session.post(polling, data=b"40")  # socket.io: connect to namespace "/"
    polled = await session.get(polling, timeout=aiohttp.ClientTimeout(total=10))
    if polled.status == 200:
        assert (await polled.text()).startswith("4")  # the namespace's answer, at once
    return [posted.status, polled.status]


async def test_socket_io_sessions_stick_to_one_process_and_move_when_it_stops(
    nginx: str, tmp_path: Path
) -> None:
    """Two Koppi processes that share nothing (two SQLite files): an engine.io session is known
    only to the process that made it, so a session works only if nginx keeps sending its
    requests there. When that process stops (a restart), new sessions go to the other."""
    servers = [LiveServer(tmp_path / name) for name in ("a", "b")]
    with contextlib.ExitStack() as stack:
        running = []
        for server in servers:
            server.log.parent.mkdir()
            server.env["KOPPI_TRUST_FORWARDED"] = "1"
            process = contextlib.ExitStack()
            stack.enter_context(process)
            process.enter_context(server.running())
            running.append(process)
        proxy = stack.enter_context(running_nginx([s.port for s in servers], tmp_path / "n"))
        async with aiohttp.ClientSession() as session:
            for _ in range(4):
                assert await _engine_io_session(session, proxy) == [200, 200]
            serving = [n for n, s in enumerate(servers) if "/socket.io/" in s.log.read_text()]
            assert len(serving) == 1  # one client address, one process
            running[serving[0]].close()
            for _ in range(4):
                assert await _engine_io_session(session, proxy) == [200, 200]
        assert "/socket.io/" in servers[1 - serving[0]].log.read_text()


async def test_metrics_never_pass_nginx(proxy: Proxy, koppi: LiveServer) -> None:
    async with aiohttp.ClientSession() as session:
        seen = await _koppi_log_after(session, proxy, koppi)
        for path in ("/metrics", "/metrics?x=1", "/metrics/", "//metrics", "/%6detrics"):
            refused = await session.get(proxy.url + path)
            assert refused.status == 404, path
        koppi_log = await _koppi_log_after(session, proxy, koppi)
    assert "metrics" not in koppi_log[len(seen) :]  # nginx answered; Koppi never saw them


async def test_bodies_over_256_kb_are_refused_except_the_directory_import(
    proxy: Proxy, koppi: LiveServer
) -> None:
    big = b'{"body": "' + b"a" * 300_000 + b'"}'
    json_type = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        seen = await _koppi_log_after(session, proxy, koppi)
        refused = await session.post(proxy.url + "/api/questions", data=big, headers=json_type)
        assert refused.status == 413
        # nginx refused it: Koppi (which would answer 413 too) never read it.
        assert "/api/questions" not in (await _koppi_log_after(session, proxy, koppi))[len(seen) :]
        # A coordinator's directory file may be larger: it reaches Koppi (which asks who sends it).
        upload = await session.post(
            proxy.url + "/api/coordinator/directory/import", data=big * 3, headers=json_type
        )
        assert upload.status in (401, 403), upload.status


async def test_a_client_cannot_choose_its_address_through_nginx(
    proxy: Proxy, koppi: LiveServer
) -> None:
    """Koppi takes the last X-Forwarded-For hop. nginx sets the header to the address it sees,
    so two sign-ins claiming different addresses count as one address (the limit is one)."""
    login = {"username": "nobody", "password": "wrong password"}

    async def sign_in(base: str, claimed: str) -> int:
        async with aiohttp.ClientSession() as session:
            answer = await session.post(
                base + "/api/staff/login", json=login, headers={"X-Forwarded-For": claimed}
            )
            return answer.status

    assert await sign_in(proxy.url, "198.51.100.1") == 401
    assert await sign_in(proxy.url, "198.51.100.2") == 429
    # Without nginx the claim would work: each claimed address has its own count.
    assert await sign_in(koppi.url, "203.0.113.1") == 401
    assert await sign_in(koppi.url, "203.0.113.2") == 401


async def test_the_access_log_holds_no_address_code_or_query(proxy: Proxy) -> None:
    code = "Zq3vFollowUpCode8xYw"
    paths = ["/", f"/f/{code}", f"/f/{code}/delete", f"/api/followup/{code}", "/?q=salainen"]
    logged = proxy.access_log.read_text().count(" GET ")
    connector = aiohttp.TCPConnector(local_addr=(CLIENT_ADDRESS, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        for path in paths:
            (await session.get(proxy.url + path)).release()
    log = await _wait_for(proxy.access_log.read_text, " GET ", logged + len(paths))
    assert "/f/... " in log and "/f/.../delete " in log
    for secret in (CLIENT_ADDRESS, code, "salainen"):
        assert secret not in log, secret


async def test_a_calm_page_when_no_process_answers(nginx: str, tmp_path: Path) -> None:
    with running_nginx([free_port()], tmp_path) as proxy:
        async with aiohttp.ClientSession() as session:
            answer = await session.get(proxy.url + "/ask")
            assert answer.status == 503
            assert answer.headers["Retry-After"] == "10"
            assert "Koppi is not answering right now" in await answer.text()


async def test_the_shipped_tls_server_redirects_and_carries_websockets(
    nginx: str, koppi: LiveServer, tls: tuple[Path, Path], tmp_path: Path
) -> None:
    """The HTTPS server exactly as shipped (http2, TLS settings), in front of Koppi."""
    with running_nginx([koppi.port], tmp_path / "nginx", tls=tls) as proxy:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
            plain = await session.get(proxy.http_url + "/ask?x=1", allow_redirects=False)
            assert plain.status == 301
            assert plain.headers["Location"] == "https://127.0.0.1/ask?x=1"
            page = await session.get(proxy.url + "/")
            assert page.status == 200
            ws_url = proxy.url.replace("https://", "wss://") + ENGINE_IO + "websocket"
            async with session.ws_connect(ws_url, origin=proxy.url) as ws:
                assert (await ws.receive_str(timeout=5)).startswith("0")


# --- systemd units and the settings example ------------------------------------------------------


def _unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as systemd reads it: sections of keys, a key may repeat; `\\` continues."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: {line!r} before any section"
        key, equals, value = line.partition("=")
        assert equals, f"{path.name}: {line!r} is not KEY=value"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _one(unit: dict[str, dict[str, list[str]]], section: str, key: str) -> str:
    values = unit[section].get(key, [])
    assert len(values) == 1, f"[{section}] {key}: {values}"
    return values[0]


def test_the_process_unit_runs_one_koppi_per_port_hardened() -> None:
    unit = _unit(UNITS / "koppi@.service")
    service = "Service"
    assert "%i" in _one(unit, service, "ExecStart")
    assert _one(unit, service, "ExecStart").endswith("-m service serve")
    assert _one(unit, service, "EnvironmentFile") == "/etc/koppi/koppi.env"
    assert _one(unit, service, "User") == "koppi"
    assert _one(unit, service, "Restart") == "always"
    assert _one(unit, service, "KillSignal") == "SIGTERM"
    assert int(_one(unit, service, "TimeoutStopSec")) >= 10
    assert _one(unit, service, "StateDirectory") == "koppi"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert _one(unit, service, key) == value, key
    assert _one(unit, "Unit", "PartOf") == "koppi.target"
    assert _one(unit, "Install", "WantedBy") == "koppi.target"
    target = _unit(UNITS / "koppi.target")
    assert _one(target, "Install", "WantedBy") == "multi-user.target"


def test_the_backup_runs_nightly_and_keeps_90_days() -> None:
    backup = _unit(UNITS / "koppi-backup.service")
    assert _one(backup, "Service", "Type") == "oneshot"
    assert "-m service backup /var/backups/koppi/koppi-" in _one(
        backup, "Service", "ExecStart"
    ).replace('"', "")
    assert "-mtime +90 -delete" in _one(backup, "Service", "ExecStartPost")
    assert _one(backup, "Service", "ReadWritePaths") == "/var/backups/koppi"
    assert _one(backup, "Service", "EnvironmentFile") == "/etc/koppi/koppi.env"
    timer = _unit(UNITS / "koppi-backup.timer")
    assert _one(timer, "Timer", "OnCalendar").startswith("*-*-* 02:15:00")
    assert _one(timer, "Timer", "Persistent") == "true"
    assert _one(timer, "Install", "WantedBy") == "timers.target"


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    """systemd's own check, where it works (it needs no running systemd, but a container may
    lack it): unknown keys, bad values and missing programs are reported."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    trial = tmp_path / "trial.service"
    trial.write_text("[Service]\nType=oneshot\nExecStart=/bin/true\n")
    if _verify(analyze, trial).returncode:
        pytest.skip("systemd-analyze verify does not work here")
    for unit in UNITS.iterdir():
        name = unit.name.replace("@.", "@8081.")  # a template is checked as an instance
        shutil.copy(unit, tmp_path / name)
    for unit in sorted(tmp_path.glob("koppi*")):
        verified = _verify(analyze, unit)
        complaints = [line for line in verified.stderr.splitlines() if "koppi" in line]
        assert verified.returncode == 0 and not complaints, verified.stderr


def _verify(analyze: str, unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [analyze, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=unit.parent,
    )


def _settings_read() -> set[str]:
    """Every KOPPI_* variable service/settings.py reads, the composed names spelled out."""
    source = (ROOT / "service" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'"(KOPPI_[A-Z0-9_]*[A-Z0-9])"', source))
    assert '"KOPPI_LIMIT_"' in source and "KOPPI_CRISIS_PHONE_{" in source
    names |= {"KOPPI_LIMIT_" + name.replace(".", "_").upper() for name in DEFAULT_LIMITS}
    names |= {f"KOPPI_CRISIS_PHONE_{lang.upper()}" for lang in DEFAULT_CRISIS_PHONES}
    return names


def test_the_settings_example_lists_every_setting_and_no_other() -> None:
    example = (DEPLOY / "koppi.env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"(?m)^#?(KOPPI_[A-Z0-9_]+)=", example))
    read = _settings_read()
    assert read - listed == set(), "settings missing from deploy/koppi.env.example"
    assert listed - read == set(), "deploy/koppi.env.example names settings Koppi does not read"
    # What the guide sets, set; no secret in the repository.
    assert re.search(r"(?m)^KOPPI_TRUST_FORWARDED=1$", example)
    assert re.search(r"(?m)^KOPPI_TLS=1$", example)
    assert re.search(r"(?m)^KOPPI_SECRET=CHANGE-ME", example)
    assert not re.search(r"(?m)^KOPPI_PORT=", example)  # the unit's instance name sets it


def test_the_settings_example_reads_in_sh_as_in_systemd(tmp_path: Path) -> None:
    """deploy/koppi sources the file with sh; systemd reads it too. Both see the same values."""
    done = subprocess.run(
        ["sh", "-c", 'set -a; . "$1"; set +a; env', "sh", str(DEPLOY / "koppi.env.example")],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    seen = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert seen["KOPPI_REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert seen["KOPPI_DB"] == "/var/lib/koppi/koppi.sqlite3"
    syntax = subprocess.run(["sh", "-n", str(DEPLOY / "koppi")], capture_output=True, check=False)
    assert syntax.returncode == 0, syntax.stderr


# --- helpers -------------------------------------------------------------------------------------


async def _koppi_log_after(session: aiohttp.ClientSession, proxy: Proxy, koppi: LiveServer) -> str:
    """Koppi's log once it holds a request sent now (a `/healthz` through nginx): every request
    answered before it has its line (Koppi writes a request's line just after its answer)."""
    before = koppi.log.read_text().count("GET /healthz ")
    assert (await session.get(proxy.url + "/healthz")).status == 200
    return await _wait_for(koppi.log.read_text, "GET /healthz ", before + 1)


async def _wait_for(read: Callable[[], str], expected: str, times: int) -> str:
    """A log's text once `expected` occurs in it `times` times."""
    deadline = time.monotonic() + 5
    while True:
        text = read()
        if text.count(expected) >= times:
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"{expected!r} not {times} times in the log: {text[-2000:]}")
        await asyncio.sleep(0.05)
