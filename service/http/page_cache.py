"""Rendered public pages kept in memory until published content changes."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable


class PageCache:
    """A bounded LRU of page bodies; `invalidate()` forgets all at once when the board changes.

    Concurrent misses for one page share a single render, so a burst after a publication
    does not queue dozens of identical queries on the database thread."""

    def __init__(self, max_entries: int = 2000) -> None:
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._rendering: dict[Hashable, asyncio.Future[bytes]] = {}
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

    async def get_or_render(self, key: Hashable, render: Callable[[], Awaitable[bytes]]) -> bytes:
        body = self.get(key)
        if body is not None:
            return body
        pending = self._rendering.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._rendering[key] = future
        generation = self.generation
        try:
            body = await render()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so a render no one else awaited is not logged
            raise
        finally:
            self._rendering.pop(key, None)
        future.set_result(body)
        self.put(key, body, generation)
        return body

    def invalidate(self) -> None:
        self.generation += 1
        self._entries.clear()
