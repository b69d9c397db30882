"""Pacing over a modelled network: share of the ceiling, 429s, lost and doubled records, and a chart.

Four measurements, each a ratio from one run:

* ``matrix``: round-trip time {loopback, 100 ± 25, 200 ± 50, 500 ± 125 ms} x the sandbox's
  limiter {rolling, fixed, token}, for the adaptive pacer and, beside it, the pacer this
  project had before (each call counted from its grant until a second after its answer, 16
  calls in flight); the chart ``docs/pacing-benchmark.png`` plots these.
* ``processes``: two and four processes reporting to one project at once, each with its own
  pacer (no coordination), then sharing a quota in a real ``redis-server``.
* ``faults``: 5% 503, 2% 429 and 1% timeouts after receipt, both pacers.
* ``tls``: 200 ± 50 and 500 ± 125 ms with a new connection costing two more round trips (TCP
  and TLS handshakes, ``--connect-rtts 2``), rolling limiter: the share and the connections the
  client opened per call.
* ``short``: runs of 60,000 events (``--short-records``; a daily sync's size, six seconds at the
  ceiling), 200 and 500 ms, each limiter kind: what a run's start and end cost.

    .venv/bin/python benchmarks/pacing.py [matrix|processes|faults|tls|short|all] [--records N]
        [--short-records N] [--quick] [--chart PATH] [--json PATH]

Every sandbox runs as ``jiguang-growth sandbox --port 0 --rtt-ms R --rtt-jitter-ms J --limiter K``
in its own process on 127.0.0.1 (half the round trip each way, the request half before its
limiter counts the call), and Redis as ``redis-server`` on a free loopback port; both are
stopped by PID.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from bulk import FAULT_OPTIONS, FAULT_TIMEOUT, OPERATION, Sandbox, bulk_run, ceiling, sandbox_process

from jiguang_growth import GrowthClient, _pacing, _spec
from jiguang_growth import bulk as growth_bulk
from jiguang_growth.sandbox import NetworkConfig, handshake_transport

ROUND_TRIPS = [(0, 0), (100, 25), (200, 50), (500, 125)]
"""(round-trip ms, ± jitter ms) of the matrix."""
LIMITERS = ["rolling", "fixed", "token"]
FAR = [(200, 50), (500, 125)]
"""(round-trip ms, ± jitter ms) of the TLS and short-run columns."""
CONNECT_ROUND_TRIPS = 2
"""Round trips a new connection costs in the TLS column: TCP's handshake and TLS 1.3's."""
SHORT_RECORDS = 60_000
PACERS = ["adaptive", "today"]
TODAY_CONCURRENCY = 16
EVEN_RATE = 95.8
"""Calls per second of the reference sender beside the adaptive pacer in the TLS and short columns
(the fixed-rate sender issue 24 measured against)."""
CHART = Path(__file__).resolve().parent.parent / "docs" / "pacing-benchmark.png"


class TodaysPacer(_pacing.Pacer):
    """The rule this project paced by before: a call counts from its grant until a period after
    its answer, grants at least 0.7 of ``period / limit`` apart, and a 429 holds every slot."""

    def __init__(self, limit: int, clock: Callable[[], float]) -> None:
        super().__init__(limit, clock=clock)
        self._answered: deque[float] = deque()
        self._last_grant = -math.inf

    def turn(self) -> _pacing.Turn:
        return _pacing.Turn(self._clock())  # polled: no queue

    def acquire(self, turn: _pacing.Turn | None = None) -> float:
        with self._lock:
            now = self._clock()
            not_before = max(self._paused_until, self._last_grant + 0.7 * self.period / self.limit)
            if now < not_before:
                return not_before - now
            while self._answered and self._answered[0] <= now - self.period:
                self._answered.popleft()
            if self._in_flight + len(self._answered) < self.limit:
                self._in_flight += 1
                self._last_grant = now
                return 0.0
            return max(self._answered[0] + self.period - now, 0.002) if self._answered else 0.002

    def release(
        self,
        answer_seconds: float | None = None,
        *,
        throttled: bool = False,
        retry_after: float | None = None,
        new_connection: bool = False,
    ) -> None:
        with self._lock:
            self._in_flight -= 1
            now = self._clock()
            self._answered.append(now)
            if throttled:
                self.rate_limited += 1
                self._pause(1.0 if retry_after is None else retry_after)

    def in_flight_target(self) -> int:
        return TODAY_CONCURRENCY

    def sent(self, granted_at: float) -> None:
        """Counted from its grant, whenever it goes out."""


class EvenPacer(_pacing.Pacer):
    """A fixed-rate reference: grants exactly ``rate`` apart whatever comes back; a 429's call waits
    for its ``Retry-After`` (the retry policy), the others go on."""

    def __init__(self, limit: int, clock: Callable[[], float], rate: float) -> None:
        super().__init__(limit, clock=clock)
        self._spacing = 1.0 / rate
        self._next = -math.inf

    def turn(self) -> _pacing.Turn:
        return _pacing.Turn(self._clock())  # polled: no queue

    def acquire(self, turn: _pacing.Turn | None = None) -> float:
        with self._lock:
            now = self._clock()
            if now < self._next:
                return self._next - now
            self._next = max(self._next + self._spacing, now)  # never faster than the rate
            self._in_flight += 1
            return 0.0

    def release(
        self,
        answer_seconds: float | None = None,
        *,
        throttled: bool = False,
        retry_after: float | None = None,
        new_connection: bool = False,
    ) -> None:
        with self._lock:
            self._in_flight -= 1
            self.rate_limited += throttled

    def retry_wait(self, retry_after: float) -> float:
        return retry_after

    def sent(self, granted_at: float) -> None:
        """Spaced by grants alone."""

    def in_flight_target(self) -> int:
        return growth_bulk.DEFAULT_CONCURRENCY


def use_pacer(kind: str, sandbox: Sandbox) -> int:
    """Install the pacer ``kind`` for the sandbox's project; return the concurrency to run with."""
    if kind == "adaptive":
        return growth_bulk.DEFAULT_CONCURRENCY
    with GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url) as client:
        api_url = client.api_url
    limit = _spec.operation(OPERATION).qps_limit
    key = (api_url, sandbox.project_id, OPERATION, None)
    if kind == "even":
        _pacing._shared[key] = EvenPacer(limit, _pacing._clock, EVEN_RATE)
        return growth_bulk.DEFAULT_CONCURRENCY
    _pacing._shared[key] = TodaysPacer(limit, _pacing._clock)
    return TODAY_CONCURRENCY


