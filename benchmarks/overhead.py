"""Per-call cost of GrowthClient next to hand-written raw httpx and requests.

Every variant sends the same bytes to an in-memory transport that answers with
a canned envelope, so what is measured is the work on our side of the socket:

* ``GrowthClient``: validation against openapi.yaml, encoding, the retry
  driver, envelope checks and typed results; no hook, ``telemetry=False``.
* ``raw httpx``: what a careful caller writes by hand: ``json.dumps`` the
  body, ``httpx.Client.post`` with ``BasicAuth``, check the status,
  ``json.loads`` the envelope, check ``code == 0``, return ``data``. No spec
  validation.
* ``requests``: the same by hand with a ``requests.Session`` and a custom
  transport adapter.

The same rounds also time ``GrowthClient`` with observers on, to show what
they cost: a no-op ``on_attempt`` hook; OpenTelemetry through the API alone
(no SDK installed or configured: what ``telemetry`` costs by default when
only ``opentelemetry-api`` is there); and OpenTelemetry with the SDK's tracer
and meter providers (every span made and ended, into an exporter that drops
it; both instruments recorded).

Rounds are interleaved (each round times every variant once, in a rotating
order) and the median of the rounds is reported, so load from other
processes spreads evenly over the variants.

    .venv/bin/python benchmarks/overhead.py            # the figures in docs/benchmarks.md
    .venv/bin/python benchmarks/overhead.py --quick    # a few iterations, to see it still runs
    .venv/bin/python benchmarks/overhead.py --clock cpu  # CPU time: steadier ratios on a busy machine
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import requests
import requests.adapters
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from jiguang_growth import GrowthClient, _spec, _telemetry, _validation

PROJECT_ID = "100102"
SECRET = "bench-secret-0123456789"
BASE_URL = "https://growth.example.invalid"
TARGET = 1.10
"""GrowthClient (no hook, no telemetry) may cost at most this many times the raw httpx call."""

API_URL = BASE_URL + _spec.base_path()
REPORT_URL = API_URL + _spec.operation("reportEvents").path
CUIDS_URL = API_URL + _spec.operation("getCuids").path
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def _event(i: int) -> dict[str, Any]:
    """A typical event: ID, name, time, a randomId (so no variant has to make one) and 3 properties."""
    return {
        "cuid": 10000091198 + i,
        "eventName": "open_app",
        "itime": 1654076420772 + i,
        "randomId": f"5b102148-0d28-4a6a-8658-{i:012d}",
        "properties": {"page": "home", "duration": 12.5, "first_visit": "true"},
    }


@dataclass(frozen=True)
class Payload:
    name: str
    operation_id: str
    url: str
    body: dict[str, Any]
    answer: bytes
    """The canned envelope the transport answers with."""


def payloads() -> list[Payload]:
    values = [str(18012345678 + i) for i in range(100)]
    cuids = [{"identityValues": v, "cuid": 10000000001 + i, "errorCode": 0} for i, v in enumerate(values)]
    ok = json.dumps({"code": 0, "msg": "success", "data": {}}).encode()
    return [
        Payload("report_events, 1 event", "reportEvents", REPORT_URL, {"data": [_event(0)]}, ok),
        Payload(
            "report_events, 100 events",
            "reportEvents",
            REPORT_URL,
            {"data": [_event(i) for i in range(100)]},
            ok,
        ),
        Payload(
            "get_cuids, 100 values",
            "getCuids",
            CUIDS_URL,
            {"identityName": "phone", "identityValues": values},
            json.dumps({"code": 0, "msg": "success", "data": cuids}).encode(),
        ),
    ]


# --- in-memory transports: answer at once, remember the last body -----------------------------


class CannedHttpx(httpx.BaseTransport):
    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.last_body = b""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.last_body = request.read()
        return httpx.Response(200, headers=[(b"content-type", b"application/json")], content=self.answer)


class CannedRequests(requests.adapters.BaseAdapter):
    def __init__(self, answer: bytes) -> None:
        super().__init__()
        self.answer = answer
        self.last_body = b""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = request.body
        self.last_body = body.encode() if isinstance(body, str) else (body or b"")
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response.raw = io.BytesIO(self.answer)  # public: .content reads it
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Setup:
    call: Callable[[], Any]
    transport: CannedHttpx | CannedRequests
    close: Callable[[], None]


# --- the three callers -------------------------------------------------------------------------


def _dumps(body: Any) -> bytes:
    # The client's own encoding, so that all three send byte-identical bodies.
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _data(envelope: Any) -> Any:
    if not isinstance(envelope, dict) or envelope.get("code") != 0:
        raise RuntimeError(f"API error: {envelope!r}")
    return envelope.get("data")


def raw_httpx(payload: Payload) -> Setup:
    transport = CannedHttpx(payload.answer)
    http = httpx.Client(transport=transport, headers=HEADERS, auth=httpx.BasicAuth(PROJECT_ID, SECRET))

    def call() -> Any:
        response = http.post(payload.url, content=_dumps(payload.body))
        response.raise_for_status()
        return _data(json.loads(response.content))

    return Setup(call, transport, http.close)


def raw_requests(payload: Payload) -> Setup:
    adapter = CannedRequests(payload.answer)
    session = requests.Session()
    session.mount("https://", adapter)
    session.auth = (PROJECT_ID, SECRET)
    session.headers.update(HEADERS)

    def call() -> Any:
        response = session.post(payload.url, data=_dumps(payload.body))
        response.raise_for_status()
        return _data(json.loads(response.content))

    return Setup(call, adapter, session.close)


class _DropSpans(SpanExporter):
    """An exporter that drops every span: the SDK's work without any I/O."""

    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _sdk_telemetry() -> _telemetry.Telemetry:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(_DropSpans()))
    return _telemetry.Telemetry(tracer_provider, MeterProvider(metric_readers=[InMemoryMetricReader()]))


