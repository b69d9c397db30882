"""Progress of a bulk run on a stream: a redrawn bar on a terminal, periodic lines elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from ._outcomes import BulkSummary

__all__ = ["BarProgress", "LineProgress", "format_duration"]

BAR_WIDTH = 24
BAR_REDRAW = 0.1
"""Seconds between redraws of the bar."""


def format_duration(seconds: float) -> str:
    """``h:mm:ss`` (or ``m:ss`` under an hour)."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class _Progress:
    """Rate and ETA from settled counts; subclasses decide when and how to show them."""

    def __init__(
        self, stream: TextIO, total: int | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream
        self.total = total
        """Input lines, when known (a file; not standard input)."""
        self._clock = clock
        self._started = clock()
        self._shown_at = -float("inf")

    def _numbers(self, summary: BulkSummary) -> tuple[int, float, str]:
        done = summary.records + summary.skipped  # settled over the whole run, and blank lines
        elapsed = self._clock() - self._started
        rate = (summary.records - summary.resumed) / elapsed if elapsed > 0 else 0.0
        left = max(0, (self.total or 0) - done)
        if self.total is not None and not left:
            eta = format_duration(0)  # nothing left: a resume of a finished run knows that too
        else:
            eta = format_duration(left / rate) if self.total is not None and rate > 0 else "?"
        return done, rate, eta

    def __call__(self, summary: BulkSummary) -> None:
        now = self._clock()
        if now - self._shown_at >= self._interval():
            self._shown_at = now
            self.show(summary)

    def _interval(self) -> float:
        raise NotImplementedError

    def show(self, summary: BulkSummary) -> None:
        raise NotImplementedError

    def finish(self, summary: BulkSummary) -> None:
        """Show the final state once more."""
        self.show(summary)


class BarProgress(_Progress):
    """One line redrawn in place with ``\\r``: bar, counts, rate, ETA."""

    def _interval(self) -> float:
        return BAR_REDRAW

    def show(self, summary: BulkSummary) -> None:
        done, rate, eta = self._numbers(summary)
        if self.total:
            share = min(1.0, done / self.total)
            filled = int(share * BAR_WIDTH)
            head = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%} {done:,}/{self.total:,}"
        else:
            head = f"{done:,} records"
        tail = (
            f" {rate:,.0f} rec/s ETA {eta}  rejected {summary.rejected:,} unknown {summary.unknown:,}"
            f" skipped {summary.skipped:,}"
        )
        self.stream.write("\r" + head + tail + "\x1b[K")
        self.stream.flush()

    def finish(self, summary: BulkSummary) -> None:
        self.show(summary)
        self.stream.write("\n")
        self.stream.flush()


class LineProgress(_Progress):
    """A plain line every ``interval`` seconds, for logs and pipes."""

    def __init__(
        self,
        stream: TextIO,
        total: int | None,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(stream, total, clock)
        self.interval = interval
        self._shown_at = self._started  # the first line comes after one interval, not at once

    def _interval(self) -> float:
        return self.interval

    def show(self, summary: BulkSummary) -> None:
        done, rate, eta = self._numbers(summary)
        of = f"/{self.total:,}" if self.total else ""
        self.stream.write(
            f"progress {summary.operation}: {done:,}{of} settled, {summary.accepted:,} accepted, "
            f"{summary.rejected:,} rejected, {summary.unknown:,} unknown, {summary.skipped:,} skipped, "
            f"{rate:,.0f} records/s, ETA {eta}\n"
        )
        self.stream.flush()
