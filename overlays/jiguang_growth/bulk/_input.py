"""Input records: read one line at a time in constant memory, numbered, written back in their format."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

InputFormat = Literal["jsonl", "text"]
"""``jsonl``: one JSON value per line. ``text``: one raw string per line."""


@dataclass(frozen=True, slots=True)
class Record:
    """One input record and the line it came from (1-based)."""

    line: int
    value: Any


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
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def read_lines(lines: Iterable[str | bytes], fmt: InputFormat) -> Iterator[Record | BadLine]:
    """Yield a Record or BadLine per non-blank line (a resumed run drops settled lines later).

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
            continue
        try:
            yield Record(number, parse_line(text, fmt))
        except ValueError as error:
            yield BadLine(number, text, str(error))


def number_values(values: Iterable[Any]) -> Iterator[Record]:
    """Wrap in-memory values as records numbered from 1."""
    for number, value in enumerate(values, start=1):
        yield Record(number, value)
