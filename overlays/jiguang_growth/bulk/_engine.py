"""The bulk loop: check each record, cut batches, keep calls in flight, settle every record.

One engine serves every operation and both clients. A :class:`Job` says how
one operation's records are prepared, which schema checks one record, how
big a batch is and how a batch is sent. :class:`_Engine` holds every decision
and does no I/O of its own: its :meth:`~_Engine.steps` generator asks for a
batch to be started (:class:`_Start`) or for finished batches
(:class:`_Wait`). Two thin drivers answer it: :func:`run` with worker
threads for :class:`GrowthClient`, :func:`run_async` with tasks for
:class:`AsyncGrowthClient`. Either way input, outcome files, the journal and
the summary are handled by the one thread (or event loop) that drives it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Generator, Hashable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from .._client import AsyncGrowthClient, GrowthClient, cancelled_by
from .._delivery import (
    BULK_MAX_RETRIES,
    DEFAULT_CONCURRENCY,
    MAX_BATCH_BYTES,
    Accepted,
    BatchResult,
    Failure,
    Outcome,
    capped,
    failure_of,
    send_batch,
    send_batch_async,
)
from .._exceptions import (
    APIConnectionError,
    AuthenticationError,
    CancelledCallError,
    GrowthError,
    PermissionDeniedError,
    RequestValidationError,
)
from .._first_call import answered
from .._pacing import Pacer, shared_pacer
from .._retry import replay_safe
from .._validation import check_integer_text, validate_schema
from ._input import BadLine, BlankLine, Record
from ._journal import Journal, LineSet
from ._outcomes import BulkSummary, OutcomeFiles, RecordOutcome

__all__ = [
    "BULK_MAX_RETRIES",
    "CONNECTION_FAILURE_BUDGET",
    "DEFAULT_CONCURRENCY",
    "MAX_BATCH_BYTES",
    "NO_ANSWER_BUDGET",
    "Accepted",
    "Job",
    "Limits",
    "failure_of",
    "run",
    "run_async",
]

logger = logging.getLogger("jiguang_growth.bulk")

CONNECTION_FAILURE_BUDGET = 5
"""Calls in a row that end without an answer (each after its retries) before the run stops."""
NO_ANSWER_BUDGET = 120.0
"""Seconds without any answer from the server, while calls are in flight, before the run stops."""
_Client = TypeVar("_Client", GrowthClient, AsyncGrowthClient)

STOP_GRACE = 2.0
"""Seconds the calls in flight get to finish once a run is stopping; then they are cancelled, and
their records settle as the cancel leaves them (unknown when they may have been applied)."""
_POLL = 0.25
"""Seconds a driver waits for a batch before the engine looks at the stop flag again."""


@dataclass(frozen=True)
class Job:
    """How one operation's records go through the engine."""

    operation_id: str
    record_schema: str
    """openapi.yaml schema one prepared record must satisfy before it is batched."""
    batch_size: int
    call: Callable[[Any, list[Any]], Any]
    """Send one batch of prepared values with a client: returns the operation's result, or (with an
    :class:`AsyncGrowthClient`) an awaitable of it."""
    outcomes: Callable[[list[Any], Any], list[Accepted | Failure]] | None = None
    """One outcome per value from the call's result, in order; ``None``: every value is accepted."""
    prepare: Callable[[uuid.UUID, Record], Any] | None = None
    """Turn an input record into the value to send, given the run's ID (e.g. fill a ``randomId``
    that a resumed run, which keeps its ID, derives again the same way)."""
    key: Callable[[Any], Hashable] | None = None
    """The user a record writes to, for writes whose order matters: a batch waits while an
    earlier batch for one of its users is in flight, so each user's writes land in input order."""


@dataclass(frozen=True)
class Limits:
    """When a run stops on its own, and how big a batch may get."""

    connection_failures: int = CONNECTION_FAILURE_BUDGET
    no_answer: float = NO_ANSWER_BUDGET
    batch_bytes: int = MAX_BATCH_BYTES


@dataclass(eq=False)
class _Batch:
    records: list[Record]
    keys: frozenset[Hashable] = frozenset()

    @property
    def values(self) -> list[Any]:
        return [record.value for record in self.records]


