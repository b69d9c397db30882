"""The sandbox as an ASGI application (Starlette), routed and validated from openapi.yaml.

One call to an operation goes through, in order: routing (404, 405), the
network's request-path delay, HTTP Basic auth (401), the operation's rate
limit (429), the fault draw and its latency, refusing faults, reading the
body (415, 413, 408), JSON parsing (400), ``validate_request`` against the
spec (400), the state's own rules (400), the write, faults that answer after
the write, then the network's response-path delay. Every answer that is not
an injected fault is a JSON envelope with a non-zero ``code`` on failure (see
:mod:`._codes`); no answer ever carries a traceback.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .. import _spec
from .._exceptions import RequestValidationError
from .._validation import validate_request
from ._codes import SandboxCode, injected_code
from ._config import SandboxConfig
from ._faults import REFUSING_STATUSES, Draw, Fault, FaultInjector, FaultKind
from ._hosts import LOOPBACK_NAMES, host_allowed
from ._network import Connections, NetworkModel
from ._ratelimit import RateLimiter
from ._state import RequestRejectedError, SandboxState, short_repr

__all__ = [
    "INSPECTION_PATH",
    "LOOPBACK_ORIGIN",
    "ConnectionClosedError",
    "SandboxApp",
    "create_app",
]

logger = logging.getLogger("jiguang_growth.sandbox")

INSPECTION_PREFIX = "/_sandbox"
INSPECTION_PATH = INSPECTION_PREFIX + "/state"
"""Read-only view of the state: not part of openapi.yaml, same credentials as the API."""

LOOPBACK_ORIGIN = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?"
"""Browser origins allowed by CORS: pages served from this machine (e.g. Swagger UI)."""

INLINE_BODY_BYTES = 64 * 1024
"""Bodies up to this size are parsed, checked and applied on the event loop; larger ones in a
worker thread (the work is linear in the body's size, so this bounds the time the loop is held)."""

REALM = 'Basic realm="jiguang-growth sandbox", charset="UTF-8"'

HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
    "<h1>502 Bad Gateway</h1><p>jiguang-growth sandbox: injected malformed answer.</p></body></html>"
)

ConnectionCloser = Callable[[Scope], bool]
"""Closes the connection a request arrived on; returns False if it cannot."""


class ConnectionClosedError(ConnectionError):
    """Raised in place of closing a connection when the app runs without the sandbox's server."""


