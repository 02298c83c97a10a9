"""What the storage layer raises, whichever engine runs: callers never see sqlite3 or asyncpg."""

from __future__ import annotations

import os


class StorageError(Exception):
    """A database problem the caller may want to tell apart from a bug."""


class Duplicate(StorageError):
    """A row with the same unique key exists (perhaps written a moment ago by someone else)."""


class Unavailable(StorageError):
    """The database cannot be reached now; nothing was written. The message names where."""


class MigrationFailed(StorageError):
    """A numbered migration could not be applied; the message names it."""


class CannotOpen(StorageError):
    """The database could not be opened at start-up; the message says which and why."""


def describe(exc: BaseException) -> str:
    """An OSError or a database error as one line: the system's words and the file named."""
    if isinstance(exc, OSError) and exc.errno:
        text = os.strerror(exc.errno)
        return f"{text}: {exc.filename}" if exc.filename else text
    return str(exc) or type(exc).__name__
