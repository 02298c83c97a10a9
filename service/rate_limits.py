"""Sliding-window limits per action and per key (a visitor token hash or a hashed address).

`RateLimiter` is what the handlers use (every call awaited); `MemoryRateLimiter` counts in this
process, `RedisRateLimiter` (rate_limits_redis.py) in Redis for several processes, and
`rate_limiter(settings)` picks one. Both answer alike: the same refusals, waits and messages."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from math import ceil

from service import i18n
from service.settings import Limit, Settings

MAX_KEYS = 50_000  # per window; the oldest key is forgotten first when a flood fills it
PRUNE_EVERY_S = 60.0

Keys = Mapping[str, str]  # kind ("visitor", "address") → key


class SlidingWindow:
    """At most `limit` events per `window_s` seconds per key; times are seconds."""

    def __init__(self, limit: int, window_s: float, *, max_keys: int = MAX_KEYS) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._seen: dict[object, deque[float]] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def wait(self, key: object, now: float) -> int:
        """0 when one more event is allowed now, else the whole seconds until it is."""
        times = self._seen.get(key)
        if times is None:
            return 0
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) >= self.limit:
            return max(1, ceil(times[0] + self.window_s - now))
        return 0

    def count(self, key: object, now: float) -> None:
        """Record one event; a key never holds more than `limit` times, so memory stays bounded."""
        times = self._seen.pop(key, None)
        if times is None:
            if len(self._seen) >= self.max_keys:
                self.prune(now)
            while len(self._seen) >= self.max_keys:
                del self._seen[next(iter(self._seen))]
            times = deque(maxlen=self.limit)
        times.append(now)
        self._seen[key] = times  # re-inserted: the dict's order is least recently used first

    def release(self, key: object, at: float) -> None:
        """Take back an event counted at `at` (the action failed), if it is still held."""
        times = self._seen.get(key)
        if times is None:
            return
        for i in range(len(times) - 1, -1, -1):
            if times[i] == at:
                del times[i]
                return

    def retry_after(self, key: object, now: float) -> int:
        """0 and the event is counted, or the whole seconds to wait before the next one."""
        wait = self.wait(key, now)
        if not wait:
            self.count(key, now)
        return wait

    def prune(self, now: float) -> None:
        """Drop keys with nothing left in their window, so the table does not grow forever."""
        cutoff = now - self.window_s
        for key in [k for k, times in self._seen.items() if not times or times[-1] <= cutoff]:
            del self._seen[key]


@dataclass(frozen=True, slots=True)
class Refusal:
    """The limit that refused (`ask.address`), what it allows, and the seconds to wait."""

    name: str
    limit: Limit
    retry_after: int

    def message(self) -> str:
        """A sentence for the person refused, naming the limit and the wait."""
        minutes = max(1, ceil(self.limit.seconds / 60))
        values = {
            "count": self.limit.count,
            "period": i18n.ngettext("%(num)d minute", "%(num)d minutes", minutes)
            % {"num": minutes},
            "wait": i18n.format_duration(self.retry_after),
        }
        action = self.name.partition(".")[0]
        if action == "ask":
            text = i18n.gettext(
                "Too many questions from this connection: at most %(count)d in %(period)s. "
                "Try again in %(wait)s."
            )
        elif action == "sign_in":
            text = i18n.gettext(
                "Too many sign-in attempts from this connection: at most %(count)d in "
                "%(period)s. Try again in %(wait)s."
            )
        elif action == "search":
            text = i18n.gettext(
                "Too many searches from this connection: at most %(count)d in %(period)s. "
                "Try again in %(wait)s."
            )
        elif action == "chat_start":
            text = i18n.gettext(
                "Too many chats started: at most %(count)d in %(period)s. Try again in %(wait)s."
            )
        else:
            text = i18n.gettext("You are sending messages very fast. Wait a moment.")
        return text % values


class RateLimiter(ABC):
    """One sliding window per limit name (`"{action}.{kind}"`); disabled, it refuses nothing.

    It also carries the cap on chats waiting at once per address (`waiting_cap`), which the
    chat start checks in its transaction, and remembers what each chat's start counted
    (`hold`) so the start can be given back when the visitor leaves before anyone took the
    chat, whichever process the visitor is on by then."""

    def __init__(
        self, limits: Mapping[str, Limit], *, enabled: bool = True, max_waiting: int = 0
    ) -> None:
        self.enabled = enabled
        self.limits = dict(limits)
        self.max_waiting = max_waiting

    @property
    def waiting_cap(self) -> int | None:
        """How many chats one address may have waiting at once; None when limits are off."""
        return self.max_waiting if self.enabled and self.max_waiting > 0 else None

    @abstractmethod
    async def check(self, action: str, keys: Keys, now: datetime) -> Refusal | None:
        """The longest-waiting refusal among the action's limits, without counting anything."""

    @abstractmethod
    async def take(self, action: str, keys: Keys, now: datetime) -> Refusal | None:
        """Refuse, or count the event in all the action's limits: none counts when one refuses."""

    @abstractmethod
    async def count(self, action: str, keys: Keys, now: datetime) -> None:
        """Count one event in every limit of the action, refused or not."""

    @abstractmethod
    async def release(self, action: str, keys: Keys, now: datetime) -> None:
        """Take back an event `take()` counted at `now`: the request failed, so it is free."""

    @abstractmethod
    async def hold(self, ref: object, action: str, keys: Keys, now: datetime) -> None:
        """Remember that `ref`'s event was counted at `now` under `keys` (a resend of the same
        ref keeps the first), so that `give_back` can release it later."""

    @abstractmethod
    async def give_back(self, ref: object) -> None:
        """Release the event held for `ref` from every limit it counted in."""

    @abstractmethod
    async def forget(self, ref: object) -> None:
        """`ref`'s event stays counted; nothing to give back any more."""

    @abstractmethod
    async def tracked(self) -> int:
        """How many keys the windows hold, all limits together."""

    async def retry_after(self, action: str, keys: Keys, now: datetime) -> int:
        """0 and the event is counted, or the seconds to wait before the next one."""
        refusal = await self.take(action, keys, now)
        return 0 if refusal is None else refusal.retry_after

    @abstractmethod
    async def close(self) -> None:
        """Let go of any connection; the limiter is not used afterwards."""

    async def running(self, app: object) -> AsyncIterator[None]:
        """For the app's cleanup_ctx: closed when the app stops."""
        yield
        await self.close()

    def _applicable(self, action: str, keys: Keys) -> list[tuple[str, str]]:
        """(limit name, key) for each of the action's limits that `keys` has a key for."""
        return [
            (f"{action}.{kind}", key)
            for kind, key in keys.items()
            if f"{action}.{kind}" in self.limits
        ]


