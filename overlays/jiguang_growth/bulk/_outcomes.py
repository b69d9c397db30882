"""Where every record ends: accepted, rejected or unknown, and the files for the last two."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _files
from .._delivery import Failure, Outcome
from ._errors import JournalError, OutputError
from ._input import InputFormat, dump_value


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
        self._pending: dict[str, list[str]] = {}
        """Lines written since the last :meth:`flush`, per file name."""
        self._fds: dict[str, int] = {}
        self._broken: OutputError | None = None
        """Set by a failed write or sync: after it nothing is written, so no checkpoint can follow."""
        self._lock = threading.Lock()
        try:
            _files.make_folder(folder)
            for path in self.all_paths():
                self._restore(path, (sizes or {}).get(path.name, 0) if append else 0)
        except OSError as error:
            raise OutputError(f"cannot write to {folder}: {error.strerror or error}") from None

    def all_paths(self) -> tuple[Path, ...]:
        return (*self.paths(), self.results_path)

    @staticmethod
    def _restore(path: Path, size: int) -> None:
        """Cut ``path`` back to ``size`` bytes: what follows was written after the last checkpoint."""
        try:
            fd = _files.open_regular(path, os.O_WRONLY)
        except FileNotFoundError:
            if size:
                raise JournalError(
                    f"cannot resume: {path} is missing, but the journal says it held records"
                ) from None
            return
        try:
            if os.fstat(fd).st_size < size:
                raise JournalError(
                    f"cannot resume: {path} is shorter than the journal says ({size:,} bytes); it was changed"
                )
            _files.truncate(fd, size, path)
        finally:
            os.close(fd)

    def sizes(self) -> dict[str, int]:
        """Bytes written to each file so far (call after :meth:`flush`)."""
        found: dict[str, int] = {}
        with self._lock:
            for path in self.all_paths():
                fd = self._fds.get(path.name)
                if fd is not None:
                    found[path.name] = os.fstat(fd).st_size
                elif os.path.lexists(path):
                    found[path.name] = os.stat(path, follow_symlinks=False).st_size
        return found

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

    def _add(self, path: Path, text: str) -> None:
        """Queue one line for ``path``; :meth:`flush` writes it."""
        self._pending.setdefault(path.name, []).append(text + "\n")

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
            self._add(self.path(outcome), record_text)
            self._add(self.failures_path, json.dumps(reason, ensure_ascii=False))

    def write_result(self, line: int, result: Any) -> None:
        """Record the result of one accepted record, if this operation keeps results."""
        if self._result_line is None:
            return
        text = json.dumps(self._result_line(line, result), ensure_ascii=False)
        with self._lock:
            self._add(self.results_path, text)

    def flush(self) -> None:
        """Write everything so far through to the disk (before the journal marks it settled).

        Each file gets one ``write`` and one ``fdatasync``; a failure (a full or read-only disk,
        a short write) is an :class:`OutputError`, and the lines stay queued.
        """
        with self._lock:
            if self._broken is not None:
                raise self._broken
            try:
                self._write_pending(sync=True)
            except OSError as error:
                self._broken = OutputError(f"cannot write to {self.folder}: {error.strerror or error}")
                raise self._broken from None

    def _write_pending(self, *, sync: bool) -> None:
        """Append each file's queued lines; a failed append is cut back off the file."""
        for name in list(self._pending):
            path = self.folder / name
            fd = self._fds.get(name)
            if fd is None:
                fd = self._fds[name] = _files.open_regular(path, os.O_WRONLY | os.O_APPEND, create=True)
            start = os.fstat(fd).st_size
            try:
                _files.append(fd, "".join(self._pending[name]).encode("utf-8"), path)
            except OSError:
                with contextlib.suppress(OSError):  # else a resume cuts it: it follows the last checkpoint
                    if os.fstat(fd).st_size != start:
                        _files.truncate(fd, start, path)
                raise
            del self._pending[name]
            if sync:
                _files.sync(fd, path)

    def close(self) -> None:
        """Write what is queued (records after the last checkpoint: a resume cuts them off) and close."""
        with self._lock:
            if self._broken is None:
                with contextlib.suppress(OSError):  # flush() reports a failed write
                    self._write_pending(sync=False)
            fds, self._fds = list(self._fds.values()), {}
            self._pending.clear()
        for fd in fds:
            os.close(fd)
