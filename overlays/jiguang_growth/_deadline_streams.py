"""The sync client's transport, whose network streams keep to the attempt's deadline (:mod:`._deadline`).

httpcore lets a connection pool be given its own network backend; :class:`_Backend` wraps the
standard one so that every connect, read and write it hands out waits no longer than the attempt
allows. :class:`DeadlineTransport` puts such a pool behind httpx's public transport interface.
Nothing here reads a private attribute of httpx or httpcore (tests/overlays/test_dependency_privates.py).

A module of its own because it needs httpcore, which ``import jiguang_growth`` does not load:
the first sync client imports it, and httpx needs httpcore from then on anyway.
"""

from __future__ import annotations

import contextlib
import ipaddress
import ssl
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpcore
import httpx

from ._deadline import CANCEL_POLL, CURRENT, SHORTEST, Attempt

__all__ = ["DeadlineTransport", "http_client", "proxy_patterns"]

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


_ERROR_NAMES = (
    "TimeoutException",
    "ConnectTimeout",
    "ReadTimeout",
    "WriteTimeout",
    "PoolTimeout",
    "NetworkError",
    "ConnectError",
    "ReadError",
    "WriteError",
    "ProxyError",
    "UnsupportedProtocol",
    "ProtocolError",
    "LocalProtocolError",
    "RemoteProtocolError",
)
_HTTPX_ERROR: dict[type[Exception], type[httpx.TransportError]] = {
    getattr(httpcore, name): getattr(httpx, name) for name in _ERROR_NAMES
}
"""Each public httpcore error and the httpx error of the same name, which the client's callers see."""


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    """Raise httpcore's errors as httpx's: the most specific one, with the same message."""
    try:
        yield
    except Exception as error:
        mapped = next((_HTTPX_ERROR[kind] for kind in type(error).__mro__ if kind in _HTTPX_ERROR), None)
        if mapped is None:
            raise
        raise mapped(str(error)) from error


class _Body(httpx.SyncByteStream):
    """An answer's body as httpcore streams it, its errors raised as httpx's."""

    def __init__(self, chunks: Iterable[bytes], close: Callable[[], None]) -> None:
        self.chunks = chunks
        self.release = close

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self.chunks

    def close(self) -> None:
        with _httpx_errors():
            self.release()


class DeadlineTransport(httpx.BaseTransport):
    """An HTTP transport whose connections keep to the current attempt's deadline.

    Built on public APIs only: an ``httpcore.ConnectionPool`` given
    :class:`_Backend` as its ``network_backend``, behind httpx's transport
    interface. It stands in for ``httpx.HTTPTransport`` in the clients the
    sync :class:`~jiguang_growth.GrowthClient` creates (one per proxy from the
    environment too, see :func:`http_client`); a client given ``transport=``
    or ``http_client=`` keeps what it was given.
    """

    def __init__(
        self,
        verify: ssl.SSLContext | str | bool = True,
        *,
        proxy: str | None = None,
        limits: httpx.Limits,
        network_backend: httpcore.NetworkBackend | None = None,
    ) -> None:
        context = httpx.create_ssl_context(verify=verify)
        via = None
        if proxy is not None:
            given = httpx.Proxy(proxy)
            via = httpcore.Proxy(str(given.url), given.raw_auth, given.headers.raw, given.ssl_context)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            proxy=via,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend(network_backend or httpcore.SyncBackend()),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        target = httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)
        assert isinstance(request.stream, httpx.SyncByteStream)
        outgoing = httpcore.Request(
            request.method,
            target,
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            answer = self._pool.handle_request(outgoing)
        assert isinstance(answer.stream, Iterable)
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream, answer.close),
            extensions=answer.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def http_client(
    verify: ssl.SSLContext | str | bool,
    timeout: float | httpx.Timeout,
    headers: dict[str, str],
    limits: httpx.Limits,
) -> httpx.Client:
    """An ``httpx.Client`` whose connections keep to the attempt's deadline, proxies included.

    httpx reads proxies from the environment only for transports it makes
    itself, so they are read here, the way httpx reads them
    (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``, through
    :func:`urllib.request.getproxies`), and each gets a :class:`DeadlineTransport`.
    """
    mounts: dict[str, httpx.BaseTransport | None] = {
        pattern: None if proxy is None else DeadlineTransport(verify, proxy=proxy, limits=limits)
        for pattern, proxy in proxy_patterns(urllib.request.getproxies()).items()
    }
    transport = DeadlineTransport(verify, limits=limits)
    return httpx.Client(timeout=timeout, headers=headers, transport=transport, mounts=mounts)


def proxy_patterns(found: dict[str, str]) -> dict[str, str | None]:
    """httpx's mount patterns for the proxies ``urllib.request.getproxies()`` found; ``None``: no proxy."""
    bypass = [host.strip() for host in found.get("no", "").split(",") if host.strip()]
    if "*" in bypass:
        return {}
    patterns: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        url = found.get(scheme)
        if url:
            patterns[f"{scheme}://"] = url if "://" in url else f"http://{url}"
    if not patterns:
        return {}
    for host in bypass:
        patterns[_bypass_pattern(host)] = None
    return patterns


def _bypass_pattern(host: str) -> str:
    """The mount pattern of one ``NO_PROXY`` entry: a URL as given, an address, or a domain and below."""
    if "://" in host:
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"all://{host}" if host.lower() == "localhost" else f"all://*{host}"
    return f"all://[{host}]" if address.version == 6 else f"all://{host}"
