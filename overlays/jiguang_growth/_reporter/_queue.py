"""The reporter's bounded queue, shared by the threaded and the asyncio senders.

:meth:`ReportQueue.track` checks, stamps and serialises an event (once: the
batch sends it as it is), writes it to the spool and queues it;
:meth:`ReportQueue.take` cuts the next batch when one is due (full by count or
by bytes, old enough, flushed, or from an adopted segment); and
:meth:`ReportQueue.settle` turns each event's result into an outcome, spool
acknowledgements and counts. All state sits behind one lock, held only for
bookkeeping; callbacks run after it is released.

Bad credentials (401, 403) stop all sending: the events stay in the spool (or,
without one, in memory until close) and are counted as ``held``, never as
rejected. A forked child calls :meth:`ReportQueue.after_fork`, which forgets
everything the parent owns (its events, files, locks and random IDs).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from jiguang_growth_generated.models import Event

from .. import _spec
from .._delivery import MAX_BATCH_BYTES, Accepted, Failure, Outcome, failure_of
from .._exceptions import AuthenticationError, PermissionDeniedError, RequestValidationError
from .._operations import REPORT_EVENTS
from .._random_ids import RANDOM_ID_FIELD, new_random_ids
from .._retry import is_retryable
from .._validation import validate_schema
from ._errors import ReporterClosedError, SpoolError
from ._outcomes import EventOutcome, ReporterStats
from ._spool import REJECTED_NAME, Segment, Spool

__all__ = [
    "DEFAULT_MAX_QUEUE_BYTES",
    "ITIME_FIELD",
    "Batch",
    "Item",
    "ReportQueue",
    "batch_size",
]

logger = logging.getLogger("jiguang_growth.reporter")

ITIME_FIELD = "itime"
"""Event property holding the event's time in ms (checked against openapi.yaml on first use)."""
DROP_LOG_INTERVAL = 5.0
"""Seconds between two log lines about dropped events (each line gives the count since the last)."""
DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024
"""Bytes of event JSON held in the queue at most (64 MiB), besides ``max_queue`` events."""
_ID_CHUNK = 256


class Item(NamedTuple):
    """One event on its way: queued, in a batch, or being settled."""

    seq: int
    """Order of arrival in this reporter (flush waits up to a sequence number)."""
    event: dict[str, Any]
    size: int
    """Bytes of the event's JSON."""
    segment: Segment | None
    """The spool segment holding the event (``None`` without a spool)."""
    number: int
    """The event's number in its segment."""
    queued_at: float


class Batch:
    """Events handed to one call, and adopted events found invalid while it was cut."""

    __slots__ = ("invalid", "items", "token")

    def __init__(self, token: int, items: list[Item], invalid: list[tuple[Item, Failure]]) -> None:
        self.token = token
        self.items = items
        self.invalid = invalid

    @property
    def events(self) -> list[dict[str, Any]]:
        return [item.event for item in self.items]


Result = Accepted | Failure | Exception
"""One event's end in a call: accepted, refused with a reason, or the error its call ended with."""


def batch_size() -> int:
    """Events per call: the report operation's ``maxItems`` in openapi.yaml."""
    return _spec.operation(REPORT_EVENTS).max_records


def _record_schema() -> str:
    operation = _spec.operation(REPORT_EVENTS)
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


def _unencodable(value: Any, path: str) -> tuple[str, str] | None:
    """``(field, problem)`` for the first text that is not UTF-8 or number that is not finite."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return path, "holds a lone surrogate, which UTF-8 (and so JSON on the wire) cannot carry"
    elif isinstance(value, float) and not math.isfinite(value):
        return path, f"is {value!r}, which JSON cannot carry"
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _unencodable(key, f"{path} (a key)") or _unencodable(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _unencodable(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def encode_event(event: dict[str, Any]) -> bytes:
    """The event's compact UTF-8 JSON, as the client sends it; a typed error naming what JSON cannot carry."""
    try:
        content = orjson.dumps(event)
    except TypeError:  # an integer beyond 64 bits (the standard library writes it), or unencodable text
        content = None
    if content is not None and b"null" not in content:  # orjson writes NaN as null; the client refuses it
        return content
    try:
        return json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as error:
        found = _unencodable(event, "event")
        field, problem = found if found is not None else ("event", str(error))
        raise RequestValidationError(f"{field} {problem}", field=field, rule="json") from None


