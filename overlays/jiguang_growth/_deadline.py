"""A wall-clock limit on one attempt, and cancelling the attempts of the sync client.

httpx's timeouts bound each read and each write, not an attempt: a server that
sends a byte a second keeps one alive forever. The async driver bounds the
attempt with ``asyncio.timeout``. The sync driver cannot interrupt a blocking
read from outside, so the HTTP client it creates sends through
:class:`._deadline_streams.DeadlineTransport` (imported with the first sync client,
since it needs httpcore), whose network streams are wrapped: while an attempt is
in progress (:func:`attempt`), every connect, read and write waits at most until
the attempt's deadline, and reads wake up every :data:`CANCEL_POLL` seconds to see whether the attempt
was cancelled. Outside an attempt the wrapper changes nothing.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import httpx

__all__ = [
    "CANCELLED",
    "CANCEL_POLL",
    "CURRENT",
    "DEFAULT_ATTEMPT_TIMEOUT",
    "SHORTEST",
    "Attempt",
    "attempt",
    "check",
    "deadline_message",
    "timed_out",
]

DEFAULT_ATTEMPT_TIMEOUT = 30.0
"""Seconds one attempt may take from start to the last byte of its answer."""
CANCEL_POLL = 0.2
"""Longest a blocked read of a cancellable sync attempt goes without looking at its cancel flag."""
CANCELLED = "cancelled"
"""The message of the httpx error that ends a cancelled attempt."""
SHORTEST = 0.001


def deadline_message(seconds: float) -> str:
    """What the timeout that ends an attempt at its deadline says."""
    return f"no complete answer within attempt_timeout ({seconds:g} s)"


@dataclass(frozen=True, slots=True)
class Attempt:
    ends: float
    """``time.monotonic()`` at the deadline; infinity without one."""
    seconds: float | None
    cancel: threading.Event | None

    def check(self, timeout: type[Exception], cancelled: type[Exception]) -> None:
        """Raise ``cancelled`` after a cancel, ``timeout`` once the deadline has passed."""
        if self.cancel is not None and self.cancel.is_set():
            raise cancelled(CANCELLED)
        if self.seconds is not None and time.monotonic() >= self.ends:
            raise timeout(deadline_message(self.seconds))

    def bounded(self, timeout: float | None) -> float | None:
        """``timeout``, shortened to end by the deadline (a wait that cannot be cut into polls)."""
        left = self.ends - time.monotonic()
        if math.isinf(left):
            return timeout
        # Never 0: a socket timeout of 0 means "do not block", which fails as an error, not a timeout.
        return max(SHORTEST, left if timeout is None else min(timeout, left))


CURRENT: ContextVar[Attempt | None] = ContextVar("jiguang_growth_attempt", default=None)


@contextlib.contextmanager
def attempt(seconds: float | None, cancel: threading.Event | None) -> Iterator[None]:
    """Within, the wrapped streams of this thread keep to the deadline and watch ``cancel``."""
    ends = math.inf if seconds is None else time.monotonic() + seconds
    token = CURRENT.set(Attempt(ends, seconds, cancel))
    try:
        yield
    finally:
        CURRENT.reset(token)


def check(request: httpx.Request) -> httpx.RequestError | None:
    """The error that ends the current attempt now (deadline passed, or cancelled), if any."""
    current = CURRENT.get()
    if current is None:
        return None
    try:
        current.check(httpx.ReadTimeout, httpx.ReadError)
    except (httpx.ReadTimeout, httpx.ReadError) as error:
        error.request = request
        return error
    return None


def timed_out(request: httpx.Request, seconds: float) -> httpx.ReadTimeout:
    """The error of an attempt the async driver ended at its deadline."""
    return httpx.ReadTimeout(deadline_message(seconds), request=request)
