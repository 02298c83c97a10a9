"""The application factory: routes, middlewares, socket.io and start-up/clean-up in one place."""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from moderation import retention
from moderation.chat import upkeep
from moderation.chat.context import ChatChange, ChatContext
from moderation.context import Change, ModerationContext
from moderation.directory import (
    DIRECTORY_CHANGED,
    DirectoryChanged,
    DirectoryContext,
    fill_standard_store,
)
from moderation.filters.watched_words import WatchedWord
from moderation.screening import Watch
from moderation.staff_admin import StaffChange
from moderation.watched_word_admin import WatchlistChanged, WatchlistContext
from service import background, demo, keys, log_privacy
from service.auth import SessionEnded
from service.changes import ChangeBus, change_bus
from service.client_address import AddressKeys
from service.clock import Clock, system_clock
from service.crisis import CrisisContacts
from service.http import (
    accessibility,
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
    health,
    middleware,
    privacy,
    rate_limit,
    staff,
    staff_account,
    staff_personal_data,
    staff_sign_in,
)
from service.http.page_cache import PageCache
from service.http.render import create_environment
from service.http.staff_session import staff_identity
from service.leadership import Leadership
from service.metrics import attach_metrics, request_timing
from service.rate_limits import rate_limiter
from service.realtime.chat_hub import ChatHub
from service.realtime.redis_manager import RedisManager, socket_manager
from service.realtime.server import SocketServer
from service.realtime.staff_console import StaffConsole
from service.realtime.visitor_chat import VisitorChat
from service.settings import Settings
from service.storage import presence, watched_words
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
                request_timing,
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
    # Changes a transaction announces reach every process after the commit (service/changes.py).
    bus = change_bus(settings.redis_url)
    db.on_commit = bus.publish
    app[keys.BUS] = bus
    # This process among several, in the presence tables: a restart is a new process.
    process = uuid.uuid4().hex[:16]
    cache = PageCache()
    search_cache = PageCache(max_entries=256)
    app[keys.SETTINGS] = settings
    app[keys.METRICS] = attach_metrics(app)
    app[keys.CLOCK] = clock
    app[keys.DB] = db
    app[keys.TEMPLATES] = create_environment()
    app[keys.CRISIS] = CrisisContacts.from_settings(settings)
    app[keys.TEMPLATES].globals["crisis_contacts"] = app[keys.CRISIS]
    app[keys.TEMPLATES].globals["quick_exit_url"] = settings.quick_exit_url
    app[keys.PAGE_CACHE] = cache
    app[keys.SEARCH_CACHE] = search_cache

    limiter = rate_limiter(settings)
    app.cleanup_ctx.append(limiter.running)
    addresses = AddressKeys(settings.secret, trust_forwarded=settings.trust_forwarded)
    app[keys.RATE_LIMITER] = limiter
    app[keys.ADDRESS_KEYS] = addresses

    sio = SocketServer(
        send_queue_limit=settings.socket_queue_limit,
        async_mode="aiohttp",
        logger=False,
        engineio_logger=False,
        max_http_buffer_size=MAX_SOCKET_MESSAGE,
        client_manager=socket_manager(settings.redis_url),
    )
    app[keys.SIO] = sio

    watch = Watch()
    ctx = ModerationContext(
        watch=watch,
        db=db,
        clock=clock,
        claim_idle=timedelta(minutes=settings.claim_idle_minutes),
    )
    app[keys.MODERATION] = ctx
    app[keys.DIRECTORY] = DirectoryContext(db, clock)
    app[keys.WATCHLIST] = WatchlistContext(db, clock)
    hub = ChatHub(sio, crossing=settings.redis_url is not None)
    chat_ctx = ChatContext(
        watch=watch,
        db=db,
        clock=clock,
        messages=MessageLog(db),
        idle=timedelta(minutes=settings.chat_idle_minutes),
        queue_grace=timedelta(seconds=settings.chat_queue_grace_seconds),
        process=process,
        # Three missed beats: 45 s with the default tick.
        process_dead_after=timedelta(seconds=3 * settings.chat_tick_seconds),
    )
    console = StaffConsole(ctx, chat_ctx, hub)
    hub.attach(chat_ctx, console)
    app[keys.STAFF_CONSOLE] = console
    app[keys.CHAT] = chat_ctx
    app[keys.CHAT_HUB] = hub
    _listen_for_changes(app, bus)
    sio.register_namespace(console)
    sio.register_namespace(
        VisitorChat(chat_ctx, hub, limiter=limiter, addresses=addresses, crisis=app[keys.CRISIS])
    )
    sio.attach(app)

    for module in (
        health,
        board,
        ask,
        followup,
        chat,
        directory,
        privacy,
        accessibility,
        staff_sign_in,
        staff_account,
        staff,
        staff_personal_data,
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
    app.cleanup_ctx.append(_change_bus)
    if settings.redis_url is not None:
        app.cleanup_ctx.append(_shared_address_salt)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_chat_tasks)
    app.cleanup_ctx.append(_leader_work)
    app.on_startup.append(_freeze_heap)
    app.on_shutdown.append(_close_sockets)
    return app


