"""Requests that fail because the database server cannot be reached (PostgreSQL only).

Nothing was written: the pool reconnects by itself once the server is back, and the writer can
send again. Every request fails while it is away, so the log says so once a minute."""

from __future__ import annotations

import logging

from service.i18n import N_
from service.log_throttle import Throttled
from service.storage.errors import Unavailable

log = logging.getLogger(__name__)
# What the visitor or staff member is told, on a page, in a JSON answer or in an acknowledgement.
CANNOT_REACH = N_(
    "Koppi cannot reach its database right now; nothing you wrote was lost, try again in a moment."
)
RETRY_AFTER_S = 5

_log = Throttled(log, "the database is unreachable")


def is_database_down(exc: BaseException) -> bool:
    """True for the storage layer's Unavailable, also when wrapped in another exception."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, Unavailable):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def note(exc: BaseException) -> None:
    """Count a failed request in the once-a-minute log line."""
    _log.note(str(exc))
