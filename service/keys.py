"""Every object kept on the application, each behind a typed web.AppKey."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jinja2
import socketio
from aiohttp import web

from service.clock import Clock
from service.settings import Settings
from service.storage.db import Database
from service.storage.staff import StaffMember

if TYPE_CHECKING:
    from moderation.chat.context import ChatContext
    from moderation.context import ModerationContext
    from moderation.directory import DirectoryContext
    from moderation.watched_word_admin import WatchlistContext
    from service.changes import ChangeBus
    from service.client_address import AddressKeys
    from service.crisis import CrisisContacts
    from service.http.page_cache import PageCache
    from service.leadership import Leadership
    from service.metrics import Metrics
    from service.rate_limits import RateLimiter
    from service.realtime.chat_hub import ChatHub
    from service.realtime.staff_console import StaffConsole

SETTINGS = web.AppKey("settings", Settings)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
DB = web.AppKey("db", Database)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
SIO = web.AppKey("sio", socketio.AsyncServer)
PAGE_CACHE: web.AppKey[PageCache] = web.AppKey("page_cache")
SEARCH_CACHE: web.AppKey[PageCache] = web.AppKey("search_cache")
STAFF_CONSOLE: web.AppKey[StaffConsole] = web.AppKey("staff_console")
MODERATION: web.AppKey[ModerationContext] = web.AppKey("moderation")
CHAT: web.AppKey[ChatContext] = web.AppKey("chat")
CHAT_HUB: web.AppKey[ChatHub] = web.AppKey("chat_hub")
DIRECTORY: web.AppKey[DirectoryContext] = web.AppKey("directory")
WATCHLIST: web.AppKey[WatchlistContext] = web.AppKey("watchlist")
RATE_LIMITER: web.AppKey[RateLimiter] = web.AppKey("rate_limiter")
ADDRESS_KEYS: web.AppKey[AddressKeys] = web.AppKey("address_keys")
CRISIS: web.AppKey[CrisisContacts] = web.AppKey("crisis")
BUS: web.AppKey[ChangeBus] = web.AppKey("bus")
LEADERSHIP: web.AppKey[Leadership] = web.AppKey("leadership")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")

# Per-request values set by the staff-identity middleware.
STAFF: web.RequestKey[StaffMember | None] = web.RequestKey("staff")
CSRF_TOKEN: web.RequestKey[str] = web.RequestKey("csrf_token")


def db(request: web.Request) -> Database:
    return request.app[DB]


def moderation(request: web.Request) -> ModerationContext:
    return request.app[MODERATION]


def directory(request: web.Request) -> DirectoryContext:
    return request.app[DIRECTORY]


def page_cache(request: web.Request) -> PageCache:
    return request.app[PAGE_CACHE]
