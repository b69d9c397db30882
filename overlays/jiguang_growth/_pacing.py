"""Process-wide pacing of calls to stay under each operation's QPS limit.

A :class:`Pacer` hands out send slots so that no window of
``period + margin`` seconds ever holds more than ``limit`` slots. The margin
absorbs the jitter between the moment a slot is granted and the moment the
server counts the request, so a server that allows ``limit`` calls in any
rolling ``period`` never sees one too many.

Slots are reserved under a lock and waited for outside it, so one pacer
serves threads and asyncio tasks alike: a thread sleeps for the returned
delay, a task awaits it. :func:`shared_pacer` returns the one pacer per
(project, base URL, operation) of the process, with its limit read from
openapi.yaml's ``x-qps-limit``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from . import _spec

DEFAULT_MARGIN = 0.03
"""Seconds added to the one-second window; costs about 3% of the ceiling."""


class Pacer:
    """Grants at most ``limit`` slots in any window of ``period + margin`` seconds."""

    def __init__(
        self,
        limit: int,
        period: float = 1.0,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if period <= 0 or margin < 0:
            raise ValueError("period must be positive and margin not negative")
        self.limit = limit
        self.window = period + margin
        self._clock = clock
        self._slots: deque[float] = deque(maxlen=limit)
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.pauses = 0
        """How many times :meth:`pause` was called (the 429s seen through this pacer)."""

    def reserve(self) -> float:
        """Reserve the next slot; return how many seconds to wait before sending."""
        now, slot = self.reserve_slot()
        return slot - now

    def reserve_slot(self) -> tuple[float, float]:
        """Reserve the next slot; return ``(now, slot)`` on the pacer's clock."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._paused_until)
            if self._slots:
                slot = max(slot, self._slots[-1])
            if len(self._slots) == self.limit:
                slot = max(slot, self._slots[0] + self.window)
            self._slots.append(slot)  # maxlen drops the oldest
            return now, slot

    def pause(self, seconds: float) -> None:
        """Hold every slot not yet granted for ``seconds`` (e.g. after a 429)."""
        with self._lock:
            self.pauses += 1
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def rate(self) -> float:
        """Sustained slots per second."""
        return self.limit / self.window


_shared: dict[tuple[str, str, str], Pacer] = {}
_shared_lock = threading.Lock()


def shared_pacer(operation_id: str, *, project_id: str, base_url: str) -> Pacer:
    """The process-wide pacer of one operation for one project and server."""
    key = (base_url, project_id, operation_id)
    with _shared_lock:
        pacer = _shared.get(key)
        if pacer is None:
            pacer = _shared[key] = Pacer(_spec.operation(operation_id).qps_limit)
        return pacer