def _checked(record_schema: str, record: dict[str, Any]) -> bytes:
    """Validate an event against openapi.yaml (fields named ``event.…``) and serialise it."""
    try:
        validate_schema(record_schema, record)
    except RequestValidationError as error:
        message = str(error)
        field = error.field
        if field.startswith("body"):
            field, message = "event" + field[4:], "event" + message[4:]
        raise RequestValidationError(message, field=field, rule=error.rule) from None
    return encode_event(record)


def holds_back(error: BaseException) -> bool:
    """Whether a call's error is bad credentials: they say nothing about the events, which are held."""
    return isinstance(error, AuthenticationError | PermissionDeniedError)


class ReportQueue:
    """Queue, spool bookkeeping and counts of one reporter."""

    def __init__(
        self,
        *,
        max_queue: int,
        max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES,
        flush_interval: float,
        spool: Spool | None,
        on_outcome: Callable[[EventOutcome], None] | None,
    ) -> None:
        self.batch_size = batch_size()
        self.batch_bytes = MAX_BATCH_BYTES
        self.record_schema = _record_schema()
        self.max_queue = max_queue
        self.max_queue_bytes = max_queue_bytes
        self.flush_interval = flush_interval
        self.spool = spool
        self.on_outcome = on_outcome
        self._new_locks()
        self.wake: Callable[[], None] = self.work.notify
        """Called, with the lock held, when a batch may have become due (the asyncio sender replaces it)."""
        self._reset()

    def _new_locks(self) -> None:
        self.lock = threading.Lock()
        self.work = threading.Condition(self.lock)
        """Senders wait here for a batch to become due."""
        self.changed = threading.Condition(self.lock)
        """``flush`` and a blocked ``track`` wait here for events to settle or leave the queue."""
        self._callback_lock = threading.Lock()

    def _reset(self) -> None:
        self._items: deque[Item] = deque()
        self._bytes = 0
        """Bytes of the events in ``_items``."""
        self._ids: list[str] = []
        self._seq = 0
        self._tokens = 0
        self._in_flight: dict[int, int] = {}
        """Batch token -> lowest sequence number in it."""
        self._adopted: list[Segment] = []
        """Adopted segments still being read."""
        self._retired: set[Segment] = set()
        """Segments no longer written to, released once every event in them is settled."""
        self._own_kept: set[Path] = set()
        """Segments this reporter let go of while they held its kept events: adopting one again resends
        those events (``kept`` goes down) rather than taking in new ones (``adopted`` stays)."""
        self._held: list[dict[str, Any]] = []
        """Held events without a spool: kept in memory until close."""
        self.refused: str | None = None
        """Why sending stopped: the server refused the credentials (401/403)."""
        self._flush_until = 0
        self.closing = False
        self._closed = False
        self._drops_unlogged = 0
        self._last_drop_log = -DROP_LOG_INTERVAL
        self._counts = dict.fromkeys(
            (
                "tracked",
                "adopted",
                "sent",
                "accepted",
                "rejected",
                "unknown",
                "kept",
                "held",
                "dropped",
                "queued",
                "unsent",
            ),
            0,
        )

    def after_fork(self) -> None:
        """In a forked child: new locks, and none of the parent's events, files or random IDs.

        The parent goes on sending what it queued and owning its segments; the
        child's copies of their descriptors are closed (never written, deleted
        or unlocked), and the child's spool starts a segment of its own when
        the reporter is first used.
        """
        spool = self.spool
        segments = [] if spool is None else [spool.active, *self._retired, *self._adopted]
        inherited, closing = self.work, self.closing
        self._new_locks()
        if getattr(self.wake, "__self__", None) is inherited:
            self.wake = self.work.notify
        for segment in segments:
            segment.abandon()
        self._reset()
        self.closing = self._closed = closing  # closed before the fork: closed in the child too

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
        payload = _checked(self.record_schema, record)
        size = len(payload)
        with self.lock:
            if self.closing:
                raise ReporterClosedError("the reporter is closed; events can no longer be tracked")
            if self.refused is not None:
                return self._hold_new(record, payload, str(random_id))
            if not self._has_room(size) and not self._wait_for_space(size, block):
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
            items.append(Item(self._seq, record, size, segment, number, time.monotonic()))
            self._bytes += size
            counts = self._counts
            counts["tracked"] += 1
            counts["queued"] += 1
            if len(items) == 1 or len(items) % self.batch_size == 0 or self._bytes >= self.batch_bytes:
                self.wake()
        return str(random_id)

    def _has_room(self, size: int) -> bool:
        items = self._items
        return len(items) < self.max_queue and (not items or self._bytes + size <= self.max_queue_bytes)

    def _wait_for_space(self, size: int, block: float) -> bool:
        if block <= 0:
            return False
        deadline = time.monotonic() + block
        while not self._has_room(size):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closing or self.refused is not None:
                return False
            self.changed.wait(remaining)
        return self.refused is None

    def _hold_new(self, record: dict[str, Any], payload: bytes, random_id: str) -> str | None:
        """Keep an event tracked after the credentials were refused: in the spool, or in memory."""
        spool = self.spool
        if spool is None:
            if len(self._held) >= self.max_queue:
                self._dropped()
                return None
            self._held.append(record)
        else:
            if spool.active.events >= spool.segment_events:
                self._retire(spool.rotate())
            spool.active.add_event(payload, sync=spool.fsync)
            spool.active.kept += 1
        self._counts["tracked"] += 1
        self._counts["held"] += 1
        return random_id

    def _dropped(self) -> None:
        self._counts["dropped"] += 1
        self._drops_unlogged += 1
        now = time.monotonic()
        if now - self._last_drop_log >= DROP_LOG_INTERVAL:
            logger.warning(
                "event queue full (%d events, %d bytes): dropped %d event(s) since the last report, "
                "%d in all",
                len(self._items),
                self._bytes,
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
                    self._release(segment)
                else:
                    self._retired.add(segment)
            if self._adopted:
                self.wake()

    def _adopt_more(self) -> bool:
        """Adopt the next orphans when the last look left some (lock held); whether any came."""
        spool = self.spool
        if spool is None or not spool.more or self.closing or self.refused is not None:
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
        if self.refused is not None:
            return None
        if self._adopted or (self.spool is not None and self.spool.more and not self.closing):
            return 0.0
        items = self._items
        if not items:
            return None
        if (
            len(items) >= self.batch_size
            or self._bytes >= self.batch_bytes
            or self.closing
            or items[0].seq <= self._flush_until
        ):
            return 0.0
        return max(0.0, items[0].queued_at + self.flush_interval - now)

    def _fits(self, chosen: list[Item], size: int, used: int) -> bool:
        """Whether one more event of ``size`` bytes still fits a batch (a first one always does)."""
        return not chosen or (len(chosen) < self.batch_size and used + size + 1 <= self.batch_bytes)

    def _take_adopted(self, now: float) -> tuple[list[Item], list[tuple[Item, Failure]]]:
        """The next events of adopted segments, each validated here (once), up to a batch's size."""
        chosen: list[Item] = []
        invalid: list[tuple[Item, Failure]] = []
        used = 2  # the brackets of the JSON array
        while (self._adopted or self._adopt_more()) and not chosen and not invalid:
            segment = self._adopted[0]
            assert segment.backlog is not None
            exhausted = True
            taken = 0
            try:
                for number, event in segment.backlog:
                    self._seq += 1
                    taken += 1
                    try:
                        size = len(_checked(self.record_schema, event))
                    except RequestValidationError as error:
                        invalid.append((Item(self._seq, event, 0, segment, number, now), _invalid(error)))
                        continue
                    chosen.append(Item(self._seq, event, size, segment, number, now))
                    used += size + 1
                    if len(chosen) >= self.batch_size or used >= self.batch_bytes:
                        exhausted = False
                        break
            except Exception as error:  # the rest stays in the file, for a later adoption
                logger.error("could not read the adopted segment %s further: %r", segment.path, error)
            if exhausted:
                segment.backlog = None
                self._adopted.pop(0)
                if segment.finished and not (chosen or invalid):
                    self._release(segment)
                else:
                    self._retired.add(segment)
            counts = self._counts
            if segment.path in self._own_kept:
                counts["kept"] = max(0, counts["kept"] - taken)
            else:
                counts["adopted"] += taken
            counts["queued"] += taken
        return chosen, invalid

    def take(self, now: float) -> Batch | None:
        """Cut the next due batch (call with the lock held)."""
        if self.refused is not None:
            return None
        chosen, invalid = self._take_adopted(now)
        used = 2 + sum(item.size + 1 for item in chosen)
        if not chosen and not invalid:
            due = self.due_in(now)
            if due is None or due > 0:
                return None
            items = self._items
            while items and self._fits(chosen, items[0].size, used):
                item = items.popleft()
                chosen.append(item)
                used += item.size + 1
                self._bytes -= item.size
            self.changed.notify_all()
        self._tokens += 1
        batch = Batch(self._tokens, chosen, invalid)
        self._in_flight[batch.token] = (chosen or [item for item, _ in invalid])[0].seq
        for item in (*chosen, *(item for item, _ in invalid)):
            if item.segment is not None:
                item.segment.out += 1
        self._counts["sent"] += len(chosen)
        return batch

    def settle(self, batch: Batch, results: list[Result]) -> None:
        """Give every event of a finished call its own result (one per event, in order)."""
        settled: list[tuple[Item, Outcome | None, Failure | None, bool]] = [
            (item, Outcome.REJECTED, failure, False) for item, failure in batch.invalid
        ]
        refused: Exception | None = None
        for item, result in zip(batch.items, results, strict=True):
            if isinstance(result, Accepted):
                settled.append((item, Outcome.ACCEPTED, None, False))
            elif isinstance(result, Failure):
                settled.append((item, Outcome.REJECTED, result, False))
            elif holds_back(result):
                refused = result
                settled.append((item, None, None, True))
            else:
                outcome, failure = failure_of(result)
                keep = outcome is Outcome.UNKNOWN or is_retryable(REPORT_EVENTS, result)
                settled.append((item, outcome, failure, keep))
        self._settle(batch.token, settled, refused)

    def settle_unsent(self, batch: Batch) -> None:
        """A batch given back unsent (its call was cancelled at close): its events stay unsettled."""
        self._settle(batch.token, [(item, None, None, True) for item in batch.items], None, unsent=True)

    def _settle(
        self,
        token: int,
        results: list[tuple[Item, Outcome | None, Failure | None, bool]],
        refused: Exception | None,
        *,
        unsent: bool = False,
    ) -> None:
        """Record outcomes; acknowledge settled events in the spool; then run the callback.

        An outcome of ``None`` is an event held back (bad credentials) or given
        back unsent; with ``keep`` an event stays in the spool to be sent again.
        """
        done: dict[Segment, list[int]] = {}
        counts = self._counts
        reported: list[EventOutcome] = []
        logged: list[tuple[Outcome, Failure | None, bool]] = []
        unwritten = 0
        """Rejected events kept in the spool because rejected.jsonl could not be written."""
        with self.lock:
            self._in_flight.pop(token, None)
            if self._closed:  # a call that outlived close: its events were counted as unsent then
                return
            if refused is not None and self.refused is None:
                self._refuse(refused)
            for item, outcome, failure, keep in results:
                segment = item.segment
                counts["queued"] -= 1
                if segment is not None:
                    segment.out -= 1
                if outcome is None:  # held back, or unsent at close
                    counts["unsent" if unsent else "held"] += 1
                    if segment is not None:
                        segment.kept += 1
                    elif not unsent:
                        self._held.append(item.event)
                    continue
                kept = keep and segment is not None and segment.writable
                if kept:
                    assert segment is not None
                    segment.kept += 1
                    counts["kept"] += 1
                elif (
                    segment is not None
                    and outcome is Outcome.REJECTED
                    and segment.writable
                    and not self._write_rejected(item.event, failure)
                ):  # it leaves the spool only once rejected.jsonl holds it: kept, to be refused again
                    segment.kept += 1
                    counts["kept"] += 1
                    unwritten += 1
                    kept = True
                else:
                    counts[outcome.value] += 1
                    if segment is not None:
                        done.setdefault(segment, []).append(item.number)
                logged.append((outcome, failure, kept))
                reported.append(EventOutcome(item.event, outcome, failure, kept))
            for segment, numbers in done.items():
                segment.ack(numbers)
            for segment in {item.segment for item, *_ in results if item.segment is not None}:
                if segment in self._retired and segment.finished:
                    self._retired.discard(segment)
                    self._release(segment)
            self.changed.notify_all()
        self._log_failures(logged, unwritten)
        self._call_back(reported)

    def _refuse(self, error: Exception) -> None:
        """Stop sending for good (lock held): hold everything queued or adopted, for a later run."""
        status = getattr(error, "status_code", None)
        msg = getattr(error, "msg", None) or type(error).__name__
        self.refused = f"the server refused the credentials ({status} {msg})"
        counts = self._counts
        for item in self._items:
            counts["queued"] -= 1
            counts["held"] += 1
            if item.segment is not None:
                item.segment.kept += 1
            else:
                self._held.append(item.event)
        self._items.clear()
        self._bytes = 0
        for segment in self._adopted:  # unread events stay in the file, for a run with good credentials
            segment.backlog = None
            self._retire(segment)
        self._adopted.clear()
        where = (
            f"they stay in the spool {self.spool.folder} for a reporter or `jiguang-growth spool drain` "
            "with correct credentials"
            if self.spool is not None
            else "without a spool they are kept in memory until close, then lost"
        )
        logger.error(
            "%s: the reporter stopped sending; queued and new events are held: %s", self.refused, where
        )
        self.changed.notify_all()

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

    def _log_failures(self, results: list[tuple[Outcome, Failure | None, bool]], unwritten: int = 0) -> None:
        """One warning per kind of failure (outcome, reason, kept), with a count and one message."""
        by_kind: dict[tuple[str, str, bool], tuple[int, str | None]] = {}
        for outcome, failure, kept in results:
            if failure is None:
                continue
            reason = failure.reason if failure.code is None else f"{failure.reason}:{failure.code}"
            count, _ = by_kind.get((outcome.value, reason, kept), (0, None))
            by_kind[outcome.value, reason, kept] = (count + 1, failure.msg)
        for (outcome_name, reason, kept), (count, message) in sorted(by_kind.items()):
            logger.warning(
                "%d event(s) %s (%s)%s: %s",
                count,
                "failed" if kept else outcome_name,
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

    def _call_back(self, outcomes: list[EventOutcome]) -> None:
        callback = self.on_outcome
        if callback is None or not outcomes:
            return
        with self._callback_lock:
            for outcome in outcomes:
                try:
                    callback(outcome)
                except Exception:
                    logger.exception("on_outcome raised; the reporter goes on")

    def rotate_if_kept(self) -> None:
        """Start a new segment if the active one holds kept events, so they are adopted and resent."""
        with self.lock:
            spool = self.spool
            if spool is not None and not self.closing and self.refused is None and spool.active.kept:
                try:
                    self._retire(spool.rotate())
                except SpoolError as error:  # a sender thread must not die of it; track reports it too
                    logger.error("%s; kept events wait in the current segment", error)

    def _retire(self, segment: Segment) -> None:
        if segment.finished:
            self._release(segment)
        else:
            self._retired.add(segment)

    def _release(self, segment: Segment) -> None:
        if segment.kept and segment.writable and self.refused is None:
            self._own_kept.add(segment.path)
        segment.release()

    # --- flush and close -------------------------------------------------------------------

    def mark_flush(self) -> int:
        """Make everything queued so far due now; return the sequence number to wait for."""
        with self.lock:
            self._flush_until = self._seq
            self.wake()
            return self._seq

    def flushed(self, target: int) -> bool:
        """Whether every event up to ``target``, and every adopted one, is settled (lock held)."""
        if self._adopted or (self.spool is not None and self.spool.more and self.refused is None):
            return False
        if self._items and self._items[0].seq <= target:
            return False
        return all(first > target for first in self._in_flight.values())

    @property
    def idle(self) -> bool:
        """Nothing queued, adopted or in flight (lock held); held events count as settled here."""
        return not self._items and not self._adopted and not self._in_flight

    def begin_close(self) -> None:
        with self.lock:
            self.closing = True
            self.wake()
            self.changed.notify_all()

    def finish_close(self) -> ReporterStats:
        """Let go of everything still unsent; return the final counts."""
        with self.lock:
            if self._closed:
                return ReporterStats(**self._counts)
            self._closed = True
            counts = self._counts
            for item in self._items:
                if item.segment is not None:
                    item.segment.kept += 1
            counts["unsent"] += counts["queued"] + counts["kept"]
            counts["queued"] = counts["kept"] = 0
            self._items.clear()
            self._bytes = 0
            if self.spool is not None:
                segments = {self.spool.active, *self._retired, *self._adopted}
                for segment in segments:
                    segment.backlog = None
                    segment.release()
                self._retired.clear()
                self._adopted.clear()
            held_in_memory = len(self._held)
            self._held.clear()
            self.changed.notify_all()
            final = ReporterStats(**counts)
        if self._drops_unlogged:
            logger.warning(
                "dropped %d event(s) since the last report, %d in all (event queue full)",
                self._drops_unlogged,
                final.dropped,
            )
        if final.unsent:
            if self.spool is not None:
                logger.warning(
                    "%d event(s) unsent at close; they stay in the spool %s", final.unsent, self.spool.folder
                )
            else:
                logger.warning("%d event(s) unsent at close and lost (no spool)", final.unsent)
        if final.held:
            if self.spool is not None:
                logger.error(
                    "%d event(s) held at close (%s); they stay in the spool %s for a run with correct "
                    "credentials",
                    final.held,
                    self.refused,
                    self.spool.folder,
                )
            else:
                logger.error(
                    "%d event(s) held at close (%s) and lost (no spool)", held_in_memory, self.refused
                )
        return final

    def stats(self) -> ReporterStats:
        with self.lock:
            return ReporterStats(**self._counts)


def _invalid(error: RequestValidationError) -> Failure:
    return Failure("invalid", msg=str(error))
