"""Bulk ingestion at the API's ceiling: batches, pacing, retries, and an outcome for every record.

Each helper streams any iterable in constant memory, cuts batches of the
operation's ``maxItems``, paces calls to its ``x-qps-limit`` with the
process-wide pacer, keeps as many calls in flight as the answer time needs
(at most ``concurrency``), and retries only
where the client's retry policy allows. Every record ends accepted, rejected
(surely not applied; with its ``code`` and ``msg``) or unknown (the call
failed after it may have been applied). With ``out_dir``, rejected and
unknown records are written there in the input's format, ready to fix and
resend, and a journal lets ``resume=True`` skip what an earlier run settled.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from .. import _files
from .._client import AsyncGrowthClient, GrowthClient
from .._delivery import BULK_MAX_RETRIES, DEFAULT_CONCURRENCY, MESSAGE_LIMIT, Accepted, Failure, Outcome
from . import _jobs
from ._engine import (
    CONNECTION_FAILURE_BUDGET,
    MAX_BATCH_BYTES,
    NO_ANSWER_BUDGET,
    Job,
    Limits,
    run,
    run_async,
)
from ._errors import JournalError, OutputError
from ._input import BadLine, BlankLine, InputFormat, Record, number_values, read_lines
from ._journal import Journal, RunIdentity
from ._lock import LOCK_NAME, RunLockedError, hold_run_lock, refuse_if_locked
from ._outcomes import BulkSummary, OutcomeFiles, RecordOutcome, ResultWriter

if TYPE_CHECKING:
    from .._params import EventParam, SetUserAttributesParam, UserChannelsParam

__all__ = [
    "BULK_MAX_RETRIES",
    "CONNECTION_FAILURE_BUDGET",
    "DEFAULT_CONCURRENCY",
    "JOURNAL_NAME",
    "LOCK_NAME",
    "MAX_BATCH_BYTES",
    "MESSAGE_LIMIT",
    "NO_ANSWER_BUDGET",
    "SUMMARY_NAME",
    "Accepted",
    "BadLine",
    "BlankLine",
    "BulkSummary",
    "Failure",
    "Job",
    "JournalError",
    "Limits",
    "Outcome",
    "OutputError",
    "Record",
    "RecordOutcome",
    "RunLockedError",
    "RunOptions",
    "check_out_dir",
    "get_cuids",
    "get_cuids_async",
    "read_lines",
    "report_events",
    "report_events_async",
    "run_job",
    "run_job_async",
    "set_user_attributes",
    "set_user_attributes_async",
    "set_user_channels",
    "set_user_channels_async",
]

JOURNAL_NAME = "journal.jsonl"
SUMMARY_NAME = "summary.json"

ProgressCallback = Callable[[BulkSummary], None]
OutcomeCallback = Callable[[RecordOutcome], None]
StoppingCallback = Callable[[BulkSummary, int], None]


class RunOptions(TypedDict, total=False):
    """Options every bulk helper takes (see :func:`run_job`)."""

    concurrency: int
    out_dir: str | Path | None
    resume: bool
    on_outcome: OutcomeCallback | None
    on_progress: ProgressCallback | None
    on_stopping: StoppingCallback | None
    stop: threading.Event | None
    limits: Limits | None


def report_events(
    client: GrowthClient,
    events: Iterable[EventParam],
    *,
    app_key: str | None = None,
    **options: Unpack[RunOptions],
) -> BulkSummary:
    """Report any number of events (dicts). Events without a ``randomId`` get a stable one."""
    return _run_operation(_jobs.EVENTS, client, events, {"app_key": app_key}, options)


def get_cuids(
    client: GrowthClient,
    identity_name: str,
    identity_values: Iterable[str],
    *,
    strip: bool = False,
    **options: Unpack[RunOptions],
) -> BulkSummary:
    """Look up the CUID of any number of values; each accepted record's ``result`` is a ``CuidResult``.

    A value with white space around it is rejected, unless ``strip`` removes
    it first. With ``out_dir`` the CUIDs also go to ``results.jsonl`` (line, value, cuid).
    """
    settings = {"identity_name": identity_name, "strip": strip}
    return _run_operation(_jobs.CUIDS, client, identity_values, settings, options)


def set_user_channels(
    client: GrowthClient, items: Iterable[UserChannelsParam], **options: Unpack[RunOptions]
) -> BulkSummary:
    """Set the contact values of any number of users (``UserChannels`` dicts)."""
    return _run_operation(_jobs.CHANNELS, client, items, {}, options)


def set_user_attributes(
    client: GrowthClient, records: Iterable[SetUserAttributesParam], **options: Unpack[RunOptions]
) -> BulkSummary:
    """Write attributes of many users, one ``{"cuid": ..., "data": {...}}`` record per call.

    Not safe to replay: a call that may have been applied is never resent, and
    its record ends as unknown.
    """
    return _run_operation(_jobs.ATTRIBUTES, client, records, {}, options)


async def report_events_async(
    client: AsyncGrowthClient,
    events: Iterable[Any],
    *,
    app_key: str | None = None,
    **options: Unpack[RunOptions],
) -> BulkSummary:
    """:func:`report_events` with an :class:`AsyncGrowthClient`, on the running event loop."""
    return await _run_operation_async(_jobs.EVENTS, client, events, {"app_key": app_key}, options)


async def get_cuids_async(
    client: AsyncGrowthClient,
    identity_name: str,
    identity_values: Iterable[str],
    *,
    strip: bool = False,
    **options: Unpack[RunOptions],
) -> BulkSummary:
    """:func:`get_cuids` with an :class:`AsyncGrowthClient`, on the running event loop."""
    settings = {"identity_name": identity_name, "strip": strip}
    return await _run_operation_async(_jobs.CUIDS, client, identity_values, settings, options)


async def set_user_channels_async(
    client: AsyncGrowthClient, items: Iterable[Any], **options: Unpack[RunOptions]
) -> BulkSummary:
    """:func:`set_user_channels` with an :class:`AsyncGrowthClient`, on the running event loop."""
    return await _run_operation_async(_jobs.CHANNELS, client, items, {}, options)


async def set_user_attributes_async(
    client: AsyncGrowthClient, records: Iterable[Any], **options: Unpack[RunOptions]
) -> BulkSummary:
    """:func:`set_user_attributes` with an :class:`AsyncGrowthClient`, on the running event loop."""
    return await _run_operation_async(_jobs.ATTRIBUTES, client, records, {}, options)


def _run_operation(
    operation: _jobs.BulkOperation,
    client: GrowthClient,
    values: Iterable[Any],
    settings: dict[str, Any],
    options: RunOptions,
) -> BulkSummary:
    job = operation.job(settings)  # checks the settings before anything is read
    return run_job(
        job, client, number_values(values), operation.fmt, result_line=operation.result_line, **options
    )


async def _run_operation_async(
    operation: _jobs.BulkOperation,
    client: AsyncGrowthClient,
    values: Iterable[Any],
    settings: dict[str, Any],
    options: RunOptions,
) -> BulkSummary:
    job = operation.job(settings)
    return await run_job_async(
        job, client, number_values(values), operation.fmt, result_line=operation.result_line, **options
    )


def run_job(
    job: Job,
    client: GrowthClient,
    records: Iterable[Record | BadLine | BlankLine],
    fmt: InputFormat,
    *,
    result_line: ResultWriter | None = None,
    input_identity: Mapping[str, Any] | None = None,
    input_lines: int | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    out_dir: str | Path | None = None,
    resume: bool = False,
    **options: Any,
) -> BulkSummary:
    """Run a job over numbered records, with the output folder and journal when ``out_dir`` is given.

    At most ``concurrency`` calls are kept in flight (default 64; as many as
    the pacer's rate times the answer time needs). ``on_outcome`` gets
    every record's :class:`RecordOutcome` as it settles; ``on_progress`` gets
    the running :class:`BulkSummary` after each batch; ``on_stopping`` gets
    the summary and the number of calls in flight once the run stops reading
    early; setting ``stop`` ends the run like Ctrl-C does. ``limits`` changes
    when the run stops on its own and how big a batch gets (:class:`Limits`).

    The run gets a new ID, which ``job.prepare`` receives; with ``out_dir`` it
    is kept in the journal with the run's identity (operation, base URL,
    project ID, and ``input_identity``: the input file's path, size and
    SHA-256), so a resumed run has the same ID and a different run is refused
    (:class:`JournalError`). An ``out_dir`` that holds a run is refused unless
    ``resume`` is true: starting over there would resend settled records under
    new ``randomId``\\ s. The summary counts the whole run, earlier invocations
    included. An output folder that cannot be written raises :class:`OutputError`.
    """
    with _prepared(
        job,
        client,
        records,
        fmt,
        result_line=result_line,
        input_identity=input_identity,
        out_dir=out_dir,
        resume=resume,
    ) as (inputs, engine):
        summary = run(job, client, inputs, concurrency=concurrency, **engine, **options)
        return _finished(_reading_told(summary, input_lines), out_dir)


async def run_job_async(
    job: Job,
    client: AsyncGrowthClient,
    records: Iterable[Record | BadLine | BlankLine],
    fmt: InputFormat,
    *,
    result_line: ResultWriter | None = None,
    input_identity: Mapping[str, Any] | None = None,
    input_lines: int | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    out_dir: str | Path | None = None,
    resume: bool = False,
    **options: Any,
) -> BulkSummary:
    """:func:`run_job` with an :class:`AsyncGrowthClient`: the same outcomes, journal and resume."""
    with _prepared(
        job,
        client,
        records,
        fmt,
        result_line=result_line,
        input_identity=input_identity,
        out_dir=out_dir,
        resume=resume,
    ) as (inputs, engine):
        summary = await run_async(job, client, inputs, concurrency=concurrency, **engine, **options)
        return _finished(_reading_told(summary, input_lines), out_dir)


def check_out_dir(out_dir: str | Path, *, resume: bool) -> Path:
    """Refuse an output folder before anything starts: not a folder, not writable, or holding a run.

    Raises :class:`RunLockedError` while another run holds the folder (even
    to resume it), :class:`OutputError`, or ``FileExistsError`` for a folder
    that holds a run when ``resume`` is false.
    """
    return _checked_folder(out_dir, resume=resume, look=True)


def _checked_folder(out_dir: str | Path, *, resume: bool, look: bool) -> Path:
    """:func:`check_out_dir`; ``look``: whether to look for a run holding the folder (not when this
    process holds it)."""
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} is not a folder")
    existing = next((p for p in (folder, *folder.absolute().parents) if p.exists()), None)
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to {folder}: {existing} is not writable")
    if look and folder.is_dir():
        refuse_if_locked(folder)
    journal_path = folder / JOURNAL_NAME
    if journal_path.exists() and not resume:
        raise FileExistsError(
            f"{folder} holds an earlier run ({JOURNAL_NAME}); resume it, or choose another folder"
        )
    return folder


@contextlib.contextmanager
def _locked(out_dir: str | Path | None) -> Iterator[None]:
    """Hold the output folder's run lock for the whole run (checked first, so a held one says so)."""
    if out_dir is None:
        yield
        return
    check_out_dir(out_dir, resume=True)  # a folder that is not one, or not writable, is said as such
    with hold_run_lock(Path(out_dir)):
        yield


