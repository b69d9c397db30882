"""Where every record ends: accepted, rejected or unknown, and the files for the last two."""

from __future__ import annotations

import enum
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ._input import InputFormat, dump_value


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"
    """The server acknowledged the record."""
    REJECTED = "rejected"
    """The record was refused, by our validation or by the server; it was not applied."""
    UNKNOWN = "unknown"
    """The call failed after it may have reached the server; the record may or may not be applied."""


@dataclass
class BulkSummary:
    """Counts of one bulk run. ``accepted + rejected + unknown == records``."""

    operation: str
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    unknown: int = 0
    skipped: int = 0
    """Input lines a resumed run skipped because an earlier run settled them."""
    batches: int = 0
    """Calls made, not counting the retries inside each."""
    rate_limited: int = 0
    """429 answers this process got for the operation during the run (each was waited out)."""
    elapsed: float = 0.0
    interrupted: bool = False
    """The run was stopped early; a rerun with resume sends what it did not settle."""
    by_reason: dict[str, int] = field(default_factory=dict)
    """Rejected and unknown records by ``reason`` or ``reason:code``."""

    @property
    def ok(self) -> bool:
        return self.rejected == 0 and self.unknown == 0 and not self.interrupted

    def as_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "records": self.records,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "unknown": self.unknown,
            "skipped": self.skipped,
            "batches": self.batches,
            "rate_limited": self.rate_limited,
            "elapsed_s": round(self.elapsed, 3),
            "records_per_s": round(self.records / self.elapsed, 1) if self.elapsed else None,
            "interrupted": self.interrupted,
            "by_reason": dict(sorted(self.by_reason.items())),
        }


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a record was rejected or is unknown."""

    reason: str
    """Short machine-readable cause, e.g. ``invalid``, ``api_error``, ``timeout``."""
    code: int | None = None
    msg: str | None = None
    status_code: int | None = None


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """What became of one input record."""

    line: int
    """1-based input line (or position in the iterable)."""
    value: Any
    """The record as sent (events with their ``randomId``), or the raw text of an unreadable line."""
    outcome: Outcome
    failure: Failure | None = None
    """Why, for rejected and unknown records."""
    result: Any = None
    """The record's own result, for operations that have one (``CuidResult`` for CUID lookups)."""


ResultWriter = Callable[[int, Any], dict[str, Any]]
"""Turn an accepted record's line and result into one line of ``results.jsonl``."""


class OutcomeFiles:
    """Writes rejected and unknown records, in the input's format, plus a reasons log.

    ``rejected.<ext>`` and ``unknown.<ext>`` hold the records exactly as they
    would be resent (events carry the ``randomId`` that was used), so a user
    can fix and resend them. ``failures.jsonl`` holds one line per record:
    its input line, outcome, reason, code and message.
    """

    def __init__(
        self,
        folder: Path,
        fmt: InputFormat,
        *,
        append: bool = False,
        result_line: ResultWriter | None = None,
    ) -> None:
        self.folder = folder
        self.fmt = fmt
        self._result_line = result_line
        self._dirty: set[str] = set()
        self._mode = "a" if append else "w"
        self._handles: dict[str, IO[str]] = {}
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)
        if not append:
            for name in (*self.paths(), self.results_path):
                name.unlink(missing_ok=True)

    def path(self, outcome: Outcome) -> Path:
        """``rejected.<ext>`` or ``unknown.<ext>``: records to fix and resend, in the input's format."""
        suffix = "jsonl" if self.fmt == "jsonl" else "txt"
        return self.folder / f"{outcome.value}.{suffix}"

    @property
    def failures_path(self) -> Path:
        """``failures.jsonl``: per rejected or unknown record, its line, outcome, reason, code, msg."""
        return self.folder / "failures.jsonl"

    @property
    def results_path(self) -> Path:
        """``results.jsonl``: per accepted record with a result (CUID lookups), its result."""
        return self.folder / "results.jsonl"

    def paths(self) -> tuple[Path, Path, Path]:
        return self.path(Outcome.REJECTED), self.path(Outcome.UNKNOWN), self.failures_path

    def _handle(self, name: str, path: Path) -> IO[str]:
        handle = self._handles.get(name)
        if handle is None:
            handle = self._handles[name] = path.open(self._mode, encoding="utf-8")
        return handle

    def write(self, outcome: Outcome, line: int, text: str | None, value: Any, failure: Failure) -> None:
        """Record one rejected or unknown record; ``text`` is used when ``value`` is unreadable."""
        record_text = text if text is not None else dump_value(value, self.fmt)
        reason = {
            "line": line,
            "outcome": outcome.value,
            "reason": failure.reason,
            "code": failure.code,
            "msg": failure.msg,
            "status_code": failure.status_code,
        }
        with self._lock:
            self._handle(outcome.value, self.path(outcome)).write(record_text + "\n")
            self._handle("failures", self.failures_path).write(json.dumps(reason, ensure_ascii=False) + "\n")
            self._dirty.update((outcome.value, "failures"))

    def write_result(self, line: int, result: Any) -> None:
        """Record the result of one accepted record, if this operation keeps results."""
        if self._result_line is None:
            return
        text = json.dumps(self._result_line(line, result), ensure_ascii=False)
        with self._lock:
            self._handle("results", self.results_path).write(text + "\n")
            self._dirty.add("results")

    def flush(self) -> None:
        """Write everything so far through to the disk (before the journal marks it settled)."""
        with self._lock:
            for name in self._dirty:
                handle = self._handles[name]
                handle.flush()
                os.fsync(handle.fileno())
            self._dirty.clear()

    def close(self) -> None:
        with self._lock:
            for handle in self._handles.values():
                handle.close()
            self._handles.clear()
