"""A log line at most once a minute for a failure that can repeat thousands of times a second."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class Throttled:
    """Counts each occurrence and writes one line per interval saying how many there were.

    A flood of the same failure (a full disk, no file descriptors left) must not write a
    traceback per request: that fills the disk it complains about and buries everything else."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._what = what
        self._interval = interval
        self._clock = clock
        self._count = 0
        self._next_line: float | None = None

    def note(self, detail: str = "") -> None:
        """Count one occurrence; log it when the last line is an interval old (or there is none)."""
        self._count += 1
        now = self._clock()
        if self._next_line is not None and now < self._next_line:
            return
        suffix = f": {detail}" if detail else ""
        self._logger.error(
            "%s (%d %s since the last such line)%s",
            self._what,
            self._count,
            "time" if self._count == 1 else "times",
            suffix,
        )
        self._count = 0
        self._next_line = now + self._interval
