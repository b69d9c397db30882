"""Running the sandbox: uvicorn in a background thread, on a loopback port.

:func:`run_sandbox` is the way in for tests and scripts::

    with run_sandbox(qps_limit=5) as sandbox:
        httpx.post(sandbox.api_url + "/user/register", auth=sandbox.auth, json={...})
        assert sandbox.state.cuid_for("phone", "18012345678") is not None

The socket is bound before the server starts, so a busy port fails at once
with :class:`PortInUseError`, and port 0 picks a free port.
"""

from __future__ import annotations

import asyncio
import copy
import errno
import logging
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from types import TracebackType
from typing import Any

import uvicorn
from starlette.types import Scope
from uvicorn.config import LOGGING_CONFIG

from .. import _spec
from .._config import ENV_BASE_URL, ENV_PROJECT_ID, ENV_PROJECT_SECRET
from ._app import INSPECTION_PATH, ConnectionCloser, SandboxApp
from ._config import SandboxConfig
from ._connections import (
    DEFAULT_HEAD_TIMEOUT,
    KEEP_ALIVE_SECONDS,
    MAX_HEAD_BYTES,
    ConnectionLimits,
    default_max_connections,
    guarded_protocol,
)
from ._faults import FaultInjector
from ._hosts import is_loopback
from ._state import SandboxState

__all__ = ["PortInUseError", "SandboxServer", "SandboxStartError", "run_sandbox"]

logger = logging.getLogger("jiguang_growth.sandbox")

DEFAULT_HOST = "127.0.0.1"
SHUTDOWN_GRACE_SECONDS = 2
"""How long a stopping server waits for calls still in progress."""


class SandboxStartError(RuntimeError):
    """The sandbox could not start listening."""


class PortInUseError(SandboxStartError):
    """Another process already listens on the requested port."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"port {port} on {host} is already in use; stop whatever listens there, "
            f"or pick another port (--port 0 picks a free one)"
        )
        self.host = host
        self.port = port


def check_host(host: str, *, allow_non_loopback: bool = False) -> str:
    """The address to bind: ``localhost`` becomes 127.0.0.1; other hosts must be loopback."""
    if host == "localhost":
        return DEFAULT_HOST
    if not is_loopback(host) and not allow_non_loopback:
        raise SandboxStartError(
            f"refusing to listen on {host!r}: the sandbox serves fixed credentials and is meant for "
            f"this machine only; use 127.0.0.1, or allow it explicitly (--allow-non-loopback)"
        )
    return host


def _host_names(names: Iterable[str]) -> frozenset[str]:
    """Extra ``Host`` names, checked: bare names, without port, scheme or brackets."""
    checked = frozenset(name.strip().lower() for name in names)
    bad = sorted(name for name in checked if not name or any(c in name for c in ":/[]@ \t"))
    if bad:
        raise SandboxStartError(f"an allowed host is a bare host name, without port or scheme; got {bad}")
    return checked


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets that name it, and accepted
    # sockets copy it from this one. With Nagle on, a small answer waits for the client's
    # delayed ACK: about 40 ms per call instead of 2.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        # As uvicorn does: reuse a port held only by closed connections; a listener still blocks it.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port) from None
        raise SandboxStartError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return sock


def _stderr_logging() -> dict[str, Any]:
    """uvicorn's own log format, with the access log on stderr too (stdout is for the banner)."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def _connection_closer(server: uvicorn.Server) -> ConnectionCloser:
    """Close a request's connection with no answer.

    ASGI has no message for "close without answering", so this finds the
    connection by the client address in uvicorn's set of open connections and
    aborts its transport. The client sees the server hang up
    (``httpx.RemoteProtocolError``). tests/sandbox checks this still works.
    """

    def close(scope: Scope) -> bool:
        client = scope.get("client")
        for protocol in list(server.server_state.connections):
            if getattr(protocol, "client", None) == client:
                transport = getattr(protocol, "transport", None)
                if isinstance(transport, asyncio.Transport):
                    transport.abort()
                    return True
        return False

    return close


