"""The rate limits of several processes, counted in one Redis so that they are one limit.

Each (limit name, key) is a sorted set of events: the event's time is its score, a unique id
its member, and it expires a window after its newest event. A Lua script prunes, judges and
counts all the limits of one action at once, so no two processes can both take the last place.

Redis away: the limits are counted in this process instead (as with one process) until Redis
answers again, with one log line a minute. A visitor is never refused, and no request fails,
because Redis is away; a flood or a password guesser still meets the limit of each process."""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from service.log_throttle import Throttled
from service.rate_limits import Keys, MemoryRateLimiter, RateLimiter, Refusal
from service.settings import Limit

log = logging.getLogger(__name__)

PREFIX = "koppi:limit:"
HELD_PREFIX = "koppi:limit-held:"
TIMEOUT_S = 1.0  # Redis answers in well under a millisecond; a request must not hang on it
AWAY_FOR_S = 2.0  # after a failure, count locally this long before asking Redis again
T = TypeVar("T")

# KEYS: one sorted set per limit, in the action's order. ARGV: mode ("take", "check" or
# "count"), now, the new event's member, then each limit's count and window in seconds.
# Returns {i, wait}: the limit (1-based) that refuses with the longest wait, or {0, 0}.
# Same rules as SlidingWindow: events at or before now - window are out; a key holding `count`
# events waits until its oldest leaves the window, at least one second; a refusal counts
# nowhere; a key keeps at most `count` events (the newest).
_COUNTING = """
local mode, now, member = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local worst, worst_wait = 0, 0
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if mode ~= 'count' and redis.call('ZCARD', key) >= limit then
    local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
    local wait = math.max(1, math.ceil(oldest + window - now))
    if wait > worst_wait then worst, worst_wait = i, wait end
  end
end
if mode == 'check' or worst > 0 then return {worst, worst_wait} end
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  redis.call('ZADD', key, ARGV[2], member)
  redis.call('ZREMRANGEBYRANK', key, 0, -limit - 1)
  redis.call('EXPIRE', key, math.ceil(window))
end
return {0, 0}
"""

# KEYS: sorted sets. ARGV: the time an event was counted at. Removes one event at that time
# from each (as SlidingWindow.release: the time, not the member, names the event).
_RELEASE = """
for _, key in ipairs(KEYS) do
  local found = redis.call('ZRANGE', key, ARGV[1], ARGV[1], 'BYSCORE', 'LIMIT', 0, 1)
  if found[1] then redis.call('ZREM', key, found[1]) end
end
return 0
"""

# KEYS[1]: the ref's hash (sorted set → the time its event was counted at). ARGV: seconds
# to keep it (the longest window), the time, the sorted sets. The first hold of a ref wins.
_HOLD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 3, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""


