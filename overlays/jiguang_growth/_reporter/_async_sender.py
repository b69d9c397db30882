"""AsyncEventReporter: the same queue and spool, sent by tasks on the application's event loop."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
import time
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from .._client import AsyncGrowthClient
from .._delivery import BatchResult, send_batch_async
from .._exceptions import ConfigurationError
from .._first_call import AsyncFirstCallGate
from ._errors import ReporterClosedError
from ._outcomes import EventOutcome
from ._queue import DEFAULT_MAX_QUEUE_BYTES, Batch
from ._sender import (
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_CONCURRENCY,
    DEFAULT_FLUSH_INTERVAL,
    DEFAULT_MAX_QUEUE,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_SEGMENT_EVENTS,
    ReporterBase,
)

__all__ = ["AsyncEventReporter"]

POLL_INTERVAL = 0.005
"""Seconds between two looks at the queue while ``flush`` or ``close`` waits."""


class AsyncEventReporter(ReporterBase):
    """:class:`~jiguang_growth.EventReporter` for asyncio applications.

    ``track`` is the same plain, non-blocking call (from the loop's thread or
    any other); ``flush`` and ``close`` are awaited. The senders are tasks on
    the loop that first calls ``track``, ``flush`` or the constructor inside a
    running loop, so ``on_outcome`` runs on that loop's thread. A full queue
    drops the new event at once (waiting would stall the loop). Close it with
    ``await reporter.close()`` before the loop ends (e.g. in the ASGI
    lifespan's shutdown): at interpreter exit there is no loop to send on, so
    what is left stays in the spool, or is logged and counted as unsent. Once
    that loop has ended, ``track`` raises :class:`ReporterClosedError` before
    it stores anything, so a caller that retries never reports an event twice.
    """

    def __init__(
        self,
        client: AsyncGrowthClient,
        *,
        spool: str | os.PathLike[str] | None = None,
        app_key: str | None = None,
        max_queue: int = DEFAULT_MAX_QUEUE,
        max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_outcome: Callable[[EventOutcome], None] | None = None,
        fsync: bool = False,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
        scan_interval: float = DEFAULT_SCAN_INTERVAL,
        segment_events: int = DEFAULT_SEGMENT_EVENTS,
    ) -> None:
        if not isinstance(client, AsyncGrowthClient):
            raise ConfigurationError(
                f"AsyncEventReporter needs an AsyncGrowthClient, not {type(client).__name__} "
                "(use EventReporter with a GrowthClient)"
            )
        super().__init__(
            client,
            spool=spool,
            app_key=app_key,
            max_queue=max_queue,
            max_queue_bytes=max_queue_bytes,
            flush_interval=flush_interval,
            concurrency=concurrency,
            on_outcome=on_outcome,
            fsync=fsync,
            close_timeout=close_timeout,
            scan_interval=scan_interval,
            segment_events=segment_events,
        )
        self._forget_senders()
        self._done = False
        self._gate = AsyncFirstCallGate()
        """One call at a time until one is answered with something other than 401/403."""
        self._queue.wake = self._wake
        self._exit_hook = _exit_hook(weakref.ref(self))
        atexit.register(self._exit_hook)
        with contextlib.suppress(RuntimeError):  # no loop yet: the first track or flush in one starts them
            self._start(asyncio.get_running_loop())

    def _forget_senders(self) -> None:
        """No loop yet (in a forked child: the parent's loop and tasks do not run here)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._wake_event: asyncio.Event | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._done = self._queue.closing

    def _at_exit(self) -> None:
        self._exit_hook()

    def _check_loop(self) -> None:
        """Refuse, before anything is spooled, when the loop the senders ran on has ended."""
        dispatcher, loop = self._dispatcher, self._loop
        if self._done:
            raise ReporterClosedError("the reporter is closed; events can no longer be tracked")
        if dispatcher is not None and loop is not None and (loop.is_closed() or dispatcher.done()):
            raise ReporterClosedError(
                "the event loop this reporter sent on has ended, so nothing would send the event; "
                "create the reporter on the loop that runs the application and close it before the loop "
                "ends (e.g. in the ASGI lifespan)"
            )

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._wake_event = asyncio.Event()
        self._dispatcher = loop.create_task(self._dispatch(), name="jiguang-reporter")

    def _ensure_started(self) -> None:
        if self._dispatcher is None:
            self._start(asyncio.get_running_loop())

    def _wake(self) -> None:
        event, loop = self._wake_event, self._loop
        if event is None or loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: the event waits in the spool
                loop.call_soon_threadsafe(event.set)

    def track(self, event: Any) -> str | None:
        """Queue one event; its ``randomId``, or ``None`` when the queue is full (see ``EventReporter``)."""
        if not self._armed:
            self._arm()
        self._check_loop()
        if self._dispatcher is None:
            with contextlib.suppress(RuntimeError):
                self._start(asyncio.get_running_loop())
        return self._queue.track(event)

    async def flush(self, timeout: float | None = 10.0) -> bool:
        """Send everything tracked so far now; wait until it is settled. False if ``timeout`` came first."""
        if not self._armed:
            self._arm()
        self._ensure_started()
        queue = self._queue
        target = queue.mark_flush()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with queue.lock:
                if queue.refused is not None:
                    return False
                if queue.flushed(target):
                    return True
            if self._done or (deadline is not None and time.monotonic() >= deadline):
                return False
            await asyncio.sleep(POLL_INTERVAL)

    async def close(self, timeout: float | None = None) -> bool:
        """Flush for up to ``timeout`` seconds (default ``close_timeout``), then stop the senders.

        As :meth:`EventReporter.close`: what is left stays in the spool or is
        counted as unsent. Calls still in flight at the time limit are cancelled.
        """
        atexit.unregister(self._exit_hook)
        queue = self._queue
        if self._done:
            return queue.stats().delivered
        if not self._armed:  # a forked child that never used it: nothing of its own to flush
            self._done = True
            queue.begin_close()
            return queue.finish_close().delivered
        self._ensure_started()
        deadline = time.monotonic() + (self.close_timeout if timeout is None else timeout)
        queue.begin_close()
        while time.monotonic() < deadline:
            with queue.lock:
                if queue.idle:
                    break
            await asyncio.sleep(POLL_INTERVAL)
        self._stopping = True
        self._done = True
        self._wake()
        tasks = [*self._sends, *([self._dispatcher] if self._dispatcher is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return queue.finish_close().delivered

    async def _dispatch(self) -> None:
        queue = self._queue
        limit = asyncio.Semaphore(self.concurrency)
        wake = self._wake_event
        assert wake is not None
        loop = asyncio.get_running_loop()
        while not self._stopping:
            if queue.spool is not None and time.monotonic() >= self._next_scan:
                await asyncio.to_thread(self._scan_if_due)
            await limit.acquire()
            with queue.lock:
                now = time.monotonic()
                batch = queue.take(now)
                due = queue.due_in(now) if batch is None else 0.0
                if batch is None:
                    wake.clear()
            if batch is not None:
                task = loop.create_task(self._send(batch, limit))
                self._sends.add(task)
                task.add_done_callback(self._sends.discard)
                continue
            limit.release()
            if queue.spool is not None and not queue.closing:
                to_scan = max(0.0, self._next_scan - time.monotonic())
                due = to_scan if due is None else min(due, to_scan)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), due)

    async def _send(self, batch: Batch, limit: asyncio.Semaphore) -> None:
        """One call per batch (a 413 splits it in halves, down to single events); each event settles alone."""
        try:
            try:
                results = await self._report(batch.events) if batch.items else []
            except asyncio.CancelledError:  # closing: the events stay unsent (in the spool, if there is one)
                self._queue.settle_unsent(batch)
                raise
            except Exception as error:  # not a call's error (send_batch returns those): a bug
                results = [error] * len(batch.items)
            self._queue.settle(batch, results)
        finally:
            limit.release()

    async def _report(self, events: list[Any]) -> list[BatchResult]:
        """Send one batch; while no call was answered (a wrong secret?), one at a time."""
        async with self._gate.turn():
            results = await send_batch_async(self._job, self._client, events)
            for result in results:
                self._gate.note(result)
        return results

    async def __aenter__(self) -> Self:
        self._ensure_started()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        where = f"spool={str(self.spool)!r}" if self.spool is not None else "memory"
        return f"<AsyncEventReporter {where} {'closed' if self._done else 'open'}>"


def _exit_hook(ref: weakref.ref[AsyncEventReporter]) -> Callable[[], None]:
    def at_exit() -> None:
        reporter = ref()
        if reporter is not None and not reporter._done:
            reporter._done = True
            reporter._queue.begin_close()
            reporter._queue.finish_close()

    return at_exit
