"""Input records: read one line at a time in constant memory, numbered, written back in their format."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

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


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not be read as a record."""

    line: int
    text: str
    reason: str


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


def read_lines(lines: Iterable[str | bytes], fmt: InputFormat) -> Iterator[Record | BadLine | BlankLine]:
    """Yield a Record, BadLine or BlankLine per line (a resumed run drops settled lines later).

    Byte lines (a file opened in binary) are decoded one by one, so a line
    that is not UTF-8 becomes a BadLine instead of ending the run.
    """
    for number, raw in enumerate(lines, start=1):
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
