"""A real `python -m service serve` process on a free loopback port, for browser tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.throwaway import free_port

ROOT = Path(__file__).resolve().parent.parent
# The test browsers ask for Finnish (Accept-Language), as most young people's phones here do;
# a test of another language sets its context's locale, which overrides this.
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--accept-lang=fi-FI,fi",
]


def output_dir() -> Path:
    """Screenshots go under the test run's output folder (KOPPI_TEST_OUTPUT or ./test-output)."""
    path = Path(os.environ.get("KOPPI_TEST_OUTPUT", ROOT / "test-output"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def chromium_path() -> str:
    """Debian's chromium; outside CI its absence skips the test, in CI it fails it."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (run .ci/system-deps.sh)")
        pytest.skip("chromium is not installed")
    return path


class LiveServer:
    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "KOPPI_DB": str(data_dir / "koppi.sqlite3"),
            "KOPPI_PORT": str(self.port),
            "KOPPI_HOST": "127.0.0.1",
            "KOPPI_SECRET": "browser-test-secret",
            "KOPPI_DEMO": "0",
            # Browser tests sign staff in with a password; the second factor has its own test.
            "KOPPI_STAFF_2FA": "0",
            "KOPPI_ACCESS_LOG": "1",
        }
        if database_url:
            self.env["KOPPI_DATABASE_URL"] = database_url
        self.log = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, stdin: str = "") -> None:
        subprocess.run(
            [sys.executable, "-m", "service", *args],
            input=stdin,
            text=True,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=60,
        )

    @contextmanager
    def running(self) -> Iterator[LiveServer]:
        self.start()
        try:
            self.wait_until_up()
            yield self
        finally:
            self.stop()

    def start(self) -> None:
        """Start `serve` without waiting for it (several processes start at once)."""
        with self.log.open("a") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own command
                [sys.executable, "-m", "service", "serve"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )

    def stop(self) -> None:
        """SIGTERM, as systemd stops a service; SIGKILL after ten seconds."""
        process = self.process
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to say goodbye to anyone."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def wait_until_up(self) -> None:
        assert self.process is not None
        self._wait_until_up(self.process)

    def _wait_until_up(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("server exited: " + self.log.read_text())
            try:
                with urllib.request.urlopen(self.url + "/api/categories", timeout=1):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start: " + self.log.read_text())


def run_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m service …` with `env`, as an operator runs it; the exit status is checked by
    the test."""
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "service", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """A refusal says why in one `koppi:` line on standard error, exit 1: no traceback."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("koppi: "), done.stderr
    return lines[0]


async def staff_cookie(base: str, username: str, password: str) -> str:
    """Sign in over the JSON API, as a console would; the session cookie to send."""
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            base + "/api/staff/login", json={"username": username, "password": password}
        )
        assert response.status == 200, await response.text()
        return f"koppi_staff={response.cookies['koppi_staff'].value}"


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium through Playwright, closed at the end."""
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            yield launched
        finally:
            launched.close()
