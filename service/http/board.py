"""The public board: published questions, category pages, Finnish-aware search, one question."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from service import i18n, keys
from service.clock import LOCAL_ZONE
from service.http import referral_cards
from service.http.page_cache import PageCache
from service.http.params import page_number, path_id
from service.http.render import html, render_bytes
from service.storage import categories, questions
from service.storage.questions import PER_PAGE
from service.storage.search import SearchQuery

MAX_QUERY = 200


async def _cached_page(
    request: web.Request,
    key: tuple[object, ...],
    build: Callable[[], Awaitable[bytes]],
    cache: PageCache | None = None,
) -> web.Response:
    """Serve from the page cache, or render once and keep it if the board did not change."""
    cache = cache or keys.page_cache(request)
    # Every page shows whether the chat is open and when it opens ("today 13.00" turns into a
    # weekday overnight), so that is part of what the page is; the words are formed only when
    # the page is rendered, never on a cache hit.
    is_open, next_open = request.app[keys.CHAT_HUB].status()
    today = request.app[keys.CLOCK]().astimezone(LOCAL_ZONE).date()
    status = (is_open, next_open, today)
    # Referral cards on answers say whether a service is open now.
    turns = referral_cards.page_key(request)
    return html(await cache.get_or_render((*key, i18n.current_language(), status, turns), build))


async def index(request: web.Request) -> web.Response:
    """The board's pages; everything but search is served from the page cache."""
    page = page_number(request)
    slug = request.query.get("category") or None
    text = request.query.get("q", "").strip()[:MAX_QUERY]
    db = keys.db(request)

    async def build() -> bytes:
        all_categories = await categories.list_active(db)
        category = next((c for c in all_categories if c.slug == slug), None)
        if slug and category is None:
            raise web.HTTPNotFound(text=i18n.gettext("No such category."))
        category_id = category.id if category else None
        if text:
            items, total = await questions.search_published(
                db, SearchQuery(text), category_id=category_id, page=page
            )
        else:
            items, total = await questions.list_published(db, category_id=category_id, page=page)
        return render_bytes(
            request,
            "board/index.html",
            {
                "questions": items,
                "total": total,
                "page": page,
                "pages": max(1, -(-total // PER_PAGE)),
                "categories": all_categories,
                "category": category,
                "search": text,
            },
        )

    if text:
        # Searches get their own, smaller cache, so many different queries cannot push the
        # board's pages out. The whole text is the key: the page shows it back, so searches
        # that share their terms must never see each other's words.
        return await _cached_page(
            request, ("search", text, slug, page), build, request.app[keys.SEARCH_CACHE]
        )
    return await _cached_page(request, ("board", slug, page), build)


async def question(request: web.Request) -> web.Response:
    question_id = path_id(request)
    db = keys.db(request)

    async def build() -> bytes:
        found = await questions.get_published(db, question_id)
        if found is None:
            raise web.HTTPNotFound(text=i18n.gettext("This question is not on the board."))
        cards = await referral_cards.for_questions(request, [found])
        return render_bytes(request, "board/question.html", {"question": found, "cards": cards})

    return await _cached_page(request, ("question", question_id), build)


def routes() -> list[web.RouteDef]:
    return [web.get("/", index, name="board"), web.get("/q/{id}", question, name="question")]