@dataclass(frozen=True)
class _Start:
    """Step: start sending ``batch``."""

    batch: _Batch


@dataclass(frozen=True)
class _Wait:
    """Step: hand back the batches that finished, waiting up to a poll interval for one if ``block``."""

    block: bool


@dataclass(frozen=True)
class _Cancel:
    """Step: cancel the calls in flight (the run is stopping and their grace is over)."""


Finished = list[tuple[_Batch, list[BatchResult] | BaseException]]
"""What a driver answers a :class:`_Wait` with: each finished batch with its results or its error."""

Steps = Generator[_Start | _Wait | _Cancel, Finished | None, None]


# -- the drivers -------------------------------------------------------------------------------------


def run(
    job: Job,
    client: GrowthClient,
    records: Iterable[Record | BadLine | BlankLine],
    *,
    run_id: uuid.UUID,
    concurrency: int = DEFAULT_CONCURRENCY,
    stop: threading.Event | None = None,
    **engine: Any,
) -> BulkSummary:
    """Settle every record of ``records`` in the run ``run_id`` with worker threads; return the counts.

    Ctrl-C (``KeyboardInterrupt``) or ``stop`` ends the reading: calls in
    flight are finished and settled, nothing more is sent, and the summary
    says ``interrupted``. A second Ctrl-C while draining gives up at once.
    The other keywords go to :class:`_Engine`.
    """
    core = _Engine(job, client, run_id=run_id, concurrency=concurrency, stop=stop, **engine)
    cancel = threading.Event()  # set: the calls in flight end within a fraction of a second
    paced = cancelled_by(core.paced_client(client), cancel)
    running: dict[_Batch, Future[list[BatchResult]]] = {}
    pool = ThreadPoolExecutor(concurrency, thread_name_prefix=f"jiguang-bulk-{job.operation_id}")
    steps = core.steps(records)
    reply: Finished | None = None
    interrupt: KeyboardInterrupt | None = None
    try:
        while True:
            try:
                step = steps.send(reply) if interrupt is None else steps.throw(interrupt)
            except StopIteration:
                break
            reply, interrupt = None, None
            if isinstance(step, _Start):
                running[step.batch] = pool.submit(send_batch, job, paced, step.batch.values)
                continue
            if isinstance(step, _Cancel):
                cancel.set()
                continue
            try:
                reply = _finished_futures(running, step.block)
            except KeyboardInterrupt as error:
                interrupt = error
    except BaseException:  # a second Ctrl-C, or an output folder that stopped taking writes
        cancel.set()  # the workers end at once, so the process can exit
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        core.close()
    pool.shutdown(wait=True)
    return core.summary


def _finished_futures(running: dict[_Batch, Future[list[BatchResult]]], block: bool) -> Finished:
    if block and running:
        wait(running.values(), timeout=_POLL, return_when=FIRST_COMPLETED)
    done = [batch for batch, future in running.items() if future.done()]
    finished: Finished = []
    for batch in done:
        future = running.pop(batch)
        error = future.exception()
        finished.append((batch, error if error is not None else future.result()))
    return finished


async def run_async(
    job: Job,
    client: AsyncGrowthClient,
    records: Iterable[Record | BadLine | BlankLine],
    *,
    run_id: uuid.UUID,
    concurrency: int = DEFAULT_CONCURRENCY,
    stop: threading.Event | None = None,
    **engine: Any,
) -> BulkSummary:
    """:func:`run` for an async client: ``concurrency`` tasks in flight on the running event loop.

    Cancelling the task that awaits it cancels the calls in flight; their
    records are not journaled, so a resumed run sends them.
    """
    core = _Engine(job, client, run_id=run_id, concurrency=concurrency, stop=stop, **engine)
    paced = core.paced_client(client)
    running: dict[_Batch, asyncio.Task[list[BatchResult]]] = {}
    steps = core.steps(records)
    reply: Finished | None = None
    try:
        while True:
            try:
                step = steps.send(reply)
            except StopIteration:
                break
            reply = None
            if isinstance(step, _Start):
                running[step.batch] = asyncio.ensure_future(send_batch_async(job, paced, step.batch.values))
            elif isinstance(step, _Cancel):
                for task in running.values():
                    task.cancel()
            else:
                reply = await _finished_tasks(running, step.block)
    except BaseException:
        for task in running.values():
            task.cancel()
        raise
    finally:
        core.close()
    return core.summary


