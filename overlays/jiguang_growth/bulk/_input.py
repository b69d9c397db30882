"""Input records: read one line at a time in constant memory, numbered, written back in their format."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Literal

INT_TEXT_BITS = 14_000
"""Integers up to this many bits are surely below Python's 4,300-digit limit for writing them as text."""
LOG10_2 = 0.30103

InputFormat = Literal["jsonl", "text"]
"""``jsonl``: one JSON value per line. ``text``: one raw string per line."""


@dataclass(frozen=True, slots=True)
class Record:
    """One input record and the line it came from (1-based)."""

    line: int
    value: Any


@dataclass(frozen=True, slots=True)
class BlankLine:
    """A line with nothing on it but white space: no record, counted as skipped."""

    line: int


MAX_LINE_BYTES = 8 * 1024 * 1024
"""Longest input line read, in bytes without its line break. The spec sets no body-size limit, so
this is our own: eight times a batch's cut (``MAX_BATCH_BYTES``), far past any record the sandbox
(1 MiB bodies) takes. A longer line is rejected (``line_too_long``) without being held in memory."""

UNREADABLE = "unreadable"
LINE_TOO_LONG = "line_too_long"


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not be read as a record."""

    line: int
    text: str
    reason: str
    kind: str = UNREADABLE
    """The failure's ``reason``: ``unreadable``, or ``line_too_long``."""


@dataclass(frozen=True, slots=True)
class LongLine:
    """What :func:`bounded_lines` yields for a line past its limit: how many bytes it had."""

    size: int
    limit: int


def bounded_lines(handle: IO[bytes], limit: int = MAX_LINE_BYTES) -> Iterator[bytes | LongLine]:
    """The lines of a binary stream, each read whole only up to ``limit`` bytes; a longer one is
    read past in chunks (never held whole) and yields a :class:`LongLine`."""
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or line.endswith(b"\n"):
            yield line
            continue
        size = len(line)
        del line
        while True:
            rest = handle.readline(SKIP_CHUNK)
            size += len(rest)
            if not rest or rest.endswith(b"\n"):
                break
        yield LongLine(size - rest.endswith(b"\n"), limit)


SKIP_CHUNK = 1024 * 1024
"""Bytes read at a time while passing over a line that is too long."""


def parse_line(text: str, fmt: InputFormat) -> Any:
    """Parse one line; raise ValueError with a short reason."""
    if fmt == "text":
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON: {error.msg} at column {error.colno}") from None


def dump_value(value: Any, fmt: InputFormat) -> str:
    """Write a record back in its input format, as one line."""
    if fmt == "text":
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except ValueError:  # an integer past Python's digit limit for int-to-text conversion
        return json.dumps(_printable(value), ensure_ascii=False, separators=(",", ":"))


def _printable(value: Any) -> Any:
    """``value`` with every integer too long to write as text replaced by a note of its size."""
    if isinstance(value, dict):
        return {key: _printable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > INT_TEXT_BITS:
        return f"<an integer of about {int(value.bit_length() * LOG10_2):,} digits>"
    return value


def read_lines(
    lines: Iterable[str | bytes | LongLine], fmt: InputFormat
) -> Iterator[Record | BadLine | BlankLine]:
    """Yield a Record, BadLine or BlankLine per line (a resumed run drops settled lines later).

    Byte lines (a file opened in binary) are decoded one by one, so a line
    that is not UTF-8 becomes a BadLine instead of ending the run. A
    :class:`LongLine` (from :func:`bounded_lines`) becomes a ``line_too_long`` BadLine.
    """
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, LongLine):
            note = f"<line {number} not kept: {raw.size:,} bytes>"
            reason = f"the line has {raw.size:,} bytes, more than the limit of {raw.limit:,} (MAX_LINE_BYTES)"
            yield BadLine(number, note, reason, LINE_TOO_LONG)
            continue
        if isinstance(raw, bytes):
            try:
                decoded = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                yield BadLine(number, text, f"not UTF-8 ({error.reason} at byte {error.start})")
                continue
        else:
            decoded = raw
        text = decoded.rstrip("\r\n")
        if number == 1:
            text = text.removeprefix("\ufeff")  # a byte-order mark some editors write
        if not text.strip():
            yield BlankLine(number)
            continue
        try:
            yield Record(number, parse_line(text, fmt))
        except ValueError as error:
            yield BadLine(number, text, str(error))


def number_values(values: Iterable[Any]) -> Iterator[Record]:
    """Wrap in-memory values as records numbered from 1."""
    for number, value in enumerate(values, start=1):
        yield Record(number, value)
