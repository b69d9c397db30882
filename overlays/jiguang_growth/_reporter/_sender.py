"""EventReporter: ``track`` queues, sender threads batch, pace, send and settle."""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from .._checks import whole_number
from .._client import AsyncGrowthClient, GrowthClient
from .._delivery import BULK_MAX_RETRIES, BatchResult, CallSender, send_batch
from .._exceptions import ConfigurationError
from .._first_call import FirstCallGate
from .._validation import validate_property
from ._errors import ReporterClosedError
from ._outcomes import EventOutcome, ReporterStats
from ._queue import DEFAULT_MAX_QUEUE_BYTES, Batch, ReportQueue
from ._spool import Spool, SpoolOwner

__all__ = [
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_FLUSH_INTERVAL",
    "DEFAULT_MAX_QUEUE",
    "DEFAULT_MAX_QUEUE_BYTES",
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
DEFAULT_CONCURRENCY = 16
"""Calls in flight per reporter. Enough for the API's whole ceiling (100 calls a second) while answers
take up to 160 ms; a reporter lives in every worker process, so it keeps fewer threads than a bulk run."""

QueueFullPolicy = Literal["block", "drop"]

_reporters: weakref.WeakSet[ReporterBase] = weakref.WeakSet()


def _after_fork() -> None:
    for reporter in list(_reporters):
        reporter._forget_parent()


os.register_at_fork(after_in_child=_after_fork)


class ReporterBase:
    """Settings, the queue and the spool shared by both reporters."""

    def __init__(
        self,
        client: GrowthClient | AsyncGrowthClient,
        *,
        spool: str | os.PathLike[str] | None,
        app_key: str | None,
        max_queue: int,
        max_queue_bytes: int,
        flush_interval: float,
        concurrency: int,
        on_outcome: Callable[[EventOutcome], None] | None,
        fsync: bool,
        close_timeout: float,
        scan_interval: float,
        segment_events: int,
    ) -> None:
        whole_number("max_queue", max_queue, 1, ConfigurationError)
        whole_number("max_queue_bytes", max_queue_bytes, 1, ConfigurationError)
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
        self._given_client = client
        self._client = self._paced(client)
        owner = SpoolOwner(client.project_id, client.base_url)  # a segment's events go to its project only
        store = (
            None if spool is None else Spool(spool, owner=owner, fsync=fsync, segment_events=segment_events)
        )
        self._queue = ReportQueue(
            max_queue=max_queue,
            max_queue_bytes=max_queue_bytes,
            flush_interval=float(flush_interval),
            spool=store,
            on_outcome=on_outcome,
        )
        self._job = CallSender(lambda growth, events: growth.report_events(events, app_key=self.app_key))
        self._next_scan = time.monotonic() + self.scan_interval
        self._armed = True
        """False in a forked child until the reporter is first used there (then it re-arms)."""
        self._arm_lock = threading.Lock()
        _reporters.add(self)
        if store is not None:
            self._queue.add_adopted(store.adopt_orphans())

    @staticmethod
    def _paced(client: Any) -> Any:
        return client.with_options(pace=True, max_retries=max(client.max_retries, BULK_MAX_RETRIES))

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

    # --- fork ------------------------------------------------------------------------------

    def _forget_parent(self) -> None:
        """Runs in a forked child, right after ``fork``: drop what belongs to the parent, touch nothing.

        Locks are new (a parent thread may have held one at the fork), the
        parent's queue, segments and random IDs are forgotten, and the reporter
        re-arms itself (a connection pool, a segment and senders of its own) when
        it is first used in the child.
        """
        self._queue.after_fork()
        self._arm_lock = threading.Lock()
        self._armed = self._queue.closing  # a reporter closed before the fork stays closed
        self._forget_senders()

    def _forget_senders(self) -> None:
        """Drop the parent's senders (threads or tasks); subclasses override."""

    def _arm(self) -> None:
        """In a forked child, on first use: a connection pool, a spool segment and senders of its own."""
        with self._arm_lock:
            if self._armed:
                return
            try:
                client = self._given_client.renewed_after_fork()
            except ConfigurationError as error:
                raise ReporterClosedError(
                    f"this reporter was created before fork() and cannot re-arm itself in the child: {error}"
                ) from None
            self._client = self._paced(client)
            queue = self._queue
            spool = queue.spool
            if spool is not None:
                spool.rotate()  # the inherited active segment was abandoned: never written again
                queue.add_adopted(spool.adopt_orphans())
            self._next_scan = time.monotonic() + self.scan_interval
            self._start_senders()
            if "multiprocessing" in sys.modules:  # its children end with os._exit: atexit never runs
                from multiprocessing import util  # noqa: PLC0415

                util.Finalize(None, self._at_exit, exitpriority=10)
            self._armed = True

    def _start_senders(self) -> None:
        """Start the senders in a re-armed child; subclasses override."""

    def _at_exit(self) -> None:
        """What interpreter exit does; subclasses override."""

    def _check_open(self) -> None:
        if not self._armed:
            self._arm()

    def _scan_if_due(self) -> None:
        """Adopt segments orphaned since the last look (called by a sender, outside the lock)."""
        spool = self._queue.spool
        if spool is None or self._queue.closing or self._queue.refused is not None:
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
    ``maxItems`` (and at most ``bulk.MAX_BATCH_BYTES`` of JSON), send them
    through the process-wide pacer and settle every event on its own. A
    reporter made before ``fork`` re-arms itself in the child on first use.
    See docs/reporter.md.

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
        max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES,
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

        When the queue holds ``max_queue`` events or ``max_queue_bytes`` bytes
        of their JSON, ``track`` waits up to ``block_timeout`` seconds for room
        (``on_full="block"``) or not at all (``"drop"``), then drops the event:
        it returns ``None``, the drop is counted in ``stats.dropped`` and
        logged. ``close_timeout`` bounds the flush at :meth:`close` and at
        interpreter exit.
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
        self._block = float(block_timeout) if on_full == "block" else 0.0
        self._stop = False
        self._threads: list[threading.Thread] = []
        self._start_senders()
        self._exit_hook = _exit_hook(weakref.ref(self))
        atexit.register(self._exit_hook)

    def _start_senders(self) -> None:
        self._stop = False
        self._gate = FirstCallGate()
        """One call at a time until one is answered with something other than 401/403."""
        self._threads = [
            threading.Thread(target=self._sender, name=f"jiguang-reporter-{n}", daemon=True)
            for n in range(self.concurrency)
        ]
        for thread in self._threads:
            thread.start()

    def _forget_senders(self) -> None:
        self._threads = []  # the parent's threads do not exist in the child

    def _at_exit(self) -> None:
        self.close()

    def track(self, event: Any) -> str | None:
        """Queue one event; return its ``randomId`` at once, or ``None`` if it was dropped (queue full).

        Raises :class:`~jiguang_growth.RequestValidationError` for an event that
        breaks openapi.yaml or that JSON cannot carry (with the field and the
        rule) and :class:`~jiguang_growth.SpoolError` when the spool cannot
        store it; neither event is queued.
        """
        if not self._armed:
            self._arm()
        return self._queue.track(event, block=self._block)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Send everything tracked so far now; wait until it is settled.

        False if ``timeout`` came first, or once the server refused the
        credentials (the events are held, see ``stats.held``).
        """
        if not self._armed:
            self._arm()
        queue = self._queue
        target = queue.mark_flush()
        deadline = None if timeout is None else time.monotonic() + timeout
        with queue.lock:
            while not queue.flushed(target):
                if (queue.closing and self._stop) or queue.refused is not None:
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                queue.changed.wait(remaining if remaining is not None else 1.0)
        return queue.refused is None

    def close(self, timeout: float | None = None) -> bool:
        """Flush for up to ``timeout`` seconds (default ``close_timeout``), then stop the senders.

        Events not delivered by then stay in the spool for the next start (or
        ``jiguang-growth spool drain``); without a spool they are lost. Either
        way they are counted in ``stats.unsent`` (or ``stats.held``, when the
        credentials were refused) and logged. True only when every tracked and
        adopted event was accepted (``stats.delivered``). Idempotent; also runs
        at interpreter exit. In a forked child that never used the reporter it
        does nothing and never waits.
        """
        atexit.unregister(self._exit_hook)
        queue = self._queue
        if not self._armed:  # a forked child that never used it: nothing of its own to flush
            with queue.lock:
                queue.closing = True
            self._stop = True
            return queue.finish_close().delivered
        if self._stop:
            return queue.stats().delivered
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
        final = queue.finish_close()
        for thread in self._threads:
            thread.join(max(0.0, min(0.5, deadline - time.monotonic())))
        return final.delivered

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
        """One call per batch (a 413 splits it in halves, down to single events); each event settles alone."""
        try:
            results = self._report(batch.events) if batch.items else []
        except Exception as error:  # not a call's error (send_batch returns those): a bug; settle anyway
            logger.exception("sending a batch failed")
            results = [error] * len(batch.items)
        self._queue.settle(batch, results)

    def _report(self, events: list[Any]) -> list[BatchResult]:
        """Send one batch; while no call was answered (a wrong secret?), one at a time."""
        with self._gate.turn():
            results = send_batch(self._job, self._client, events)
            for result in results:
                self._gate.note(result)
        return results

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