async def _finished_tasks(running: dict[_Batch, asyncio.Task[list[BatchResult]]], block: bool) -> Finished:
    if block and running:
        await asyncio.wait(running.values(), timeout=_POLL, return_when=asyncio.FIRST_COMPLETED)
    else:
        await asyncio.sleep(0)  # let the calls in flight move on
    done = [batch for batch, task in running.items() if task.done()]
    finished: Finished = []
    for batch in done:
        task = running.pop(batch)
        if task.cancelled():  # by _Cancel: the call may have gone out
            finished.append((batch, CancelledCallError(CANCELLED, method="", url="", request_sent=True)))
            continue
        error = task.exception()
        finished.append((batch, error if error is not None else task.result()))
    return finished


CANCELLED = f"the call was cancelled: the run was stopping and it took more than {STOP_GRACE:g} s"


# -- the engine: every decision, no I/O of its own -----------------------------------------------------


class _Engine:
    """Reads and checks records, cuts batches, decides when to start and when to stop, settles."""

    def __init__(
        self,
        job: Job,
        client: GrowthClient | AsyncGrowthClient,
        *,
        run_id: uuid.UUID,
        concurrency: int = DEFAULT_CONCURRENCY,
        stop: threading.Event | None = None,
        files: OutcomeFiles | None = None,
        journal: Journal | None = None,
        summary: BulkSummary | None = None,
        limits: Limits | None = None,
        on_outcome: Callable[[RecordOutcome], None] | None = None,
        on_progress: Callable[[BulkSummary], None] | None = None,
        on_stopping: Callable[[BulkSummary, int], None] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.job = job
        self.run_id = run_id
        self.concurrency = concurrency
        self.limits = limits or Limits()
        self._stop = stop
        self._on_stopping = on_stopping
        self._pace = client.pace or True  # a shared quota the client was given stays
        quota_url = self._pace if isinstance(self._pace, str) else None
        pacer = shared_pacer(
            job.operation_id, project_id=client.project_id, base_url=client.api_url, quota_url=quota_url
        )
        self._pacer = pacer
        self.settle = _Settler(
            summary or BulkSummary(job.operation_id),
            files=files,
            journal=journal,
            on_outcome=on_outcome,
            on_progress=on_progress,
            pacer=pacer,
        )
        self.summary = self.settle.summary
        self._notes_sending = journal is not None and not replay_safe(job.operation_id)
        """Whether each batch's lines are journaled before it is sent (not replay-safe, or not known)."""
        self._left_in_flight = LineSet()
        """Lines an earlier invocation sent and never settled: settled as unknown, never sent again."""
        if journal is not None and self._notes_sending:
            for start, end in journal.in_flight.ranges():  # a copy: this run's sends go on adding to it
                self._left_in_flight.add_range(start, end)
        self._started = time.monotonic()
        self._announced = False
        self._cancelled = False
        """Whether calls in flight were cancelled because the run was stopping."""
        self._in_flight: list[_Batch] = []
        """Batches started and not yet settled."""
        self._unsettled: Finished = []
        """Batches the driver reported finished that are not settled yet."""
        self._opened = False
        """Whether a call was answered with something other than 401/403: until then, one call at
        a time, so that a wrong secret costs one call and not a round trip's worth (_first_call)."""

    def paced_client(self, client: _Client) -> _Client:
        """The client the calls go through: paced, with the bulk run's retries."""
        return client.with_options(pace=self._pace, max_retries=max(client.max_retries, BULK_MAX_RETRIES))

    def steps(self, records: Iterable[Record | BadLine | BlankLine]) -> Steps:
        """Run the whole job, asking the driver to start batches and to report finished ones."""
        in_flight = self._in_flight
        try:
            for batch in self._batches(records):
                while not self._room_for(batch, in_flight) and not self._halted():
                    yield from self._collect(block=True)
                if self._halted():
                    self._left_unsent(batch.records, None)  # cut, never started
                    break
                if not in_flight:
                    self.settle.mark_busy()  # the no-answer clock runs only while calls are out
                if self._notes_sending:
                    self.settle.sending(batch)  # written and fsynced before the batch can go out
                yield _Start(batch)
                in_flight.append(batch)
                self.summary.batches += 1
                yield from self._collect(block=False)
        except KeyboardInterrupt:
            self.summary.interrupted = True
        yield from self._drain()

    def _drain(self) -> Steps:
        """Settle every call in flight; once stopping (now or meanwhile), cancel those still out after
        STOP_GRACE. A first Ctrl-C here stops the run as one while reading does; a second gives up."""
        ends: float | None = None
        while self._in_flight or self._unsettled:
            if ends is None and self._halted():
                ends = time.monotonic() + STOP_GRACE
            if ends is not None and time.monotonic() >= ends:
                yield _Cancel()
                self._cancelled = True
                ends = float("inf")  # once
            try:
                yield from self._collect(block=True)
            except KeyboardInterrupt:
                if self.summary.interrupted:
                    raise
                self.summary.interrupted = True

    def _room_for(self, batch: _Batch, in_flight: list[_Batch]) -> bool:
        """Whether ``batch`` may start now: a free slot, and no batch in flight for one of its users.

        The slots are what the pacer's rate times the answer time needs (Little's law), at most
        ``concurrency``."""
        if len(in_flight) >= min(self.concurrency, self._pacer.in_flight_target()):
            return False
        if in_flight and not self._opened:
            return False  # a careful start: the run's first call goes alone

        return not batch.keys or all(batch.keys.isdisjoint(other.keys) for other in in_flight)

    def _halted(self) -> bool:
        """Whether the run reads no further (interrupt, ``stop``, or a stop of its own); says so once."""
        if self._stop is not None and self._stop.is_set():
            self.summary.interrupted = True
        halted = self.summary.interrupted or self.summary.stopped is not None
        if halted and not self._announced:
            self._announced = True
            self.summary.interrupted = True
            if self._on_stopping is not None:
                self._on_stopping(self.summary, len(self._in_flight))
        return halted

    def _collect(self, *, block: bool) -> Generator[_Wait, Finished | None, None]:
        """Settle the batches the driver reports finished (kept until settled, should Ctrl-C come)."""
        if not self._unsettled:
            self._unsettled.extend((yield _Wait(block)) or ())
        while self._unsettled:
            batch, results = self._unsettled.pop(0)
            self._in_flight.remove(batch)
            if not self._opened:
                outcomes = [results] if isinstance(results, BaseException) else results
                self._opened = any(answered(outcome) for outcome in outcomes)
            self.settle.batch(batch, results, self.limits.connection_failures)
        if not self._in_flight:
            self.settle.mark_idle()
        elif block:
            self.settle.check_no_answer(self.limits.no_answer)

    def _batches(self, records: Iterable[Record | BadLine | BlankLine]) -> Generator[_Batch, None, None]:
        """Checked records in batches of at most ``batch_size`` records and ``batch_bytes`` bytes."""
        job, settle = self.job, self.settle
        batch: list[Record] = []
        size = 0
        for item in records:
            if self._halted():
                self._left_unsent(batch, item)
                return
            if isinstance(item, BlankLine):
                self.summary.skipped += 1
                continue
            if isinstance(item, BadLine):
                settle.one(item.line, item.text, None, Failure(item.kind, msg=item.reason))
                continue
            if item.line in self._left_in_flight:
                settle.one(item.line, None, item.value, IN_FLIGHT_AT_STOP, Outcome.UNKNOWN)
                continue
            checked = self._checked(item)
            if checked is None:
                continue
            record, record_size = checked
            if batch and size + record_size > self.limits.batch_bytes:
                yield self._batch(batch)
                batch, size = [], 0
            batch.append(record)
            size += record_size
            if len(batch) == job.batch_size:
                yield self._batch(batch)
                batch, size = [], 0
        if batch and not self._halted():
            yield self._batch(batch)
        elif batch:
            self._left_unsent(batch, None)

    def _left_unsent(self, batch: list[Record], item: Record | BadLine | BlankLine | None) -> None:
        """Count the lines read but not sent when the run stopped: unsettled, for a resume to send."""
        if isinstance(item, BlankLine):
            self.summary.skipped += 1
        self.summary.unsettled += len(batch) + (item is not None and not isinstance(item, BlankLine))

    def _batch(self, records: list[Record]) -> _Batch:
        key = self.job.key
        return _Batch(records, frozenset(key(r.value) for r in records) if key is not None else frozenset())

    def _checked(self, item: Record) -> tuple[Record, int] | None:
        """The prepared record and its size in JSON, or ``None`` once it is settled as rejected."""
        value = item.value
        try:
            if self.job.prepare is not None:
                value = self.job.prepare(self.run_id, item)
            validate_schema(self.job.record_schema, value)
            return Record(item.line, value), _json_size(value)
        except RequestValidationError as error:
            message = _record_message(str(error))
        except ValueError as error:  # NaN or infinity: JSON cannot carry it
            message = f"record: cannot be sent as JSON: {_json_problem(error)}"
        self.settle.one(item.line, None, value, Failure("invalid", msg=message))
        return None

    def close(self) -> None:
        self.summary.elapsed = time.monotonic() - self._started
        self.settle.close()
        summary = self.summary
        if summary.interrupted and summary.input_read_to_end and summary.stopped is None:
            # A stop that came once every line was read changed nothing unless it cancelled calls.
            summary.interrupted = self._cancelled or summary.unsettled > 0


def _json_size(value: Any) -> int:
    """Bytes of ``value`` as JSON, the way the client writes it; ValueError when JSON cannot carry it."""
    try:
        return len(orjson.dumps(value))
    except TypeError:  # beyond 64 bits, or a type orjson does not know: the standard library decides
        pass
    try:
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode())
    except ValueError:
        check_integer_text(value, "record")  # one too long to write: named by its path
        raise


