"""The reporter's bounded queue, shared by the threaded and the asyncio senders.

:meth:`ReportQueue.track` checks and stamps an event, writes it to the spool
and queues it; :meth:`ReportQueue.take` cuts the next batch when one is due
(full, old enough, flushed, or from an adopted segment); and
:meth:`ReportQueue.settle` turns a call's result into outcomes, spool
acknowledgements and counts. All state sits behind one lock, held only for
bookkeeping; callbacks run after it is released.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from jiguang_growth_generated.models import Event

from .. import _spec
from .._delivery import Failure, Outcome
from .._exceptions import RequestValidationError
from .._operations import REPORT_EVENTS
from .._random_ids import RANDOM_ID_FIELD, new_random_ids
from .._validation import validate_schema
from ._errors import ReporterClosedError, SpoolError
from ._outcomes import EventOutcome, ReporterStats
from ._spool import REJECTED_NAME, Segment, Spool

__all__ = ["ITIME_FIELD", "OPERATION", "Batch", "Item", "ReportQueue", "batch_size"]

logger = logging.getLogger("jiguang_growth.reporter")

OPERATION = REPORT_EVENTS
ITIME_FIELD = "itime"
"""Event property holding the event's time in ms (checked against openapi.yaml on first use)."""
DROP_LOG_INTERVAL = 5.0
"""Seconds between two log lines about dropped events (each line gives the count since the last)."""
_ID_CHUNK = 256

Item = tuple[int, dict[str, Any], Segment | None, int, float]
"""``(sequence number, event, spool segment, number in the segment, time queued)``."""


class Batch:
    """Events handed to one call."""

    __slots__ = ("items", "token")

    def __init__(self, token: int, items: list[Item]) -> None:
        self.token = token
        self.items = items

    @property
    def events(self) -> list[dict[str, Any]]:
        return [item[1] for item in self.items]


def batch_size() -> int:
    """Events per call: the report operation's ``maxItems`` in openapi.yaml."""
    return _spec.operation(OPERATION).max_records


def _record_schema() -> str:
    operation = _spec.operation(OPERATION)
    properties = _spec.schema(operation.record_schema).get("properties", {})
    for name in (ITIME_FIELD, RANDOM_ID_FIELD):
        if name not in properties:
            raise RuntimeError(f"openapi.yaml: {operation.record_schema} has no property {name!r}")
    return operation.record_schema


def _event_dict(event: Any) -> dict[str, Any]:
    if type(event) is dict:
        return dict(event)
    if isinstance(event, Event):
        return event.to_dict()
    if isinstance(event, Mapping):
        return dict(event)
    raise RequestValidationError(
        f"event must be a mapping (an Event object), not {type(event).__name__}", field="event", rule="type"
    )