def even_cap(records: int, rtt_ms: float, connect_rtts: int = 0) -> float:
    """The share of the ceiling a sender at exactly the limit, with no margin, reaches in a run of
    ``records`` when its first call goes alone (a wrong secret must cost one call): that call's
    answer (its connection's handshakes first), then the other calls one slot apart, then the last
    call's answer. No pacer that sends evenly and calls carefully first can do better."""
    operation = _spec.operation(OPERATION)
    calls = math.ceil(records / operation.max_records)
    rtt = rtt_ms / 1000
    seconds = (1 + connect_rtts) * rtt + (calls - 2) / operation.qps_limit + rtt
    return round(records / seconds / ceiling(), 3)


def network(rtt: int, jitter: int, limiter: str) -> list[str]:
    return ["--rtt-ms", str(rtt), "--rtt-jitter-ms", str(jitter), "--limiter", limiter, "--seed", "3"]


def one_run(
    options: list[str], pacer: str, count: int, timeout: float, transport: httpx.BaseTransport | None = None
) -> dict[str, Any]:
    with sandbox_process(*options) as sandbox:
        result = bulk_run(sandbox, count, timeout, concurrency=use_pacer(pacer, sandbox), transport=transport)
    result["429s_share_of_calls"] = round(result["429s"] / max(1, result["calls"]), 4)
    if result.get("connections") is not None:
        result["connections_per_call"] = round(result["connections"] / max(1, result["calls"]), 4)
    return result


