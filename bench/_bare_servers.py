"""Baseline servers for the board benchmark: a bare text handler, and bare jinja2 pages that read
the newest rows with blocking sqlite3 or with an asyncpg pool."""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import jinja2
from aiohttp import web

LATEST_SQL = (
    "SELECT id, title, body, published_at FROM questions WHERE status = 'published'"
    " ORDER BY published_at DESC LIMIT 20"
)
PAGE = """<!doctype html>
<html lang="fi"><head><meta charset="utf-8"><title>Koppi baseline</title></head>
<body><main>
{% for q in questions %}
<article><h2><a href="/q/{{ q.id }}">{{ q.title or q.body|truncate(80) }}</a></h2>
<p><time datetime="{{ q.published_at }}">{{ q.published_at }}</time></p>
<p>{{ q.body|truncate(260) }}</p></article>
{% endfor %}
</main></body></html>
"""


def text_app() -> web.Application:
    """The cheapest possible aiohttp page."""

    async def hello(_request: web.Request) -> web.Response:
        return web.Response(text="Hei maailma")

    app = web.Application()
    app.router.add_get("/", hello)
    return app


def jinja_app(db_path: Path) -> web.Application:
    """Twenty newest rows read with blocking sqlite3 and rendered by a small jinja2 template."""
    conn = sqlite3.connect(db_path, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    template = jinja2.Environment(autoescape=True).from_string(PAGE)

    async def latest(_request: web.Request) -> web.Response:
        rows = conn.execute(LATEST_SQL).fetchall()
        body = template.render(questions=rows)
        return web.Response(text=body, content_type="text/html")

    async def close(_app: web.Application) -> None:
        conn.close()

    app = web.Application()
    app.router.add_get("/", latest)
    app.on_cleanup.append(close)
    return app


def jinja_pg_app(url: str) -> web.Application:
    """The same page from PostgreSQL: one query on a small asyncpg pool per request."""
    template = jinja2.Environment(autoescape=True).from_string(PAGE)
    pool_key = web.AppKey("pool", asyncpg.Pool)

    async def latest(request: web.Request) -> web.Response:
        rows = await request.app[pool_key].fetch(LATEST_SQL)
        body = template.render(questions=rows)
        return web.Response(text=body, content_type="text/html")

    async def pool(app: web.Application) -> AsyncIterator[None]:
        # Every connection opened before the load: none is made while wrk measures.
        async with asyncpg.create_pool(url, min_size=10, max_size=10) as opened:
            app[pool_key] = opened
            yield

    app = web.Application()
    app.router.add_get("/", latest)
    app.cleanup_ctx.append(pool)
    return app


def main() -> None:
    """Serve one baseline on 127.0.0.1 until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("text", "jinja", "jinja-pg"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", type=Path, help="the SQLite file (jinja)")
    parser.add_argument("--url", help="the postgresql:// URL (jinja-pg)")
    args = parser.parse_args()
    if args.kind == "jinja" and args.db is None:
        parser.error("jinja needs --db")
    if args.kind == "jinja-pg" and args.url is None:
        parser.error("jinja-pg needs --url")
    if args.kind == "text":
        app = text_app()
    elif args.kind == "jinja":
        app = jinja_app(args.db)
    else:
        app = jinja_pg_app(args.url)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
