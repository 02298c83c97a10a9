"""What monitoring reads from one running process: readiness checks and Prometheus figures.

Every app has its own `Metrics` and its own CollectorRegistry (never prometheus_client's global
one): several apps run in one test process, and each process of a deployment is scraped on
its own port. Labels name routes, methods, statuses, namespaces and job names, never a path as
requested (a follow-up page's path holds the asker's code) nor anything a person wrote."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from service import background, keys
from service.clock import from_iso
from service.storage import chats, database_down
from service.storage.db import Database

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 2.0
UNMATCHED = "unmatched"  # the route label of a path no route knows: never the path itself
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Cached pages answer in well under a millisecond, searches and staff pages in tens of them.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OK = "ok"
T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Metrics:
    """One app's registry, its request figures and background job counts, and the Redis
    client readiness pings with (created on first use, closed with the app)."""

    def __init__(self, redis_url: str | None = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = _Requests()
        self.jobs = _Jobs()
        self.live = _Live()
        for collector in (self.requests, self.jobs, self.live):
            self.registry.register(collector)
        self._redis_url = redis_url
        self._redis: Redis | None = None

    async def readiness(self, db: Database) -> dict[str, str]:
        """Each dependency's state in a word ("ok", "timeout", "unreachable", "error")."""
        probes: dict[str, Awaitable[object]] = {"database": db.fetch_value("SELECT 1")}
        if self._redis_url is not None:
            probes["redis"] = self._redis_client().ping()
        answers = await asyncio.gather(*(_attempt(probe) for probe in probes.values()))
        return {name: state for name, (_, state) in zip(probes, answers, strict=True)}

    async def render(self, app: web.Application) -> bytes:
        """The exposition text, with the figures read at scrape time brought up to date."""
        sio = app[keys.SIO]
        rooms = sio.manager.rooms
        # Every socket of a namespace is in its room None: the count is that room's size.
        self.live.sockets = {
            ns: len(rooms.get(ns, {}).get(None, ())) for ns in sio.namespace_handlers
        }
        self.live.messages_stored = app[keys.CHAT].messages.stored
        leadership = app.get(keys.LEADERSHIP)
        self.live.leader = None if leadership is None else leadership.leading
        counts, _ = await _attempt(chats.open_counts(app[keys.DB]))
        self.live.chats, self.live.oldest_waiting_s = None, None
        if counts is not None:
            self.live.chats, oldest = counts
            if oldest is not None:
                waited = app[keys.CLOCK]() - from_iso(oldest)
                self.live.oldest_waiting_s = max(0.0, waited.total_seconds())
        return generate_latest(self.registry)

    def _redis_client(self) -> Redis:
        if self._redis is None:
            # Imported here: a single process without Redis never loads redis-py.
            from redis.asyncio import Redis

            assert self._redis_url is not None
            self._redis = Redis.from_url(
                self._redis_url,
                socket_connect_timeout=CHECK_TIMEOUT_S,
                socket_timeout=CHECK_TIMEOUT_S,
            )
        return self._redis

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


async def _attempt(probe: Awaitable[T]) -> tuple[T | None, str]:
    """(The probe's result, "ok"), or (None, a word for why it failed): never the error's
    text, which may name hosts or carry credentials from a URL."""
    try:
        return await asyncio.wait_for(probe, CHECK_TIMEOUT_S), OK
    except TimeoutError:
        return None, "timeout"
    except Exception as exc:
        if database_down.is_database_down(exc) or isinstance(exc, OSError):
            return None, "unreachable"
        if type(exc).__module__.startswith("redis.") and _redis_unreachable(exc):
            return None, "unreachable"
        log.warning("a readiness probe failed with %s", type(exc).__name__)
        return None, "error"


def _redis_unreachable(exc: Exception) -> bool:
    from redis import exceptions  # loaded only where Redis is configured

    return isinstance(exc, (exceptions.ConnectionError, exceptions.TimeoutError))


