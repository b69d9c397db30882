"""The bulk loop: check each record, cut batches, keep calls in flight, settle every record.

One engine serves every operation; a :class:`Job` says how one operation's
records are prepared, which schema checks one record, how big a batch is and
how a batch is sent. Worker threads only make calls; the calling thread reads
the input, submits batches and settles their outcomes, so outcome files, the
journal and the summary are written from one thread.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from .._client import GrowthClient
from .._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    CancelledCallError,
    GrowthError,
    RateLimitError,
    RequestValidationError,
)
from .._pacing import Pacer, shared_pacer
from .._retry import possibly_applied
from .._validation import validate_schema
from ._input import BadLine, Record
from ._journal import Journal
from ._outcomes import BulkSummary, Failure, Outcome, OutcomeFiles, RecordOutcome

__all__ = ["BULK_MAX_RETRIES", "DEFAULT_CONCURRENCY", "Accepted", "Job", "failure_of", "run"]

logger = logging.getLogger("jiguang_growth.bulk")

DEFAULT_CONCURRENCY = 16
"""Calls in flight. At 100 calls a second, 16 covers answers up to 160 ms away."""
BULK_MAX_RETRIES = 6
"""Retries per call in a bulk run (where the retry policy allows any): a long run
rides out short outages instead of turning them into rejected records."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """A record the server acknowledged, with its own result if the operation has one."""

    result: Any = None


SendBatch = Callable[[GrowthClient, list[Any]], list[Accepted | Failure]]
"""Send one batch of prepared values; return one outcome per value, in order."""


@dataclass(frozen=True)
class Job:
    """How one operation's records go through the engine."""

    operation_id: str
    record_schema: str
    """openapi.yaml schema one prepared record must satisfy before it is batched."""
    batch_size: int
    send: SendBatch
    prepare: Callable[[uuid.UUID, Record], Any] | None = None
    """Turn an input record into the value to send, given the run's ID (e.g. fill a ``randomId``
    that a resumed run, which keeps its ID, derives again the same way)."""
    key: Callable[[Any], Hashable] | None = None
    """The user a record writes to, for writes whose order matters: a batch waits while an
    earlier batch for one of its users is in flight, so each user's writes land in input order."""


@dataclass(slots=True)
class _Batch:
    records: list[Record]
    future: Future[list[Accepted | Failure]]
    keys: frozenset[Hashable] = frozenset()


