"""Each day's address salt, shared by the processes through Redis (see client_address.py).

The first process to ask for a day's salt creates it at random (SET NX); it expires an hour
after its day ends, so it is forgotten as the one-process salt is. Tomorrow's salt is fetched
ahead, so at midnight every process already hashes with the same one."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime, time, timedelta
from typing import Any

from service.client_address import AddressKeys
from service.clock import LOCAL_ZONE, Clock
from service.log_throttle import Throttled

log = logging.getLogger(__name__)

PREFIX = "koppi:address-salt:"
EVERY_S = 60.0


class SharedSalts:
    def __init__(self, url: str, keys: AddressKeys, clock: Clock) -> None:
        from redis import asyncio as aioredis

        self._redis: Any = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self._keys = keys
        self._clock = clock
        self._unreachable = Throttled(
            log, "cannot fetch the shared address salt; this process hashes with its own for now"
        )

    async def load(self) -> None:
        """Today's and tomorrow's salts into the address keys."""
        now = self._clock()
        today = now.astimezone(LOCAL_ZONE).date()
        for day in (today, today + timedelta(days=1)):
            name = PREFIX + day.isoformat()
            ends = datetime.combine(day + timedelta(days=1), time(1), tzinfo=LOCAL_ZONE)
            # Seconds from the service's clock, not a wall time: the two agree in production.
            keep = max(60, int((ends - now).total_seconds()))
            await self._redis.set(name, secrets.token_bytes(32), nx=True, ex=keep)
            salt = await self._redis.get(name)
            if salt:
                self._keys.use_salt(day, bytes(salt))

    async def keep_loaded(self) -> None:
        while True:
            await asyncio.sleep(EVERY_S)
            try:
                await self.load()
            except Exception as exc:
                self._unreachable.note(type(exc).__name__)

    async def close(self) -> None:
        await self._redis.aclose()
