"""The logic of one API call, without I/O, shared by the sync and async clients.

:func:`call` is a generator. It yields :class:`Send` ("send these bytes") and
:class:`Sleep` ("wait this long") steps; the driver answers a ``Send`` with
the ``httpx.Response`` or the ``httpx.RequestError`` it got, and a ``Sleep``
with ``None``. The generator returns the typed result or raises one of our
exceptions, so every answer ends in exactly one outcome.

A route with a pacer holds every attempt until the pacer grants a slot
(``Sleep`` steps in between) and ends the slot when the attempt's answer is
in (telling the pacer the answer time and whether it was a 429), or when the
driver closes the generator mid-attempt.

A route with an observer (:mod:`._hooks`) has it told about the call's
start, every attempt and the end; without one, nothing is built for it.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, cast

import httpx
import orjson

from . import _retry
from ._body import DEFAULT_MAX_RESPONSE_BYTES, Answer
from ._deadline import DEFAULT_ATTEMPT_TIMEOUT
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    CancelledCallError,
    RateLimitError,
    RequestValidationError,
    error_class_for,
)
from ._hooks import Attempt, Observer, Watch
from ._pacing import HeldError, Pacer
from ._validation import check_integer_text, validate_request

__all__ = [
    "CODE_FIELD",
    "DATA_FIELD",
    "MSG_FIELD",
    "Answer",
    "Call",
    "CallSetup",
    "Reply",
    "ResponseShapeError",
    "Send",
    "Sleep",
    "call",
    "encode",
    "json_kind",
    "scrubbed",
    "scrubbed_headers",
]

T = TypeVar("T")

logger = logging.getLogger("jiguang_growth")

CODE_FIELD = "code"
MSG_FIELD = "msg"
DATA_FIELD = "data"
"""Envelope properties (``Envelope`` and the ``*Response`` schemas of openapi.yaml)."""

REDACTED = "[redacted]"

_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
)
"""httpx errors raised before any byte of the request left the client."""


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``content`` (a JSON body) with ``method`` to ``url``, for operation ``operation_id``.

    The driver gives up the attempt after ``attempt_timeout`` seconds (``None``:
    no limit) and reads at most ``max_response_bytes`` of the decoded answer.
    """

    method: str
    url: str
    content: bytes
    operation_id: str
    attempt_timeout: float | None = DEFAULT_ATTEMPT_TIMEOUT
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    on_wire: Callable[[], None] | None = field(default=None, compare=False)
    """Called once as the request starts going out (after any connection's handshakes), when the
    transport tells (httpcore's ``trace``): the pacer counts the call where it reaches the wire."""


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait ``seconds`` before the next step."""

    seconds: float


Reply = Answer | httpx.Response | httpx.RequestError | None
"""What the driver answers a ``Send`` with: the :class:`Answer` it read (an ``httpx.Response``
whose body is read works too), or the ``httpx.RequestError`` the attempt ended with."""
Call = Generator[Send | Sleep, Reply, T]


@dataclass(frozen=True, slots=True)
class CallSetup:
    """One operation as one client calls it: where its calls go, and what they run with
    (retries, limits, the pacer, the observer, the cancel flag)."""

    operation_id: str
    method: str
    url: str
    max_retries: int
    redactions: tuple[str, ...] = field(default=(), repr=False)
    """Strings that must never reach an exception (the secret, the Authorization value)."""
    pacer: Pacer | None = field(default=None, repr=False, compare=False)
    """The process-wide pacer every attempt waits for; ``None``: attempts are sent at once."""
    observer: Observer | None = field(default=None, repr=False, compare=False)
    """Told about every call and attempt (hooks, logging, telemetry); ``None``: nobody watches."""
    retry_log: bool = field(default=True, repr=False, compare=False)
    """Log each retry at INFO; off when the observer already logs a line per attempt."""
    attempt_timeout: float | None = DEFAULT_ATTEMPT_TIMEOUT
    """Wall-clock seconds one attempt may take, connect to last byte; ``None``: no limit."""
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    """Largest decoded answer body read; a larger one ends the attempt (see :mod:`._body`)."""
    cancel: threading.Event | None = field(default=None, repr=False, compare=False)
    """Once set, the call ends at its next step and is never retried (the sync client only)."""


class ResponseShapeError(ValueError):
    """``data`` of a successful envelope has the wrong JSON shape; becomes :class:`APIResponseError`."""


def json_kind(value: Any) -> str:
    """Name of the JSON type of a decoded value, with its article."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def encode(operation_id: str, body: Any) -> bytes:
    """Validate ``body`` against the operation's request schema and serialise it (compact UTF-8 JSON).

    orjson writes the same JSON as ``json.dumps`` with these options, about
    ten times faster; only some float exponents are spelled differently
    (``1e-7`` for ``1e-07``). Where the two could differ in meaning, the
    standard library decides: orjson writes NaN and infinity as ``null``,
    which JSON has no other way to carry, and refuses integers beyond 64 bits.
    """
    validate_request(operation_id, body)
    try:
        content = orjson.dumps(body)
    except TypeError:  # an integer beyond 64 bits, or a type orjson does not know
        content = None
    if content is not None and (b"null" not in content or not _has_non_finite(body)):
        return content  # a null in it was a None: serialised once
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as error:  # NaN, infinity, or a type JSON cannot carry
        check_integer_text(body)  # an integer too long to write: named by its path
        raise RequestValidationError(f"body: {error}", field="body", rule="json") from None


