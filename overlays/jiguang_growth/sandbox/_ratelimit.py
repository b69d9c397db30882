"""A per-operation calls-per-second limit: at most N admitted calls in any rolling second.

The limiter keeps the arrival times of the calls it admitted in the last
window (a sliding log). A call is admitted when fewer than ``limit`` admitted
calls arrived in the ``window`` seconds before it; refused calls do not count,
so a client that backs off is never locked out by its own refused calls. A
client pacing itself to ``limit`` calls per rolling second never meets a 429.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

from .._checks import whole_number

__all__ = ["RateLimiter"]


class RateLimiter:
    """Sliding-window limits keyed by operationId."""

    def __init__(
        self,
        limits: Mapping[str, int],
        *,
        window: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for key, limit in limits.items():
            whole_number(f"the limit of {key}", limit, 1)
        if window <= 0:
            raise ValueError("window must be positive")
        self._limits = dict(limits)
        self._window = window
        self._clock = clock
        self._admitted: dict[str, deque[float]] = {key: deque() for key in limits}
        self._lock = threading.Lock()

    @property
    def limits(self) -> Mapping[str, int]:
        return dict(self._limits)

    def acquire(self, key: str) -> float | None:
        """Admit one call (``None``) or return the seconds until one would be admitted."""
        with self._lock:
            limit = self._limits[key]
            admitted = self._admitted[key]
            now = self._clock()
            cutoff = now - self._window
            while admitted and admitted[0] <= cutoff:
                admitted.popleft()
            if len(admitted) < limit:
                admitted.append(now)
                return None
            return admitted[0] + self._window - now

    @staticmethod
    def retry_after(wait: float) -> int:
        """``Retry-After`` in whole seconds for a wait: rounded up, 1 to 3600."""
        return min(3600, max(1, math.ceil(wait)))
