"""The application factory: routes, middlewares, socket.io and start-up/clean-up in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import socketio
from aiohttp import web

from moderation.context import Change, ModerationContext
from service import demo, keys
from service.clock import Clock, system_clock
from service.http import api, api_staff, ask, board, followup, middleware, staff
from service.http.page_cache import PageCache
from service.http.render import create_environment
from service.http.staff_session import staff_identity
from service.realtime.staff_console import StaffConsole
from service.settings import Settings
from service.storage.db import Database
from web import STATIC_DIR

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024


def create_app(settings: Settings, *, clock: Clock = system_clock) -> web.Application:
    app = web.Application(
        middlewares=[
            middleware.language,
            middleware.security_headers,
            middleware.errors,
            middleware.api_guard,
            staff_identity,
        ],
        client_max_size=MAX_BODY,
    )
    db = Database(settings.db_path)
    cache = PageCache()
    search_cache = PageCache(max_entries=256)
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock
    app[keys.DB] = db
    app[keys.TEMPLATES] = create_environment()
    app[keys.PAGE_CACHE] = cache
    app[keys.SEARCH_CACHE] = search_cache

    sio = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)
    app[keys.SIO] = sio

    async def after_commit(change: Change) -> None:
        if change.board:
            cache.invalidate()
            search_cache.invalidate()
        await app[keys.STAFF_CONSOLE].push_questions()

    ctx = ModerationContext(
        db=db,
        clock=clock,
        after_commit=after_commit,
        claim_idle=timedelta(minutes=settings.claim_idle_minutes),
    )
    app[keys.MODERATION] = ctx
    console = StaffConsole(ctx)
    app[keys.STAFF_CONSOLE] = console
    sio.register_namespace(console)
    sio.attach(app)

    for module in (board, ask, followup, staff, api, api_staff):
        app.add_routes(module.routes())
    app.router.add_static("/static", STATIC_DIR, name="static")
    app.router.add_get("/robots.txt", _robots)
    app.cleanup_ctx.append(_database)
    return app


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
            demo.print_logins(settings.data_dir)
        yield
    finally:
        await db.close()