class RedisRateLimiter(RateLimiter):
    """The same limits as MemoryRateLimiter, shared by every process using the same Redis."""

    def __init__(
        self,
        url: str,
        limits: Mapping[str, Limit],
        *,
        enabled: bool = True,
        max_waiting: int = 0,
        away_for_s: float = AWAY_FOR_S,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        super().__init__(limits, enabled=enabled, max_waiting=max_waiting)
        # One retry at once: a pooled connection that a restarted Redis closed is replaced
        # without counting as an outage; no backoff, as a request is waiting.
        self._redis: Any = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=timeout_s,
            socket_timeout=timeout_s,
            retry=Retry(NoBackoff(), 1),
        )
        self._counting = self._redis.register_script(_COUNTING)
        self._release = self._redis.register_script(_RELEASE)
        self._hold = self._redis.register_script(_HOLD)
        self._local = MemoryRateLimiter(limits, enabled=enabled, max_waiting=max_waiting)
        self._member_prefix = secrets.token_hex(6)
        self._events = itertools.count()
        self._away_for_s = away_for_s
        self._away_until: float | None = None
        self._outage = Throttled(
            log, "Redis unreachable: rate limits are counted in each process until it answers"
        )

    @property
    def away(self) -> bool:
        """Redis failed a moment ago: the limits are counted in this process for now."""
        return self._away_until is not None and time.monotonic() < self._away_until

    async def check(self, action: str, keys: Keys, now: datetime) -> Refusal | None:
        return await self._judge("check", action, keys, now)

    async def take(self, action: str, keys: Keys, now: datetime) -> Refusal | None:
        return await self._judge("take", action, keys, now)

    async def count(self, action: str, keys: Keys, now: datetime) -> None:
        await self._judge("count", action, keys, now)

    async def release(self, action: str, keys: Keys, now: datetime) -> None:
        if not self.enabled:
            return
        # Counted here while Redis was away, or in Redis: given back wherever it is.
        await self._local.release(action, keys, now)
        sets = [_set_key(name, key) for name, key in self._applicable(action, keys)]
        if sets:
            await self._attempt(lambda: self._release(keys=sets, args=[repr(now.timestamp())]))

    async def hold(self, ref: object, action: str, keys: Keys, now: datetime) -> None:
        if not self.enabled:
            return
        applicable = self._applicable(action, keys)
        if not applicable:
            return
        ttl = max(self.limits[name].seconds for name, _ in applicable)
        sets = [_set_key(name, key) for name, key in applicable]
        held = await self._attempt(
            lambda: self._hold(keys=[_held_key(ref)], args=[ttl, repr(now.timestamp()), *sets])
        )
        if held is None:
            await self._local.hold(ref, action, keys, now)

    async def give_back(self, ref: object) -> None:
        await self._local.give_back(ref)
        held = await self._attempt(lambda: self._take_held(ref))
        if held:
            # hold() wrote one time for all of a ref's sets: they counted one event.
            sets, at = list(held), next(iter(held.values()))
            await self._attempt(lambda: self._release(keys=sets, args=[at]))

    async def forget(self, ref: object) -> None:
        await self._local.forget(ref)
        await self._attempt(lambda: self._redis.delete(_held_key(ref)))

    async def tracked(self) -> int:
        async def count_sets() -> int:
            return len([key async for key in self._redis.scan_iter(match=f"{PREFIX}*")])

        shared = await self._attempt(count_sets)
        return await self._local.tracked() + (shared or 0)

    async def close(self) -> None:
        await self._redis.aclose()

    async def _judge(self, mode: str, action: str, keys: Keys, now: datetime) -> Refusal | None:
        """Run the counting script over the action's limits: one refusal, or none."""
        if not self.enabled:
            return None
        applicable = self._applicable(action, keys)
        if not applicable:
            return None
        args: list[str | int] = [mode, repr(now.timestamp()), self._new_member()]
        for name, _ in applicable:
            args += [self.limits[name].count, self.limits[name].seconds]
        sets = [_set_key(name, key) for name, key in applicable]
        answer = await self._attempt(lambda: self._counting(keys=sets, args=args))
        if answer is None:
            if mode == "count":
                await self._local.count(action, keys, now)
                return None
            local = self._local.take if mode == "take" else self._local.check
            return await local(action, keys, now)
        refused, wait = int(answer[0]), int(answer[1])
        if not refused:
            return None
        name = applicable[refused - 1][0]
        return Refusal(name, self.limits[name], wait)

    async def _take_held(self, ref: object) -> dict[bytes, bytes]:
        """The ref's held sets and time, read and deleted at once: only one caller gets them."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(_held_key(ref))
            pipe.delete(_held_key(ref))
            held, _ = await pipe.execute()
        return dict(held)

    async def _attempt(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """The call's answer, or None when Redis is away (noted, and not asked for a while)."""
        if self.away:
            self._outage.note()
            return None
        try:
            answer = await call()
        except (RedisError, OSError) as exc:
            self._away_until = time.monotonic() + self._away_for_s
            self._outage.note(f"{type(exc).__name__}: {exc}")
            return None
        self._away_until = None
        return answer

    def _new_member(self) -> str:
        """Unique across processes: a random prefix per limiter, a counter within it."""
        return f"{self._member_prefix}:{next(self._events)}"


def _set_key(name: str, key: str) -> str:
    return f"{PREFIX}{name}:{key}"


def _held_key(ref: object) -> str:
    return f"{HELD_PREFIX}{ref}"
