"""A background task that lives exactly as long as a block: the app's cleanup_ctx entries.

Each job can report its rounds (`record_run`, `record_failure`) without holding the app: the
app binds its recorder while it starts (`reporting_to`), every task started then copies that
binding with its context, and `running` adds the job's name to its own task's copy. Several
apps in one process (the tests) thus never count into each other's figures."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Recorder(Protocol):
    """Where a job's rounds are counted: the app's metrics."""

    def job_started(self, name: str) -> None: ...

    def job_ran(self, name: str) -> None: ...

    def job_failed(self, name: str) -> None: ...


_recorder: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar(
    "background_recorder", default=None
)
_job: contextvars.ContextVar[str | None] = contextvars.ContextVar("background_job", default=None)


def reporting_to(recorder: Recorder) -> None:
    """Jobs started from here on in this context (an app's start-up) report to `recorder`."""
    _recorder.set(recorder)


def record_run() -> None:
    """One round of the current job began; outside a job (a test calling a loop) a no-op."""
    recorder, name = _recorder.get(), _job.get()
    if recorder is not None and name is not None:
        recorder.job_ran(name)


def record_failure() -> None:
    """One round of the current job failed (it was logged where it was caught)."""
    recorder, name = _recorder.get(), _job.get()
    if recorder is not None and name is not None:
        recorder.job_failed(name)


@contextlib.asynccontextmanager
async def running(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Start `work` as a task; at the end of the block cancel it and wait until it has stopped."""
    context = contextvars.copy_context()
    context.run(_job.set, name)
    recorder = _recorder.get()
    if recorder is not None:
        recorder.job_started(name)
    task = asyncio.create_task(work, name=name, context=context)

    def ended(task: asyncio.Task[None]) -> None:
        # A loop that let an error out has stopped for good: a failure, and said at once.
        if task.cancelled() or task.exception() is None:
            return
        log.error("background job %s stopped", name, exc_info=task.exception())
        if recorder is not None:
            recorder.job_failed(name)

    task.add_done_callback(ended)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def every(
    every_s: float,
    step: Callable[[], Awaitable[object]],
    failed: str,
    *,
    level: int = logging.ERROR,
) -> None:
    """Run `step` every `every_s` seconds for ever: each round is counted, and a failed one is
    counted, logged as `failed` and followed by the next (the database away, a bad row)."""
    while True:
        await asyncio.sleep(every_s)
        record_run()
        try:
            await step()
        except Exception:
            record_failure()
            log.log(level, failed, exc_info=True)