class MemoryRateLimiter(RateLimiter):
    """The limits of one process, in its memory; nothing in it waits, so each call is atomic."""

    def __init__(
        self,
        limits: Mapping[str, Limit],
        *,
        enabled: bool = True,
        max_keys: int = MAX_KEYS,
        prune_every_s: float = PRUNE_EVERY_S,
        max_waiting: int = 0,
    ) -> None:
        super().__init__(limits, enabled=enabled, max_waiting=max_waiting)
        self.max_keys = max_keys
        # ref (a chat id) → its action, keys, when it was counted and when that stops
        # mattering; in insertion (so time) order.
        self._held: dict[object, tuple[str, dict[str, str], float, float]] = {}
        self._windows = {
            name: SlidingWindow(limit.count, limit.seconds, max_keys=max_keys)
            for name, limit in self.limits.items()
        }
        self._prune_every_s = prune_every_s
        self._pruned_at: float | None = None

    async def check(self, action: str, keys: Keys, now: datetime) -> Refusal | None:
        return self._check(action, keys, now)

    async def take(self, action: str, keys: Keys, now: datetime) -> Refusal | None:
        refusal = self._check(action, keys, now)
        if refusal is None:
            self._count(action, keys, now)
        return refusal

    async def count(self, action: str, keys: Keys, now: datetime) -> None:
        self._count(action, keys, now)

    async def release(self, action: str, keys: Keys, now: datetime) -> None:
        if not self.enabled:
            return
        at = now.timestamp()
        for name, key in self._applicable(action, keys):
            self._windows[name].release(key, at)

    async def hold(self, ref: object, action: str, keys: Keys, now: datetime) -> None:
        if not self.enabled or ref in self._held:
            return
        at = now.timestamp()
        windows = [self.limits[name].seconds for name, _ in self._applicable(action, keys)]
        self._held[ref] = (action, dict(keys), at, at + max(windows, default=0))
        # Past all its windows an event has nothing left to give back; a flood of starts
        # cannot grow the table beyond `max_keys` either.
        while self._held:
            oldest = next(iter(self._held))
            if self._held[oldest][3] > at and len(self._held) <= self.max_keys:
                break
            del self._held[oldest]

    async def give_back(self, ref: object) -> None:
        held = self._held.pop(ref, None)
        if held is None:
            return
        action, keys, at, _ = held
        for name, key in self._applicable(action, keys):
            self._windows[name].release(key, at)

    async def forget(self, ref: object) -> None:
        self._held.pop(ref, None)

    async def tracked(self) -> int:
        return sum(len(window) for window in self._windows.values())

    async def close(self) -> None:
        """Nothing to let go of."""

    def _check(self, action: str, keys: Keys, now: datetime) -> Refusal | None:
        if not self.enabled:
            return None
        at = self._tick(now)
        worst: Refusal | None = None
        for name, key in self._applicable(action, keys):
            wait = self._windows[name].wait(key, at)
            if wait and (worst is None or wait > worst.retry_after):
                worst = Refusal(name, self.limits[name], wait)
        return worst

    def _count(self, action: str, keys: Keys, now: datetime) -> None:
        if not self.enabled:
            return
        at = self._tick(now)
        for name, key in self._applicable(action, keys):
            self._windows[name].count(key, at)

    def _tick(self, now: datetime) -> float:
        """Seconds since the epoch, pruning every window now and then."""
        at = now.timestamp()
        if self._pruned_at is None or abs(at - self._pruned_at) >= self._prune_every_s:
            for window in self._windows.values():
                window.prune(at)
            self._pruned_at = at
        return at


def rate_limiter(settings: Settings) -> RateLimiter:
    """Counted in Redis when several processes share it (`redis_url`), else in this process.

    Limits switched off need no Redis: the memory limiter refuses nothing either."""
    if settings.redis_url is None or not settings.rate_limits:
        return MemoryRateLimiter(
            settings.limits,
            enabled=settings.rate_limits,
            max_waiting=settings.max_waiting_per_address,
        )
    # Imported here: one process never imports redis.
    from service.rate_limits_redis import RedisRateLimiter

    return RedisRateLimiter(
        settings.redis_url, settings.limits, max_waiting=settings.max_waiting_per_address
    )