def _has_non_finite(value: Any) -> bool:
    """Whether ``value`` holds a NaN or an infinity, which orjson would have written as ``null``."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(item) for item in value)
    return False


def call(route: CallSetup, content: bytes, parse: Callable[[Any], T]) -> Call[T]:
    """Send ``content`` until it succeeds or the retry policy gives up.

    ``parse`` turns the envelope's ``data`` (``None`` when absent or null) into
    the typed result and may raise :class:`ResponseShapeError`.
    """
    if route.observer is None:
        result, _ = yield from _attempts(route, content, parse, None)
        return result
    watch = route.observer.start(route.operation_id, route.method, route.url)
    try:
        result, response = yield from _attempts(route, content, parse, watch)
    except BaseException as error:
        watch.end(error, None)
        raise
    watch.end(None, response)
    return result


def _attempts(
    route: CallSetup, content: bytes, parse: Callable[[Any], T], watch: Watch | None
) -> Generator[Send | Sleep, Reply, tuple[T, httpx.Response]]:
    """The retry loop; returns the result and the answer it came from. Errors carry the attempt count."""
    retries = 0
    send = Send(
        route.method, route.url, content, route.operation_id, route.attempt_timeout, route.max_response_bytes
    )
    last: APIConnectionError | APIError | None = None
    while True:
        if route.pacer is None:
            started = time.perf_counter()
            reply = yield send
            elapsed = time.perf_counter() - started
        else:
            reply, elapsed = yield from _paced(route, send, last)
        try:
            result = _outcome(route, reply, parse)
        except (APIConnectionError, APIError, APIResponseError) as error:
            error.attempts = retries + 1
            delay = (
                None
                if isinstance(error, APIResponseError)
                else _retry.retry_delay(route.operation_id, error, retries, route.max_retries)
            )
            if delay is not None and route.pacer is not None and isinstance(error, RateLimitError):
                delay = route.pacer.retry_wait(delay)  # a stray 429 at the top: the next slot will do
            if watch is not None:
                watch.attempt(_record(route, retries + 1, reply, error, elapsed, delay=delay))
            if not isinstance(error, APIResponseError):
                last = error
            # An answer that ends the call anyway keeps its own error; a retry, or a transport
            # failure (which the cancel itself may have caused), becomes the cancel.
            if _cancelled(route) and (delay is not None or isinstance(error, APIConnectionError)):
                cancelled = _cancel_error(route, last)
                cancelled.attempts = retries + 1
                raise cancelled from None
            if delay is None:
                raise
            retries += 1
            if route.retry_log:
                _log_retry(route, retries, delay, error)
            yield from _retry_wait(route, delay)
            _check_cancel(route, last)
        else:
            if watch is not None:
                watch.attempt(_record(route, retries + 1, reply, None, elapsed, delay=None))
            return result, _http_response(reply)


def _retry_wait(route: CallSetup, delay: float) -> Generator[Sleep, Reply, None]:
    """Wait ``delay`` before a retry, counted by the route's pacer as a call parked outside its
    pipe (bulk keeps that many more in flight, so the others keep every slot busy)."""
    pacer = route.pacer
    if pacer is None:
        yield Sleep(delay)
        return
    pacer.park(1)
    try:
        yield Sleep(delay)
    finally:
        pacer.park(-1)


def _http_response(reply: Reply) -> httpx.Response:
    """The ``httpx.Response`` behind a successful reply (closed; status and headers), for observers."""
    if isinstance(reply, Answer):
        assert reply.response is not None
        return reply.response
    return cast(httpx.Response, reply)


def _cancelled(route: CallSetup) -> bool:
    return route.cancel is not None and route.cancel.is_set()


def _check_cancel(route: CallSetup, last: APIConnectionError | APIError | None) -> None:
    """After a wait: end a cancelled call with its last attempt's outcome (or as never sent)."""
    if _cancelled(route):
        raise _cancel_error(route, last)