def run(
    job: Job,
    client: GrowthClient,
    records: Iterable[Record | BadLine],
    *,
    run_id: uuid.UUID,
    files: OutcomeFiles | None = None,
    journal: Journal | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_outcome: Callable[[RecordOutcome], None] | None = None,
    on_progress: Callable[[BulkSummary], None] | None = None,
    stop: threading.Event | None = None,
) -> BulkSummary:
    """Settle every record of ``records`` in the run ``run_id``; return the counts.

    Ctrl-C (``KeyboardInterrupt``) or ``stop`` ends the reading: calls in
    flight are finished and settled, nothing more is sent, and the summary
    says ``interrupted``. A second Ctrl-C while draining gives up at once.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    paced = client.with_options(pace=True, max_retries=max(client.max_retries, BULK_MAX_RETRIES))
    cancel = threading.Event()  # set: the calls in flight end within a fraction of a second
    paced = paced._cancelled_by(cancel)
    pacer = shared_pacer(job.operation_id, project_id=client.project_id, base_url=client.api_url)
    settle = _Settler(
        job.operation_id,
        files=files,
        journal=journal,
        on_outcome=on_outcome,
        on_progress=on_progress,
        pacer=pacer,
    )
    started = time.monotonic()
    in_flight: list[_Batch] = []
    pool = ThreadPoolExecutor(concurrency, thread_name_prefix=f"jiguang-bulk-{job.operation_id}")
    try:
        try:
            for batch in _batches(job, run_id, records, settle, stop):
                keys = frozenset(job.key(r.value) for r in batch) if job.key is not None else frozenset()
                while not _stopped(stop) and (
                    len(in_flight) >= concurrency or (keys and _overlaps(keys, in_flight))
                ):
                    in_flight = settle.collect(in_flight, block=True)
                if _stopped(stop):
                    break  # this batch was never sent: not settled, not journaled
                future = pool.submit(job.send, paced, [r.value for r in batch])
                in_flight.append(_Batch(batch, future, keys))
                settle.summary.batches += 1
                in_flight = settle.collect(in_flight, block=False)
            settle.summary.interrupted = stop is not None and stop.is_set()
        except KeyboardInterrupt:
            settle.summary.interrupted = True
        _drain(settle, in_flight, cancel, stop)
    except KeyboardInterrupt:
        cancel.set()  # the workers end at once, so the process can exit
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        settle.summary.elapsed = time.monotonic() - started
        settle.close()
    pool.shutdown(wait=True)
    return settle.summary


STOP_GRACE = 2.0
"""Seconds the calls in flight get to finish once a run is stopping; then they are cancelled,
and their records settle as the cancel leaves them (unknown when they may have been applied)."""


def _stopped(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


def _drain(
    settle: _Settler, in_flight: list[_Batch], cancel: threading.Event, stop: threading.Event | None
) -> None:
    """Settle every call in flight; once stopping (now or while waiting), cancel those still
    running after STOP_GRACE."""
    ends: float | None = None
    while in_flight:
        if ends is None and (settle.summary.interrupted or _stopped(stop)):
            settle.summary.interrupted = True
            ends = time.monotonic() + STOP_GRACE
        if ends is not None and time.monotonic() >= ends:
            cancel.set()
        try:
            in_flight = settle.collect(in_flight, block=True)
        except KeyboardInterrupt:  # the first Ctrl-C stops the run here too; a second gives up
            if settle.summary.interrupted:
                raise
            settle.summary.interrupted = True


def _overlaps(keys: frozenset[Hashable], in_flight: list[_Batch]) -> bool:
    return any(not keys.isdisjoint(batch.keys) for batch in in_flight)


def _batches(
    job: Job,
    run_id: uuid.UUID,
    records: Iterable[Record | BadLine],
    settle: _Settler,
    stop: threading.Event | None,
) -> Iterator[list[Record]]:
    """Checked records in batches of ``job.batch_size``; failures are settled on the way."""
    batch: list[Record] = []
    for item in records:
        if stop is not None and stop.is_set():
            return
        if isinstance(item, BadLine):
            settle.one(item.line, item.text, None, Outcome.REJECTED, Failure("unreadable", msg=item.reason))
            continue
        value = item.value
        try:
            if job.prepare is not None:
                value = job.prepare(run_id, item)
            validate_schema(job.record_schema, value)
        except RequestValidationError as error:
            failure = Failure("invalid", msg=_record_message(str(error)))
            settle.one(item.line, None, value, Outcome.REJECTED, failure)
            continue
        batch.append(Record(item.line, value))
        if len(batch) == job.batch_size:
            yield batch
            batch = []
    if batch and not (stop is not None and stop.is_set()):
        yield batch


def _record_message(message: str) -> str:
    """A schema message about one record, with the record's own path ("body.x" -> "record.x")."""
    return "record" + message[4:] if message.startswith("body") else message


def failure_of(error: BaseException) -> tuple[Outcome, Failure]:
    """How a failed call settles its records: rejected when surely not applied, else unknown."""
    if isinstance(error, RequestValidationError):
        return Outcome.REJECTED, Failure("invalid", msg=str(error))
    if isinstance(error, APIError):
        reason = "rate_limited" if isinstance(error, RateLimitError) else "api_error"
        failure = Failure(reason, code=error.code, msg=error.msg or str(error), status_code=error.status_code)
    elif isinstance(error, APIResponseError):
        failure = Failure("bad_response", msg=str(error), status_code=error.status_code)
    elif isinstance(error, CancelledCallError):
        failure = Failure("cancelled", msg=str(error))
    elif isinstance(error, APITimeoutError):
        failure = Failure("timeout", msg=str(error))
    elif isinstance(error, APIConnectionError):
        failure = Failure("connection", msg=str(error))
    else:  # not ours: a bug somewhere; the call may have gone out
        failure = Failure(f"error:{type(error).__name__}", msg=str(error))
    return (Outcome.UNKNOWN if possibly_applied(error) else Outcome.REJECTED), failure


