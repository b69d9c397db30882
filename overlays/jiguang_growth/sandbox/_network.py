"""The network between a client and the sandbox: a delay each way, each with seeded jitter.

A real server far away counts a call when it *arrives*, one request-path
delay after the client sent it, and the client has the answer one
response-path delay after the server wrote it. The sandbox sleeps the
request-path delay before anything else looks at the call (so its rate
limiter counts the arrival late, as a remote server would) and the
response-path delay after the answer is ready. Each delay is ``delay ± jitter``
milliseconds, drawn uniformly from a ``random.Random`` seeded with ``seed``,
never below zero; the two directions draw independently.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .._checks import whole_number

__all__ = ["NetworkConfig", "NetworkModel"]


def _check_milliseconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 3_600_000:
        raise ValueError(f"{name} must be a number of milliseconds from 0 to 3600000, got {value!r}")


@dataclass(frozen=True)
class NetworkConfig:
    """Delays on the way in and the way out, in milliseconds. The default adds none."""

    request_delay_ms: float = 0.0
    """Before the call reaches the sandbox (and its rate limiter)."""
    request_jitter_ms: float = 0.0
    """The request delay is uniform in ``request_delay_ms ± request_jitter_ms`` (at least 0)."""
    response_delay_ms: float = 0.0
    """After the answer is ready, before the client gets it."""
    response_jitter_ms: float = 0.0
    """The response delay is uniform in ``response_delay_ms ± response_jitter_ms`` (at least 0)."""
    seed: int = 0
    """Seed of the delays' random sequence (``--seed`` sets it together with the faults' seed)."""

    def __post_init__(self) -> None:
        for item in fields(self):
            if item.name != "seed":
                _check_milliseconds(item.name, getattr(self, item.name))
        whole_number("seed", self.seed)

    @classmethod
    def round_trip(cls, rtt_ms: float, rtt_jitter_ms: float = 0.0, *, seed: int = 0) -> NetworkConfig:
        """Half of ``rtt_ms ± rtt_jitter_ms`` each way (the ``--rtt-ms`` shorthand)."""
        _check_milliseconds("rtt_ms", rtt_ms)
        _check_milliseconds("rtt_jitter_ms", rtt_jitter_ms)
        half, spread = rtt_ms / 2, rtt_jitter_ms / 2
        return cls(half, spread, half, spread, seed)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkConfig:
        """Read the ``network`` section of a configuration file (keys as the field names)."""
        known = {item.name for item in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown network settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**dict(data))

    @property
    def active(self) -> bool:
        """Whether any delay can be above zero."""
        return any(getattr(self, item.name) for item in fields(self) if item.name != "seed")


class NetworkModel:
    """Draws the delays of one sandbox's calls; safe to use from any thread."""

    def __init__(self, config: NetworkConfig | None = None) -> None:
        self.config = config or NetworkConfig()
        self._random = random.Random(f"network {self.config.seed}")
        self._lock = threading.Lock()

    def request_delay(self) -> float:
        """Seconds the next call spends on its way in."""
        config = self.config
        return self._draw(config.request_delay_ms, config.request_jitter_ms)

    def response_delay(self) -> float:
        """Seconds the next answer spends on its way out."""
        config = self.config
        return self._draw(config.response_delay_ms, config.response_jitter_ms)

    def _draw(self, delay_ms: float, jitter_ms: float) -> float:
        if not jitter_ms:
            return delay_ms / 1000.0
        with self._lock:
            number = self._random.uniform(-1.0, 1.0)
        return max(0.0, delay_ms + number * jitter_ms) / 1000.0
