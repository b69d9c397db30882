"""Bulk ingestion at the API's ceiling: batches, pacing, retries, and an outcome for every record.

Each helper streams any iterable in constant memory, cuts batches of the
operation's ``maxItems``, paces calls to its ``x-qps-limit`` with the
process-wide pacer, keeps ``concurrency`` calls in flight, and retries only
where the client's retry policy allows. Every record ends accepted, rejected
(surely not applied; with its ``code`` and ``msg``) or unknown (the call
failed after it may have been applied). With ``out_dir``, rejected and
unknown records are written there in the input's format, ready to fix and
resend, and a journal lets ``resume=True`` skip what an earlier run settled.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from .._client import GrowthClient
from . import _jobs
from ._engine import BULK_MAX_RETRIES, DEFAULT_CONCURRENCY, Accepted, Job, run
from ._input import BadLine, InputFormat, Record, number_values, read_lines
from ._journal import Journal
from ._outcomes import BulkSummary, Failure, Outcome, OutcomeFiles, RecordOutcome, ResultWriter

if TYPE_CHECKING:
    from .._params import EventParam, SetUserAttributesParam, UserChannelsParam

__all__ = [
    "BULK_MAX_RETRIES",
    "DEFAULT_CONCURRENCY",
    "JOURNAL_NAME",
    "SUMMARY_NAME",
    "Accepted",
    "BadLine",
    "BulkSummary",
    "Failure",
    "Job",
    "Outcome",
    "Record",
    "RecordOutcome",
    "RunOptions",
    "get_cuids",
    "read_lines",
    "report_events",
    "run_job",
    "set_user_attributes",
    "set_user_channels",
]

JOURNAL_NAME = "journal.jsonl"
SUMMARY_NAME = "summary.json"

ProgressCallback = Callable[[BulkSummary], None]
OutcomeCallback = Callable[[RecordOutcome], None]


class RunOptions(TypedDict, total=False):
    """Options every bulk helper takes (see :func:`run_job`)."""

    concurrency: int
    out_dir: str | Path | None
    resume: bool
    on_outcome: OutcomeCallback | None
    on_progress: ProgressCallback | None
    stop: threading.Event | None


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
    client: GrowthClient, identity_name: str, identity_values: Iterable[str], **options: Unpack[RunOptions]
) -> BulkSummary:
    """Look up the CUID of any number of values; each accepted record's ``result`` is a ``CuidResult``.

    With ``out_dir`` the CUIDs also go to ``results.jsonl`` (line, value, cuid).
    """
    return _run_operation(_jobs.CUIDS, client, identity_values, {"identity_name": identity_name}, options)


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


def run_job(
    job: Job,
    client: GrowthClient,
    records: Iterable[Record | BadLine],
    fmt: InputFormat,
    *,
    result_line: ResultWriter | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    out_dir: str | Path | None = None,
    resume: bool = False,
    on_outcome: OutcomeCallback | None = None,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> BulkSummary:
    """Run a job over numbered records, with the output folder and journal when ``out_dir`` is given.

    ``concurrency`` calls are kept in flight (default 16). ``on_outcome`` gets
    every record's :class:`RecordOutcome` as it settles; ``on_progress`` gets
    the running :class:`BulkSummary` after each batch; setting ``stop`` ends
    the run like Ctrl-C does.

    The run gets a new ID, which ``job.prepare`` receives; with ``out_dir`` it
    is kept in the journal, so a resumed run has the same one. An ``out_dir``
    that holds a run is refused unless ``resume`` is true: starting over there
    would resend settled records under new ``randomId``\\ s.
    """
    if out_dir is None:
        if resume:
            raise ValueError("resume=True needs the out_dir of the run to resume")
        return run(
            job,
            client,
            records,
            run_id=uuid.uuid4(),
            concurrency=concurrency,
            on_outcome=on_outcome,
            on_progress=on_progress,
            stop=stop,
        )
    folder = Path(out_dir)
    journal_path = folder / JOURNAL_NAME
    if journal_path.exists() and not resume:
        raise FileExistsError(
            f"{folder} holds an earlier {job.operation_id} run ({JOURNAL_NAME}); resume it, "
            "or choose another folder"
        )
    journal = Journal(journal_path, job.operation_id, resume=resume)
    files = OutcomeFiles(folder, fmt, append=resume, result_line=result_line)
    skipped = [0]

    def progress(summary: BulkSummary) -> None:
        summary.skipped = skipped[0]
        if on_progress is not None:
            on_progress(summary)

    try:
        summary = run(
            job,
            client,
            _skipping(records, journal, skipped),
            run_id=journal.run_id,
            files=files,
            journal=journal,
            concurrency=concurrency,
            on_outcome=on_outcome,
            on_progress=progress,
            stop=stop,
        )
    finally:
        files.close()
        journal.close()
    summary.skipped = skipped[0]
    (folder / SUMMARY_NAME).write_text(json.dumps(summary.as_dict(), indent=2) + "\n", encoding="utf-8")
    return summary


def _skipping(
    records: Iterable[Record | BadLine], journal: Journal, skipped: list[int]
) -> Iterator[Record | BadLine]:
    done = journal.done
    for record in records:
        if record.line in done:
            skipped[0] += 1
            continue
        yield record
