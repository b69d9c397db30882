"""OpenTelemetry spans and metrics for every call; imported only when ``opentelemetry-api`` is there.

Each call is one span named after its operationId, a child of whatever span
is current when the call starts, with ``growth.operation``, ``growth.code``
and ``growth.retries``. Each attempt is a child span of kind CLIENT named
after the HTTP method, with the attributes of OpenTelemetry's HTTP client
semantic conventions (``http.request.method``, ``server.address``,
``server.port``, ``url.full``, ``http.response.status_code``,
``http.request.resend_count``, ``error.type``). Every call also adds to the
``growth.client.calls`` counter and the ``growth.client.call.duration``
histogram (seconds), both by ``growth.operation`` and ``growth.outcome``
(``success``, ``cancelled`` or the error's class name). Spans and instruments come from the
global providers, so the application's SDK set-up decides where they go.
"""

from __future__ import annotations

import time
from functools import cache, lru_cache
from importlib import metadata
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ._hooks import Attempt

if TYPE_CHECKING:
    import httpx

__all__ = ["INSTRUMENTATION", "Telemetry", "shared"]

INSTRUMENTATION = "jiguang_growth"
"""The instrumentation scope name of the tracer and the meter."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Telemetry:
    """The tracer and the two instruments every call of a client reports to."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        """Instruments from the given providers; by default from the global ones."""
        try:
            version = metadata.version("jiguang-growth")
        except metadata.PackageNotFoundError:
            version = "unknown"
        self._tracer = trace.get_tracer(INSTRUMENTATION, version, tracer_provider)
        meter = metrics.get_meter(INSTRUMENTATION, version, meter_provider)
        self._calls = meter.create_counter(
            "growth.client.calls", unit="{call}", description="Calls of the Growth API, by outcome"
        )
        self._duration = meter.create_histogram(
            "growth.client.call.duration",
            unit="s",
            description="Duration of Growth API calls, retries and their waits included",
        )

    def start(self, operation_id: str, method: str, url: str) -> _CallSpan:
        return _CallSpan(self, operation_id, method, url)


def _outcome(error: BaseException | None) -> str:
    """``success``, ``cancelled`` (the driver stopped mid-call: a timeout, Ctrl-C) or the error's class."""
    if error is None:
        return "success"
    if isinstance(error, GeneratorExit):
        return "cancelled"
    return type(error).__name__


@lru_cache(maxsize=64)
def _http_attributes(method: str, url: str) -> dict[str, str | int]:
    """The HTTP semantic-convention attributes of a route (read-only: shared by its calls)."""
    parts = urlsplit(url)
    return {
        "http.request.method": method,
        "server.address": parts.hostname or "",
        "server.port": parts.port or _DEFAULT_PORTS.get(parts.scheme, 0),
        "url.full": url,
    }


class _CallSpan:
    """The span of one call and its attempts' spans."""

    def __init__(self, telemetry: Telemetry, operation_id: str, method: str, url: str) -> None:
        self._telemetry = telemetry
        self._operation_id = operation_id
        self._started = time.perf_counter()
        self._http = _http_attributes(method, url)
        self._span = telemetry._tracer.start_span(
            operation_id,
            kind=SpanKind.INTERNAL,
            attributes={"growth.operation": operation_id, **self._http},
        )
        self._context = trace.set_span_in_context(self._span)
        self._last: Attempt | None = None

    def attempt(self, record: Attempt) -> None:
        self._last = record
        attributes: dict[str, str | int] = {**self._http, "growth.operation": self._operation_id}
        if record.status_code is not None:
            attributes["http.response.status_code"] = record.status_code
        if record.code is not None:
            attributes["growth.code"] = record.code
        if record.attempt > 1:
            attributes["http.request.resend_count"] = record.attempt - 1
        if record.error_type is not None:
            attributes["error.type"] = record.error_type.__name__
        end = time.time_ns()
        span = self._telemetry._tracer.start_span(
            str(self._http["http.request.method"]),
            context=self._context,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=end - int(record.elapsed * 1e9),
        )
        if record.error_type is not None:
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=end)

    def end(self, error: BaseException | None, response: httpx.Response | None) -> None:
        span, last = self._span, self._last
        outcome = _outcome(error)
        span.set_attribute("growth.retries", 0 if last is None else last.attempt - 1)
        if last is not None and last.status_code is not None:
            span.set_attribute("http.response.status_code", last.status_code)
        if last is not None and last.code is not None:
            span.set_attribute("growth.code", last.code)
        if error is not None:
            span.set_attribute("error.type", outcome)
            span.set_status(Status(StatusCode.ERROR, outcome))
        span.end()
        labels = {"growth.operation": self._operation_id, "growth.outcome": outcome}
        self._telemetry._calls.add(1, labels)
        self._telemetry._duration.record(time.perf_counter() - self._started, labels)


@cache
def shared() -> Telemetry:
    """The one :class:`Telemetry` of the process (instruments are made once, not per client)."""
    return Telemetry()
