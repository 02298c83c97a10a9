"""Baseline servers for the board benchmark: a bare text handler and bare jinja2 + sqlite3."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

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


def main() -> None:
    """Serve one baseline on 127.0.0.1 until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("text", "jinja"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    if args.kind == "jinja" and args.db is None:
        parser.error("jinja needs --db")
    app = text_app() if args.kind == "text" else jinja_app(args.db)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
