"""A resume journal: which input lines already reached a final outcome, and the run they belong to.

The journal is a JSON-lines file, fsynced after every batch. Its first line
names the run: a UUID (which also seeds the deterministic ``randomId`` of
events) and the run's identity (operation, base URL, project ID and, for a
file, its path, size and SHA-256). Each further line is one checkpoint: its
sequence number, the input lines it settled, the run's counts so far and the
sizes of the outcome files. For an operation that is not replay-safe, a
"sending" entry (in the same sequence) names a batch's lines before the batch
is sent: a line with one and no later checkpoint was in flight when the run
stopped (:attr:`Journal.in_flight`). Every line carries a CRC-32 of its own
text.

Loading for a resume never guesses. A torn last line (no newline: the process
died while writing it) is cut off, and so are the outcome files' bytes
written after the last whole checkpoint. A damaged line followed by the next
checkpoint in sequence is reported and passed over. A damaged line that may
have been a checkpoint (a gap in the sequence, or a damaged line after the
last checkpoint), a damaged header, or an identity that differs from this
run's is a :class:`~._errors.JournalError`: nothing is sent. A journal
without one whole line (the run stopped while writing its header, before it
could send anything) is started afresh. Files go through :mod:`.._files`
(``0600``, no symbolic links); a failed append is cut back off the file.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import uuid
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import _files
from ._errors import JournalError, OutputError

__all__ = ["JOURNAL_VERSION", "Checkpoint", "Journal", "LineSet", "RunIdentity", "ranges"]

logger = logging.getLogger("jiguang_growth.bulk")

JOURNAL_VERSION = 2
"""Format of the journal's lines; a journal of another version is refused."""


class LineSet:
    """A set of line numbers stored as sorted, merged, inclusive ranges."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def add_range(self, start: int, end: int) -> None:
        index = bisect.bisect_left(self._ends, start - 1)
        new_start, new_end = start, end
        stop = index
        while stop < len(self._starts) and self._starts[stop] <= end + 1:
            new_start = min(new_start, self._starts[stop])
            new_end = max(new_end, self._ends[stop])
            stop += 1
        self._starts[index:stop] = [new_start]
        self._ends[index:stop] = [new_end]

    def __contains__(self, line: object) -> bool:
        if not isinstance(line, int):
            return False
        index = bisect.bisect_right(self._starts, line) - 1
        return index >= 0 and line <= self._ends[index]

    def discard_range(self, start: int, end: int) -> None:
        """Remove the lines ``start`` to ``end`` (inclusive)."""
        index = bisect.bisect_left(self._ends, start)
        stop = index
        kept: list[tuple[int, int]] = []
        while stop < len(self._starts) and self._starts[stop] <= end:
            if self._starts[stop] < start:
                kept.append((self._starts[stop], start - 1))
            if self._ends[stop] > end:
                kept.append((end + 1, self._ends[stop]))
            stop += 1
        self._starts[index:stop] = [s for s, _ in kept]
        self._ends[index:stop] = [e for _, e in kept]

    def __len__(self) -> int:
        return sum(end - start + 1 for start, end in zip(self._starts, self._ends, strict=True))

    def ranges(self) -> list[tuple[int, int]]:
        return list(zip(self._starts, self._ends, strict=True))


def ranges(lines: Iterable[int]) -> list[tuple[int, int]]:
    """Compress line numbers into sorted inclusive ranges."""
    found: list[tuple[int, int]] = []
    for line in sorted(lines):
        if found and line <= found[-1][1] + 1:
            found[-1] = (found[-1][0], max(found[-1][1], line))
        else:
            found.append((line, line))
    return found


@dataclass(frozen=True)
class RunIdentity:
    """What a resumed run must share with the run it continues."""

    operation: str
    base_url: str | None = None
    project_id: str | None = None
    input: Mapping[str, Any] | None = None
    """For a file: ``{"path", "size", "sha256"}``; ``None`` for an iterable, which cannot be checked."""

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["input"] = dict(self.input) if self.input is not None else None
        return found

    def differences(self, earlier: Mapping[str, Any]) -> list[str]:
        """What differs from the identity ``earlier`` recorded, one phrase each."""
        found: list[str] = []
        now = self.as_dict()
        for name in ("operation", "base_url", "project_id"):
            if earlier.get(name) != now[name]:
                found.append(f"{name.replace('_', ' ')} {earlier.get(name)!r} then, {now[name]!r} now")
        before, after = earlier.get("input"), now["input"]
        if before is not None or after is not None:
            before, after = before or {}, after or {}
            for key in ("path", "size", "sha256"):
                if before.get(key) != after.get(key):
                    found.append(f"input {key} {before.get(key)!r} then, {after.get(key)!r} now")
        return found


@dataclass
class Checkpoint:
    """What the last whole checkpoint of a journal says about the run so far."""

    seq: int = 0
    totals: dict[str, Any] = field(default_factory=dict)
    """The run's counts (``BulkSummary`` fields) after the settled lines."""
    sizes: dict[str, int] = field(default_factory=dict)
    """Bytes of each outcome file that hold settled records."""


