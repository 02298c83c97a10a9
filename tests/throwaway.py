"""What every throwaway server of the tests needs (Koppi, PostgreSQL, Redis, nginx): a free
port on loopback, and the installed program."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def installed(name: str, debian_path: str) -> str | None:
    """The program on the PATH, or where Debian's package puts it (sbin is not always on it)."""
    return shutil.which(name) or (debian_path if Path(debian_path).exists() else None)
