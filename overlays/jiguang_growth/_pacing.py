"""Process-wide pacing of calls to stay under each operation's QPS limit.

The server counts a call when it arrives, which is some time after the
client sent it and before the client has the answer. A :class:`Pacer`
therefore counts each call from the moment it is granted until ``period``
seconds after its answer came back (:meth:`Pacer.release`), and grants a
new call only while fewer than ``limit`` calls are counted. Whatever the
network or the machine's load does to the arrival times, no window of
``period`` seconds on the server then holds more than ``limit`` arrivals:
of any ``limit + 1`` calls in such a window, the one granted last would have
seen the other ``limit`` still counted. Against a nearby server this runs
within a few percent of the limit; the cost grows with the answer time.

Grants are also spread out, at least ``SPACING`` of ``period / limit`` apart,
so a full window is not sent in one burst that queues up at the server (a
queued call holds its slot longer, which costs throughput).

:meth:`Pacer.acquire` never blocks: it grants a slot or says how long to
wait before asking again, so one pacer serves threads (``time.sleep``) and
asyncio tasks (``asyncio.sleep``) alike. :func:`shared_pacer` returns the one
pacer per (server, project, operation) of the process, with its limit read
from openapi.yaml's ``x-qps-limit``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from . import _spec
from ._checks import whole_number

__all__ = ["POLL_INTERVAL", "SPACING", "Pacer", "shared_pacer"]

POLL_INTERVAL = 0.002
"""Seconds to wait before asking again when only calls still in flight fill the window."""
SPACING = 0.7
"""Shortest gap between two grants, as a share of ``period / limit`` (below 1: late calls can catch up)."""

_clock: Callable[[], float] = time.monotonic
"""Clock of the shared pacers (tests replace it)."""


class Pacer:
    """At most ``limit`` calls per ``period`` seconds, each counted until ``period`` after its answer."""

    def __init__(self, limit: int, period: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        whole_number("limit", limit, 1)
        if period <= 0:
            raise ValueError(f"period must be positive, got {period!r}")
        self.limit = limit
        self.period = period
        self.spacing = SPACING * period / limit
        self._clock = clock
        self._next_grant = -float("inf")
        self._answered: deque[float] = deque()
        """When the answers of recently counted calls came back, oldest first."""
        self._in_flight = 0
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.pauses = 0
        """How many times :meth:`pause` was called (the 429s seen through this pacer)."""

    def acquire(self) -> float:
        """Take a slot and return ``0.0``, or return the seconds to wait before asking again."""
        with self._lock:
            now = self._clock()
            not_before = max(self._paused_until, self._next_grant)
            if now < not_before:
                return not_before - now
            horizon = now - self.period
            answered = self._answered
            while answered and answered[0] <= horizon:
                answered.popleft()
            if self._in_flight + len(answered) < self.limit:
                self._in_flight += 1
                self._next_grant = now + self.spacing
                return 0.0
            if answered:
                return max(answered[0] - horizon, POLL_INTERVAL)
            return POLL_INTERVAL  # only calls in flight hold the window; one will finish soon

    def release(self) -> None:
        """The call of one granted slot has ended (answered or failed); it counts ``period`` more."""
        with self._lock:
            if self._in_flight < 1:
                raise RuntimeError("release() without a matching acquire()")
            self._in_flight -= 1
            self._answered.append(self._clock())

    def pause(self, seconds: float) -> None:
        """Grant no slot for ``seconds`` (e.g. a 429's ``Retry-After``)."""
        with self._lock:
            self.pauses += 1
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def in_flight(self) -> int:
        """Granted calls not released yet."""
        return self._in_flight


_shared: dict[tuple[str, str, str], Pacer] = {}
_shared_lock = threading.Lock()


def shared_pacer(operation_id: str, *, project_id: str, base_url: str) -> Pacer:
    """The process-wide pacer of one operation for one project and server."""
    key = (base_url, project_id, operation_id)
    with _shared_lock:
        pacer = _shared.get(key)
        if pacer is None:
            pacer = _shared[key] = Pacer(_spec.operation(operation_id).qps_limit, clock=_clock)
        return pacer