async def _freeze_heap(_app: web.Application) -> None:
    """Leave what start-up built (modules, templates, the app) out of the garbage collector's
    full passes: scanning it stopped every chat message for 100 ms or more at a time during a
    directory import (bench/directory.py). CPython's documented gc.freeze() use."""
    gc.freeze()


async def _close_sockets(app: web.Application) -> None:
    """Close live sockets first: aiohttp would otherwise wait up to a minute for them to end.
    Clients reconnect and resume where they were once the service is back."""
    sio = app[keys.SIO]
    await sio.shutdown()
    for sid, sock in list(sio.eio.sockets.items()):
        # A browser ignores engine.io's close packet and would go on writing to a process that
        # is stopping (until its ping times out, 45 s): the connection itself is dropped, so it
        # reconnects at once, through the proxy to another process. Looked up before close(),
        # which forgets the socket's request.
        sio.eio.abort_connection(sid)
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
        await fill_standard_store(app[keys.DIRECTORY])
        if settings.demo:
            await demo.load_directory(app[keys.DIRECTORY])
            demo.print_logins(settings.data_dir)
        await app[keys.DIRECTORY].refresh()
        await _reload_watched_words(app)
        await _listen_to_other_processes(app)
        yield
    finally:
        await app[keys.BUS].stop_listening()
        if isinstance(app[keys.SIO].manager, RedisManager):
            await app[keys.SIO].manager.close()
        await db.close()


def _listen_for_changes(app: web.Application, bus: ChangeBus) -> None:
    """What each announced change means for this process: caches, words, sockets."""
    hub = app[keys.CHAT_HUB]
    console = app[keys.STAFF_CONSOLE]

    def forget_pages() -> None:
        app[keys.PAGE_CACHE].invalidate()
        app[keys.SEARCH_CACHE].invalidate()

    async def board_changed(change: Change) -> None:
        if change.board:
            forget_pages()
        await console.push_questions()

    async def directory_changed(_change: DirectoryChanged) -> None:
        # Answers on cached pages carry referral cards drawn from the directory.
        await app[keys.DIRECTORY].refresh()
        forget_pages()

    async def watchlist_changed(_change: WatchlistChanged) -> None:
        await _reload_watched_words(app)

    async def staff_changed(change: StaffChange) -> None:
        await console.close_staff(change.staff_id)
        if change.signed_out:
            # Every process runs it; it is idempotent (only the first finds anything to do).
            await upkeep.signed_out(app[keys.CHAT], change.staff_id)

    async def session_ended(change: SessionEnded) -> None:
        await console.end_session(change.token_hash)
        # Signing out on one's last device: the last process to close a socket sees none left.
        staff_id = change.staff_id
        if staff_id is not None and not await presence.connected_anywhere(app[keys.DB], staff_id):
            await upkeep.signed_out(app[keys.CHAT], staff_id)

    async def everything_changed() -> None:
        forget_pages()
        await app[keys.DIRECTORY].refresh()
        await _reload_watched_words(app)
        await hub.resync()

    bus.on(Change, board_changed)
    bus.on(ChatChange, hub.changed)
    bus.on(DirectoryChanged, directory_changed)
    bus.on(WatchlistChanged, watchlist_changed)
    bus.on(StaffChange, staff_changed)
    bus.on(SessionEnded, session_ended)
    bus.on_resync(everything_changed)