@contextlib.contextmanager
def _prepared(
    job: Job,
    client: GrowthClient | AsyncGrowthClient,
    records: Iterable[Record | BadLine | BlankLine],
    fmt: InputFormat,
    *,
    result_line: ResultWriter | None,
    input_identity: Mapping[str, Any] | None,
    out_dir: str | Path | None,
    resume: bool,
) -> Iterator[tuple[Iterable[Record | BadLine | BlankLine], dict[str, Any]]]:
    """The records to send and the engine's settings; with ``out_dir``, the run lock (held until the
    ``with`` ends, summary written), the journal and files around it."""
    summary = BulkSummary(job.operation_id)
    records = _counted(records, summary)
    if out_dir is None:
        if resume:
            raise ValueError("resume=True needs the out_dir of the run to resume")
        yield records, {"run_id": uuid.uuid4(), "summary": summary}
        return
    with _locked(out_dir):  # held until the with ends: the summary is written by then
        folder = _checked_folder(out_dir, resume=resume, look=False)  # the run lock is held
        identity = RunIdentity(job.operation_id, client.api_url, client.project_id, input_identity)
        journal = Journal(folder / JOURNAL_NAME, identity, resume=resume)
        try:
            resumed = resume and journal.last.seq > 0
            sizes = journal.last.sizes
            files = OutcomeFiles(folder, fmt, append=resumed, result_line=result_line, sizes=sizes)
        except BaseException:
            journal.close()
            raise
        summary.add_totals(journal.last.totals)
        engine = {"run_id": journal.run_id, "files": files, "journal": journal, "summary": summary}
        try:
            yield _skipping(records, journal), engine
        finally:
            files.close()
            journal.close()


def _finished(summary: BulkSummary, out_dir: str | Path | None) -> BulkSummary:
    if out_dir is not None:
        path = Path(out_dir) / SUMMARY_NAME
        try:
            _files.replace_file(path, (json.dumps(summary.as_dict(), indent=2) + "\n").encode())
        except OSError as error:
            raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    return summary


def _counted(
    records: Iterable[Record | BadLine | BlankLine], summary: BulkSummary
) -> Iterator[Record | BadLine | BlankLine]:
    """``records``, noting in ``summary`` how many lines were read and whether all of them were."""
    for record in records:
        summary.lines_read = record.line
        yield record
    summary.input_read_to_end = True


def _reading_told(summary: BulkSummary, input_lines: int | None) -> BulkSummary:
    """Say how many input lines were never read (``None``: not known)."""
    if summary.input_read_to_end:
        summary.lines_unread = 0
    elif input_lines is not None:
        summary.lines_unread = max(0, input_lines - summary.lines_read)
    return summary


def _skipping(
    records: Iterable[Record | BadLine | BlankLine], journal: Journal
) -> Iterator[Record | BadLine | BlankLine]:
    done = journal.done
    for record in records:
        if not isinstance(record, BlankLine) and record.line in done:
            continue
        yield record
