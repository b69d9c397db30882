"""A client's side of the network model: new connections that cost round trips before they carry.

``--connect-rtts`` makes the sandbox charge a new connection's handshakes to
its first call on the way in, which the client cannot tell from a slow path.
Far away, the client sees them: TCP's handshake and TLS's take their round
trips before the request's first byte goes out (httpcore's ``trace`` reports
the connection, then the request). :func:`handshake_transport` models that on
the client's side: an HTTP transport (the one the sync client makes itself,
with its pool) whose every new connection waits the network's
``connect_round_trips`` round trips, drawn like the sandbox's delays, before
it is opened. Use it with a sandbox that charges none itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from .. import _client, _deadline_streams
from ._network import NetworkConfig, NetworkModel

__all__ = ["handshake_transport"]


class _SlowConnections(httpcore.NetworkBackend):
    """httpcore's sync backend, each new connection first waiting its handshakes."""

    def __init__(self, model: NetworkModel) -> None:
        self._model = model
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        time.sleep(self._model.connect_delay())
        return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        time.sleep(self._model.connect_delay())
        return self._inner.connect_unix_socket(path, timeout, socket_options)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def handshake_transport(network: NetworkConfig) -> httpx.BaseTransport:
    """A transport for ``GrowthClient(transport=...)`` whose new connections each wait
    ``network.connect_round_trips`` round trips of ``network`` before they open."""
    return _deadline_streams.DeadlineTransport(
        limits=_client.pool_limits(), network_backend=_SlowConnections(NetworkModel(network))
    )
