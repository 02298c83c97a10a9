"""The application factory: routes, middlewares, socket.io and start-up/clean-up in one place."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from moderation import chat_upkeep, retention
from moderation.chat_context import ChatContext
from moderation.context import Change, ModerationContext
from moderation.directory import DirectoryContext
from moderation.filters.watched_words import WatchedWord
from moderation.screening import Watch
from moderation.watched_word_admin import WatchlistContext
from service import background, demo, keys, log_privacy
from service.client_address import AddressKeys
from service.clock import Clock, system_clock
from service.http import (
    api,
    api_coordinator,
    api_hsds,
    api_staff,
    ask,
    board,
    chat,
    coordinator_audit,
    coordinator_categories,
    coordinator_chat,
    coordinator_staff,
    coordinator_stats,
    coordinator_watched_words,
    directory,
    directory_admin,
    followup,
    middleware,
    privacy,
    rate_limit,
    staff,
)
from service.http.crisis import CrisisContacts
from service.http.page_cache import PageCache
from service.http.render import create_environment
from service.http.staff_session import staff_identity
from service.rate_limits import RateLimiter
from service.realtime.chat_hub import ChatHub, tick_forever
from service.realtime.server import SocketServer
from service.realtime.staff_console import StaffConsole
from service.realtime.visitor_chat import VisitorChat
from service.settings import Settings
from service.storage import watched_words
from service.storage.chat_messages import MessageLog
from service.storage.db import open_database
from web import STATIC_DIR

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024
MAX_SOCKET_MESSAGE = 64 * 1024  # a chat message is at most 2,000 characters


def create_app(settings: Settings, *, clock: Clock = system_clock) -> web.Application:
    # aiohttp's own error lines name the client's address; they are rewritten before any handler.
    log_privacy.install()
    app = web.Application(
        middlewares=[
            middleware.passing_sockets(m)
            for m in (
                middleware.language,
                middleware.security_headers,
                middleware.errors,
                middleware.api_guard,
                rate_limit.rate_limit,
                staff_identity,
            )
        ],
        client_max_size=MAX_BODY,
    )
    db = open_database(settings)
    cache = PageCache()
    search_cache = PageCache(max_entries=256)
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock
    app[keys.DB] = db
    app[keys.TEMPLATES] = create_environment()
    app[keys.CRISIS] = CrisisContacts.from_settings(settings)
    app[keys.TEMPLATES].globals["crisis_contacts"] = app[keys.CRISIS]
    app[keys.TEMPLATES].globals["quick_exit_url"] = settings.quick_exit_url
    app[keys.PAGE_CACHE] = cache
    app[keys.SEARCH_CACHE] = search_cache

    limiter = RateLimiter(
        settings.limits,
        enabled=settings.rate_limits,
        max_waiting=settings.max_waiting_per_address,
    )
    addresses = AddressKeys(settings.secret, trust_forwarded=settings.trust_forwarded)
    app[keys.RATE_LIMITER] = limiter
    app[keys.ADDRESS_KEYS] = addresses

    sio = SocketServer(
        send_queue_limit=settings.socket_queue_limit,
        async_mode="aiohttp",
        logger=False,
        engineio_logger=False,
        max_http_buffer_size=MAX_SOCKET_MESSAGE,
    )
    app[keys.SIO] = sio

    def forget_pages() -> None:
        cache.invalidate()
        search_cache.invalidate()

    async def after_commit(change: Change) -> None:
        if change.board:
            forget_pages()
        await app[keys.STAFF_CONSOLE].push_questions()

    async def after_directory_change() -> None:
        # Answers on cached pages carry referral cards drawn from the directory.
        forget_pages()

    watch = Watch()
    ctx = ModerationContext(
        watch=watch,
        db=db,
        clock=clock,
        after_commit=after_commit,
        claim_idle=timedelta(minutes=settings.claim_idle_minutes),
    )
    app[keys.MODERATION] = ctx
    app[keys.DIRECTORY] = DirectoryContext(db, clock, after_directory_change)

    async def after_watchlist_change() -> None:
        """Asking and chat read the words from memory: load them again after every change."""
        watch.replace(
            WatchedWord(w.id, w.phrase, w.lang, w.action)
            for w in await watched_words.list_active(db)
        )

    app[keys.WATCHLIST] = WatchlistContext(db, clock, after_watchlist_change)
    hub = ChatHub(sio)
    chat_ctx = ChatContext(
        watch=watch,
        db=db,
        clock=clock,
        messages=MessageLog(db),
        after_commit=hub.changed,
        idle=timedelta(minutes=settings.chat_idle_minutes),
    )
    console = StaffConsole(ctx, chat_ctx, hub)
    hub.attach(chat_ctx, console)
    app[keys.STAFF_CONSOLE] = console
    app[keys.CHAT] = chat_ctx
    app[keys.CHAT_HUB] = hub
    sio.register_namespace(console)
    sio.register_namespace(
        VisitorChat(chat_ctx, hub, limiter=limiter, addresses=addresses, crisis=app[keys.CRISIS])
    )
    sio.attach(app)

    for module in (
        board,
        ask,
        followup,
        chat,
        directory,
        privacy,
        staff,
        directory_admin,
        coordinator_stats,
        coordinator_staff,
        coordinator_categories,
        coordinator_watched_words,
        coordinator_chat,
        coordinator_audit,
        api,
        api_staff,
        api_coordinator,
        api_hsds,
    ):
        app.add_routes(module.routes())
    app.router.add_static("/static", STATIC_DIR, name="static")
    app.router.add_get("/robots.txt", _robots)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_chat_tasks)
    app.cleanup_ctx.append(_directory_watch)
    app.cleanup_ctx.append(_retention)
    app.on_shutdown.append(_close_sockets)
    return app


async def _close_sockets(app: web.Application) -> None:
    """Close live sockets first: aiohttp would otherwise wait up to a minute for them to end.
    Clients reconnect and resume where they were once the service is back."""
    sio = app[keys.SIO]
    await sio.shutdown()
    for sock in list(sio.eio.sockets.values()):
        await sock.close(wait=False)


async def _robots(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "robots.txt")


async def _database(app: web.Application) -> AsyncIterator[None]:
    """Open and migrate the database; a new demo database also gets the demo content."""
    db = app[keys.DB]
    settings = app[keys.SETTINGS]
    await db.open()
    try:
        if settings.demo and db.created:
            logins = await demo.load(db, app[keys.CLOCK])
            demo.save_logins(settings.data_dir, logins)
        if settings.demo:
            await demo.load_directory(app[keys.DIRECTORY])
            demo.print_logins(settings.data_dir)
        await app[keys.DIRECTORY].refresh()
        await app[keys.WATCHLIST].after_change()
        yield
    finally:
        await db.close()


async def _chat_tasks(app: web.Application) -> AsyncIterator[None]:
    """The message writer and the housekeeping ticker run while the app runs."""
    chat = app[keys.CHAT]
    hub = app[keys.CHAT_HUB]
    await chat_upkeep.after_restart(chat)
    await hub.current_status()
    chat.messages.start()
    try:
        ticking = tick_forever(hub, app[keys.SETTINGS].chat_tick_seconds)
        async with background.running(ticking, "chat-ticker"):
            yield
    finally:
        await chat.messages.stop()


async def _retention(app: web.Application) -> AsyncIterator[None]:
    """The retention sweep deletes expired text while the app runs (moderation/retention.py)."""
    async with retention.running(app[keys.DB], app[keys.CLOCK], app[keys.SETTINGS]):
        yield


async def _directory_watch(app: web.Application) -> AsyncIterator[None]:
    """Notice imports made from the command line while the service runs."""
    directory = app[keys.DIRECTORY]
    interval = app[keys.SETTINGS].chat_tick_seconds

    async def watch() -> None:
        seen = await directory.version()
        while True:
            await asyncio.sleep(interval)
            now = await directory.version()
            if now != seen:
                seen = now
                await directory.refresh()
                await directory.after_change()

    async with background.running(watch(), "directory-watch"):
        yield