def _client(transport: CannedHttpx, observers: str) -> GrowthClient:
    """A client with the observers named: ``off``, ``hook``, ``otel-api`` or ``otel-sdk``."""
    if observers in {"off", "hook"}:
        hook = (lambda record: None) if observers == "hook" else None
        return GrowthClient(
            PROJECT_ID, SECRET, BASE_URL, transport=transport, on_attempt=hook, telemetry=False
        )
    telemetry = (
        _telemetry.Telemetry(trace.NoOpTracerProvider(), metrics.NoOpMeterProvider())
        if observers == "otel-api"
        else _sdk_telemetry()
    )
    shared = _telemetry.shared
    _telemetry.shared = lambda: telemetry  # type: ignore[assignment]
    try:
        return GrowthClient(PROJECT_ID, SECRET, BASE_URL, transport=transport, telemetry=True)
    finally:
        _telemetry.shared = shared


def growth_client(payload: Payload, observers: str = "off") -> Setup:
    transport = CannedHttpx(payload.answer)
    client = _client(transport, observers)
    body = payload.body
    if payload.operation_id == "reportEvents":
        events = body["data"]

        def call() -> Any:
            return client.report_events(events)

    else:
        name, values = body["identityName"], body["identityValues"]

        def call() -> Any:
            return client.get_cuids(name, values)

    return Setup(call, transport, client.close)


VARIANTS: dict[str, Callable[[Payload], Setup]] = {
    "GrowthClient": growth_client,
    "raw httpx": raw_httpx,
    "requests": raw_requests,
    "no-op hook": lambda payload: growth_client(payload, "hook"),
    "OTel API only": lambda payload: growth_client(payload, "otel-api"),
    "OTel SDK": lambda payload: growth_client(payload, "otel-sdk"),
}
OBSERVED = ["no-op hook", "OTel API only", "OTel SDK"]


CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
"""``cpu`` counts only the CPU time of this thread: on a busy machine, the time spent waiting for a
core is left out (a smoke test of the ratios there, not a figure for docs/benchmarks.md)."""
clock = time.perf_counter


def _time(call: Callable[[], Any], calls: int) -> float:
    """Microseconds per call over ``calls`` calls, with the collector off as timeit does."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = clock()
        for _ in range(calls):
            call()
        return (clock() - start) / calls * 1e6
    finally:
        if enabled:
            gc.enable()


def measure(payload: Payload, rounds: int, calls: int) -> dict[str, float]:
    """Median µs per call of each variant over interleaved rounds."""
    made = {name: make(payload) for name, make in VARIANTS.items()}
    try:
        bodies = set()
        for setup in made.values():
            setup.call()
            bodies.add(setup.transport.last_body)
        if len(bodies) != 1:
            raise RuntimeError(f"{payload.name}: the variants sent different bodies")
        samples: dict[str, list[float]] = {name: [] for name in made}
        names = list(made)
        for r in range(rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                samples[name].append(_time(made[name].call, calls))
        return {name: statistics.median(values) for name, values in samples.items()}
    finally:
        for setup in made.values():
            setup.close()


def validation_only(payload: Payload, calls: int) -> float:
    """µs for the client's spec validation of the body alone (part of the GrowthClient figure)."""
    return _time(lambda: _validation.validate_request(payload.operation_id, payload.body), calls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="3 rounds of 3 calls: a smoke test, not a figure"
    )
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds (default 21)")
    parser.add_argument(
        "--clock", choices=list(CLOCKS), default="wall", help="wall time (default) or this thread's CPU time"
    )
    args = parser.parse_args(argv)
    global clock  # noqa: PLW0603 - one setting for every timing of the run
    clock = CLOCKS[args.clock]
    rounds = 3 if args.quick else args.rounds

    print(
        f"python {platform.python_version()} on {platform.machine()}, {_cpus()} CPUs; {rounds} rounds; "
        f"{args.clock} clock"
    )
    print()
    print("| payload | GrowthClient µs | raw httpx µs | requests µs | client / raw | requests / raw |")
    print("|---|---:|---:|---:|---:|---:|")
    worst = 0.0
    validation: list[tuple[str, float]] = []
    results: list[tuple[str, dict[str, float]]] = []
    for payload in payloads():
        calls = 3 if args.quick else (200 if len(_dumps(payload.body)) < 1000 else 20)
        result = measure(payload, rounds, calls)
        results.append((payload.name, result))
        client, raw, req = result["GrowthClient"], result["raw httpx"], result["requests"]
        worst = max(worst, client / raw)
        print(
            f"| {payload.name} | {client:.1f} | {raw:.1f} | {req:.1f} "
            f"| {client / raw:.2f} | {req / raw:.2f} |"
        )
        validation.append((payload.name, validation_only(payload, calls)))
    print()
    print("Observers (same rounds; µs per call, and the extra over GrowthClient with none):")
    print()
    print("| payload | " + " | ".join(f"{name} µs" for name in OBSERVED) + " |")
    print("|---|" + "---:|" * len(OBSERVED))
    for name, result in results:
        base = result["GrowthClient"]
        cells = [f"{result[v]:.1f} ({result[v] - base:+.1f})" for v in OBSERVED]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    for name, micros in validation:
        print(f"validation alone, {name}: {micros:.1f} µs")
    verdict = "within" if worst <= TARGET else "OVER"
    print(f"worst client / raw: {worst:.2f} ({verdict} the {TARGET:.2f} target)")
    return 0


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
