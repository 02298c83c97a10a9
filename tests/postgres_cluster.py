"""A throwaway PostgreSQL cluster for the tests and benchmarks: Debian's server binaries,
`initdb` in a temporary folder, a free loopback port, fsync off, stopped and removed at the end.

PostgreSQL refuses to run as root, so under root the server runs as the `postgres` user."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.throwaway import free_port

HOW_TO_GET = (
    "PostgreSQL's server is not installed: the PostgreSQL half of the suite is skipped."
    " Install Debian's `postgresql` package (sh .ci/system-deps.sh does) to run it."
)


def server_bin() -> Path | None:
    """The folder with initdb and pg_ctl: the newest of Debian's versions, or the PATH's."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class Cluster:
    """One running server; `url(name)` addresses a database on it."""

    def __init__(self, bin_dir: Path, folder: Path, *, durable: bool = False) -> None:
        self.bin = bin_dir
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.user = "koppi"
        self._as_postgres = os.geteuid() == 0
        # Benchmarks flush to disk as production does (SQLite's side runs synchronous=FULL).
        self.durable = durable

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        if self._as_postgres:
            postgres = pwd.getpwnam("postgres")
            os.chown(self.folder, postgres.pw_uid, postgres.pw_gid)
        self._run(
            "initdb",
            "--pgdata",
            str(self.data),
            "--username",
            self.user,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C.UTF-8",
            "--no-sync",
        )

    def start(self) -> None:
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.folder}",
                # Throwaway test data: no flushes to disk. Commits still wait for the WAL write.
                *([] if self.durable else ["-c fsync=off", "-c full_page_writes=off"]),
                "-c max_connections=400",
                "-c shared_buffers=128MB",
            ]
        )
        self._run(
            "pg_ctl",
            "--pgdata",
            str(self.data),
            "--log",
            str(self.folder / "server.log"),
            "--options",
            options,
            "--wait",
            "start",
        )
        deadline = time.monotonic() + 30
        while self._run(
            "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), check=False
        ).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not start: " + self.log_tail())
            time.sleep(0.1)

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run(
            "psql",
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            self.url(database),
            "-c",
            sql,
        ).stdout

    def stop(self, mode: str = "immediate") -> None:
        self._run(
            "pg_ctl", "--pgdata", str(self.data), "--mode", mode, "--wait", "stop", check=False
        )

    def log_tail(self) -> str:
        try:
            return (self.folder / "server.log").read_text()[-2000:]
        except OSError:
            return ""


@contextlib.contextmanager
def running_cluster(*, durable: bool = False) -> Iterator[Cluster]:
    """A started cluster, stopped and deleted when the block ends, whatever happens."""
    bin_dir = server_bin()
    if bin_dir is None:
        raise FileNotFoundError(HOW_TO_GET)
    folder = Path(tempfile.mkdtemp(prefix="koppi-pg-"))
    cluster = Cluster(bin_dir, folder, durable=durable)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