class SandboxServer:
    """A sandbox serving HTTP on loopback from a background thread; also its handle.

    Use it as a context manager (or :meth:`start` / :meth:`stop`). Once
    started, ``base_url`` is where it listens (without the API's base path,
    which clients add), ``state`` shows what arrived and ``faults`` changes the
    fault injection while it runs.

    A connection must send each request head within ``head_timeout`` seconds;
    at most ``max_connections`` stay open (default: half the soft
    file-descriptor limit, at most 1000), the one idle longest making room for
    a new one. It answers only requests whose ``Host`` is 127.0.0.1, localhost
    or [::1] with its port (421 otherwise, against DNS rebinding), or one of
    ``allowed_hosts`` (names such as a container's service name).
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        allow_non_loopback: bool = False,
        log_level: str = "warning",
        access_log: bool = False,
        uvicorn_logging: bool = False,
        head_timeout: float = DEFAULT_HEAD_TIMEOUT,
        max_connections: int | None = None,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        self.config = config or SandboxConfig()
        self.host = check_host(host, allow_non_loopback=allow_non_loopback)
        self._requested_port = port
        self.port = port
        self.app = SandboxApp(self.config)
        self.app.any_ip_host = not is_loopback(self.host)  # deliberately beyond loopback: IP addresses too
        self.app.allowed_hosts = _host_names(allowed_hosts)
        self.limits = ConnectionLimits(head_timeout, max_connections or default_max_connections())
        """Request heads must arrive within ``head_timeout`` s; at most ``max_connections`` stay open."""
        self._uvicorn = uvicorn.Server(
            uvicorn.Config(
                self.app,
                http=guarded_protocol(self.limits, self.app.connections),
                timeout_keep_alive=KEEP_ALIVE_SECONDS,
                h11_max_incomplete_event_size=MAX_HEAD_BYTES,
                # No limit_concurrency: it answers plain-text 503s and keeps the sockets open; the
                # connection cap above closes idle connections instead (see _connections).
                ws="none",
                lifespan="off",
                log_config=_stderr_logging() if uvicorn_logging else None,
                log_level=log_level,
                access_log=access_log,
                proxy_headers=False,  # scope["client"] must be the real peer
                server_header=False,
                timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
            )
        )
        if access_log:  # uvicorn gives its access logger the (default: warning) level; lines are INFO
            logging.getLogger("uvicorn.access").setLevel(logging.INFO)
        self.app.connection_closer = _connection_closer(self._uvicorn)
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # --- the handle -------------------------------------------------------------------------

    @property
    def state(self) -> SandboxState:
        """What the sandbox received (read it with ``snapshot()``, ``events()`` ...)."""
        return self.app.state

    @property
    def faults(self) -> FaultInjector:
        """The live fault injection: ``configure(...)``, ``force(...)``, ``clear()``."""
        return self.app.faults

    @property
    def project_id(self) -> str:
        return self.config.project_id

    @property
    def project_secret(self) -> str:
        return self.config.project_secret

    @property
    def auth(self) -> tuple[str, str]:
        """``(project_id, project_secret)``, e.g. for ``httpx``'s ``auth=``."""
        return (self.config.project_id, self.config.project_secret)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: scheme, host and port, without the API's base path."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """``base_url`` plus the API's base path (``/smartop/api/v1``)."""
        return self.base_url + _spec.base_path()

    @property
    def state_url(self) -> str:
        """The read-only inspection view (same credentials as the API)."""
        return self.base_url + INSPECTION_PATH

    def env(self) -> dict[str, str]:
        """The environment variables that point the jiguang_growth clients at this sandbox."""
        return {
            ENV_BASE_URL: self.base_url,
            ENV_PROJECT_ID: self.project_id,
            ENV_PROJECT_SECRET: self.project_secret,
        }

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- lifecycle --------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Bind the port and serve from a background thread; return once it accepts calls."""
        if self._thread is not None:
            raise SandboxStartError("this sandbox was already started")
        self._socket = _bind(self.host, self._requested_port)
        self.port = int(self._socket.getsockname()[1])
        self._thread = threading.Thread(
            target=self._serve, name=f"jiguang-growth-sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise SandboxStartError(f"the sandbox did not start: {self._error or 'timed out'}")
            time.sleep(0.005)
        return self

    def _serve(self) -> None:
        assert self._socket is not None
        try:
            asyncio.run(self._uvicorn.serve(sockets=[self._socket]))
        except BaseException as error:  # reported by start(), or logged if it happens later
            self._error = error
            logger.error("the sandbox server stopped unexpectedly: %r", error)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving; calls still held by a ``timeout`` fault are closed. Idempotent."""
        self.app.stopping.set()
        self._uvicorn.should_exit = True
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("the sandbox on port %s did not stop within %.0f s", self.port, timeout)
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> SandboxServer:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SandboxServer {self.base_url} {'running' if self.running else 'stopped'}>"


@contextmanager
def run_sandbox(
    config: SandboxConfig | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    allow_non_loopback: bool = False,
    head_timeout: float = DEFAULT_HEAD_TIMEOUT,
    max_connections: int | None = None,
    allowed_hosts: Iterable[str] = (),
    **changes: Any,
) -> Iterator[SandboxServer]:
    """Run a sandbox on a loopback port (a free one by default) for the ``with`` block.

    ``changes`` override fields of ``config``: ``run_sandbox(qps_limit=3)``. ``head_timeout``,
    ``max_connections`` and ``allowed_hosts`` are those of :class:`SandboxServer`.
    """
    base = config or SandboxConfig()
    server = SandboxServer(
        replace(base, **changes) if changes else base,
        host=host,
        port=port,
        allow_non_loopback=allow_non_loopback,
        head_timeout=head_timeout,
        max_connections=max_connections,
        allowed_hosts=allowed_hosts,
    )
    with server.start():
        yield server
