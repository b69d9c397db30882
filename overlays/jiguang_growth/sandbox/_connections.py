"""uvicorn's h11 protocol with a deadline for each request head and a cap on open connections.

What uvicorn 0.54 offers, and why it is not enough on its own:

* ``timeout_keep_alive`` (5 s) closes a connection that stays silent after an
  answer, but it is armed only once a first answer was sent, and every byte
  received disarms it: a connection that never sends a request, or sends its
  head one byte at a time, stays open for good.
* ``limit_concurrency`` answers requests over the limit with a plain-text 503
  (not the envelope) and still keeps every socket open, so silent connections
  use up file descriptors all the same.
* ``h11_max_incomplete_event_size`` caps what is buffered of a request head
  that is not complete yet (16 KiB by default; beyond it, a 400).

So the sandbox uses :class:`GuardedH11Protocol`: a request head must arrive
complete within ``head_timeout`` seconds of the connection becoming ready for
it (when it opens, or when the previous answer was sent), else the connection
is closed; and when a new connection would exceed ``max_connections``, the
connection that has waited longest without a request in progress is closed to
make room, or the new one when every connection is busy. It also reports
each connection opened and closed to the network model's
:class:`~._network.Connections`, which charges a new connection's first
call its handshakes and counts connections for the state view.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol

from ._network import Connections

__all__ = [
    "DEFAULT_HEAD_TIMEOUT",
    "KEEP_ALIVE_SECONDS",
    "MAX_HEAD_BYTES",
    "ConnectionLimits",
    "GuardedH11Protocol",
    "default_max_connections",
    "guarded_protocol",
]

DEFAULT_HEAD_TIMEOUT = 10.0
"""Seconds a connection has to send a complete request head."""
KEEP_ALIVE_SECONDS = 5
"""uvicorn's ``timeout_keep_alive``: an idle connection is closed this long after its last answer."""
MAX_HEAD_BYTES = 16 * 1024
"""uvicorn's ``h11_max_incomplete_event_size``: more of an unfinished request head gets a 400."""
MAX_CONNECTIONS_CEILING = 1000


def default_max_connections() -> int:
    """Half the process's soft file-descriptor limit, at most 1000 (512 under the common 1024).

    The other half is left for whatever else runs in the process (a test suite, a bulk run), so
    that accepting a connection never fails for want of a descriptor: a connection the server
    cannot accept is one it cannot close to make room either.
    """
    try:
        import resource  # noqa: PLC0415 - not on Windows
    except ImportError:
        return MAX_CONNECTIONS_CEILING
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS_CEILING
    return max(16, min(MAX_CONNECTIONS_CEILING, soft // 2))


@dataclass(frozen=True)
class ConnectionLimits:
    """The limits of one server's connections."""

    head_timeout: float = DEFAULT_HEAD_TIMEOUT
    max_connections: int = MAX_CONNECTIONS_CEILING

    def __post_init__(self) -> None:
        if not self.head_timeout > 0:
            raise ValueError(f"head_timeout must be a positive number of seconds, got {self.head_timeout}")
        if self.max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {self.max_connections}")


class GuardedH11Protocol(H11Protocol):
    """One HTTP/1.1 connection, closed when its request head is late or room is needed."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    network: ClassVar[Connections | None] = None
    """Told of every connection opened and closed (the app's, set by :func:`guarded_protocol`)."""

    _head_timer: asyncio.TimerHandle | None = None
    _ready_since = 0.0
    """Loop time at which the connection became ready for its next request head."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.network is not None:
            self.network.opened_by(self.client)
        self._watch_head()
        self._make_room()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        if self.network is not None:
            self.network.closed(self.client)
        super().connection_lost(exc)

    # --- the head deadline ------------------------------------------------------------------

    def _idle(self) -> bool:
        """No request in progress: waiting for a head (or for the rest of one)."""
        return self.cycle is None or self.cycle.response_complete

    def _open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def _watch_head(self) -> None:
        """Arm the deadline when a head is awaited (never re-armed by bytes arriving), else disarm it."""
        if not self._open() or not self._idle():
            self._stop_head_timer()
        elif self._head_timer is None:
            self._ready_since = self.loop.time()
            self._head_timer = self.loop.call_later(self.limits.head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._open() and self._idle():
            self.transport.close()

    # --- the connection cap -----------------------------------------------------------------

    def _make_room(self) -> None:
        """Over the cap: close the connection idle the longest (this one if every other is busy)."""
        others = [
            c for c in self.connections if c is not self and isinstance(c, GuardedH11Protocol) and c._open()
        ]
        if len(others) < self.limits.max_connections:
            return
        idle = [c for c in others if c._idle()]
        victim = min(idle, key=lambda c: c._ready_since) if idle else self
        victim._stop_head_timer()
        victim.transport.close()


def guarded_protocol(
    limits: ConnectionLimits, network: Connections | None = None
) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` class with these limits (reporting its connections to
    ``network``), for ``uvicorn.Config(http=...)``."""

    class Guarded(GuardedH11Protocol):
        pass

    Guarded.limits = limits
    Guarded.network = network
    return Guarded