async def _reload_watched_words(app: web.Application) -> None:
    """Asking and chat read the words from memory: load them again after every change."""
    app[keys.MODERATION].watch.replace(
        WatchedWord(w.id, w.phrase, w.lang, w.action)
        for w in await watched_words.list_active(app[keys.DB])
    )


async def _change_bus(app: web.Application) -> AsyncIterator[None]:
    """Several processes: Redis answers before anything else starts, or the start fails."""
    bus = app[keys.BUS]
    await bus.start()
    try:
        yield
    finally:
        await bus.stop()


async def _shared_address_salt(app: web.Application) -> AsyncIterator[None]:
    """Every process hashes client addresses with the same daily salt: one limit for all."""
    from service.shared_salt import SharedSalts

    settings = app[keys.SETTINGS]
    assert settings.redis_url is not None
    salts = SharedSalts(settings.redis_url, app[keys.ADDRESS_KEYS], app[keys.CLOCK])
    await salts.load()
    try:
        async with background.running(salts.keep_loaded(), "address-salt"):
            yield
    finally:
        await salts.close()


async def _listen_to_other_processes(app: web.Application) -> None:
    """Once this process's state is loaded: the other processes' changes and socket events."""
    await app[keys.BUS].listen()
    sio = app[keys.SIO]
    if isinstance(sio.manager, RedisManager):
        sio.manager.resubscribed = app[keys.CHAT_HUB].pages_resume
        if not sio.manager_initialized:
            # Listening from the start, not from this process's first socket.
            sio.manager_initialized = True
            sio.manager.initialize()


async def _chat_tasks(app: web.Application) -> AsyncIterator[None]:
    """The message writer and this process's heartbeat run while the app runs."""
    chat = app[keys.CHAT]
    hub = app[keys.CHAT_HUB]
    await upkeep.after_restart(chat)
    await hub.current_status()
    chat.messages.start()
    try:
        # The database away: the next beat tries again.
        beating = background.every(
            app[keys.SETTINGS].chat_tick_seconds,
            lambda: upkeep.beat(chat),
            "this process's heartbeat failed",
            level=logging.WARNING,
        )
        async with background.running(beating, "heartbeat"):
            yield
    finally:
        await chat.messages.stop()
        await upkeep.leaving(chat)


async def _leader_work(app: web.Application) -> AsyncIterator[None]:
    """What must run once across all processes runs in the leader (service/leadership.py)."""
    settings = app[keys.SETTINGS]
    db = app[keys.DB]
    clock = app[keys.CLOCK]
    duties = [
        (
            "chat-ticker",
            lambda: background.every(
                settings.chat_tick_seconds,
                lambda: upkeep.tick(app[keys.CHAT_HUB].ctx),
                "chat housekeeping failed",
            ),
        ),
        ("directory-watch", lambda: _watch_directory(app)),
        *retention.duties(db, clock, settings),
    ]
    # Followers try for the lead this often: a dead leader is replaced within a minute.
    leadership = Leadership(db.leader_lock(), duties, every_s=min(10.0, settings.chat_tick_seconds))
    app[keys.LEADERSHIP] = leadership
    async with background.running(leadership.run(), "leadership"):
        yield


async def _watch_directory(app: web.Application) -> None:
    """Notice imports made from the command line while the service runs, and tell every
    process."""
    directory = app[keys.DIRECTORY]
    interval = app[keys.SETTINGS].chat_tick_seconds
    seen: int | None = None
    while True:
        background.record_run()
        try:
            now = await directory.version()
            if seen is not None and now != seen:
                await app[keys.BUS].publish([DIRECTORY_CHANGED])
            seen = now
        except Exception:
            background.record_failure()
            log.exception("watching the directory failed; trying again")
        await asyncio.sleep(interval)
