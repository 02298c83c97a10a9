"""The storage engines a benchmark runs on: the `--engine` option, a durable throwaway PostgreSQL
cluster, `port-db` of the benchmark's SQLite file into it, and the cluster's CPU time."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # tests/ is not installed: the cluster helper lives there

from tests.postgres_cluster import Cluster, running_cluster  # noqa: E402

ENGINES = ("sqlite", "postgresql")
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
_CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def add_option(parser: argparse.ArgumentParser) -> None:
    """`--engine sqlite|postgresql|both`, both by default."""
    parser.add_argument(
        "--engine",
        choices=(*ENGINES, "both"),
        default="both",
        help="the storage engine(s) to measure Koppi on, side by side (default: both)",
    )


def chosen(args: argparse.Namespace) -> list[str]:
    """The engines the command line asked for, SQLite first."""
    return list(ENGINES) if args.engine == "both" else [args.engine]


def start_cluster(stack: ExitStack) -> Cluster:
    """A PostgreSQL cluster on this machine that flushes every commit to disk (fsync on, as
    in production; the SQLite side runs synchronous=FULL), stopped when `stack` closes."""
    started = time.perf_counter()
    cluster = stack.enter_context(running_cluster(durable=True))
    print(
        f"PostgreSQL {version(cluster)} started in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return cluster


def version(cluster: Cluster) -> str:
    """The server's version, such as "15.14"."""
    return cluster.psql("SHOW server_version").strip().split()[0]


def new_database(cluster: Cluster, name: str, template: str | None = None) -> str:
    """The URL of a new database on the cluster, empty or a copy of `template`."""
    copy = f" TEMPLATE {template}" if template else ""
    cluster.psql(f"CREATE DATABASE {name}{copy}")
    return cluster.url(name)


def port_db(sqlite_path: Path, url: str, cluster: Cluster) -> None:
    """Copy the SQLite file into the empty database at `url` with `python -m service port-db`,
    then VACUUM ANALYZE it: the planner gets its statistics and the visibility map is set, as
    autovacuum would have done shortly after a real port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPPI_")}
    env["KOPPI_DB"] = str(sqlite_path)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "service", "port-db", url],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"port-db into {url} exited with {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    ported = time.perf_counter()
    cluster.psql("VACUUM (ANALYZE)", url.rsplit("/", 1)[1])
    print(
        f"port-db copied {sqlite_path.name} into PostgreSQL in {ported - started:.1f} s"
        f" (VACUUM ANALYZE {time.perf_counter() - ported:.1f} s)",
        flush=True,
    )


def postmaster_pid(cluster: Cluster) -> int:
    """The cluster's main server process (the first line of postmaster.pid)."""
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


def _children(pid: int) -> Iterator[int]:
    """Live processes whose parent is `pid` (PostgreSQL's backends and helpers)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii") as handle:
                stat = handle.read()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            yield int(entry.name)


def _ticks(pid: int, *, reaped: bool = False) -> int:
    """utime + stime of a process, and with `reaped` its waited-for children's too."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            stat = handle.read()
    except OSError:
        return 0  # gone between the listing and the read
    fields = stat[stat.rindex(")") + 2 :].split()  # fields[0] is field 3 (state)
    total = int(fields[11]) + int(fields[12])
    return total + int(fields[13]) + int(fields[14]) if reaped else total


def cluster_cpu_seconds(postmaster: int) -> float:
    """CPU seconds the whole cluster used so far: the postmaster, its live children, and
    (through cutime/cstime) the children that have exited and been waited for."""
    ticks = _ticks(postmaster, reaped=True) + sum(_ticks(c) for c in _children(postmaster))
    return ticks / _CLOCK_TICK


def header(engines: Sequence[str], width: int) -> str:
    """One centred, dashed label per engine, each `width` characters wide with its gap."""
    return "".join(f" {LABELS[e]} ".center(width - 2, "-") + "  " for e in engines)
