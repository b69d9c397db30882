"""A per-operation calls-per-second limit, with the counting rule selectable.

The vendor says "QPS ≤ 100" and not how it counts, so the sandbox offers
three rules (:class:`LimiterKind`); refused calls never count under any of them:

* ``rolling`` (the default): at most ``limit`` admitted calls in the
  ``window`` seconds before each arrival (a sliding log). A client pacing
  itself to ``limit`` calls per rolling second never meets a 429.
* ``fixed``: at most ``limit`` admitted calls per window-long bucket, buckets
  counted from the limiter's start. Up to twice the limit can pass in one
  rolling second that straddles two buckets.
* ``token``: a bucket of ``limit`` tokens, refilled at ``limit`` per window
  and full at the start; each admitted call takes one. A burst of ``limit``
  passes at once, then calls pass at the refill rate.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from enum import StrEnum

from .._checks import whole_number

__all__ = ["LimiterKind", "RateLimiter"]


class LimiterKind(StrEnum):
    """How a limit of N calls per second is counted."""

    ROLLING = "rolling"
    FIXED = "fixed"
    TOKEN = "token"


class RateLimiter:
    """Per-operation limits keyed by operationId, counted by ``kind``."""

    def __init__(
        self,
        limits: Mapping[str, int],
        *,
        kind: LimiterKind | str = LimiterKind.ROLLING,
        window: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for key, limit in limits.items():
            whole_number(f"the limit of {key}", limit, 1)
        if window <= 0:
            raise ValueError("window must be positive")
        self.kind = LimiterKind(kind)
        self._limits = dict(limits)
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._admitted: dict[str, deque[float]] = {key: deque() for key in limits}
        """rolling: arrival times of the admitted calls of the last window, oldest first."""
        self._origin = clock()
        self._buckets: dict[str, tuple[int, int]] = {key: (0, 0) for key in limits}
        """fixed: (bucket number, calls admitted in it)."""
        self._tokens: dict[str, tuple[float, float]] = {
            key: (float(n), self._origin) for key, n in limits.items()
        }
        """token: (tokens left, when they were counted)."""

    @property
    def limits(self) -> Mapping[str, int]:
        return dict(self._limits)

    def acquire(self, key: str) -> float | None:
        """Admit one call (``None``) or return the seconds until one would be admitted."""
        with self._lock:
            limit = self._limits[key]
            now = self._clock()
            if self.kind is LimiterKind.FIXED:
                return self._fixed(key, limit, now)
            if self.kind is LimiterKind.TOKEN:
                return self._token(key, limit, now)
            return self._rolling(key, limit, now)

    def _rolling(self, key: str, limit: int, now: float) -> float | None:
        admitted = self._admitted[key]
        cutoff = now - self._window
        while admitted and admitted[0] <= cutoff:
            admitted.popleft()
        if len(admitted) < limit:
            admitted.append(now)
            return None
        return admitted[0] + self._window - now

    def _fixed(self, key: str, limit: int, now: float) -> float | None:
        bucket = math.floor((now - self._origin) / self._window)
        current, count = self._buckets[key]
        if bucket != current:
            count = 0
        if count < limit:
            self._buckets[key] = (bucket, count + 1)
            return None
        self._buckets[key] = (bucket, count)
        return self._origin + (bucket + 1) * self._window - now

    def _token(self, key: str, limit: int, now: float) -> float | None:
        tokens, counted = self._tokens[key]
        refill = limit / self._window
        tokens = min(float(limit), tokens + (now - counted) * refill)
        if tokens >= 1.0:
            self._tokens[key] = (tokens - 1.0, now)
            return None
        self._tokens[key] = (tokens, now)
        return (1.0 - tokens) / refill

    @staticmethod
    def retry_after(wait: float) -> int:
        """``Retry-After`` in whole seconds for a wait: rounded up, 1 to 3600."""
        return min(3600, max(1, math.ceil(wait)))
