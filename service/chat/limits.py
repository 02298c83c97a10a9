"""A sliding-window limit on how many messages one sender may send a minute."""

from __future__ import annotations

from collections import deque
from math import ceil


class SlidingWindow:
    """At most `limit` events per `window_s` seconds per key; times are monotonic seconds."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._seen: dict[object, deque[float]] = {}

    def retry_after(self, key: object, now: float) -> int:
        """0 and the event is counted, or the whole seconds to wait before the next one."""
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) >= self.limit:
            return max(1, ceil(times[0] + self.window_s - now))
        times.append(now)
        return 0

    def prune(self, now: float) -> None:
        """Drop senders with nothing left in their window, so the table does not grow forever."""
        cutoff = now - self.window_s
        for key in [k for k, times in self._seen.items() if not times or times[-1] <= cutoff]:
            del self._seen[key]
