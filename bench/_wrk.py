"""Running Debian's wrk against one URL or a rotation of paths, and reading its report."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

THREADS = 2
TIMEOUT = "10s"
_TIME = re.compile(r"^([\d.]+)(us|ms|s|m|h)$")
_TIME_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
# Each thread starts at its own share of the list, so two threads never ask for the same
# path at nearly the same moment (which would let a cache or a shared render answer both).
_ROTATION = """\
local paths = {%s}
local threads = 0
function setup(thread)
  thread:set("first", threads * math.floor(#paths / %d))
  threads = threads + 1
end
function init(args)
  counter = first or 0
end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


@dataclass(frozen=True)
class WrkResult:
    """The figures taken from one wrk run."""

    rps: float
    p50: float
    p90: float
    p99: float
    requests: int
    errors: int


def ensure_wrk() -> str:
    """Path of wrk, installing Debian's package when running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("wrk is not installed; run `sudo apt-get install -y wrk` and try again")
    print("installing wrk with apt-get …", flush=True)
    if subprocess.run(["apt-get", "install", "-y", "wrk"], check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], check=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("apt-get did not provide wrk")
    return found


def rotation_script(paths: Sequence[str], script: Path) -> Path:
    """Write a wrk Lua script that rotates requests over `paths`."""
    quoted = ", ".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in paths)
    script.write_text(_ROTATION % (quoted, THREADS), encoding="utf-8")
    return script


def run(
    wrk: str, url: str, *, connections: int, duration: int, script: Path | None = None
) -> WrkResult:
    """Load `url` (its path replaced by the script's rotation, if any) and parse the report."""
    command = [wrk, f"-t{THREADS}", f"-c{connections}", f"-d{duration}s", "--latency"]
    command += ["--timeout", TIMEOUT]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    done = subprocess.run(
        command,
        check=True,
        capture_output=True,
        text=True,
        timeout=duration + 60,
        start_new_session=True,  # on Ctrl-C, subprocess.run kills it
    )
    return parse(done.stdout)


def _ms(text: str) -> float:
    """A wrk duration such as 812.00us or 1.20ms in milliseconds."""
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"unexpected wrk time {text!r}")
    return float(match.group(1)) * _TIME_MS[match.group(2)]


def parse(out: str) -> WrkResult:
    """Requests/sec, the 50/90/99% latencies and error counts from wrk --latency output."""
    latency = {m[0]: _ms(m[1]) for m in re.findall(r"^\s+(50|90|99)%\s+(\S+)\s*$", out, re.M)}
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    total = re.search(r"^\s+(\d+) requests in", out, re.M)
    if rps is None or total is None or len(latency) != 3:
        raise ValueError(f"could not parse wrk output:\n{out}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    return WrkResult(
        rps=float(rps.group(1)),
        p50=latency["50"],
        p90=latency["90"],
        p99=latency["99"],
        requests=int(total.group(1)),
        errors=errors,
    )