def _cancel_error(route: CallSetup, last: APIConnectionError | APIError | None) -> CancelledCallError:
    """The error of a cancelled call: ``request_sent`` when its last attempt may have been applied."""
    if last is None:
        why = "before the request was sent"
    elif isinstance(last, APIConnectionError):
        why = "after the request was sent" if last.request_sent else "before the request was sent"
    else:
        why = f"instead of a retry, after: {last}"
    return CancelledCallError(
        _scrub(route, f"{route.method} {route.url} cancelled {why}"),
        method=route.method,
        url=route.url,
        request_sent=last is not None and _retry.possibly_applied(last),
    )


def _log_retry(route: CallSetup, retries: int, delay: float, error: Exception) -> None:
    logger.info(
        "retry %d of %d for %s %s in %.2fs after: %s",
        retries,
        route.max_retries,
        route.method,
        route.url,
        delay,
        error,
    )


def _record(
    route: CallSetup,
    attempt: int,
    reply: Reply,
    error: Exception | None,
    elapsed: float,
    *,
    delay: float | None,
) -> Attempt:
    """What the observers learn about one attempt."""
    if isinstance(reply, Answer | httpx.Response):
        status: int | None = reply.status_code
        sent = True
    else:
        status = None
        sent = isinstance(error, APIConnectionError) and error.request_sent
    if error is None:
        code: int | None = 0  # a success is an envelope with code 0
    else:
        code = error.code if isinstance(error, APIError) else None
    return Attempt(
        route.operation_id,
        attempt,
        status,
        code,
        elapsed,
        delay is not None,
        delay,
        sent,
        None if error is None else type(error),
    )


def _paced(
    route: CallSetup, send: Send, last: APIConnectionError | APIError | None
) -> Generator[Send | Sleep, Reply, tuple[Reply, float]]:
    """One attempt inside a slot of the route's pacer: wait in its queue for the slot, send, end the
    slot. While the pacer holds every slot for a ``Retry-After`` beyond what a call waits, the call
    ends unsent with a :class:`RateLimitError`.

    Returns the reply and the seconds it took, the wait for the slot left out.
    """
    pacer = route.pacer
    assert pacer is not None
    turn = pacer.turn()
    try:
        while (wait := pacer.acquire(turn)) > 0:
            yield Sleep(wait)
            _check_cancel(route, last)
    except HeldError as held:
        raise _held_error(route, held) from None
    except BaseException:
        pacer.leave(turn)
        raise
    granted = pacer.now()
    reply: Reply = None
    started = time.perf_counter()
    try:
        reply = yield replace(send, on_wire=lambda: pacer.sent(granted))
    finally:
        _release(pacer, reply, pacer.now() - granted)
    return reply, time.perf_counter() - started