class _Settler:
    """Turns finished calls into per-record outcomes, files, journal lines and counts."""

    def __init__(
        self,
        operation_id: str,
        *,
        files: OutcomeFiles | None,
        journal: Journal | None,
        on_outcome: Callable[[RecordOutcome], None] | None,
        on_progress: Callable[[BulkSummary], None] | None,
        pacer: Pacer,
    ) -> None:
        self.operation_id = operation_id
        self.summary = BulkSummary(operation_id)
        self._files = files
        self._journal = journal
        self._on_outcome = on_outcome
        self._on_progress = on_progress
        self._pacer = pacer
        self._pauses_before = pacer.pauses
        self._unjournaled: list[int] = []

    def collect(self, in_flight: list[_Batch], *, block: bool) -> list[_Batch]:
        """Settle the finished batches (waiting for one if ``block``); return those still running."""
        if block:
            wait([b.future for b in in_flight], timeout=0.25, return_when=FIRST_COMPLETED)
        still: list[_Batch] = []
        for batch in in_flight:
            if batch.future.done():
                self._settle_batch(batch)
            else:
                still.append(batch)
        return still

    def _settle_batch(self, batch: _Batch) -> None:
        try:
            results = batch.future.result()
        except Exception as error:  # every record must still be settled, even after a bug
            if not isinstance(error, GrowthError):
                logger.error("unexpected error in a %s batch", self.operation_id, exc_info=error)
            outcome, failure = failure_of(error)
            for record in batch.records:
                self._record(record.line, record.value, outcome, failure=failure)
        else:
            if len(results) != len(batch.records):
                raise RuntimeError(f"{len(results)} results for a batch of {len(batch.records)}")
            for record, result in zip(batch.records, results, strict=True):
                if isinstance(result, Failure):
                    self._record(record.line, record.value, Outcome.REJECTED, failure=result)
                else:
                    self._record(record.line, record.value, Outcome.ACCEPTED, result=result.result)
        self._checkpoint()

    def one(self, line: int, text: str | None, value: Any, outcome: Outcome, failure: Failure) -> None:
        """Settle a record that never reached a batch (unreadable or invalid)."""
        self._record(line, value, outcome, failure=failure, text=text)
        if len(self._unjournaled) >= 1000:
            self._checkpoint()

    def _record(
        self,
        line: int,
        value: Any,
        outcome: Outcome,
        *,
        failure: Failure | None = None,
        result: Any = None,
        text: str | None = None,
    ) -> None:
        summary = self.summary
        summary.records += 1
        if outcome is Outcome.ACCEPTED:
            summary.accepted += 1
            if self._files is not None and result is not None:
                self._files.write_result(line, result)
        else:
            assert failure is not None
            if outcome is Outcome.REJECTED:
                summary.rejected += 1
            else:
                summary.unknown += 1
            key = failure.reason if failure.code is None else f"{failure.reason}:{failure.code}"
            summary.by_reason[key] = summary.by_reason.get(key, 0) + 1
            if self._files is not None:
                self._files.write(outcome, line, text, value, failure)
        self._unjournaled.append(line)
        if self._on_outcome is not None:
            self._on_outcome(RecordOutcome(line, value if text is None else text, outcome, failure, result))

    def _checkpoint(self) -> None:
        """Make the settled records durable: outcome files first, then the journal."""
        self.summary.rate_limited = self._pacer.pauses - self._pauses_before
        if self._unjournaled:
            if self._files is not None:
                self._files.flush()
            if self._journal is not None:
                self._journal.record(self._unjournaled)
            self._unjournaled = []
        if self._on_progress is not None:
            self._on_progress(self.summary)

    def close(self) -> None:
        self._checkpoint()
