"""A resume journal: which input lines already reached a final outcome.

The journal is a JSON-lines file. Its first line names the run (a UUID that
also seeds the deterministic ``randomId`` of events) and the operation; each
further line lists the input lines of one finished batch. On ``--resume`` the
run ID is reused and every listed line is skipped, so nothing acknowledged is
sent twice, and an event that was in flight when the process died is resent
with the same ``randomId``.
"""

from __future__ import annotations

import bisect
import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any


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


class Journal:
    """Append-only record of finished input lines, flushed after every batch."""

    def __init__(self, path: Path, operation: str, *, resume: bool) -> None:
        self.path = path
        self.done = LineSet()
        header: dict[str, Any] | None = None
        if resume and path.exists():
            header = self._load(operation)
        if header is None:
            header = {"run": str(uuid.uuid4()), "operation": operation}
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8") as handle:
                handle.write(json.dumps(header) + "\n")
        self.run_id = uuid.UUID(header["run"])
        self._handle: IO[str] = path.open("a", encoding="utf-8")

    def _load(self, operation: str) -> dict[str, Any]:
        with self.path.open(encoding="utf-8") as handle:
            header = json.loads(handle.readline())
            if header.get("operation") != operation:
                raise ValueError(
                    f"{self.path} belongs to a {header.get('operation')!r} run, not {operation!r}"
                )
            for text in handle:
                try:
                    entry = json.loads(text)
                except json.JSONDecodeError:
                    break  # a line torn by a crash: everything before it holds
                for start, end in entry["lines"]:
                    self.done.add_range(start, end)
        return dict(header)

    def record(self, lines: Iterable[int]) -> None:
        """Mark input lines as settled and write that through to the disk."""
        spans = ranges(lines)
        for start, end in spans:
            self.done.add_range(start, end)
        self._handle.write(json.dumps({"lines": spans}) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()
