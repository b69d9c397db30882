"""The network between a client and the sandbox: a delay each way, each with seeded jitter.

A real server far away counts a call when it *arrives*, one request-path
delay after the client sent it, and the client has the answer one
response-path delay after the server wrote it. The sandbox sleeps the
request-path delay before anything else looks at the call (so its rate
limiter counts the arrival late, as a remote server would) and the
response-path delay after the answer is ready. Each delay is ``delay ± jitter``
milliseconds, drawn uniformly from a ``random.Random`` seeded with ``seed``,
never below zero; the two directions draw independently.

A new connection costs round trips before its first request can go (TCP's
handshake, then TLS's): with ``connect_round_trips`` N, the first call on a
connection also sleeps N round trips (each a request and a response delay
drawn as above) on its way in, before the limiter counts it. A kept-alive
connection pays nothing more. :class:`Connections` tells new connections
from kept-alive ones (the sandbox's server reports each connection opened
and closed) and counts them for the state view.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from .._checks import whole_number

__all__ = ["MAX_CONNECT_ROUND_TRIPS", "Connections", "NetworkConfig", "NetworkModel"]

MAX_CONNECT_ROUND_TRIPS = 10
"""The most round trips a new connection may be made to cost (TCP + TLS 1.2 is 3)."""


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
    connect_round_trips: int = 0
    """Round trips a new connection's first call pays on its way in (2: TCP and TLS 1.3 handshakes)."""

    def __post_init__(self) -> None:
        for item in fields(self):
            if item.name not in _COUNTS:
                _check_milliseconds(item.name, getattr(self, item.name))
        whole_number("seed", self.seed)
        whole_number("connect_round_trips", self.connect_round_trips, 0)
        if self.connect_round_trips > MAX_CONNECT_ROUND_TRIPS:
            raise ValueError(
                f"connect_round_trips must be at most {MAX_CONNECT_ROUND_TRIPS}, "
                f"got {self.connect_round_trips}"
            )

    @classmethod
    def round_trip(cls, rtt_ms: float, rtt_jitter_ms: float = 0.0, *, seed: int = 0) -> NetworkConfig:
        """Half of ``rtt_ms ± rtt_jitter_ms`` each way (the ``--rtt-ms`` shorthand)."""
        _check_milliseconds("rtt_ms", rtt_ms)
        _check_milliseconds("rtt_jitter_ms", rtt_jitter_ms)
        half, spread = rtt_ms / 2, rtt_jitter_ms / 2
        return cls(half, spread, half, spread, seed)

    def with_round_trip(self, rtt_ms: float, rtt_jitter_ms: float = 0.0) -> NetworkConfig:
        """These settings with the delays of :meth:`round_trip` (seed and connection cost kept)."""
        return replace(
            self.round_trip(rtt_ms, rtt_jitter_ms, seed=self.seed),
            connect_round_trips=self.connect_round_trips,
        )

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
        return any(getattr(self, item.name) for item in fields(self) if item.name not in _COUNTS)


_COUNTS = frozenset({"seed", "connect_round_trips"})
"""The fields of :class:`NetworkConfig` that are not milliseconds."""


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

    def connect_delay(self) -> float:
        """Seconds a new connection's handshakes take: ``connect_round_trips`` round trips."""
        return sum(
            self.request_delay() + self.response_delay() for _ in range(self.config.connect_round_trips)
        )

    def _draw(self, delay_ms: float, jitter_ms: float) -> float:
        if not jitter_ms:
            return delay_ms / 1000.0
        with self._lock:
            number = self._random.uniform(-1.0, 1.0)
        return max(0.0, delay_ms + number * jitter_ms) / 1000.0


Peer = tuple[str, int] | None
"""A connection's client address (ASGI's ``scope["client"]``), unique among open connections."""


class Connections:
    """The connections the server opened, and which of them has not carried a call yet.

    The sandbox's server calls :meth:`opened` and :meth:`closed`; the app asks
    :meth:`first_call` for each call. Without the sandbox's server (another
    ASGI server, a test transport) nothing is reported: no call is a first one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fresh: set[Peer] = set()
        self._open: set[Peer] = set()
        self.opened = 0
        """Connections opened since the start."""
        self.handshakes = 0
        """First calls of a connection (each paid the connection's cost, if there was one)."""

    def opened_by(self, peer: Peer) -> None:
        """A connection from ``peer`` was accepted."""
        with self._lock:
            self.opened += 1
            self._open.add(peer)
            self._fresh.add(peer)

    def closed(self, peer: Peer) -> None:
        """The connection from ``peer`` is gone."""
        with self._lock:
            self._open.discard(peer)
            self._fresh.discard(peer)

    def first_call(self, peer: Peer) -> bool:
        """Whether this call is the first on its connection (then it no longer is)."""
        with self._lock:
            if peer not in self._fresh:
                return False
            self._fresh.discard(peer)
            self.handshakes += 1
            return True

    def to_json(self) -> dict[str, int]:
        """``opened`` (since the start), ``open`` (now), ``handshakes`` (first calls): the state view's."""
        with self._lock:
            return {"opened": self.opened, "open": len(self._open), "handshakes": self.handshakes}