def _release(pacer: Pacer, reply: Reply, elapsed: float) -> None:
    """End the attempt's slot with what its answer says: its answer time, whether it was a 429, and
    whether it went on a new connection (its time then includes the handshakes).

    A 429 slows the pacer down; its own call waits for ``Retry-After`` in the retry policy.
    """
    if not isinstance(reply, Answer | httpx.Response):
        pacer.release()  # no answer: nothing to learn about the server
        return
    retry_after = None
    throttled = reply.status_code == 429
    if throttled:  # the pacer holds for at most MAX_HOLD, and ends the waiting calls if it asked more
        retry_after = _retry.parse_retry_after(reply.headers.get("retry-after"))
    opened = isinstance(reply, Answer) and reply.new_connection
    pacer.release(elapsed, throttled=throttled, retry_after=retry_after, new_connection=opened)


def _held_error(route: CallSetup, held: HeldError) -> RateLimitError:
    """The error of a call the pacer did not send: every slot is held after 429s whose ``Retry-After``
    is longer than any call waits (as the calls that got them ended, so does this one)."""
    return RateLimitError(
        f"{route.method} {route.url} not sent: the server answered 429 with Retry-After "
        f"{held.retry_after:.0f} s or more, beyond the {_retry.MAX_RETRY_AFTER:g} s a call waits",
        status_code=429,
        retry_after=held.retry_after,
        method=route.method,
        url=route.url,
    )


_Read = Answer | httpx.Response
"""An answer whose body has been read."""


def _outcome(route: CallSetup, reply: Reply, parse: Callable[[Any], T]) -> T:
    """The typed result of one attempt's reply, or the error it ends in.

    No error raised here is chained to anything that holds the body: a JSON
    decoder's error keeps the whole document (``doc``), unscrubbed.
    """
    if isinstance(reply, httpx.RequestError):
        raise _connection_error(route, reply) from reply
    if reply is None:
        raise TypeError("a Send step must be answered with a response or an httpx.RequestError")
    if not 200 <= reply.status_code < 300:
        raise _status_error(route, reply)
    problem = reply.problem if isinstance(reply, Answer) else None
    if problem is not None:
        raise _response_error(route, reply, problem)
    envelope = _envelope(reply)
    if isinstance(envelope, _NotEnvelope):
        raise _response_error(route, reply, envelope.reason)
    payload, code, msg = envelope
    if msg is not None and not isinstance(msg, str):
        raise _response_error(route, reply, f"'{MSG_FIELD}' is {json_kind(msg)}, expected a string")
    if code != 0:
        raise _api_error(route, reply, code, msg)
    try:
        return parse(payload.get(DATA_FIELD))
    except ResponseShapeError as error:
        reason = str(error)
    except Exception as error:  # the generated model layer must not leak, nor its traceback
        reason = f"'{DATA_FIELD}' could not be read ({_shortened(repr(error))})"
    raise _response_error(route, reply, reason)  # outside the handler: no __context__


