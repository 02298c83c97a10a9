"""Writes that fail because the disk (or the database's page limit) is full."""

from __future__ import annotations

import errno
import logging
import sqlite3

from service.i18n import N_
from service.log_throttle import Throttled

log = logging.getLogger(__name__)
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}
# What the writer is told, on a page, in a JSON answer or in a socket's acknowledgement.
CANNOT_SAVE = N_("Koppi cannot save right now; nothing you wrote was lost, try again later.")

# One line a minute however many requests fail: every write fails while the disk is full.
_log = Throttled(log, "cannot save: the disk is full")


def is_disk_full(exc: BaseException) -> bool:
    """True for SQLITE_FULL, PostgreSQL's disk_full and ENOSPC/EDQUOT, also when wrapped."""
    seen: BaseException | None = exc
    for _ in range(8):  # a short chain: causes never loop, but a bound costs nothing
        if seen is None:
            return False
        if getattr(seen, "sqlstate", None) == "53100":  # PostgreSQL's disk_full
            return True
        if isinstance(seen, sqlite3.Error):
            code = getattr(seen, "sqlite_errorcode", None)
            if code is not None and code & 0xFF == sqlite3.SQLITE_FULL:
                return True
        elif isinstance(seen, OSError) and seen.errno in _NO_SPACE:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def note(exc: BaseException) -> None:
    """Count a failed write in the once-a-minute log line."""
    _log.note(str(exc))
