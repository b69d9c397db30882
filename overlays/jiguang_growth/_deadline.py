"""A wall-clock limit on one attempt, and cancelling the attempts of the sync client.

httpx's timeouts bound each read and each write, not an attempt: a server that
sends a byte a second keeps one alive forever. The async driver bounds the
attempt with ``asyncio.timeout``. The sync driver cannot interrupt a blocking
read from outside, so the network streams of the HTTP client it creates are
wrapped (:func:`install`): while an attempt is in progress (:func:`attempt`),
every connect, read and write waits at most until the attempt's deadline, and
reads wake up every :data:`CANCEL_POLL` seconds to see whether the attempt
was cancelled. Outside an attempt the wrapper changes nothing.
"""

from __future__ import annotations

import contextlib
import math
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

__all__ = [
    "CANCELLED",
    "CANCEL_POLL",
    "DEFAULT_ATTEMPT_TIMEOUT",
    "attempt",
    "deadline_message",
    "install",
]

DEFAULT_ATTEMPT_TIMEOUT = 30.0
"""Seconds one attempt may take from start to the last byte of its answer."""
CANCEL_POLL = 0.2
"""Longest a blocked read of a cancellable sync attempt goes without looking at its cancel flag."""
CANCELLED = "cancelled"
"""The message of the httpx error that ends a cancelled attempt."""
_WRITE_PIECE = 16 * 1024
_SHORTEST = 0.001


def deadline_message(seconds: float) -> str:
    """What the timeout that ends an attempt at its deadline says."""
    return f"no complete answer within attempt_timeout ({seconds:g} s)"


@dataclass(frozen=True, slots=True)
class _Attempt:
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
        return max(_SHORTEST, left if timeout is None else min(timeout, left))

    def poll(self, limit: float | None) -> float | None:
        """How long the next read may block: up to ``limit`` (a monotonic time) and the deadline,
        and no longer than :data:`CANCEL_POLL` when the attempt can be cancelled."""
        self.check(httpcore.ReadTimeout, httpcore.ReadError)
        wait = self.bounded(None if limit is None else max(0.0, limit - time.monotonic()))
        if self.cancel is not None:
            wait = CANCEL_POLL if wait is None else min(wait, CANCEL_POLL)
        return None if wait is None else max(_SHORTEST, wait)


_CURRENT: ContextVar[_Attempt | None] = ContextVar("jiguang_growth_attempt", default=None)


@contextlib.contextmanager
def attempt(seconds: float | None, cancel: threading.Event | None) -> Iterator[None]:
    """Within, the wrapped streams of this thread keep to the deadline and watch ``cancel``."""
    ends = math.inf if seconds is None else time.monotonic() + seconds
    token = _CURRENT.set(_Attempt(ends, seconds, cancel))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def check(request: httpx.Request) -> httpx.RequestError | None:
    """The error that ends the current attempt now (deadline passed, or cancelled), if any."""
    current = _CURRENT.get()
    if current is None:
        return None
    try:
        current.check(httpx.ReadTimeout, httpx.ReadError)
    except (httpx.ReadTimeout, httpx.ReadError) as error:
        error.request = request
        return error
    return None


class _Stream(httpcore.NetworkStream):
    """A network stream whose waits keep to the current attempt's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        current = _CURRENT.get()
        if current is None:
            return self._inner.read(max_bytes, timeout)
        limit = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = current.poll(limit)
            try:
                return self._inner.read(max_bytes, wait)
            except httpcore.ReadTimeout:
                if limit is not None and time.monotonic() >= limit:
                    raise  # the read timeout itself; otherwise look at the deadline and cancel again

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        current = _CURRENT.get()
        if current is None:
            self._inner.write(buffer, timeout)
            return
        limit = None if timeout is None else time.monotonic() + timeout
        for start in range(0, len(buffer), _WRITE_PIECE):  # a partial write cannot be retried
            current.check(httpcore.WriteTimeout, httpcore.WriteError)
            left = None if limit is None else max(0.0, limit - time.monotonic())
            self._inner.write(buffer[start : start + _WRITE_PIECE], current.bounded(left))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        current = _CURRENT.get()
        if current is not None:
            current.check(httpcore.ConnectTimeout, httpcore.ConnectError)
            timeout = current.bounded(timeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    """httpcore's network backend, its streams wrapped in :class:`_Stream`."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = self._connect_wait(timeout)
        return _Stream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout = self._connect_wait(timeout)
        return _Stream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

    @staticmethod
    def _connect_wait(timeout: float | None) -> float | None:
        current = _CURRENT.get()
        if current is None:
            return timeout
        current.check(httpcore.ConnectTimeout, httpcore.ConnectError)
        return current.bounded(timeout)


def install(client: httpx.Client) -> bool:
    """Wrap the network backend of each httpx transport ``client`` holds; False if none could be.

    Reaches into httpx's and httpcore's private attributes (``_transport``,
    ``_mounts``, ``_pool``, ``_network_backend``) of the exactly pinned
    versions; a test fails if they move. Transports of other kinds (a
    ``MockTransport``, your own) are left alone.
    """
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    installed = False
    for transport in transports:
        pool = getattr(transport, "_pool", None) if isinstance(transport, httpx.HTTPTransport) else None
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend):
            if not isinstance(backend, _Backend):
                pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
            installed = True
    return installed


def timed_out(request: httpx.Request, seconds: float) -> httpx.ReadTimeout:
    """The error of an attempt the async driver ended at its deadline."""
    return httpx.ReadTimeout(deadline_message(seconds), request=request)
