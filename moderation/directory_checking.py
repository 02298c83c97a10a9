"""Checking an import's JSON records against the standard and Koppi's rules, as they stream.

A big file is checked in a worker process, a chunk at a time and a few chunks ahead of the
writes: checking is CPU work (about a millisecond a record, most of it the standard's schema),
and in the service's own process it would both double the import's time and keep the event
loop from the live chat's messages. A small file is checked here, a record at a time, with the
loop let through between records."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from moderation.directory_prepare import Prepared, RecordReport, prepare_json
from service import i18n

# Below this many records a worker's start (a fresh interpreter, about 0.2 s) costs more than
# it saves.
WORKER_FROM = 300
CHUNK = 50
# Chunks checked ahead of the writes: enough to keep the worker busy while a batch is written,
# few enough that memory holds only a few hundred checked records at a time.
AHEAD = 4

Checked = Prepared | RecordReport


def _check_chunk(language: str, start: int, items: list[Any]) -> list[Checked]:
    with i18n.speaking(language):
        checked = [prepare_json(start + n, item) for n, item in enumerate(items)]
    for item in checked:
        if isinstance(item, Prepared):  # their stored forms, worked out here, off the writer
            item.flat.encoded, item.flat.fingerprint  # noqa: B018
    return checked


async def _here(items: Iterable[tuple[int, Any]]) -> AsyncIterator[Checked]:
    for index, item in items:
        yield prepare_json(index, item)
        await asyncio.sleep(0)  # the chat's messages go through between records


async def _in_worker(items: Iterator[tuple[int, Any]]) -> AsyncIterator[Checked]:
    language = i18n.current_language()
    # A fresh interpreter, not a fork: the service's threads and sockets stay out of it.
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    waiting: deque[Future[list[Checked]]] = deque()
    try:
        while True:
            while len(waiting) < AHEAD:
                chunk = list(itertools.islice(items, CHUNK))
                if not chunk:
                    break
                values = [item for _index, item in chunk]
                waiting.append(pool.submit(_check_chunk, language, chunk[0][0], values))
            if not waiting:
                return
            for checked in await asyncio.wrap_future(waiting.popleft()):
                yield checked
    finally:
        # Not waiting here for the worker to exit (a fifth of a second): the executor's own
        # thread reaps it, and the chat's messages go on meanwhile.
        pool.shutdown(wait=False, cancel_futures=True)


async def checked_records(items: Iterable[Any]) -> AsyncIterator[Checked]:
    """Each record checked, in file order, with its index in the file."""
    numbered = enumerate(items)
    first = list(itertools.islice(numbered, WORKER_FROM))
    if len(first) < WORKER_FROM:
        async for checked in _here(first):
            yield checked
        return
    async for checked in _in_worker(itertools.chain(first, numbered)):
        yield checked