def _line(body: dict[str, Any]) -> bytes:
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return f'{text[:-1]},"crc":{zlib.crc32(text.encode())}}}\n'.encode()


def _parse(raw: bytes) -> dict[str, Any] | None:
    """The body of a journal line, or ``None`` when it is not one we wrote whole."""
    try:
        body = json.loads(raw)
    except ValueError:  # bad JSON, bad UTF-8, an integer beyond int's digit limit
        return None
    if not isinstance(body, dict):
        return None
    crc = body.pop("crc", None)
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    if not isinstance(crc, int) or zlib.crc32(text.encode()) != crc:
        return None
    return body


@dataclass(frozen=True)
class _Entry:
    """One journal line after the header: a checkpoint (``state`` set) or a "sending" entry."""

    seq: int
    lines: list[tuple[int, int]]
    """The lines settled (checkpoint) or about to be sent (sending entry)."""
    state: Checkpoint | None = None
    released: list[tuple[int, int]] = field(default_factory=list)
    """Lines sent earlier that surely were not applied and stay unsettled (checkpoints only)."""


def _entry(body: dict[str, Any]) -> _Entry | None:
    """A journal entry, or ``None`` if its JSON has the wrong types."""
    seq = body.get("seq")
    if not isinstance(seq, int) or not _whole(seq):
        return None
    if "sending" in body:
        sending = _spans(body["sending"])
        return None if sending is None or len(body) != 2 else _Entry(seq, sending)
    spans, totals, sizes = _spans(body.get("lines")), body.get("totals"), body.get("sizes")
    released = _spans(body.get("released", []))
    if spans is None or released is None or not isinstance(totals, dict):
        return None
    if not isinstance(sizes, dict) or not all(_whole(v) for v in sizes.values()):
        return None
    return _Entry(seq, spans, Checkpoint(seq, totals, dict(sizes)), released)


