"""`serve`: start the app, listen, stop on SIGINT or SIGTERM; a failed start is one clear line.

The database is opened and migrated, and the port bound, before "serving" is printed, so a
supervisor sees a process that exits non-zero at once instead of one that runs without a port."""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from service import keys, log_privacy
from service.changes import BusUnreachable
from service.connection_limits import (
    ConnectionGate,
    GatedSite,
    ResourceErrors,
    effective_total,
    raise_open_files_limit,
)
from service.http.private_log import AccessLogger
from service.settings import Settings
from service.storage.errors import StorageError, describe

log = logging.getLogger(__name__)


class StartFailed(Exception):
    """The service cannot start; the message names the cause in one line."""


def connection_gate(
    app: web.Application, settings: Settings, open_files: int = resource.RLIM_INFINITY
) -> ConnectionGate:
    """The caps of `settings`. Behind a proxy every peer is the proxy, so only the total counts
    there (the proxy limits each client); without rate limits (load tests) likewise."""
    addresses = app[keys.ADDRESS_KEYS]
    clock = app[keys.CLOCK]
    per_address = (
        settings.max_connections_per_address
        if settings.rate_limits and not settings.trust_forwarded
        else None
    )

    def key(host: str | None) -> str:
        return addresses.key(host, clock())

    return ConnectionGate(
        total=effective_total(settings.max_connections, open_files),
        per_address=per_address,
        key=key,
    )


@asynccontextmanager
async def started(
    app: web.Application,
    settings: Settings,
    *,
    port: int | None = None,
    open_files: int = resource.RLIM_INFINITY,
) -> AsyncIterator[GatedSite]:
    """The app started (database open and migrated) and listening, until the block ends."""
    # aiohttp's keep-alive timer also runs from a connection's start until its first request is
    # whole, and between requests: it is the time limit for sending a request's headers.
    runner = web.AppRunner(
        app,
        keepalive_timeout=settings.header_timeout_seconds,
        # Off by default (it costs a third of a cached page's time); when on, it leaves out the
        # client address and masks follow-up codes.
        access_log=logging.getLogger("aiohttp.access") if settings.access_log else None,
        access_log_class=AccessLogger,
    )
    try:
        try:
            await runner.setup()
        except (StorageError, BusUnreachable) as exc:
            raise StartFailed(str(exc)) from exc
        port = settings.port if port is None else port
        site = GatedSite(runner, settings.host, port, connection_gate(app, settings, open_files))
        try:
            await site.start()
        except OSError as exc:
            raise StartFailed(f"cannot listen on {settings.host}:{port}: {describe(exc)}") from exc
        yield site
    finally:
        await runner.cleanup()


async def _serve(app: web.Application, settings: Settings, open_files: int) -> None:
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(ResourceErrors())
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with started(app, settings, open_files=open_files) as site:
        where = app[keys.DB].label
        if settings.redis_url is not None:
            where += ", one of several processes sharing Redis"
        print(f"Koppi serving on {site.name}  (database {where})", flush=True)
        await stop.wait()


def run(app: web.Application, settings: Settings) -> int:
    """Serve until stopped: 0 after a signal, 1 with one line on stderr when the start fails."""
    log_privacy.install()
    open_files = raise_open_files_limit()
    try:
        asyncio.run(_serve(app, settings, open_files))
    except StartFailed as exc:
        print(f"koppi: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