def row(
    labels: dict[str, Any],
    options: list[str],
    pacer: str,
    count: int,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """One run with the sandbox ``options``, its figures after ``labels``; printed as it ends."""
    result = {**labels, "pacer": pacer, **one_run(options, pacer, count, timeout=10.0, transport=transport)}
    print(json.dumps(_brief(result)), file=sys.stderr, flush=True)
    return result


def matrix(count: int, round_trips: list[int], limiters: list[str]) -> list[dict[str, Any]]:
    return [
        row(
            {"rtt_ms": rtt, "jitter_ms": jitter, "limiter": limiter},
            network(rtt, jitter, limiter),
            pacer,
            count,
        )
        for rtt, jitter in ROUND_TRIPS
        if rtt in round_trips
        for limiter in limiters
        for pacer in PACERS
    ]


def handshakes(rtt: int, jitter: int) -> httpx.BaseTransport:
    """The client's transport with TCP's and TLS's handshakes before each new connection carries."""
    config = NetworkConfig.round_trip(rtt, jitter, seed=3)
    return handshake_transport(dataclasses.replace(config, connect_round_trips=CONNECT_ROUND_TRIPS))


def tls(count: int) -> list[dict[str, Any]]:
    """Far away over TLS (each new connection costs two more round trips), rolling limiter: the
    adaptive pacer, the even reference sender beside it, and the cap of any even sender. The
    handshakes are modelled where the client sees them ("client": before the request goes out)
    and, as before, charged by the sandbox to the connection's first call ("sandbox")."""
    rows = []
    for rtt, jitter in FAR:
        for where in ("client", "sandbox"):
            for pacer in ("adaptive", "even"):
                labels = {
                    "rtt_ms": rtt,
                    "jitter_ms": jitter,
                    "limiter": "rolling",
                    "connect_rtts": CONNECT_ROUND_TRIPS,
                    "handshakes": where,
                    "even_cap": even_cap(count, rtt, CONNECT_ROUND_TRIPS),
                }
                if where == "client":
                    rows.append(
                        row(labels, network(rtt, jitter, "rolling"), pacer, count, handshakes(rtt, jitter))
                    )
                else:
                    charged = ["--connect-rtts", str(CONNECT_ROUND_TRIPS)]
                    rows.append(row(labels, [*network(rtt, jitter, "rolling"), *charged], pacer, count))
    return rows


def short(count: int) -> list[dict[str, Any]]:
    """Short runs (a daily sync), each limiter kind, far away: the start and the end weigh more.
    The even reference sender runs beside the adaptive pacer (rolling limiter)."""
    return [
        row(
            {"rtt_ms": rtt, "jitter_ms": jitter, "limiter": limiter, "even_cap": even_cap(count, rtt)},
            network(rtt, jitter, limiter),
            pacer,
            count,
        )
        for rtt, jitter in FAR
        for limiter in LIMITERS
        for pacer in ("adaptive", "even")
        if pacer == "adaptive" or limiter == "rolling"
    ]


def faults(count: int) -> list[dict[str, Any]]:
    rows = []
    for pacer in PACERS:
        row = {"pacer": pacer, **one_run(FAULT_OPTIONS, pacer, count, timeout=FAULT_TIMEOUT)}
        print(json.dumps(_brief(row)), file=sys.stderr, flush=True)
        rows.append(row)
    return rows


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("rtt_ms", "limiter", "handshakes", "pacer", "processes", "redis", "records",
            "share_of_ceiling", "even_cap", "429s_share_of_calls", "connections_per_call")  # fmt: skip
    return {k: row[k] for k in keys if k in row} | {"lost": row.get("lost"), "twice": row.get("stored_twice")}


# --- several processes ------------------------------------------------------------------------

CHILD = (
    "import json, sys, time\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "from bulk import events\n"
    "from jiguang_growth import GrowthClient, bulk\n"
    "from jiguang_growth.bulk import Outcome\n"
    "url, pid, secret, count, first, pace, out, start_at = sys.argv[2:10]\n"
    "accepted = []\n"
    "def note(o):\n"
    "    if o.outcome is Outcome.ACCEPTED: accepted.append(o.value['randomId'])\n"
    "with GrowthClient(pid, secret, url, pace=pace if pace != 'local' else True) as client:\n"
    "    time.sleep(max(0.0, float(start_at) - time.time()))  # all producers start together\n"
    "    started = time.time()\n"
    "    s = bulk.report_events(client, events(int(count), int(first)), on_outcome=note)\n"
    "    ended = time.time()\n"
    "json.dump({'started': started, 'ended': ended, 'accepted': accepted, 'records': s.records,\n"
    "           'unknown': s.unknown, 'rejected': s.rejected}, open(out, 'w'))\n"
)
"""One producer: reports ``count`` events numbered from ``first``; writes what it saw to ``out``."""


START_DELAY = 5.0
"""Seconds from launching the producers to their common start (Python's start-up included)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def redis_process() -> Iterator[str]:
    """Debian's ``redis-server`` on a free loopback port, without persistence; stopped by PID."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(500):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.01)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait()


def shared_run(sandbox: Sandbox, processes: int, count: int, pace: str) -> dict[str, Any]:
    here = str(Path(__file__).resolve().parent)
    with tempfile.TemporaryDirectory() as folder:
        outs = [Path(folder) / f"{n}.json" for n in range(processes)]
        started = time.perf_counter()
        start_at = str(time.time() + START_DELAY)
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    here,
                    sandbox.base_url,
                    sandbox.project_id,
                    sandbox.project_secret,
                    str(count),
                    str(n * count),
                    pace,
                    str(out),
                    start_at,
                ]
            )
            for n, out in enumerate(outs)
        ]
        for child in children:
            child.wait()
        wall = time.perf_counter() - started - START_DELAY
        reports = [json.loads(out.read_text()) for out in outs]
    state = sandbox.state()
    stored = collections.Counter(event["randomId"] for event in state["events"])
    statuses = collections.Counter(r["status"] for r in state["requests"] if r["operation"] == OPERATION)
    accepted = {rid for report in reports for rid in report["accepted"]}
    total = processes * count
    span = max(r["ended"] for r in reports) - min(r["started"] for r in reports)  # one host, one clock
    return {
        "processes": processes,
        "records": total,
        "seconds": round(span, 2),
        "wall_seconds": round(wall, 2),
        "share_of_ceiling": round(total / span / ceiling(), 3),
        "each_share": [round(count / (r["ended"] - r["started"]) / ceiling(), 3) for r in reports],
        "calls": sum(statuses.values()),
        "429s": statuses.get(429, 0),
        "429s_share_of_calls": round(statuses.get(429, 0) / max(1, sum(statuses.values())), 4),
        "accounted": sum(r["records"] for r in reports) == total,
        "unknown": sum(r["unknown"] for r in reports),
        "rejected": sum(r["rejected"] for r in reports),
        "lost": len(accepted - set(stored)),
        "stored_twice": sum(1 for n in stored.values() if n > 1),
    }