def _spans(spans: object) -> list[tuple[int, int]] | None:
    """Inclusive line ranges from JSON ``[[start, end], ...]``, or ``None`` if the types are wrong."""
    if not isinstance(spans, list):
        return None
    found: list[tuple[int, int]] = []
    for span in spans:
        if not (isinstance(span, list) and len(span) == 2 and all(_whole(n) for n in span)):
            return None
        if span[0] > span[1]:
            return None
        found.append((span[0], span[1]))
    return found


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class Journal:
    """Append-only record of settled input lines, written through to the disk at every checkpoint."""

    def __init__(self, path: Path, identity: RunIdentity | str, *, resume: bool) -> None:
        if isinstance(identity, str):
            identity = RunIdentity(identity)
        self.path = path
        self.done = LineSet()
        self.last = Checkpoint()
        self.seq = 0
        """Sequence number of the last entry (checkpoint or sending)."""
        self.in_flight = LineSet()
        """Lines with a "sending" entry and no later settlement: at load, those in flight when the run
        stopped (kept up to date as the run goes on)."""
        self.warnings: list[str] = []
        """What loading repaired or passed over (also logged)."""
        self._fd = -1
        self._size = 0
        self._broken: OutputError | None = None
        """Set by a failed append or sync: nothing more is written (after a failed fsync the kernel
        may have dropped the data while a later fsync succeeds, so no checkpoint may follow)."""
        try:
            run_id = None
            if resume and os.path.lexists(path):
                self._fd = _files.open_regular(path, os.O_RDWR | os.O_APPEND)
                run_id = self._load(identity)
            if run_id is None:
                run_id = uuid.uuid4()
                header = {"journal": JOURNAL_VERSION, "run": str(run_id), "identity": identity.as_dict()}
                if self._fd < 0:
                    _files.make_folder(path.parent)
                    self._fd = _files.open_regular(path, os.O_RDWR | os.O_APPEND | os.O_TRUNC, create=True)
                self._write(_line(header))
            self.run_id = run_id
        except OSError as error:
            self.close()
            raise OutputError(f"cannot write the journal {path}: {error.strerror or error}") from None
        except BaseException:
            self.close()
            raise

    def _refuse(self, why: str) -> JournalError:
        return JournalError(f"cannot resume from {self.path}: {why}; nothing was sent")

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        logger.warning("%s: %s", self.path, message)

    def _load(self, identity: RunIdentity) -> uuid.UUID | None:
        """The run ID of the journal, after checking it; ``None`` when not even its header was written."""
        data = _files.read_all(self._fd)
        cut = data.rfind(b"\n") + 1
        if cut < len(data):  # a torn last line: the checkpoint it began never completed
            self._warn(f"cut off a torn last line ({len(data) - cut:,} bytes) left by an interrupted write")
            _files.truncate(self._fd, cut, self.path)
            _files.sync(self._fd, self.path, data_only=False)
        self._size = cut
        if cut == 0:  # the header never reached the disk whole, so nothing was sent: start afresh
            self._warn("it holds no whole line (the run stopped while writing its header); starting afresh")
            return None
        lines = data[:cut].split(b"\n")[:-1]
        header = _parse(lines[0]) if lines else None
        if header is None:
            raise self._refuse("its first line (the run's header) is damaged or missing")
        if header.get("journal") != JOURNAL_VERSION:
            raise self._refuse(f"it is not a version {JOURNAL_VERSION} journal")
        try:
            run_id = uuid.UUID(str(header.get("run")))
        except ValueError:
            raise self._refuse("its header holds no run ID") from None
        earlier = header.get("identity")
        if not isinstance(earlier, dict):
            raise self._refuse("its header holds no run identity")
        differences = identity.differences(earlier)
        if differences:
            raise JournalError(
                f"cannot resume from {self.path}: it belongs to another run ({'; '.join(differences)}); "
                "nothing was sent. Resume with the same input and settings, or choose another folder"
            )
        self._read_entries(lines)
        return run_id

    def _read_entries(self, lines: list[bytes]) -> None:
        damaged: list[int] = []
        for number, raw in enumerate(lines[1:], start=2):
            body = _parse(raw)
            entry = _entry(body) if body is not None else None
            if entry is None:
                damaged.append(number)
                continue
            if entry.seq != self.seq + 1:
                raise self._refuse(
                    f"entry {self.seq + 1} is missing before line {number} "
                    f"(damaged line(s) {_listed(damaged)}), so which records it sent or settled is unknown"
                )
            self._apply(entry)
            if damaged:
                self._warn(f"passed over damaged line(s) {_listed(damaged)}: no checkpoint was lost there")
                damaged = []
        if damaged:
            raise self._refuse(
                f"line(s) {_listed(damaged)} after the last whole checkpoint are damaged and may have "
                "been a checkpoint or a sending entry, so which records they sent or settled is unknown"
            )

    def _apply(self, entry: _Entry) -> None:
        self.seq = entry.seq
        if entry.state is None:
            for start, end in entry.lines:
                self.in_flight.add_range(start, end)
            return
        for start, end in entry.lines:
            self.done.add_range(start, end)
            self.in_flight.discard_range(start, end)
        for start, end in entry.released:
            self.in_flight.discard_range(start, end)
        self.last = entry.state

    def record(
        self,
        lines: Iterable[int],
        totals: Mapping[str, Any],
        sizes: Mapping[str, int],
        released: Iterable[int] = (),
    ) -> None:
        """Mark input lines as settled, with the run's counts and outcome file sizes, through to the disk.

        ``released``: lines sent that surely were not applied and stay unsettled, for a resume to send.
        """
        spans, seq = ranges(lines), self.seq + 1
        body = {"seq": seq, "lines": spans, "totals": dict(totals), "sizes": dict(sizes)}
        back = ranges(released)
        if back:
            body["released"] = back
        self._write(_line(body))
        self._apply(_Entry(seq, spans, Checkpoint(seq, dict(totals), dict(sizes)), back))

    def sending(self, lines: Iterable[int]) -> None:
        """Note, through to the disk, that a batch of these lines is about to be sent."""
        spans, seq = ranges(lines), self.seq + 1
        self._write(_line({"seq": seq, "sending": spans}))
        self._apply(_Entry(seq, spans))

    def _write(self, data: bytes) -> None:
        """Append one line and sync it; on failure cut the file back, so it never ends in half a line."""
        if self._broken is not None:
            raise self._broken
        try:
            _files.append(self._fd, data, self.path)
            _files.sync(self._fd, self.path)
        except OSError as error:
            try:
                if os.fstat(self._fd).st_size != self._size:
                    _files.truncate(self._fd, self._size, self.path)
            except OSError:
                logger.error("could not cut %s back after a failed write; a resume cuts it", self.path)
            self._broken = OutputError(f"cannot write the journal {self.path}: {error.strerror or error}")
            raise self._broken from None
        self._size += len(data)

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


def _listed(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return shown + (f" and {len(numbers) - 10:,} more" if len(numbers) > 10 else "")
