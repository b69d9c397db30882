"""OpenTelemetry: a span per call, a CLIENT span per attempt, two instruments; the SDK's in-memory exporters.

The providers are the SDK's, handed to the client's telemetry directly (the
global ones can be set only once per process); opentelemetry is imported by
this file alone, and ``import jiguang_growth`` must not import it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from jiguang_growth import AsyncGrowthClient, ConfigurationError, GrowthClient, RateLimitError, _telemetry

from .conftest import OPS, PROJECT_ID, SECRET, TOKEN, envelope

OK = httpx.Response(200, json=envelope(data=OPS["getCuids"].success_data))
BUSY = httpx.Response(503, text="busy", headers={"Retry-After": "0"})


@dataclass
class Otel:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    tracer: trace.Tracer

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self, name: str) -> dict[tuple[str, str], Any]:
        data = self.metrics.get_metrics_data()
        found: dict[tuple[str, str], Any] = {}
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        for point in metric.data.data_points:
                            attrs = point.attributes
                            found[(attrs["growth.operation"], attrs["growth.outcome"])] = point
        return found


@pytest.fixture
def otel(monkeypatch: pytest.MonkeyPatch) -> Iterator[Otel]:
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry = _telemetry.Telemetry(tracer_provider, meter_provider)
    monkeypatch.setattr(_telemetry, "shared", lambda: telemetry)
    yield Otel(spans, reader, tracer_provider.get_tracer("test"))
    tracer_provider.shutdown()
    meter_provider.shutdown()


def run(mode: str, answers: list[httpx.Response], operation_id: str = "getCuids", **options: Any) -> Any:
    op = OPS[operation_id]
    queue = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        canned = queue.pop(0) if len(queue) > 1 else queue[0]
        return httpx.Response(canned.status_code, headers=canned.headers, content=canned.content)

    transport: Any = httpx.MockTransport(answer)
    if mode == "sync":
        with GrowthClient(PROJECT_ID, SECRET, transport=transport, **options) as client:
            client._sleep = lambda seconds: None  # type: ignore[method-assign]
            return getattr(client, op.method_name)(*op.args, **op.kwargs)

    async def main() -> Any:
        async with AsyncGrowthClient(PROJECT_ID, SECRET, transport=transport, **options) as client:

            async def no_sleep(seconds: float) -> None:
                pass

            client._sleep = no_sleep  # type: ignore[method-assign]
            return await getattr(client, op.method_name)(*op.args, **op.kwargs)

    return asyncio.run(main())


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_call_is_one_span_with_a_client_span_per_attempt(otel: Otel, mode: str) -> None:
    run(mode, [BUSY, OK])
    *attempts, call = otel.finished()
    assert call.name == "getCuids" and call.kind is SpanKind.INTERNAL
    assert call.status.status_code is StatusCode.UNSET
    assert call.attributes is not None
    assert {k: call.attributes[k] for k in ("growth.operation", "growth.code", "growth.retries")} == {
        "growth.operation": "getCuids",
        "growth.code": 0,
        "growth.retries": 1,
    }
    assert call.attributes["http.response.status_code"] == 200
    first, second = attempts
    for span in attempts:
        assert span.name == "POST" and span.kind is SpanKind.CLIENT
        assert span.parent is not None and span.parent.span_id == call.context.span_id
        assert span.context.trace_id == call.context.trace_id
        assert span.attributes is not None
        assert span.attributes["http.request.method"] == "POST"
        assert span.attributes["server.address"] == "growth.jiguang.cn"
        assert span.attributes["server.port"] == 443
        assert span.attributes["url.full"] == OPS["getCuids"].url
        assert span.start_time is not None and span.end_time is not None and span.start_time <= span.end_time
    assert first.attributes is not None and second.attributes is not None
    assert first.attributes["http.response.status_code"] == 503
    assert first.attributes["error.type"] == "InternalServerError"
    assert first.status.status_code is StatusCode.ERROR
    assert "http.request.resend_count" not in first.attributes
    assert second.attributes["http.request.resend_count"] == 1
    assert second.attributes["growth.code"] == 0 and "error.type" not in second.attributes


def test_a_failed_call_has_an_error_status_and_type(otel: Otel, mode: str) -> None:
    slow = httpx.Response(429, json=envelope(code=4, msg="slow"), headers={"Retry-After": "0"})
    with pytest.raises(RateLimitError):
        run(mode, [slow], max_retries=0)
    (attempt, call) = otel.finished()
    assert call.status.status_code is StatusCode.ERROR
    assert call.attributes is not None and call.attributes["error.type"] == "RateLimitError"
    assert (call.attributes["growth.code"], call.attributes["growth.retries"]) == (4, 0)
    assert attempt.attributes is not None and attempt.attributes["growth.code"] == 4


def test_the_call_span_is_a_child_of_the_current_span(otel: Otel) -> None:
    with otel.tracer.start_as_current_span("job") as job:
        run("sync", [OK])
    _, call, outer = otel.finished()
    assert outer.name == "job"
    assert call.parent is not None and call.parent.span_id == job.get_span_context().span_id


def test_no_span_holds_a_credential_or_a_body(otel: Otel, mode: str) -> None:
    run(mode, [httpx.Response(200, json=envelope(data={"count": 1}))], "setUserChannels")
    text = repr([(s.name, dict(s.attributes or {}), s.events) for s in otel.finished()])
    assert SECRET not in text and TOKEN not in text and "channelValues" not in text


def test_calls_are_counted_and_timed_by_operation_and_outcome(otel: Otel) -> None:
    run("sync", [OK])
    run("sync", [BUSY, OK])
    with pytest.raises(RateLimitError):
        run("sync", [httpx.Response(429, text="")], max_retries=0)
    calls = otel.points("growth.client.calls")
    assert {key: point.value for key, point in calls.items()} == {
        ("getCuids", "success"): 2,
        ("getCuids", "RateLimitError"): 1,
    }
    durations = otel.points("growth.client.call.duration")
    assert {key: point.count for key, point in durations.items()} == {
        ("getCuids", "success"): 2,
        ("getCuids", "RateLimitError"): 1,
    }
    assert all(point.sum >= 0 for point in durations.values())


def test_a_call_cut_short_by_the_driver_ends_its_span_as_cancelled(otel: Otel) -> None:
    def interrupt(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt

    client = GrowthClient(PROJECT_ID, SECRET, transport=httpx.MockTransport(interrupt))
    with client, pytest.raises(KeyboardInterrupt):
        client.get_cuids("phone_test", ["18012345678"])
    (call,) = otel.finished()  # the attempt never ended: no attempt span
    assert call.attributes is not None and call.attributes["error.type"] == "cancelled"
    assert call.status.status_code is StatusCode.ERROR
    assert {key: point.value for key, point in otel.points("growth.client.calls").items()} == {
        ("getCuids", "cancelled"): 1
    }


def test_telemetry_false_makes_no_span(otel: Otel) -> None:
    run("sync", [OK], telemetry=False)
    assert otel.finished() == []


def test_hooks_and_telemetry_see_the_same_attempts(otel: Otel) -> None:
    records: list[Any] = []
    run("sync", [BUSY, BUSY, OK], on_attempt=records.append)
    assert len(records) == 3 == len(otel.finished()) - 1


def python(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "JIGUANG_GROWTH_LOG"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_importing_the_package_does_not_import_opentelemetry() -> None:
    done = python(
        "import sys, jiguang_growth\n"
        "from jiguang_growth import GrowthClient\n"
        "GrowthClient('1', 'secret-0123456789', telemetry=False)\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
        "GrowthClient('1', 'secret-0123456789')\n"
        "print('opentelemetry.trace' in sys.modules)"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "True"]  # imported by the first client that uses it


def test_without_opentelemetry_the_client_works_and_telemetry_true_says_what_to_install() -> None:
    done = python(
        "import sys\n"
        "sys.modules['opentelemetry'] = None  # as if opentelemetry-api were not installed\n"
        "from jiguang_growth import ConfigurationError, GrowthClient\n"
        "GrowthClient('1', 'secret-0123456789')\n"
        "try:\n"
        "    GrowthClient('1', 'secret-0123456789', telemetry=True)\n"
        "except ConfigurationError as error:\n"
        "    print(error)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "telemetry=True needs opentelemetry-api: pip install 'jiguang-growth[otel]'" in done.stdout


def test_telemetry_true_with_the_api_installed_turns_it_on(otel: Otel) -> None:
    assert GrowthClient(PROJECT_ID, SECRET, telemetry=True)._observer is not None
    assert issubclass(ConfigurationError, ValueError)