class _Requests(Collector):
    """Requests by (route, method, status) and their latency by route, kept as plain numbers:
    prometheus_client's own Counter and Histogram take a lock per value and walk the buckets,
    over a microsecond a request, and this runs on every page (the event loop's one thread
    both counts and scrapes, so nothing needs a lock)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = {}
        # route -> a count per bucket (the last one above every bound), then the sum of times
        self.latency: dict[str, list[float]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        if method not in _METHODS:
            method = "other"  # a client may send any word as its method
        key = (route, method, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        times = self.latency.get(route)
        if times is None:
            times = self.latency[route] = [0] * (len(LATENCY_BUCKETS) + 1) + [0.0]
        times[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        times[-1] += seconds

    def describe(self) -> Iterable[Metric]:
        return ()

    def collect(self) -> Iterable[Metric]:
        requests = CounterMetricFamily(
            "koppi_http_requests",
            "HTTP requests answered, by route template, method and status.",
            labels=("route", "method", "status"),
        )
        for (route, method, status), count in sorted(self.counts.items()):
            requests.add_metric((route, method, str(status)), count)
        yield requests
        latency = HistogramMetricFamily(
            "koppi_http_request_duration_seconds",
            "Time from a request reaching the app to its answer, by route template.",
            labels=("route",),
        )
        bounds = [*map(floatToGoString, LATENCY_BUCKETS), "+Inf"]
        for route, times in sorted(self.latency.items()):
            cumulative = list(itertools.accumulate(times[:-1]))
            latency.add_metric((route,), list(zip(bounds, cumulative, strict=True)), times[-1])
        yield latency


class _Jobs(Collector):
    """Background jobs' rounds and failures (a background.Recorder)."""

    def __init__(self) -> None:
        self.runs: dict[str, int] = {}
        self.failures: dict[str, int] = {}

    def job_started(self, name: str) -> None:
        # Both series exist from the start, so an alert on their increase sees the first one.
        self.runs.setdefault(name, 0)
        self.failures.setdefault(name, 0)

    def job_ran(self, name: str) -> None:
        self.runs[name] = self.runs.get(name, 0) + 1

    def job_failed(self, name: str) -> None:
        self.failures[name] = self.failures.get(name, 0) + 1

    def describe(self) -> Iterable[Metric]:
        return ()

    def collect(self) -> Iterable[Metric]:
        for name, help_text, counts in (
            ("koppi_background_runs", "Rounds a background job began.", self.runs),
            (
                "koppi_background_failures",
                "Rounds of a background job that failed, and jobs that stopped on an error.",
                self.failures,
            ),
        ):
            family = CounterMetricFamily(name, help_text, labels=("job",))
            for job, count in sorted(counts.items()):
                family.add_metric((job,), count)
            yield family


class _Live(Collector):
    """Figures read when scraped: sockets, stored messages, chats by status."""

    def __init__(self) -> None:
        self.sockets: dict[str, int] = {}
        self.messages_stored = 0
        self.chats: dict[str, int] | None = None
        self.oldest_waiting_s: float | None = None
        self.leader: bool | None = None

    def describe(self) -> Iterable[Metric]:
        return ()  # nothing to check at registration; names cannot clash within the app

    def collect(self) -> Iterable[Metric]:
        sockets = GaugeMetricFamily(
            "koppi_sockets_connected",
            "Socket.IO connections on this process, by namespace.",
            labels=("namespace",),
        )
        for namespace, count in sorted(self.sockets.items()):
            sockets.add_metric((namespace,), count)
        yield sockets
        if self.leader is not None:
            yield GaugeMetricFamily(
                "koppi_leader",
                "1 while this process runs the background work that must run once.",
                value=int(self.leader),
            )
        yield CounterMetricFamily(
            "koppi_chat_messages_stored",
            "Chat messages stored through this process's message log (resends not counted).",
            value=self.messages_stored,
        )
        if self.chats is None:  # the database did not answer: no figure rather than a wrong one
            return
        chats = GaugeMetricFamily(
            "koppi_chats", "Chats waiting for a counsellor and chats going on.", labels=("status",)
        )
        for status, count in sorted(self.chats.items()):
            chats.add_metric((status,), count)
        yield chats
        if self.oldest_waiting_s is not None:
            yield GaugeMetricFamily(
                "koppi_chat_oldest_waiting_seconds",
                "How long the chat that has waited longest has waited.",
                value=self.oldest_waiting_s,
            )


@web.middleware
async def request_timing(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request by its route template (first middleware: it times all)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:  # redirects and bodiless answers travel as exceptions
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = UNMATCHED if resource is None else resource.canonical
        request.app[keys.METRICS].requests.observe(
            route, request.method, status, time.perf_counter() - started
        )


def attach_metrics(app: web.Application) -> Metrics:
    """The app's Metrics: its background jobs report to it, its Redis client closes with it."""
    metrics = Metrics(app[keys.SETTINGS].redis_url)

    async def bind(_app: web.Application) -> AsyncIterator[None]:
        # First of the app's start-up steps: every job started after it carries this binding.
        background.reporting_to(metrics.jobs)
        yield

    async def close(_app: web.Application) -> None:
        await metrics.close()

    app.cleanup_ctx.insert(0, bind)
    app.on_cleanup.append(close)
    return metrics