def processes(count: int, rtt: int, jitter: int) -> list[dict[str, Any]]:
    rows = []
    for number in (2, 4):
        for with_redis in (False, True):
            with sandbox_process(*network(rtt, jitter, "rolling")) as sandbox:
                if with_redis:
                    with redis_process() as url:
                        row = shared_run(sandbox, number, count // number, url)
                else:
                    row = shared_run(sandbox, number, count // number, "local")
            row = {"rtt_ms": rtt, "jitter_ms": jitter, "redis": with_redis, **row}
            print(json.dumps(_brief(row)), file=sys.stderr, flush=True)
            rows.append(row)
    return rows


# --- the chart --------------------------------------------------------------------------------


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    """Share of the ceiling against round-trip time: one line per limiter kind and pacer."""
    import matplotlib  # noqa: PLC0415 - a dev dependency, only for the chart

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure, axes = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    colours = {"rolling": "tab:blue", "fixed": "tab:orange", "token": "tab:green"}
    for limiter in LIMITERS:
        for pacer in PACERS:
            points = sorted(
                (r["rtt_ms"], r["share_of_ceiling"])
                for r in rows
                if r["limiter"] == limiter and r["pacer"] == pacer
            )
            if points:
                axes.plot(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    marker="o",
                    linestyle="-" if pacer == "adaptive" else "--",
                    color=colours[limiter],
                    label=f"{limiter}, {'adaptive pacer' if pacer == 'adaptive' else 'previous pacer'}",
                )
    axes.axhline(0.95, color="grey", linewidth=0.8, linestyle=":")
    axes.set_xlabel("round-trip time, ms (jitter ± a quarter)")
    axes.set_ylabel("share of the ceiling (10,000 records/s)")
    axes.set_ylim(0, max([1.05, *(r["share_of_ceiling"] + 0.05 for r in rows)]))
    axes.set_xticks([rtt for rtt, _ in ROUND_TRIPS])
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower left")
    records = rows[0]["records"] if rows else 0
    axes.set_title(f"bulk.report_events, {records:,} events per run", fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "what", nargs="?", default="all", choices=["matrix", "processes", "faults", "tls", "short", "all"]
    )
    parser.add_argument("--records", type=int, help="events per run (default 200,000)")
    parser.add_argument(
        "--short-records", type=int, help=f"events per short run (default {SHORT_RECORDS:,}; --quick 3,000)"
    )
    parser.add_argument("--quick", action="store_true", help="small runs (5,000), to check the script works")
    parser.add_argument("--process-rtt-ms", type=int, default=0, help="round trip of the processes runs")
    parser.add_argument(
        "--round-trips", default="0,100,200,500", help="matrix round trips, ms (default 0,100,200,500)"
    )
    parser.add_argument("--limiters", default=",".join(LIMITERS), help="matrix limiter kinds (default all)")
    parser.add_argument("--chart", type=Path, default=CHART, help=f"PNG of the matrix (default {CHART.name})")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    count = args.records or (5000 if args.quick else 200_000)
    print(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    short_count = args.short_records or (3000 if args.quick else SHORT_RECORDS)
    print(
        f"# ceiling: {ceiling():,} records/s (maxItems x x-qps-limit of {OPERATION}); {count:,} per run"
        f" ({short_count:,} in the short runs)"
    )
    results: dict[str, Any] = {}
    if args.what in {"matrix", "all"}:
        round_trips = [int(ms) for ms in args.round_trips.split(",")]
        results["matrix"] = matrix(count, round_trips, args.limiters.split(","))
        chart(results["matrix"], args.chart)
    if args.what in {"processes", "all"}:
        results["processes"] = processes(count, args.process_rtt_ms, args.process_rtt_ms // 4)
    if args.what in {"faults", "all"}:
        results["faults"] = faults(count)
    if args.what in {"tls", "all"}:
        results["tls"] = tls(count)
    if args.what in {"short", "all"}:
        results["short"] = short(short_count)
    text = json.dumps(results, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
