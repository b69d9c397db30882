"""GrowthClient and AsyncGrowthClient: settings and two tiny drivers under the generated methods.

The methods, one per operation of openapi.yaml, are generated (``Operations`` and
``AsyncOperations`` of ``jiguang_growth_generated.operations``); each hands its arguments
to ``_call``, which builds the call with :mod:`._operations` and hands it to a driver:
the sync one sends with ``httpx.Client`` and waits with ``time.sleep``, the
async one sends with ``httpx.AsyncClient`` and waits with ``asyncio.sleep``.
Everything else (validation, pacing, retries, error mapping) is the same code, in :mod:`._call`.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, cast

import httpx

from jiguang_growth_generated.operations import AsyncOperations, AsyncRawOperations, Operations, RawOperations

from . import _deadline, _logging, _spec
from . import _operations as ops
from ._body import ACCEPT_ENCODING, DEFAULT_MAX_RESPONSE_BYTES, BodyReader
from ._call import Call, CallSetup, Reply, Send
from ._config import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Settings,
    check_attempt_timeout,
    check_max_response_bytes,
    check_max_retries,
    resolve,
    user_agent,
)
from ._deadline import DEFAULT_ATTEMPT_TIMEOUT
from ._exceptions import ConfigurationError
from ._hooks import AttemptHook, Hooks, Observer, check_hooks, combine
from ._options import CallOptions, Timeout, check_headers, check_timeout, merge_headers, per_call
from ._pacing import shared_pacer
from ._response import Capture
from ._shared_quota import check_quota_url
from ._trace import ConnectionTrace, traced

__all__ = ["AsyncGrowthClient", "AsyncRawGrowthClient", "GrowthClient", "RawGrowthClient", "cancelled_by"]

T = TypeVar("T")
_Http = TypeVar("_Http", httpx.Client, httpx.AsyncClient)
_Transport = TypeVar("_Transport", httpx.BaseTransport, httpx.AsyncBaseTransport)
Verify = bool | str | ssl.SSLContext


POOL_CONNECTIONS = 100
"""Connections the HTTP client a client creates keeps open, in use or idle, at most. Every one may
stay open between calls: the pacer keeps about ``rate x answer time`` calls in flight (a bulk run or
a reporter at most 64 by default), and a connection closed after its answer costs the next call a
new TCP and TLS handshake, two round trips far away (httpx keeps only 20 idle by default)."""
KEEPALIVE_SECONDS = 5.0
"""An idle connection is closed after this long: many times the pacing period (a connection in a
paced pool waits well under a second for its next call), and no longer than servers commonly keep
one (uvicorn's 5 s), so the server is not the one closing a connection as a call goes out on it."""


def pool_limits() -> httpx.Limits:
    """The connection pool of the HTTP client a client creates (see :data:`POOL_CONNECTIONS`)."""
    return httpx.Limits(
        max_connections=POOL_CONNECTIONS,
        max_keepalive_connections=POOL_CONNECTIONS,
        keepalive_expiry=KEEPALIVE_SECONDS,
    )


class _ClientBase(Generic[_Http, _Transport]):
    """Settings and routes shared by both clients."""

    _http_class: type[_Http]
    """The httpx client class a client creates when it is not given one."""

    def __init__(
        self,
        project_id: str | None = None,
        project_secret: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        verify: Verify | None = None,
        transport: _Transport | None = None,
        http_client: _Http | None = None,
        user_agent: str | None = None,
        pace: bool | str = False,
        default_headers: Mapping[str, str] | None = None,
        on_attempt: AttemptHook | Sequence[AttemptHook] | None = None,
        telemetry: bool | None = None,
        attempt_timeout: float | None = DEFAULT_ATTEMPT_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        """Check every setting now, so that a missing credential fails here and not on a request.

        ``project_id``, ``project_secret`` and ``base_url`` default to the
        ``JIGUANG_PROJECT_ID``, ``JIGUANG_PROJECT_SECRET`` and
        ``JIGUANG_GROWTH_BASE_URL`` environment variables; ``base_url`` then to
        the production host. Give the host (``https://growth.jiguang.cn``);
        the API's base path is added unless it is already there.

        ``timeout`` (default 10 s, 5 s to connect) bounds each connect, each
        read and each write, and ``verify`` (default: TLS certificates are
        checked); both configure the HTTP client this client creates.
        ``transport`` replaces its transport (``httpx.MockTransport`` in
        tests). Pass ``http_client`` to use your own client instead; it is
        then yours to configure and to close, and the three options above
        must not be given (the sync client then checks ``attempt_timeout``
        only between the chunks of an answer).

        ``pace=True`` holds every attempt until the process-wide pacer of its
        operation (one per project, server and operation, shared by every
        client, thread and task) grants a slot under the operation's
        ``x-qps-limit``, adapted to the answer times; a 429 slows that pacer
        down and its own call waits for its ``Retry-After``. The bulk helpers
        always pace. ``pace="redis://…"`` also shares the grants with every
        process and host pacing through that Redis server (needs the ``redis``
        extra); an unreachable server is a :class:`ConfigurationError` here.

        ``default_headers`` go with every request (never ``Authorization``).
        ``on_attempt`` (a callable or several) is called with an
        :class:`~jiguang_growth.Attempt` after every attempt. ``telemetry``:
        OpenTelemetry spans and metrics, on by default when
        ``opentelemetry-api`` is installed; ``False`` turns them off.
        ``JIGUANG_GROWTH_LOG=debug|info`` logs a line per attempt.

        ``attempt_timeout`` (default 30 s; ``None``: no limit) bounds one whole
        attempt by the wall clock, from connecting to the last byte of the
        answer, however slowly the server sends; a late attempt ends in
        :class:`~jiguang_growth.APITimeoutError` and is retried as a timeout.
        ``max_response_bytes`` (default 4 MiB) is the largest answer body read,
        counted after gzip/deflate decoding; a larger one ends the attempt with
        :class:`~jiguang_growth.APIResponseError` for a 2xx (the status's error
        otherwise) without reading the rest.
        """
        settings = resolve(project_id, project_secret, base_url, max_retries)
        limits = (check_attempt_timeout(attempt_timeout), check_max_response_bytes(max_response_bytes))
        if timeout is not None:
            timeout = check_timeout(timeout)
        extra = {} if default_headers is None else check_headers(default_headers, "default_headers")
        log = _logging.from_environment()
        self._observer = combine(
            Hooks(hooks) if (hooks := check_hooks(on_attempt)) else None, log, _telemetry(telemetry)
        )
        self._project_id = settings.project_id
        self._base_url = settings.base_url
        self._api_url = settings.api_url
        self._max_retries = settings.max_retries
        self._auth = httpx.BasicAuth(settings.project_id, settings.project_secret)  # sent with every request
        self._routes = _routes(
            settings.api_url, settings.max_retries, _redactions(self._auth, settings), *limits
        )
        self._cancel: threading.Event | None = None
        self._pace: bool | str = False
        self._routes = {
            op_id: replace(route, observer=self._observer, retry_log=log is None)
            for op_id, route in self._routes.items()
        }
        if pace:
            self._routes = self._paced_routes(pace)
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": user_agent if user_agent is not None else _default_user_agent(),
        }
        if http_client is None:
            self._http_settings: tuple[Any, ...] | None = (
                DEFAULT_TIMEOUT if timeout is None else timeout,
                True if verify is None else verify,
                transport,
                headers,
            )
            self._http: _Http = self._new_http_client(*self._http_settings)
            self._owns_http = True
            self._request_headers: dict[str, str] | None = None  # already the client's defaults
        else:
            _check_no_http_options(timeout=timeout, verify=verify, transport=transport)
            self._http = http_client
            self._http_settings = None
            self._owns_http = False
            self._request_headers = headers
        self._request_headers = merge_headers(self._request_headers, extra)
        self._timeout: Timeout | None = None  # per request; None: the HTTP client's

    def _new_http_client(
        self,
        timeout: float | httpx.Timeout,
        verify: Verify,
        transport: _Transport | None,
        headers: dict[str, str],
    ) -> _Http:
        if self._http_class is httpx.Client and transport is None:
            # The sync driver cannot interrupt a blocking read: its connections keep to the deadline.
            from . import _deadline_streams  # noqa: PLC0415 - httpcore, which import jiguang_growth skips

            client: Any = _deadline_streams.http_client(verify, timeout, headers, pool_limits())
        else:
            http_class: Any = self._http_class
            client = http_class(
                timeout=timeout, verify=verify, transport=transport, headers=headers, limits=pool_limits()
            )
        return cast(_Http, client)

    @property
    def project_id(self) -> str:
        return self._project_id

    @property
    def paced(self) -> bool:
        """Whether calls wait for the process-wide pacer (the ``pace`` option)."""
        return self._routes[ops.OPERATIONS[0]].pacer is not None

    @property
    def pace(self) -> bool | str:
        """The ``pace`` option: ``False``, ``True``, or the URL of the shared quota's Redis."""
        return self._pace

    def with_options(
        self,
        *,
        pace: bool | str | None = None,
        max_retries: int | None = None,
        timeout: float | httpx.Timeout | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> Self:
        """A client with other ``pace``/``max_retries``/``timeout`` that shares this one's connection pool.

        ``default_headers`` are added to (or replace) this client's. The copy
        never closes the pool; close this client when both are done.
        """
        copy = self._copy()
        if timeout is not None:
            copy._timeout = check_timeout(timeout)
        if default_headers is not None:
            copy._request_headers = merge_headers(
                self._request_headers, check_headers(default_headers, "default_headers")
            )
        if max_retries is not None:
            copy._max_retries = check_max_retries(max_retries)
            copy._routes = {
                op_id: replace(route, max_retries=max_retries) for op_id, route in copy._routes.items()
            }
        if pace is not None:
            copy._routes = copy._paced_routes(pace)
        return copy

    def _copy(self) -> Self:
        """A shallow copy that never closes the shared connection pool."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy._owns_http = False
        return copy

    @property
    def _redacted(self) -> tuple[str, ...]:
        """What never shows in an exception or a raw answer's headers (kept by the routes only)."""
        return next(iter(self._routes.values())).redactions

    def renewed_after_fork(self) -> Self:
        """A copy with a connection pool of its own, for a process forked from the one that made this client.

        The inherited pool's sockets and locks belong to the parent. Package use
        (the reporter re-arms itself in a forked child); a client given an
        ``http_client`` cannot be renewed: :class:`ConfigurationError`.
        """
        if self._http_settings is None:
            raise ConfigurationError(
                "a client built on your own http_client cannot be renewed after fork(); "
                "create the client in each process after it forks"
            )
        copy = self._copy()
        copy._http = copy._new_http_client(*self._http_settings)
        copy._owns_http = True
        return copy

    def _capturing(self, observer: Observer) -> Self:
        """A copy whose calls are also reported to ``observer`` (``with_raw_response``)."""
        copy = self._copy()
        watched = combine(self._observer, observer)
        copy._routes = {op_id: replace(route, observer=watched) for op_id, route in self._routes.items()}
        return copy

    def _options(
        self, operation_id: str, timeout: object, max_retries: object, extra_headers: object
    ) -> CallOptions:
        """The route, headers and timeout of one call; what the method was given is checked first."""
        return per_call(
            self._routes[operation_id],
            self._request_headers,
            self._timeout,
            call_timeout=timeout,
            call_max_retries=max_retries,
            extra_headers=extra_headers,
        )

    def _paced_routes(self, pace: bool | str) -> dict[str, CallSetup]:
        """The routes with the process-wide pacer of each operation, or with none."""
        quota_url = check_quota_url(pace)
        self._pace = quota_url or bool(pace)
        return {
            op_id: replace(
                route,
                pacer=shared_pacer(
                    op_id, project_id=self._project_id, base_url=self._api_url, quota_url=quota_url
                )
                if pace
                else None,
            )
            for op_id, route in self._routes.items()
        }

    @property
    def base_url(self) -> str:
        """Scheme, host and any path prefix, without the API's base path."""
        return self._base_url

    @property
    def api_url(self) -> str:
        """``base_url`` followed by the API's base path; the operations' paths go after it."""
        return self._api_url

    @property
    def max_retries(self) -> int:
        return self._max_retries

    def __repr__(self) -> str:
        return f"{type(self).__name__}(project_id={self._project_id!r}, base_url={self._base_url!r})"

    def __reduce__(self) -> Any:
        raise TypeError(
            f"{type(self).__name__} holds credentials and an open connection pool; it cannot be pickled"
        )


def _redactions(auth: httpx.BasicAuth, settings: Settings) -> tuple[str, ...]:
    """The strings that must never reach an exception: the Authorization value httpx sends, its
    credentials part, and the secret."""
    probe = next(auth.auth_flow(httpx.Request("GET", settings.api_url)))
    authorization: str = probe.headers["Authorization"]
    # Strings shorter than this would mangle messages (a secret "s" is in every word) and
    # protect nothing; the full "Basic ..." value is always long enough to be redacted.
    candidates = (authorization, authorization.partition(" ")[2], settings.project_secret)
    return tuple(text for text in candidates if len(text) >= 8)


def _routes(
    api_url: str,
    max_retries: int,
    redactions: tuple[str, ...],
    attempt_timeout: float | None,
    max_response_bytes: int,
) -> dict[str, CallSetup]:
    """One unpaced route per operation the clients implement, keyed by operationId."""
    routes = {}
    for op_id in ops.OPERATIONS:
        op = _spec.operation(op_id)
        routes[op_id] = CallSetup(
            op.operation_id,
            op.method,
            api_url + op.path,
            max_retries,
            redactions,
            attempt_timeout=attempt_timeout,
            max_response_bytes=max_response_bytes,
        )
    return routes


def _telemetry(enabled: bool | None) -> Observer | None:
    """OpenTelemetry for the calls: on when asked for or by default, and opentelemetry-api is there."""
    if enabled is False:
        return None
    try:
        from ._telemetry import shared  # noqa: PLC0415 - imports opentelemetry: only when it is used
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("opentelemetry"):
            raise
        if enabled:
            raise ConfigurationError(
                "telemetry=True needs opentelemetry-api: pip install 'jiguang-growth[otel]'"
            ) from None
        return None
    return shared()


def _check_no_http_options(**options: object) -> None:
    """Options that configure the HTTP client this client would create; not with ``http_client``."""
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise ConfigurationError(f"configure {', '.join(given)} on http_client itself, not next to it")


def _default_user_agent() -> str:
    return user_agent()


_http_url = lru_cache(maxsize=64)(httpx.URL)
"""The parsed ``httpx.URL`` of a route's URL: httpx would otherwise parse the string on every request."""


def _timeout_of(options: CallOptions) -> Any:
    """The ``timeout`` argument of ``request()``: the call's, or the HTTP client's own."""
    return httpx.USE_CLIENT_DEFAULT if options.timeout is None else options.timeout


async def _async_sleep(seconds: float) -> None:
    """``asyncio.sleep``, imported on first use: sync-only programs never pay asyncio's import."""
    import asyncio  # noqa: PLC0415

    await asyncio.sleep(seconds)


async def _no_chunks() -> AsyncIterator[bytes]:
    """No raw chunks: the transport read the body already."""
    empty: tuple[bytes, ...] = ()
    for chunk in empty:
        yield chunk


class GrowthClient(Operations, _ClientBase[httpx.Client, httpx.BaseTransport]):
    """Synchronous client of the Growth API. Safe to share between threads.

    Each method returns the operation's typed ``data`` or raises a
    :class:`~jiguang_growth.GrowthError`; see docs/client.md for the retry policy.
    """

    _http_class = httpx.Client
    _sleep = staticmethod(time.sleep)

    def _call(self, operation_id: str, values: tuple[Any, ...], *options: Any) -> Any:
        """Run one call of a generated method: its operation, arguments and per-call options
        (``timeout``, ``max_retries``, ``extra_headers``; see ``jiguang_growth_generated.operations``)."""
        o = self._options(operation_id, *options)
        return self._run(ops.request(o.route, values), o)

    @property
    def with_raw_response(self) -> RawGrowthClient:
        """The same methods, returning a :class:`~jiguang_growth.RawResponse` around each result."""
        return RawGrowthClient(self)

    def _run(self, call: Call[T], options: CallOptions) -> T:
        """Send and sleep as the call asks; closing it ends a pacer slot an exception cut short."""
        try:
            step = next(call)
            while True:
                reply: Reply = None
                if isinstance(step, Send):
                    reply = self._attempt(step, options)
                else:
                    self._wait(step.seconds)
                step = call.send(reply)
        except StopIteration as done:
            return cast(T, done.value)
        finally:
            call.close()

    def _wait(self, seconds: float) -> None:
        """Sleep; a cancellable client sleeps in slices and stops at the first one after a cancel."""
        cancel = self._cancel
        if cancel is None:
            self._sleep(seconds)
            return
        while seconds > 0 and not cancel.is_set():
            piece = min(seconds, _deadline.CANCEL_POLL)
            self._sleep(piece)
            seconds -= piece

    def _attempt(self, step: Send, options: CallOptions) -> Reply:
        """One attempt: send, then read the answer as it streams in, within its deadline and cap."""
        http = self._http
        trace = None if step.on_wire is None else ConnectionTrace(step.on_wire)  # paced calls only
        request = http.build_request(
            step.method,
            _http_url(step.url),
            content=step.content,
            headers=options.headers,
            timeout=_timeout_of(options),
            extensions=None if trace is None else {"trace": trace},
        )
        with _deadline.attempt(step.attempt_timeout, self._cancel):
            try:
                response = http.send(request, auth=self._auth, stream=True)
            except httpx.RequestError as error:
                return error
            try:
                reader = BodyReader(response, step.max_response_bytes)
                for chunk in () if reader.done else response.iter_raw():
                    late = _deadline.check(request)  # for transports whose reads it cannot bound
                    if late is not None:
                        return late
                    if not reader.feed(chunk):
                        break
                return traced(reader.answer(), trace)
            except httpx.RequestError as error:
                return error
            finally:
                response.close()

    def close(self) -> None:
        """Close the connection pool, unless it belongs to an ``http_client`` you passed."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def cancelled_by(client: GrowthClient, cancel: threading.Event) -> GrowthClient:
    """A copy of ``client`` whose calls end soon after ``cancel`` is set, with :class:`CancelledCallError`.

    The package-level hook of the bulk engine, whose worker threads must stop
    when a run is interrupted, whatever the server does: a blocked read wakes
    within :data:`~._deadline.CANCEL_POLL` seconds, a wait at once. Shares the pool.
    """
    copy = client._copy()
    copy._cancel = cancel
    copy._routes = {op_id: replace(route, cancel=cancel) for op_id, route in copy._routes.items()}
    return copy


class AsyncGrowthClient(AsyncOperations, _ClientBase[httpx.AsyncClient, httpx.AsyncBaseTransport]):
    """Asynchronous client of the Growth API: the methods, errors and retries of :class:`GrowthClient`."""

    _http_class = httpx.AsyncClient
    _sleep = staticmethod(_async_sleep)

    async def _call(self, operation_id: str, values: tuple[Any, ...], *options: Any) -> Any:
        """Async form of :meth:`GrowthClient._call`."""
        o = self._options(operation_id, *options)
        return await self._run(ops.request(o.route, values), o)

    @property
    def with_raw_response(self) -> AsyncRawGrowthClient:
        """Async form of :attr:`GrowthClient.with_raw_response`."""
        return AsyncRawGrowthClient(self)

    async def _run(self, call: Call[T], options: CallOptions) -> T:
        """Async form of :meth:`GrowthClient._run`."""
        try:
            step = next(call)
            while True:
                reply: Reply = None
                if isinstance(step, Send):
                    reply = await self._attempt(step, options)
                else:
                    await self._sleep(step.seconds)
                step = call.send(reply)
        except StopIteration as done:
            return cast(T, done.value)
        finally:
            call.close()

    async def _attempt(self, step: Send, options: CallOptions) -> Reply:
        """Async form of :meth:`GrowthClient._attempt`; ``asyncio.timeout`` keeps the deadline."""
        import asyncio  # noqa: PLC0415 - loaded already by whoever runs this coroutine

        http = self._http
        trace = None if step.on_wire is None else ConnectionTrace(step.on_wire)  # paced calls only
        request = http.build_request(
            step.method,
            _http_url(step.url),
            content=step.content,
            headers=options.headers,
            timeout=_timeout_of(options),
            extensions=None if trace is None else {"trace": trace.in_async},
        )
        try:
            async with asyncio.timeout(step.attempt_timeout):
                response = await http.send(request, auth=self._auth, stream=True)
                try:
                    reader = BodyReader(response, step.max_response_bytes)
                    async for chunk in _no_chunks() if reader.done else response.aiter_raw():
                        if not reader.feed(chunk):
                            break
                    return traced(reader.answer(), trace)
                finally:
                    await response.aclose()
        except httpx.RequestError as error:
            return error
        except TimeoutError:
            assert step.attempt_timeout is not None
            return _deadline.timed_out(request, step.attempt_timeout)

    async def aclose(self) -> None:
        """Close the connection pool, unless it belongs to an ``http_client`` you passed."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class RawGrowthClient(RawOperations):
    """``GrowthClient.with_raw_response``: its methods, each returning a :class:`RawResponse`."""

    def __init__(self, client: GrowthClient) -> None:
        self._client = client

    def _call(self, *call: Any) -> Any:
        """:meth:`GrowthClient._call`, watched for the answer's status and headers."""
        capture = Capture(self._client._redacted)
        return capture.result(self._client._capturing(capture)._call(*call))


class AsyncRawGrowthClient(AsyncRawOperations):
    """``AsyncGrowthClient.with_raw_response``: its methods, each returning a :class:`RawResponse`."""

    def __init__(self, client: AsyncGrowthClient) -> None:
        self._client = client

    async def _call(self, *call: Any) -> Any:
        """:meth:`AsyncGrowthClient._call`, watched for the answer's status and headers."""
        capture = Capture(self._client._redacted)
        return capture.result(await self._client._capturing(capture)._call(*call))