def _encode(event: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(event)
    except TypeError:  # an integer beyond 64 bits: the standard library writes it
        return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


class ReportQueue:
    """Queue, spool bookkeeping and counts of one reporter."""

    def __init__(
        self,
        *,
        max_queue: int,
        flush_interval: float,
        spool: Spool | None,
        on_outcome: Callable[[EventOutcome], None] | None,
    ) -> None:
        self.batch_size = batch_size()
        self.record_schema = _record_schema()
        self.max_queue = max_queue
        self.flush_interval = flush_interval
        self.spool = spool
        self.on_outcome = on_outcome
        self.lock = threading.Lock()
        self.work = threading.Condition(self.lock)
        """Senders wait here for a batch to become due."""
        self.changed = threading.Condition(self.lock)
        """``flush`` and a blocked ``track`` wait here for events to settle or leave the queue."""
        self.wake: Callable[[], None] = self.work.notify
        """Called, with the lock held, when a batch may have become due (the asyncio sender replaces it)."""
        self._callback_lock = threading.Lock()
        self._items: deque[Item] = deque()
        self._ids: list[str] = []
        self._seq = 0
        self._tokens = 0
        self._in_flight: dict[int, int] = {}
        """Batch token -> lowest sequence number in it."""
        self._adopted: list[Segment] = []
        """Adopted segments still being read."""
        self._retired: set[Segment] = set()
        """Segments no longer written to, released once every event in them is settled."""
        self._flush_until = 0
        self.closing = False
        self._closed = False
        self._drops_unlogged = 0
        self._last_drop_log = -DROP_LOG_INTERVAL
        self._counts = dict.fromkeys(
            ("tracked", "adopted", "sent", "accepted", "rejected", "unknown", "dropped", "queued", "unsent"),
            0,
        )

    # --- the caller's side -----------------------------------------------------------------

    def track(self, event: Any, *, block: float = 0.0) -> str | None:
        """Check, stamp, spool and queue one event; its ``randomId``, or ``None`` if the queue was full."""
        record = _event_dict(event)
        random_id = record.get(RANDOM_ID_FIELD)
        if random_id is None:
            ids = self._ids
            try:
                random_id = ids.pop()
            except IndexError:
                ids.extend(new_random_ids(_ID_CHUNK))
                random_id = ids.pop()
            record[RANDOM_ID_FIELD] = random_id
        if ITIME_FIELD not in record:
            record[ITIME_FIELD] = time.time_ns() // 1_000_000
        try:
            validate_schema(self.record_schema, record)
        except RequestValidationError as error:
            message = str(error)
            field = error.field
            if field.startswith("body"):
                field, message = "event" + field[4:], "event" + message[4:]
            raise RequestValidationError(message, field=field, rule=error.rule) from None
        payload = _encode(record) if self.spool is not None else b""
        with self.lock:
            if self.closing:
                raise ReporterClosedError("the reporter is closed; events can no longer be tracked")
            if len(self._items) >= self.max_queue and not self._wait_for_space(block):
                self._dropped()
                return None
            segment: Segment | None = None
            number = 0
            spool = self.spool
            if spool is not None:
                if spool.active.events >= spool.segment_events:
                    self._retire(spool.rotate())
                segment = spool.active
                number = segment.add_event(payload, sync=spool.fsync)
            self._seq += 1
            items = self._items
            items.append((self._seq, record, segment, number, time.monotonic()))
            counts = self._counts
            counts["tracked"] += 1
            counts["queued"] += 1
            if len(items) == 1 or len(items) % self.batch_size == 0:
                self.wake()
        return str(random_id)

    def _wait_for_space(self, block: float) -> bool:
        if block <= 0:
            return False
        deadline = time.monotonic() + block
        while len(self._items) >= self.max_queue:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closing:
                return False
            self.changed.wait(remaining)
        return True

    def _dropped(self) -> None:
        self._counts["dropped"] += 1
        self._drops_unlogged += 1
        now = time.monotonic()
        if now - self._last_drop_log >= DROP_LOG_INTERVAL:
            logger.warning(
                "event queue full (%d events): dropped %d event(s) since the last report, %d in all",
                self.max_queue,
                self._drops_unlogged,
                self._counts["dropped"],
            )
            self._drops_unlogged = 0
            self._last_drop_log = now

    # --- the sender's side -----------------------------------------------------------------

    def add_adopted(self, segments: Iterable[Segment]) -> None:
        """Queue the events of adopted segments; they go out before newly tracked ones."""
        with self.lock:
            for segment in segments:
                if segment.backlog is not None:
                    self._adopted.append(segment)
                elif segment.finished:
                    segment.release()
                else:
                    self._retired.add(segment)
            if self._adopted:
                self.wake()

    def _adopt_more(self) -> bool:
        """Adopt the next orphans when the last look left some (lock held); whether any came."""
        spool = self.spool
        if spool is None or not spool.more or self.closing:
            return False
        try:
            segments = spool.adopt_orphans()
        except OSError as error:
            spool.more = False
            logger.error("could not look for orphaned segments in %s: %s", spool.folder, error)
            return False
        for segment in segments:
            if segment.backlog is not None:
                self._adopted.append(segment)
            else:
                self._retire(segment)
        return bool(self._adopted)

    def due_in(self, now: float) -> float | None:
        """Seconds until a batch is due (0: now), or ``None`` while there is nothing to send."""
        if self._adopted or (self.spool is not None and self.spool.more and not self.closing):
            return 0.0
        items = self._items
        if not items:
            return None
        if len(items) >= self.batch_size or self.closing or items[0][0] <= self._flush_until:
            return 0.0
        return max(0.0, items[0][4] + self.flush_interval - now)

    def take(self, now: float) -> Batch | None:
        """Cut the next due batch (call with the lock held)."""
        chosen: list[Item] = []
        size = self.batch_size
        while (self._adopted or self._adopt_more()) and not chosen:
            segment = self._adopted[0]
            assert segment.backlog is not None
            exhausted = True
            try:
                for number, event in segment.backlog:
                    self._seq += 1
                    chosen.append((self._seq, event, segment, number, now))
                    if len(chosen) == size:
                        exhausted = False
                        break
            except Exception as error:  # the rest stays in the file, for a later adoption
                logger.error("could not read the adopted segment %s further: %r", segment.path, error)
            if exhausted:
                segment.backlog = None
                self._adopted.pop(0)
                if segment.finished:
                    segment.release()
                else:
                    self._retired.add(segment)
            self._counts["adopted"] += len(chosen)
            self._counts["queued"] += len(chosen)
        if not chosen:
            due = self.due_in(now)
            if due is None or due > 0:
                return None
            items = self._items
            for _ in range(min(size, len(items))):
                chosen.append(items.popleft())
            self.changed.notify_all()
        self._tokens += 1
        batch = Batch(self._tokens, chosen)
        self._in_flight[batch.token] = chosen[0][0]
        for item in chosen:
            if item[2] is not None:
                item[2].out += 1
        self._counts["sent"] += len(chosen)
        return batch

    def check(self, batch: Batch) -> tuple[list[Any], list[tuple[Item, Outcome, Failure]]]:
        """Split a batch into the events to send (valid ``Event`` dicts) and those that break the schema."""
        valid: list[Any] = []
        invalid: list[tuple[Item, Outcome, Failure]] = []
        keep: list[Item] = []
        for item in batch.items:
            try:
                validate_schema(self.record_schema, item[1])
            except RequestValidationError as error:
                invalid.append((item, Outcome.REJECTED, Failure("invalid", msg=str(error))))
            else:
                valid.append(item[1])
                keep.append(item)
        if invalid:
            batch.items = keep
        return valid, invalid

    def settle(self, batch: Batch, outcome: Outcome, failure: Failure | None, *, keep: bool = False) -> None:
        """Give every event of a finished call the call's outcome.

        ``keep`` (a transient failure: the API was down, busy or slow) leaves
        the events in the spool, to be sent again; unknown ones always stay.
        """
        self.settle_items(batch.token, [(item, outcome, failure) for item in batch.items], keep=keep)

    def settle_items(
        self, token: int | None, results: list[tuple[Item, Outcome, Failure | None]], *, keep: bool = False
    ) -> None:
        """Record outcomes; acknowledge settled events in the spool; then run the callback."""
        done: dict[Segment, list[int]] = {}
        counts = self._counts
        kept = False
        unwritten = 0
        """Rejected events kept in the spool because rejected.jsonl could not be written."""
        with self.lock:
            if token is not None:
                self._in_flight.pop(token, None)
            for item, outcome, failure in results:
                segment = item[2]
                counts[outcome.value] += 1
                counts["queued"] -= 1
                if segment is None:
                    continue
                segment.out -= 1
                if keep or outcome is Outcome.UNKNOWN:
                    segment.kept += 1
                    kept = segment.writable
                    continue
                if (
                    outcome is Outcome.REJECTED
                    and segment.writable
                    and not self._write_rejected(item[1], failure)
                ):
                    segment.kept += 1  # it leaves the spool only once rejected.jsonl really holds it
                    unwritten += 1
                    kept = True
                    continue
                done.setdefault(segment, []).append(item[3])
            for segment, numbers in done.items():
                segment.ack(numbers)
            for segment in {item[2] for item, _, _ in results if item[2] is not None}:
                if segment in self._retired and segment.finished:
                    self._retired.discard(segment)
                    segment.release()
            self.changed.notify_all()
        self._report(results, kept, unwritten)

    def _write_rejected(self, event: dict[str, Any], failure: Failure | None) -> bool:
        """Append a refused event to rejected.jsonl; False (logged) when that failed."""
        assert self.spool is not None
        reason = (
            {} if failure is None else {"reason": failure.reason, "code": failure.code, "msg": failure.msg}
        )
        try:
            self.spool.write_rejected(event, reason)
        except OSError as error:
            logger.error(
                "could not write a rejected event to %s: %s; it stays in the spool",
                self.spool.folder / REJECTED_NAME,
                error.strerror or error,
            )
            return False
        return True

    def _report(
        self, results: list[tuple[Item, Outcome, Failure | None]], kept: bool, unwritten: int = 0
    ) -> None:
        self._log_failures(results, kept, unwritten)
        self._call_back(results, kept)

    def _log_failures(
        self, results: list[tuple[Item, Outcome, Failure | None]], kept: bool, unwritten: int = 0
    ) -> None:
        """One warning per kind of failure (outcome and reason), with a count and one message."""
        failed = [(outcome, failure) for _, outcome, failure in results if failure is not None]
        by_kind: dict[tuple[str, str], int] = {}
        for outcome, failure in failed:
            reason = failure.reason if failure.code is None else f"{failure.reason}:{failure.code}"
            by_kind[outcome.value, reason] = by_kind.get((outcome.value, reason), 0) + 1
        for (outcome_name, reason), count in sorted(by_kind.items()):
            message = next(f.msg for o, f in failed if o.value == outcome_name)
            logger.warning(
                "%d event(s) %s (%s)%s: %s",
                count,
                outcome_name,
                reason,
                self._where(outcome_name, kept, unwritten),
                message,
            )

    def _where(self, outcome_name: str, kept: bool, unwritten: int = 0) -> str:
        if outcome_name == "rejected" and unwritten:
            assert self.spool is not None
            return (
                f", {unwritten} kept in the spool to send again because "
                f"{self.spool.folder / REJECTED_NAME} could not be written"
            )
        if kept:
            return ", kept in the spool to send again"
        if outcome_name == "rejected" and self.spool is not None:
            return f", written to {self.spool.folder / REJECTED_NAME}"
        return ", not delivered"

    def _call_back(self, results: list[tuple[Item, Outcome, Failure | None]], kept: bool) -> None:
        callback = self.on_outcome
        if callback is None:
            return
        with self._callback_lock:
            for entry in results:
                try:
                    callback(EventOutcome(entry[0][1], entry[1], entry[2], kept and entry[0][2] is not None))
                except Exception:
                    logger.exception("on_outcome raised; the reporter goes on")

    def rotate_if_kept(self) -> None:
        """Start a new segment if the active one holds kept events, so they are adopted and resent."""
        with self.lock:
            spool = self.spool
            if spool is not None and not self.closing and spool.active.kept:
                try:
                    self._retire(spool.rotate())
                except SpoolError as error:  # a sender thread must not die of it; track reports it too
                    logger.error("%s; kept events wait in the current segment", error)

    def _retire(self, segment: Segment) -> None:
        if segment.finished:
            segment.release()
        else:
            self._retired.add(segment)

    # --- flush and close -------------------------------------------------------------------

    def mark_flush(self) -> int:
        """Make everything queued so far due now; return the sequence number to wait for."""
        with self.lock:
            self._flush_until = self._seq
            self.wake()
            return self._seq

    def flushed(self, target: int) -> bool:
        """Whether every event up to ``target``, and every adopted one, is settled (lock held)."""
        if self._adopted or (self.spool is not None and self.spool.more):
            return False
        if self._items and self._items[0][0] <= target:
            return False
        return all(first > target for first in self._in_flight.values())

    @property
    def idle(self) -> bool:
        """Nothing queued, adopted or in flight (lock held)."""
        return not self._items and not self._adopted and not self._in_flight

    def begin_close(self) -> None:
        with self.lock:
            self.closing = True
            self.wake()
            self.changed.notify_all()

    def finish_close(self) -> int:
        """Let go of everything still unsent; return how many events that is."""
        with self.lock:
            if self._closed:
                return 0
            self._closed = True
            unsent = self._counts["queued"]
            self._counts["unsent"] = unsent
            self._items.clear()
            if self.spool is not None:
                segments = {self.spool.active, *self._retired, *self._adopted}
                for segment in segments:
                    segment.backlog = None
                    segment.release()
                self._retired.clear()
                self._adopted.clear()
            self.changed.notify_all()
        if self._drops_unlogged:
            logger.warning(
                "dropped %d event(s) since the last report, %d in all (event queue full)",
                self._drops_unlogged,
                self._counts["dropped"],
            )
        if unsent:
            if self.spool is not None:
                logger.warning(
                    "%d event(s) unsent at close; they stay in the spool %s", unsent, self.spool.folder
                )
            else:
                logger.warning("%d event(s) unsent at close and lost (no spool)", unsent)
        return unsent

    def stats(self) -> ReporterStats:
        with self.lock:
            return ReporterStats(**self._counts)