class EnvelopeResponse(JSONResponse):
    """A JSON envelope. ``code`` is kept for the request log."""

    def __init__(
        self, content: Mapping[str, Any], status_code: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        code = content.get("code")
        self.code = code if isinstance(code, int) else None
        super().__init__(dict(content), status_code, headers)

    def render(self, content: Any) -> bytes:
        try:
            return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        except UnicodeEncodeError:  # a lone surrogate sent as "\ud800" comes back escaped
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def envelope(
    code: SandboxCode, msg: str, *, data: Any = None, headers: Mapping[str, str] | None = None
) -> EnvelopeResponse:
    """A failure (or success) answer with ``code``'s HTTP status."""
    content: dict[str, Any] = {"code": int(code), "msg": msg}
    if data is not None:
        content["data"] = data
    return EnvelopeResponse(content, code.status, headers)


class _Answer(Exception):  # noqa: N818 - control flow: "send this response now"
    """Stop processing and send this response."""

    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


@dataclass
class _Call:
    """Bookkeeping for one operation call, for the request log."""

    operation: str
    method: str
    path: str
    started: float
    fault: str | None = None
    applied: bool = False


class _CloseConnection(Response):
    """No answer at all: hold the connection silent for ``hold`` seconds, then close it."""

    def __init__(self, app: SandboxApp, hold: float) -> None:
        super().__init__()
        self._app = app
        self._hold = hold

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            deadline = time.monotonic() + self._hold
            while not gone.done() and not self._app.stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                await asyncio.sleep(min(0.05, remaining))
            if gone.done():
                return  # the client hung up first (its own timeout): nothing left to close
            closer = self._app.connection_closer
            if closer is None or not closer(scope):
                raise ConnectionClosedError("sandbox fault: connection closed without an answer")
            # Let the server see the closed connection, so that it does not answer for us.
            await asyncio.wait_for(asyncio.shield(gone), timeout=2.0)
        finally:
            gone.cancel()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


class _LoopbackCORS(CORSMiddleware):
    """Starlette's CORS middleware, with preflight answers in the envelope too."""

    def preflight_response(self, request_headers: Headers) -> Response:
        plain = super().preflight_response(request_headers=request_headers)
        headers = {k: v for k, v in plain.headers.items() if k not in {"content-length", "content-type"}}
        if plain.status_code == 200:
            return EnvelopeResponse({"code": 0, "msg": "preflight ok"}, 200, headers)
        reason = bytes(plain.body).decode("utf-8", "replace")
        return envelope(
            SandboxCode.CORS_REJECTED, f"{reason} (only loopback origins are allowed)", headers=headers
        )


class SandboxApp:
    """The sandbox's ASGI application together with its live state, faults and limits.

    Pass it to any ASGI server or test transport. Faults that close the
    connection (``drop``, ``timeout``) need the sandbox's own server
    (:func:`jiguang_growth.sandbox.run_sandbox`); elsewhere they raise
    :class:`ConnectionClosedError` inside the app.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        state: SandboxState | None = None,
        faults: FaultInjector | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.state = state or SandboxState(self.config)
        self.faults = faults or FaultInjector(self.config.faults)
        operations = _spec.operations()
        missing = set(operations) - self.state.operations
        if missing:
            raise RuntimeError(
                f"openapi.yaml has operations the sandbox does not implement: {sorted(missing)}"
            )
        self.limiter = RateLimiter(
            {op: self.config.limit_for(op) for op in operations}, kind=self.config.limiter
        )
        self.network = NetworkModel(self.config.network)
        self.connections = Connections()
        """The connections the sandbox's server opened; a new one's first call pays its handshakes."""
        self.connection_closer: ConnectionCloser | None = None
        """Set by the server: closes the connection of a request without answering."""
        self.stopping = threading.Event()
        """Set when the server shuts down; ends held connections early."""
        self.any_ip_host = False
        """Set by a server listening beyond loopback: ``Host`` may then be any IP address too."""
        self.allowed_hosts: frozenset[str] = frozenset()
        """Host names accepted besides the loopback ones (``--allow-host``)."""
        self._paths = {op.full_path: op for op in operations.values()}
        routes = [
            Route(op.full_path, self._endpoint(op), methods=[op.method], name=op.operation_id)
            for op in operations.values()
        ]
        routes.append(Route(INSPECTION_PATH, self._inspect, methods=["GET"], name="sandbox_state"))
        self._asgi = Starlette(
            routes=routes,
            middleware=[
                Middleware(
                    _LoopbackCORS,
                    allow_origin_regex=LOOPBACK_ORIGIN,
                    allow_methods=sorted({op.method for op in operations.values()} | {"GET"}),
                    allow_headers=["Authorization", "Content-Type"],
                    expose_headers=["Retry-After", "WWW-Authenticate"],
                )
            ],
            exception_handlers={HTTPException: self._http_error, Exception: self._crash},
        )
        self._asgi.router.redirect_slashes = False  # a trailing slash is a 404 envelope, not a redirect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Before anything else, routing and CORS included: a request naming another host (DNS
        # rebinding) gets 421 and is neither read nor applied.
        if scope["type"] == "http" and not self._host_allowed(scope):
            await self._misdirected(scope)(scope, receive, send)
            return
        await self._asgi(scope, receive, send)

    def _host_allowed(self, scope: Scope) -> bool:
        server = scope.get("server")
        return host_allowed(
            Headers(scope=scope).get("host"),
            server[1] if server else None,
            any_ip=self.any_ip_host,
            names=self.allowed_hosts,
        )

    def _misdirected(self, scope: Scope) -> EnvelopeResponse:
        """The answer to a request that names another host: nothing is read, stored or served."""
        server = scope.get("server")
        response = envelope(
            SandboxCode.HOST_NOT_ALLOWED,
            f"this sandbox answers only to Host {LOOPBACK_NAMES} with port {server[1] if server else '?'}; "
            f"got {short_repr(Headers(scope=scope).get('host'))} (a guard against DNS rebinding)",
            headers={"Connection": "close"},
        )
        self._record_unrouted(str(scope.get("method", "")), str(scope.get("path", "")), response)
        return response

    def _record_unrouted(self, method: str, path: str, response: EnvelopeResponse) -> None:
        """Log an answer given before an operation ran (the state view's are not logged)."""
        if not path.startswith(INSPECTION_PREFIX):
            op = self._paths.get(path)
            self.state.record(
                operation=op.operation_id if op else None,
                method=method,
                path=path,
                status=response.status_code,
                code=response.code,
            )

    # --- operations ---------------------------------------------------------------------------

    def _endpoint(self, op: _spec.Operation) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await self._operation(request, op)

        return endpoint

    async def _operation(self, request: Request, op: _spec.Operation) -> Response:
        call = _Call(op.operation_id, request.method, request.url.path, time.perf_counter())
        delay = self.network.request_delay()
        if self.connections.first_call(request.scope.get("client")):
            delay += self.network.connect_delay()  # a new connection's handshakes come first
        if delay > 0:
            await asyncio.sleep(delay)  # on its way in: the limiter below counts the arrival late
        try:
            response = await self._handle(request, op, call)
        except _Answer as answer:
            response = answer.response
        except ClientDisconnect:
            self._log(call, None, None)
            return Response(status_code=400)  # nobody is listening any more
        except Exception:
            logger.exception("sandbox bug while handling %s %s", call.method, call.path)
            response = envelope(SandboxCode.INTERNAL_ERROR, "internal sandbox error; see the sandbox's log")
        if isinstance(response, _CloseConnection):
            self._log(call, None, None)
            return response
        self._log(call, response.status_code, getattr(response, "code", None))
        if (delay := self.network.response_delay()) > 0:
            await asyncio.sleep(delay)  # on its way out
        return response

    def _log(self, call: _Call, status: int | None, code: int | None) -> None:
        self.state.record(
            operation=call.operation,
            method=call.method,
            path=call.path,
            status=status,
            code=code,
            fault=call.fault,
            applied=call.applied,
            started=call.started,
        )

    async def _handle(self, request: Request, op: _spec.Operation, call: _Call) -> Response:
        self._authenticate(request)
        wait = self.limiter.acquire(op.operation_id)
        if wait is not None:
            seconds = RateLimiter.retry_after(wait)
            limit = self.limiter.limits[op.operation_id]
            return envelope(
                SandboxCode.RATE_LIMITED,
                f"too many requests: {op.operation_id} allows {limit} calls per second; retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )
        draw = self.faults.draw(op.operation_id)
        fault = draw.fault
        if draw.latency_seconds > 0:
            await asyncio.sleep(draw.latency_seconds)
        if fault is not None and fault.kind is FaultKind.ERROR and not fault.applies_write:
            call.fault = fault.label
            return self._injected_error(fault, draw)
        raw = await self._read_body(request)
        if fault is not None and fault.kind is FaultKind.DROP:
            call.fault = fault.label
            return _CloseConnection(self, 0.0)
        # A small body takes well under a millisecond: done here, unless another write holds the state.
        answer = self._process(op, raw, call, inline=True) if len(raw) <= INLINE_BODY_BYTES else None
        if answer is None:  # long work goes to a worker thread, so the loop keeps serving other calls
            answer = await run_in_threadpool(self._process, op, raw, call)
            assert answer is not None  # not inline: the write waits for the state instead
        if fault is None:
            return answer
        call.fault = fault.label
        return self._after_write(fault, draw, answer)

    def _process(
        self, op: _spec.Operation, raw: bytes, call: _Call, *, inline: bool = False
    ) -> EnvelopeResponse | None:
        """Parse, check and apply one body; ``inline``: ``None`` if the state is busy (nothing done)."""
        body = _parse(raw)
        try:
            validate_request(op.operation_id, body)
        except RequestValidationError as error:
            return envelope(
                SandboxCode.INVALID_REQUEST,
                f"invalid request: {error.message} (rule: {error.rule})",
                data={"field": error.field, "rule": error.rule},
            )
        try:
            payload = (self.state.try_apply if inline else self.state.apply)(op.operation_id, body)
        except RequestRejectedError as rejection:
            return envelope(rejection.code, rejection.message)
        if payload is None:
            return None
        call.applied = True
        return EnvelopeResponse(payload)

    def _injected_error(self, fault: Fault, draw: Draw) -> EnvelopeResponse:
        assert fault.status is not None
        headers = (
            {"Retry-After": str(draw.retry_after_seconds)} if fault.status in REFUSING_STATUSES else None
        )
        content = {
            "code": injected_code(fault.status),
            "msg": f"sandbox fault injection: HTTP {fault.status}",
        }
        return EnvelopeResponse(content, fault.status, headers)

    def _after_write(self, fault: Fault, draw: Draw, answer: EnvelopeResponse) -> Response:
        if fault.kind is FaultKind.ERROR:
            return self._injected_error(fault, draw)
        if fault.kind is FaultKind.HTML:
            return HTMLResponse(HTML_PAGE, status_code=502)
        if fault.kind is FaultKind.TRUNCATED:
            body = bytes(answer.body)
            return Response(body[: max(1, len(body) // 2)], answer.status_code, media_type="application/json")
        return _CloseConnection(self, draw.hang_seconds)

    # --- request pieces -----------------------------------------------------------------------

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization")
        if header is None:
            reason = "missing credentials: send HTTP Basic auth with the project ID and secret"
        else:
            scheme, _, token = header.strip().partition(" ")
            if scheme.lower() != "basic":
                reason = "the Authorization header must use the Basic scheme"
            else:
                try:
                    given = base64.b64decode(token.strip(), validate=True)
                except (binascii.Error, ValueError):
                    given = None
                expected = f"{self.config.project_id}:{self.config.project_secret}".encode()
                if given is not None and hmac.compare_digest(given, expected):
                    return
                reason = "malformed Basic credentials" if given is None else "wrong project ID or secret"
        raise _Answer(envelope(SandboxCode.UNAUTHORIZED, reason, headers={"WWW-Authenticate": REALM}))

    async def _read_body(self, request: Request) -> bytes:
        content_type = request.headers.get("content-type")
        if content_type is None:
            raise _Answer(
                envelope(SandboxCode.UNSUPPORTED_MEDIA_TYPE, "missing Content-Type; send application/json")
            )
        else:
            media = content_type.split(";", 1)[0].strip().lower()
            if media != "application/json" and not media.endswith("+json"):
                raise _Answer(
                    envelope(
                        SandboxCode.UNSUPPORTED_MEDIA_TYPE,
                        f"unsupported Content-Type {media!r}; send application/json",
                    )
                )
        limit = self.config.max_body_bytes
        too_large = envelope(
            SandboxCode.BODY_TOO_LARGE,
            f"request body is larger than {limit} bytes",
            headers={"Connection": "close"},
        )
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _Answer(too_large)
        received = bytearray()
        try:
            async with asyncio.timeout(self.config.body_timeout_seconds):
                async for chunk in request.stream():
                    received += chunk
                    if len(received) > limit:
                        raise _Answer(too_large)
        except TimeoutError:
            raise _Answer(
                envelope(
                    SandboxCode.BODY_TIMEOUT,
                    f"the request body did not arrive within {self.config.body_timeout_seconds:g} s",
                    headers={"Connection": "close"},
                )
            ) from None
        return bytes(received)

    # --- everything else ----------------------------------------------------------------------

    async def _inspect(self, request: Request) -> Response:
        try:
            self._authenticate(request)
        except _Answer as answer:
            return answer.response
        return await run_in_threadpool(self._state_view)

    def _state_view(self) -> EnvelopeResponse:
        """The state as an answer; copying and rendering a big state take a while, so a worker thread."""
        data = self.state.snapshot().to_json() | {"connections": self.connections.to_json()}
        return EnvelopeResponse({"code": 0, "msg": "success", "data": data})

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        path = request.url.path
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            allowed = headers.get("Allow", "")
            response: EnvelopeResponse = envelope(
                SandboxCode.METHOD_NOT_ALLOWED,
                f"method {request.method} is not allowed on {path}; use {allowed}",
                headers=headers,
            )
        elif exc.status_code == 404:
            response = envelope(
                SandboxCode.NOT_FOUND, f"no operation at {path}; the API is under {_spec.base_path()}"
            )
        else:
            content = {"code": exc.status_code * 100, "msg": str(exc.detail)}
            response = EnvelopeResponse(content, exc.status_code, headers)
        self._record_unrouted(request.method, path, response)
        return response

    async def _crash(self, request: Request, exc: Exception) -> Response:
        logger.error("sandbox bug: %s %s failed: %r", request.method, request.url.path, exc)
        return envelope(SandboxCode.INTERNAL_ERROR, "internal sandbox error; see the sandbox's log")


def _parse(raw: bytes) -> Any:
    """The JSON value of a body, or an :class:`_Answer` with a 400 envelope."""
    if not raw.strip():
        raise _Answer(envelope(SandboxCode.INVALID_JSON, "request body is empty; send a JSON body"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _Answer(
            envelope(SandboxCode.INVALID_JSON, f"request body is not UTF-8 (byte {error.start})")
        ) from None
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as error:
        detail = str(error) if isinstance(error, ValueError) else "nested too deeply"
        raise _Answer(
            envelope(SandboxCode.INVALID_JSON, f"request body is not valid JSON: {detail}")
        ) from None


def create_app(config: SandboxConfig | None = None, **changes: Any) -> SandboxApp:
    """A new sandbox application; ``changes`` override fields of ``config``."""
    base = config or SandboxConfig()
    return SandboxApp(replace(base, **changes) if changes else base)
