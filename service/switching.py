"""How often the interpreter hands its lock from one thread to another."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

_BRISK_S = 0.001
_holders = 0
_usual_s = sys.getswitchinterval()


@contextmanager
def brisk() -> Iterator[None]:
    """Every millisecond instead of every 5 while a job runs Python on a second thread (an
    import's batches on SQLite's thread): the event loop otherwise waits up to 5 ms for the lock
    at each step of a chat message, and the chat's slowest messages waited 150 ms and more
    during an import (bench/directory.py). Only meanwhile: switching that often costs the
    chat's own throughput (bench/chat.py's flood, 4,200 against 2,600 messages/s)."""
    global _holders, _usual_s
    if _holders == 0:
        _usual_s = sys.getswitchinterval()
        sys.setswitchinterval(_BRISK_S)
    _holders += 1
    try:
        yield
    finally:
        _holders -= 1
        if _holders == 0:
            sys.setswitchinterval(_usual_s)
