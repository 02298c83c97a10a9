"""Rendered public pages kept in memory until published content changes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class PageCache:
    """A bounded LRU of page bodies; `invalidate()` forgets all at once when the board changes."""

    def __init__(self, max_entries: int = 2000) -> None:
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._max = max_entries
        self.generation = 0

    def get(self, key: Hashable) -> bytes | None:
        body = self._entries.get(key)
        if body is not None:
            self._entries.move_to_end(key)
        return body

    def put(self, key: Hashable, body: bytes, generation: int) -> None:
        """Keep a page only if nothing changed while it was rendered."""
        if generation != self.generation:
            return
        self._entries[key] = body
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def invalidate(self) -> None:
        self.generation += 1
        self._entries.clear()
