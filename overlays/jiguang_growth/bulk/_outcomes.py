"""Where every record ends: accepted, rejected or unknown, and the files for the last two."""

from __future__ import annotations

import contextlib
import enum
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ._errors import JournalError, OutputError
from ._input import InputFormat, dump_value

MESSAGE_LIMIT = 1000
"""Characters of a failure message kept (in failures.jsonl, on stderr, in callbacks); the rest is cut
with a note of how much, so a 50 MB bad value or server message does not become a 50 MB line."""


def capped(text: str | None, limit: int = MESSAGE_LIMIT) -> str | None:
    """``text`` cut to ``limit`` characters, saying how many were cut."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit:,} more characters cut]"


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
    """Records settled over the whole run: a resumed run counts the earlier invocations' too."""
    accepted: int = 0
    rejected: int = 0
    unknown: int = 0
    resumed: int = 0
    """How many of ``records`` earlier invocations of the run settled (this one did not send them)."""
    skipped: int = 0
    """Blank input lines: no record, nothing sent."""
    unsettled: int = 0
    """Records this invocation read but did not settle, because the run stopped (bad credentials, no
    connection): they are not journaled, so a resumed run sends them."""
    batches: int = 0
    """Calls made over the whole run, not counting the retries inside each."""
    rate_limited: int = 0
    """429 answers waited out over the whole run (for the operation, in this process)."""
    elapsed: float = 0.0
    """Seconds this invocation took."""
    interrupted: bool = False
    """The run ended early; a rerun with resume sends what it did not settle."""
    stopped: str | None = None
    """Why the run stopped on its own (``credentials``, ``connection``, ``no_answer``), else ``None``."""
    stop_message: str | None = None
    """What made it stop, in words."""
    by_reason: dict[str, int] = field(default_factory=dict)
    """Rejected and unknown records by ``reason`` or ``reason:code``."""
    lines_read: int = 0
    """Input lines this invocation read, blank ones and those earlier invocations settled included."""
    input_read_to_end: bool = False
    """Whether this invocation read the input to its end."""
    lines_unread: int | None = None
    """Input lines never read because the run stopped (0 when read to the end); ``None`` when
    the input's length is not known (standard input, a pipe, an iterable)."""

    TOTALS = ("records", "accepted", "rejected", "unknown", "batches", "rate_limited")
    """The counts that add up over the invocations of one run (kept in its journal)."""

    @property
    def ok(self) -> bool:
        return self.rejected == 0 and self.unknown == 0 and not self.interrupted and not self.unsettled

    def totals(self) -> dict[str, Any]:
        """The whole-run counts, as a journal checkpoint keeps them."""
        found: dict[str, Any] = {name: getattr(self, name) for name in self.TOTALS}
        found["by_reason"] = dict(self.by_reason)
        return found

    def add_totals(self, totals: dict[str, Any]) -> None:
        """Start from the counts an earlier invocation of the run left (ignoring any of a wrong type)."""
        for name in self.TOTALS:
            value = totals.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                setattr(self, name, getattr(self, name) + value)
        reasons = totals.get("by_reason")
        if isinstance(reasons, dict):
            for key, count in reasons.items():
                if isinstance(count, int) and not isinstance(count, bool):
                    self.by_reason[key] = self.by_reason.get(key, 0) + count
        self.resumed = self.records

    def as_dict(self) -> dict[str, Any]:
        sent = self.records - self.resumed
        return {
            "operation": self.operation,
            "records": self.records,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "unknown": self.unknown,
            "resumed": self.resumed,
            "skipped": self.skipped,
            "unsettled": self.unsettled,
            "batches": self.batches,
            "rate_limited": self.rate_limited,
            "elapsed_s": round(self.elapsed, 3),
            "records_per_s": round(sent / self.elapsed, 1) if self.elapsed else None,
            "interrupted": self.interrupted,
            "stopped": self.stopped,
            "stop_message": self.stop_message,
            "by_reason": dict(sorted(self.by_reason.items())),
            "lines_read": self.lines_read,
            "lines_unread": self.lines_unread,
        }


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a record was rejected or is unknown."""

    reason: str
    """Short machine-readable cause, e.g. ``invalid``, ``api_error``, ``timeout``."""
    code: int | None = None
    msg: str | None = None
    """At most :data:`MESSAGE_LIMIT` characters, plus a note of how many were cut."""
    status_code: int | None = None

    def __post_init__(self) -> None:
        if self.msg is not None and len(self.msg) > MESSAGE_LIMIT:
            object.__setattr__(self, "msg", capped(self.msg))


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
        sizes: dict[str, int] | None = None,
    ) -> None:
        """Open the files; with ``append``, first cut each back to its settled size in ``sizes``."""
        self.folder = folder
        self.fmt = fmt
        self._result_line = result_line
        self._dirty: set[str] = set()
        self._handles: dict[str, IO[str]] = {}
        self._lock = threading.Lock()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for path in self.all_paths():
                self._restore(path, (sizes or {}).get(path.name, 0) if append else 0)
        except OSError as error:
            raise OutputError(f"cannot write to {folder}: {error.strerror or error}") from None

    def all_paths(self) -> tuple[Path, ...]:
        return (*self.paths(), self.results_path)

    @staticmethod
    def _restore(path: Path, size: int) -> None:
        """Cut ``path`` back to ``size`` bytes: what follows was written after the last checkpoint."""
        if not path.exists():
            if size:
                raise JournalError(f"cannot resume: {path} is missing, but the journal says it held records")
            return
        if path.stat().st_size < size:
            raise JournalError(
                f"cannot resume: {path} is shorter than the journal says ({size:,} bytes); it was changed"
            )
        with path.open("r+b") as handle:
            handle.truncate(size)

    def sizes(self) -> dict[str, int]:
        """Bytes written to each file so far (call after :meth:`flush`)."""
        with self._lock:
            return {path.name: path.stat().st_size for path in self.all_paths() if path.exists()}

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
            handle = self._handles[name] = path.open("a", encoding="utf-8")
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
        with self._lock, self._writing():
            self._handle(outcome.value, self.path(outcome)).write(record_text + "\n")
            self._handle("failures", self.failures_path).write(json.dumps(reason, ensure_ascii=False) + "\n")
            self._dirty.update((outcome.value, "failures"))

    def write_result(self, line: int, result: Any) -> None:
        """Record the result of one accepted record, if this operation keeps results."""
        if self._result_line is None:
            return
        text = json.dumps(self._result_line(line, result), ensure_ascii=False)
        with self._lock, self._writing():
            self._handle("results", self.results_path).write(text + "\n")
            self._dirty.add("results")

    def flush(self) -> None:
        """Write everything so far through to the disk (before the journal marks it settled)."""
        with self._lock, self._writing():
            for name in self._dirty:
                handle = self._handles[name]
                handle.flush()
                os.fsync(handle.fileno())
            self._dirty.clear()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Turn a failed write (full disk, read-only folder) into an :class:`OutputError`."""
        try:
            yield
        except OSError as error:
            raise OutputError(f"cannot write to {self.folder}: {error.strerror or error}") from None

    def close(self) -> None:
        with self._lock:
            handles, self._handles = list(self._handles.values()), {}
        for handle in handles:
            with contextlib.suppress(OSError):  # flush() already reported a failed write
                handle.close()
