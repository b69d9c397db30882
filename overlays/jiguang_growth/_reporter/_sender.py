"""EventReporter: ``track`` queues, sender threads batch, pace, send and settle."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from .._checks import whole_number
from .._client import GrowthClient
from .._exceptions import ConfigurationError
from .._first_call import FirstCallGate
from .._retry import is_transient
from .._validation import validate_property
from ..bulk import BULK_MAX_RETRIES, DEFAULT_CONCURRENCY, Outcome
from ..bulk._engine import failure_of
from ._errors import ReporterClosedError
from ._outcomes import EventOutcome, ReporterStats
from ._queue import Batch, ReportQueue
from ._spool import Spool

__all__ = [
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_FLUSH_INTERVAL",
    "DEFAULT_MAX_QUEUE",
    "DEFAULT_SCAN_INTERVAL",
    "DEFAULT_SEGMENT_EVENTS",
    "EventReporter",
    "QueueFullPolicy",
    "ReporterBase",
]

logger = logging.getLogger("jiguang_growth.reporter")

DEFAULT_MAX_QUEUE = 10_000
"""Events held in memory at most (a second of the API's ceiling)."""
DEFAULT_FLUSH_INTERVAL = 0.5
"""Seconds an event waits for its batch to fill before a smaller batch is sent."""
DEFAULT_CLOSE_TIMEOUT = 10.0
DEFAULT_SCAN_INTERVAL = 30.0
"""Seconds between two looks for orphaned segments in the spool folder."""
DEFAULT_SEGMENT_EVENTS = 20_000
"""Events per segment file before the next one is started (a settled file is deleted)."""

QueueFullPolicy = Literal["block", "drop"]

_forked: weakref.WeakSet[ReporterBase] = weakref.WeakSet()


def _after_fork() -> None:
    for reporter in list(_forked):
        reporter._forked = True


os.register_at_fork(after_in_child=_after_fork)


class ReporterBase:
    """Settings, the queue and the spool shared by both reporters."""

    def __init__(
        self,
        *,
        spool: str | os.PathLike[str] | None,
        app_key: str | None,
        max_queue: int,
        flush_interval: float,
        concurrency: int,
        on_outcome: Callable[[EventOutcome], None] | None,
        fsync: bool,
        close_timeout: float,
        scan_interval: float,
        segment_events: int,
    ) -> None:
        whole_number("max_queue", max_queue, 1, ConfigurationError)
        whole_number("concurrency", concurrency, 1, ConfigurationError)
        whole_number("segment_events", segment_events, 1, ConfigurationError)
        for name, value in (
            ("flush_interval", flush_interval),
            ("close_timeout", close_timeout),
            ("scan_interval", scan_interval),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigurationError(f"{name} must be a number of seconds of at least 0, got {value!r}")
        if scan_interval == 0:  # the senders would do nothing but look at the folder
            raise ConfigurationError("scan_interval must be more than 0 seconds")
        if app_key is not None:
            validate_property("ReportEventsRequest", "appKey", app_key, argument="app_key")
        self.app_key = app_key
        self.concurrency = concurrency
        self.close_timeout = float(close_timeout)
        self.scan_interval = float(scan_interval)
        store = None if spool is None else Spool(spool, fsync=fsync, segment_events=segment_events)
        self._queue = ReportQueue(
            max_queue=max_queue, flush_interval=float(flush_interval), spool=store, on_outcome=on_outcome
        )
        self._next_scan = time.monotonic() + self.scan_interval
        self._forked = False
        _forked.add(self)
        if store is not None:
            self._queue.add_adopted(store.adopt_orphans())

    @property
    def spool(self) -> Path | None:
        """The spool folder, or ``None`` when events are kept in memory only."""
        return None if self._queue.spool is None else self._queue.spool.folder

    @property
    def stats(self) -> ReporterStats:
        """The counts so far (a snapshot)."""
        return self._queue.stats()

    @property
    def closed(self) -> bool:
        return self._queue.closing

    def _check_open(self) -> None:
        if self._forked:
            raise ReporterClosedError(
                "this reporter was created before fork(); create one in each worker process after it forks"
            )

    def _scan_if_due(self) -> None:
        """Adopt segments orphaned since the last look (called by a sender, outside the lock)."""
        spool = self._queue.spool
        if spool is None or self._queue.closing:
            return
        now = time.monotonic()
        if now < self._next_scan:
            return
        self._next_scan = now + self.scan_interval
        self._queue.rotate_if_kept()
        try:
            adopted = spool.adopt_orphans()
        except OSError as error:
            logger.error("could not look for orphaned segments in %s: %s", spool.folder, error)
            return
        self._queue.add_adopted(adopted)


class EventReporter(ReporterBase):
    """Reports events from a running application without waiting for the network.

    ``track`` checks an event against openapi.yaml, gives it a ``randomId``
    (and an ``itime``), writes it to the spool when there is one, queues it and
    returns. ``concurrency`` sender threads cut batches of the operation's
    ``maxItems``, send them through the process-wide pacer and settle every
    event as accepted, rejected or unknown. See docs/reporter.md.

    ``on_outcome`` runs on a sender thread (named ``jiguang-reporter-N``), for
    one event at a time and never for two at once; keep it short, since it
    holds up that thread's next call. An exception in it is logged.
    """

    def __init__(
        self,
        client: GrowthClient,
        *,
        spool: str | os.PathLike[str] | None = None,
        app_key: str | None = None,
        max_queue: int = DEFAULT_MAX_QUEUE,
        on_full: QueueFullPolicy = "block",
        block_timeout: float = 1.0,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_outcome: Callable[[EventOutcome], None] | None = None,
        fsync: bool = False,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
        scan_interval: float = DEFAULT_SCAN_INTERVAL,
        segment_events: int = DEFAULT_SEGMENT_EVENTS,
    ) -> None:
        """Start the sender threads; with ``spool``, first adopt what dead processes left there.

        When the queue holds ``max_queue`` events, ``track`` waits up to
        ``block_timeout`` seconds for room (``on_full="block"``) or not at all
        (``"drop"``), then drops the event: it returns ``None``, the drop is
        counted in ``stats.dropped`` and logged. ``close_timeout`` bounds the
        flush at :meth:`close` and at interpreter exit.
        """
        if not isinstance(client, GrowthClient):
            raise ConfigurationError(
                f"EventReporter needs a GrowthClient, not {type(client).__name__} "
                "(use AsyncEventReporter with an AsyncGrowthClient)"
            )
        if on_full not in ("block", "drop"):
            raise ConfigurationError(f"on_full must be 'block' or 'drop', got {on_full!r}")
        if isinstance(block_timeout, bool) or not isinstance(block_timeout, int | float) or block_timeout < 0:
            raise ConfigurationError(
                f"block_timeout must be a number of seconds of at least 0, got {block_timeout!r}"
            )
        super().__init__(
            spool=spool,
            app_key=app_key,
            max_queue=max_queue,
            flush_interval=flush_interval,
            concurrency=concurrency,
            on_outcome=on_outcome,
            fsync=fsync,
            close_timeout=close_timeout,
            scan_interval=scan_interval,
            segment_events=segment_events,
        )
        self._block = float(block_timeout) if on_full == "block" else 0.0
        self._client = client.with_options(pace=True, max_retries=max(client.max_retries, BULK_MAX_RETRIES))
        self._stop = False
        self._gate = FirstCallGate()
        """One call at a time until one is answered with something other than 401/403."""
        self._threads = [
            threading.Thread(target=self._sender, name=f"jiguang-reporter-{n}", daemon=True)
            for n in range(concurrency)
        ]
        for thread in self._threads:
            thread.start()
        self._exit_hook = _exit_hook(weakref.ref(self))
        atexit.register(self._exit_hook)

    def track(self, event: Any) -> str | None:
        """Queue one event; return its ``randomId`` at once, or ``None`` if it was dropped (queue full).

        Raises :class:`~jiguang_growth.RequestValidationError` for an event that
        breaks openapi.yaml (with the field and the rule) and
        :class:`~jiguang_growth.SpoolError` when the spool cannot store it;
        neither event is queued.
        """
        if self._forked:
            self._check_open()
        return self._queue.track(event, block=self._block)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Send everything tracked so far now; wait until it is settled. False if ``timeout`` came first."""
        queue = self._queue
        target = queue.mark_flush()
        deadline = None if timeout is None else time.monotonic() + timeout
        with queue.lock:
            while not queue.flushed(target):
                if queue.closing and self._stop:
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                queue.changed.wait(remaining if remaining is not None else 1.0)
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Flush for up to ``timeout`` seconds (default ``close_timeout``), then stop the senders.

        Events not settled by then stay in the spool for the next start (or
        ``jiguang-growth spool drain``); without a spool they are counted in
        ``stats.unsent`` and logged. True when nothing was left unsent.
        Idempotent; also runs at interpreter exit.
        """
        atexit.unregister(self._exit_hook)
        queue = self._queue
        if self._stop:
            return queue.stats().unsent == 0
        limit = self.close_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        queue.begin_close()
        with queue.lock:
            while not queue.idle:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                queue.changed.wait(remaining)
            self._stop = True
            queue.work.notify_all()
        unsent = queue.finish_close()
        for thread in self._threads:
            thread.join(max(0.0, min(0.5, deadline - time.monotonic())))
        return unsent == 0

    def _sender(self) -> None:
        queue = self._queue
        while True:
            self._scan_if_due()
            with queue.lock:
                batch = None
                while not self._stop:
                    now = time.monotonic()
                    batch = queue.take(now)
                    if batch is not None:
                        if queue.due_in(now) == 0.0:
                            queue.work.notify()  # more is due: hand it to another sender
                        break
                    due = queue.due_in(now)
                    if queue.spool is not None and not queue.closing:
                        to_scan = max(0.0, self._next_scan - now)
                        due = to_scan if due is None else min(due, to_scan)
                        if to_scan == 0.0:
                            break
                    queue.work.wait(due)
                if self._stop:
                    return
            if batch is not None:
                self._send(batch)

    def _send(self, batch: Batch) -> None:
        queue = self._queue
        events, invalid = queue.check(batch)
        if invalid:
            queue.settle_items(None, list(invalid))
        if not events:
            queue.settle_items(batch.token, [])
            return
        try:
            self._report(events)
        except Exception as error:
            outcome, failure = failure_of(error)
            queue.settle(batch, outcome, failure, keep=is_transient(error))
        else:
            queue.settle(batch, Outcome.ACCEPTED, None)

    def _report(self, events: list[Any]) -> None:
        """Send one batch; while no call was answered (a wrong secret?), one at a time."""
        with self._gate.turn():
            try:
                self._client.report_events(events, app_key=self.app_key)
            except Exception as error:
                self._gate.note(error)
                raise
            self._gate.note(None)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"spool={str(self.spool)!r}" if self.spool is not None else "memory"
        return f"<EventReporter {where} {'closed' if self.closed else 'open'}>"


def _exit_hook(ref: weakref.ref[EventReporter]) -> Callable[[], None]:
    def at_exit() -> None:
        reporter = ref()
        if reporter is not None:
            reporter.close()

    return at_exit