def _shortened(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


def _scrub(route: CallSetup, text: str) -> str:
    return scrubbed(route.redactions, text)


def scrubbed(redactions: tuple[str, ...], text: str) -> str:
    """``text`` with each of ``redactions`` (the secret, the Authorization value) replaced."""
    for secret in redactions:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def scrubbed_headers(redactions: tuple[str, ...], headers: httpx.Headers) -> dict[str, str]:
    """Headers as a plain dict (lower-case names; repeated ones joined by ", "), each value scrubbed."""
    return {name: scrubbed(redactions, value) for name, value in headers.items()}


def _headers(route: CallSetup, response: _Read) -> dict[str, str]:
    return scrubbed_headers(route.redactions, response.headers)


def _prefix(route: CallSetup, response: _Read) -> str:
    return f"HTTP {response.status_code} from {route.method} {route.url}"


def _not_json(response: _Read) -> str:
    if not response.content.strip():
        return "empty body"
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    return f"body is not JSON ({media_type or 'no content type'})"


def _response_error(route: CallSetup, response: _Read, reason: str) -> APIResponseError:
    return APIResponseError(
        _scrub(route, f"{_prefix(route, response)}: {reason}"),
        status_code=response.status_code,
        body=_scrub(route, response.content.decode("utf-8", "replace")),
        method=route.method,
        url=route.url,
        headers=_headers(route, response),
    )


def _api_error(
    route: CallSetup, response: _Read, code: int | None, msg: str | None, detail: str | None = None
) -> APIError:
    if detail is None:
        detail = f"code {code}" + (f": {msg}" if msg else "")
    cls = error_class_for(response.status_code, code)
    return cls(
        _scrub(route, f"{_prefix(route, response)}: {detail}"),
        status_code=response.status_code,
        code=code,
        msg=None if msg is None else _scrub(route, msg),
        body=_scrub(route, response.content.decode("utf-8", "replace")),
        retry_after=_retry.parse_retry_after(response.headers.get("retry-after")),
        method=route.method,
        url=route.url,
        headers=_headers(route, response),
    )


def _status_error(route: CallSetup, response: _Read) -> APIError:
    """The error for a non-2xx answer, with ``code`` and ``msg`` when the body is an envelope."""
    problem = response.problem if isinstance(response, Answer) else None
    if problem is not None:  # the status decides; the body is only what could be read
        return _api_error(route, response, None, None, problem)
    envelope = _envelope(response)
    if isinstance(envelope, _NotEnvelope):
        detail = envelope.reason
        if envelope.kind is not None:
            detail = f"body is {envelope.kind} without an integer '{CODE_FIELD}'"
        return _api_error(route, response, None, None, detail)
    _, code, msg = envelope
    return _api_error(route, response, code, msg if isinstance(msg, str) else None)


@dataclass(frozen=True, slots=True)
class _NotEnvelope:
    """Why a body is not an envelope; ``kind`` is the JSON type it has, ``None`` when not JSON."""

    reason: str
    kind: str | None = None


def _envelope(response: _Read) -> tuple[dict[str, Any], int, Any] | _NotEnvelope:
    """``(payload, code, msg)`` of an envelope body (``msg`` as sent, of any JSON type), or why not."""
    try:
        payload = orjson.loads(response.content)
    except (ValueError, RecursionError):
        return _NotEnvelope(_not_json(response))
    if not isinstance(payload, dict):
        kind = json_kind(payload)
        return _NotEnvelope(f"body is {kind}, expected an envelope object", kind)
    code = payload.get(CODE_FIELD)
    if type(code) is not int:
        what = "missing" if CODE_FIELD not in payload else f"{json_kind(code)}, expected an integer"
        return _NotEnvelope(f"'{CODE_FIELD}' is {what}", "an object")
    return payload, code, payload.get(MSG_FIELD)


def _detach(route: CallSetup, error: BaseException) -> None:
    """Scrub the message of the httpx error ours is chained to, and cut what it chains to.

    A protocol error can quote what a server sent, echoed credentials included;
    below the httpx error lie httpcore's and the transport's objects (a mock
    transport's record of the request, with its Authorization header), which
    this package cannot scrub. The httpx error's message names the cause.
    """
    error.args = tuple(_scrub(route, arg) if isinstance(arg, str) else arg for arg in error.args)
    error.__cause__ = None
    error.__context__ = None
    error.__suppress_context__ = True


def _connection_error(route: CallSetup, error: httpx.RequestError) -> APIConnectionError:
    try:
        request = error.request
    except RuntimeError:
        pass
    else:  # the chained cause keeps the request; it must not keep the credentials
        if "authorization" in request.headers:
            request.headers["authorization"] = REDACTED
    _detach(route, error)
    sent = not isinstance(error, _NOT_SENT)
    timeout = isinstance(error, httpx.TimeoutException)
    what = "timed out" if timeout else "failed"
    when = "after the request was sent" if sent else "before the request was sent"
    detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    cls = APITimeoutError if timeout else APIConnectionError
    return cls(
        _scrub(route, f"{route.method} {route.url} {what} {when} ({detail})"),
        method=route.method,
        url=route.url,
        request_sent=sent,
    )
