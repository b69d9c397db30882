"""The sync client's network streams, wrapped to keep to the attempt's deadline (see :mod:`._deadline`).

A module of its own because it needs httpcore, which ``import jiguang_growth`` does not load:
the first sync client imports it, and httpx needs httpcore from then on anyway.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from ._deadline import CANCEL_POLL, CURRENT, SHORTEST, Attempt

__all__ = ["install"]

_WRITE_PIECE = 16 * 1024
"""Writes go out in pieces of this size, so a slow reader cannot hold one write past the deadline."""


def _poll(current: Attempt, limit: float | None) -> float | None:
    """How long the next read may block: up to ``limit`` (a monotonic time) and the deadline,
    and no longer than :data:`CANCEL_POLL` when the attempt can be cancelled."""
    current.check(httpcore.ReadTimeout, httpcore.ReadError)
    wait = current.bounded(None if limit is None else max(0.0, limit - time.monotonic()))
    if current.cancel is not None:
        wait = CANCEL_POLL if wait is None else min(wait, CANCEL_POLL)
    return None if wait is None else max(SHORTEST, wait)


class _Stream(httpcore.NetworkStream):
    """A network stream whose waits keep to the current attempt's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        current = CURRENT.get()
        if current is None:
            return self._inner.read(max_bytes, timeout)
        limit = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = _poll(current, limit)
            try:
                return self._inner.read(max_bytes, wait)
            except httpcore.ReadTimeout:
                if limit is not None and time.monotonic() >= limit:
                    raise  # the read timeout itself; otherwise look at the deadline and cancel again

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        current = CURRENT.get()
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
        current = CURRENT.get()
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
        current = CURRENT.get()
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
