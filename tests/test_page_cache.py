"""The page cache renders a page once for concurrent readers and forgets it on invalidation."""

from __future__ import annotations

import asyncio

import pytest

from service.http.page_cache import PageCache


async def test_concurrent_misses_share_one_render() -> None:
    cache = PageCache()
    calls = 0
    release = asyncio.Event()

    async def render() -> bytes:
        nonlocal calls
        calls += 1
        await release.wait()
        return b"page"

    readers = [asyncio.create_task(cache.get_or_render("k", render)) for _ in range(20)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*readers) == [b"page"] * 20
    assert calls == 1
    assert await cache.get_or_render("k", render) == b"page" and calls == 1


async def test_failed_render_is_not_kept() -> None:
    cache = PageCache()

    async def broken() -> bytes:
        raise LookupError("gone")

    with pytest.raises(LookupError):
        await cache.get_or_render("k", broken)
    assert cache.get("k") is None


async def test_page_rendered_across_an_invalidation_is_not_kept() -> None:
    cache = PageCache()

    async def render() -> bytes:
        cache.invalidate()  # the board changed while this page was being built
        return b"stale"

    assert await cache.get_or_render("k", render) == b"stale"
    assert cache.get("k") is None


def test_size_is_bounded_least_recently_used_first() -> None:
    cache = PageCache(max_entries=2)
    cache.put("a", b"1", cache.generation)
    cache.put("b", b"2", cache.generation)
    assert cache.get("a") == b"1"
    cache.put("c", b"3", cache.generation)
    assert cache.get("b") is None and cache.get("a") == b"1" and cache.get("c") == b"3"