def _json_problem(error: ValueError) -> str:
    return capped(str(error)) or type(error).__name__


def _record_message(message: str) -> str:
    """A schema message about one record, with the record's own path ("body.x" -> "record.x")."""
    return "record" + message[4:] if message.startswith("body") else message


def _holds_back(error: BaseException) -> bool:
    """Whether a record whose call ended in ``error`` stays unsettled, for a resumed run to send.

    Bad credentials (401, 403) say nothing about the record, and a call that
    never left (no connection) surely did not apply it.
    """
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return True
    return isinstance(error, APIConnectionError) and not error.request_sent


IN_FLIGHT_AT_STOP = Failure(
    "in_flight_at_stop",
    msg="the call was in flight when an earlier invocation of the run stopped, so it may have been "
    "applied; it was not sent again because the operation is not replay-safe",
)
"""How a resumed run settles a line that an earlier invocation sent and never settled."""

CREDENTIALS_MESSAGE = "the server refused the credentials ({status} {msg})"


class _Settler:
    """Turns finished calls into per-record outcomes, files, journal lines, counts and stops."""

    def __init__(
        self,
        summary: BulkSummary,
        *,
        files: OutcomeFiles | None,
        journal: Journal | None,
        on_outcome: Callable[[RecordOutcome], None] | None,
        on_progress: Callable[[BulkSummary], None] | None,
        pacer: Pacer,
    ) -> None:
        self.summary = summary
        self._files = files
        self._journal = journal
        self._on_outcome = on_outcome
        self._on_progress = on_progress
        self._pacer = pacer
        self._pacer_rate_limited_before = pacer.rate_limited
        self._rate_limited_before = summary.rate_limited
        self._unjournaled: list[int] = []
        self._released: list[int] = []
        """Lines sent (with a "sending" entry) that surely were not applied, and stay unsettled."""
        self._failures_in_a_row = 0
        self._last_answer = time.monotonic()
        self._idle_since: float | None = self._last_answer  # idle until the first call starts

    def batch(self, batch: _Batch, results: list[BatchResult] | BaseException, budget: int) -> None:
        """Settle one finished batch (its results, or the error that ended it)."""
        if isinstance(results, BaseException):
            if not isinstance(results, Exception):
                raise results
            if not isinstance(results, GrowthError):
                logger.error("unexpected error in a %s batch", self.summary.operation, exc_info=results)
            results = [results] * len(batch.records)
        if len(results) != len(batch.records):
            raise RuntimeError(f"{len(results)} results for a batch of {len(batch.records)}")
        self._note_answers(results, budget)
        for record, result in zip(batch.records, results, strict=True):
            if isinstance(result, Accepted):
                self._record(record.line, record.value, Outcome.ACCEPTED, result=result.result)
            elif isinstance(result, Failure):
                self._record(record.line, record.value, Outcome.REJECTED, failure=result)
            elif _holds_back(result):
                self.summary.unsettled += 1
                self._released.append(record.line)
            else:
                outcome, failure = failure_of(result)
                self._record(record.line, record.value, outcome, failure=failure)
        self._checkpoint()

    def _note_answers(self, results: list[BatchResult], budget: int) -> None:
        """Count calls that got no answer, and stop the run on bad credentials or too many in a row."""
        errors = [r for r in results if isinstance(r, Exception)]
        refused = next(
            (e for e in errors if isinstance(e, AuthenticationError | PermissionDeniedError)), None
        )
        if refused is not None:
            message = CREDENTIALS_MESSAGE.format(status=refused.status_code, msg=refused.msg or refused)
            self._stop("credentials", message)
        if any(isinstance(e, CancelledCallError) for e in errors):
            return  # the run cancelled it while stopping: it says nothing about the server
        if len(errors) < len(results) or any(not isinstance(e, APIConnectionError) for e in errors):
            self._failures_in_a_row = 0
            self._last_answer = time.monotonic()
            return
        self._failures_in_a_row += 1
        if self._failures_in_a_row >= budget:
            self._stop("connection", f"{self._failures_in_a_row} calls in a row got no answer ({errors[0]})")

    def check_no_answer(self, budget: float) -> None:
        """Stop the run once no answer came for ``budget`` seconds while calls were in flight."""
        silent = time.monotonic() - self._last_answer
        if silent >= budget and self.summary.batches and self.summary.stopped is None:
            self._stop("no_answer", f"no answer from the server for {silent:.1f} s")

    def mark_idle(self) -> None:
        """Nothing is in flight: the no-answer clock pauses until the next call starts."""
        if self._idle_since is None:
            self._idle_since = time.monotonic()

    def mark_busy(self) -> None:
        """A call starts: the no-answer clock goes on, without the time nothing was in flight."""
        if self._idle_since is not None:
            self._last_answer += time.monotonic() - self._idle_since
            self._idle_since = None

    def _stop(self, reason: str, message: str) -> None:
        if self.summary.stopped is None:
            self.summary.stopped, self.summary.stop_message = reason, capped(message)
            logger.error("stopping the %s run: %s", self.summary.operation, message)

    def sending(self, batch: _Batch) -> None:
        """Journal the batch's lines before it is sent."""
        if self._journal is not None:
            self._journal.sending(record.line for record in batch.records)

    def one(
        self, line: int, text: str | None, value: Any, failure: Failure, outcome: Outcome = Outcome.REJECTED
    ) -> None:
        """Settle a record that is not sent (unreadable, invalid, or in flight at an earlier stop)."""
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
        self.summary.rate_limited = (
            self._rate_limited_before + self._pacer.rate_limited - self._pacer_rate_limited_before
        )
        if self._unjournaled or self._released:
            if self._files is not None:
                self._files.flush()
            if self._journal is not None:
                sizes = self._files.sizes() if self._files is not None else {}
                self._journal.record(self._unjournaled, self.summary.totals(), sizes, self._released)
            self._unjournaled, self._released = [], []
        if self._on_progress is not None:
            self._on_progress(self.summary)

    def close(self) -> None:
        self._checkpoint()
