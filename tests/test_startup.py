"""A service that cannot start says why in one line and exits at once, for a supervisor to see.

Tests run as root, whom file permissions do not stop: the causes here fail for anyone."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import ROOT, free_port

DEADLINE = 10.0


def _run(
    command: str, db: Path, *, port: int | None = None, secret: bool = True
) -> tuple[int, str]:
    env = {**os.environ, "KOPPI_DB": str(db), "KOPPI_PORT": str(port or free_port())}
    env.pop("KOPPI_SECRET", None)
    if secret:
        env["KOPPI_SECRET"] = "startup-test-secret"
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "service", command],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=DEADLINE,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`{command}` still running after {DEADLINE} s: {exc.stderr!r}")
    assert time.monotonic() - started < DEADLINE
    return done.returncode, done.stderr


def _one_line(stderr: str) -> str:
    """The stderr holds one `koppi:` line (log lines aside) and no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("koppi:")]
    assert len(lines) == 1, stderr
    return lines[0]


def _file_where_folder_is(tmp_path: Path) -> Path:
    (tmp_path / "plain-file").write_text("not a folder")
    return tmp_path / "plain-file" / "koppi.sqlite3"


def _folder_where_file_is(tmp_path: Path) -> Path:
    (tmp_path / "koppi.sqlite3").mkdir()
    return tmp_path / "koppi.sqlite3"


def _not_a_database(tmp_path: Path) -> Path:
    path = tmp_path / "koppi.sqlite3"
    path.write_bytes(b"these bytes are no SQLite database at all, " * 100)
    return path


def _failing_migration(tmp_path: Path) -> Path:
    """A table the first migration creates already exists: the migration itself fails."""
    path = tmp_path / "koppi.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE categories (something_else TEXT)")
    return path


CAUSES = [
    (_file_where_folder_is, "Not a directory"),
    (_folder_where_file_is, "unable to open database file"),
    (_not_a_database, "file is not a database"),
    (_failing_migration, "migration 0001_board.sql failed"),
]


@pytest.mark.parametrize("command", ["serve", "migrate"])
@pytest.mark.parametrize(("make", "cause"), CAUSES, ids=[c for _, c in CAUSES])
def test_a_database_that_cannot_be_opened_stops_the_start(
    tmp_path: Path, command: str, make: object, cause: str
) -> None:
    db = make(tmp_path)  # type: ignore[operator]
    code, stderr = _run(command, db)
    assert code != 0
    line = _one_line(stderr)
    assert line.startswith(f"koppi: cannot open the database {db}: "), line
    assert cause in line
    assert "Koppi serving" not in stderr


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_port_in_use_stops_the_start(tmp_path: Path, taken_port: int) -> None:
    code, stderr = _run("serve", tmp_path / "koppi.sqlite3", port=taken_port)
    assert code != 0
    line = _one_line(stderr)
    assert line == f"koppi: cannot listen on 127.0.0.1:{taken_port}: Address already in use"


def test_a_secret_that_cannot_be_kept_stops_the_start(tmp_path: Path) -> None:
    db = _file_where_folder_is(tmp_path)
    code, stderr = _run("serve", db, secret=False)
    assert code != 0
    line = _one_line(stderr)
    assert line.startswith("koppi: cannot keep the secret in the data folder: "), line
    assert line.endswith(str(db.parent))


def test_serving_is_said_once_listening_and_a_signal_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "KOPPI_DB": str(tmp_path / "koppi.sqlite3"),
        "KOPPI_PORT": str(port),
        "KOPPI_SECRET": "startup-test-secret",
    }
    with subprocess.Popen(
        [sys.executable, "-m", "service", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith(f"Koppi serving on http://127.0.0.1:{port}"), line
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                pass  # the port is open once "serving" is said
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=DEADLINE)
            assert process.returncode == 0
            assert "Traceback" not in stderr
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
