"""One leader among the processes for the background work that must run once: the chat ticker,
the retention sweep and vacuum, the checkpoint and the directory watch.

The lead is a lock the database engine provides (`Database.leader_lock`): on PostgreSQL a
session advisory lock held on a connection of its own, released by the server the moment that
connection ends, so a process killed with SIGKILL hands the lead on at once and one that hangs
loses it to its connection's keepalive; on SQLite, with its one process, the lock is always
ours. Every process tries for the lead every `every_s`; while it leads, it checks the lock is
still held just as often, and stops its duties the moment it is not."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from service import background
from service.log_throttle import Throttled
from service.storage.db import LeaderLock

log = logging.getLogger(__name__)

Duty = tuple[str, Callable[[], Coroutine[Any, Any, None]]]


class Leadership:
    """Runs `duties` while this process holds `lock`; `leading` says whether it does now."""

    def __init__(self, lock: LeaderLock, duties: Sequence[Duty], *, every_s: float) -> None:
        self._lock = lock
        self._duties = list(duties)
        self._every_s = every_s
        self.leading = False
        self._unreachable = Throttled(log, "cannot reach the database to take the lead")

    async def run(self) -> None:
        try:
            while True:
                if await self._acquire():
                    await self._lead()
                await asyncio.sleep(self._every_s)
        finally:
            with contextlib.suppress(Exception):
                await self._lock.release()

    async def _acquire(self) -> bool:
        try:
            return await self._lock.try_acquire()
        except Exception as exc:
            self._unreachable.note(type(exc).__name__)
            return False

    async def _lead(self) -> None:
        log.info("this process leads the background work")
        self.leading = True
        try:
            async with contextlib.AsyncExitStack() as stack:
                for name, start in self._duties:
                    await stack.enter_async_context(background.running(start(), name))
                while True:
                    await asyncio.sleep(self._every_s)
                    if not await self._held():
                        break
            log.warning("this process lost the lead; another takes over the background work")
        finally:
            self.leading = False
            with contextlib.suppress(Exception):
                await self._lock.release()

    async def _held(self) -> bool:
        try:
            return await self._lock.held()
        except Exception:
            return False
