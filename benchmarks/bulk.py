"""Bulk ingestion against the sandbox in a separate process: throughput, faults, memory.

Three measurements, each a ratio or a count rather than a bare time:

* ``throughput`` (b): events per second through ``bulk.report_events`` while the
  sandbox enforces 100 calls per second per operation, as a share of the
  ceiling (100 records x 100 calls = 10,000 records/s), with the 429s the
  sandbox answered and the events lost (sent but not stored).
* ``faults`` (c): the same run while the sandbox injects 5% 503s, 2% 429s and
  1% timeouts after receipt; nothing may be lost or stored twice, checked
  against the sandbox's inspection view.
* ``memory`` (d): peak RSS of ``jiguang-growth report-events FILE`` streaming a
  file of events (1,000,000 by default) to the sandbox.

    .venv/bin/python benchmarks/bulk.py [throughput|faults|memory|all] [--records N] [--quick]

The sandbox runs as ``jiguang-growth sandbox --port 0`` in its own process, on
127.0.0.1, and is stopped by its PID.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from jiguang_growth import EventParam, GrowthClient, _spec, bulk
from jiguang_growth.bulk import Outcome, RecordOutcome

CLI = [sys.executable, "-m", "jiguang_growth.cli"]
MEASURED_CLI = (
    "import sys\n"
    "from jiguang_growth.cli import main\n"
    "status = main(sys.argv[1:])\n"
    "peak = next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
    "print('peak_rss_kb', peak, file=sys.stderr)\n"
    "sys.exit(status)\n"
)
"""The CLI, reporting its own peak RSS (the sandbox and earlier runs are not counted).

VmHWM, not ``ru_maxrss``: Linux keeps the parent's ``ru_maxrss`` across fork and exec, so
``ru_maxrss`` would report this script's own peak (``all`` holds the sandbox's state of 100,000
events after runs (b) and (c): about 190 MB) whenever it is the larger."""
OPERATION = "reportEvents"


def ceiling() -> int:
    """Records per second one project may send: maxItems x x-qps-limit, from openapi.yaml."""
    operation = _spec.operation(OPERATION)
    return operation.max_records * operation.qps_limit


@dataclass
class Sandbox:
    process: subprocess.Popen[str]
    base_url: str
    project_id: str
    project_secret: str

    def state(self) -> dict[str, Any]:
        response = httpx.get(
            self.base_url + "/_sandbox/state", auth=(self.project_id, self.project_secret), timeout=120
        )
        response.raise_for_status()
        state: dict[str, Any] = response.json()["data"]
        return state

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "JIGUANG_GROWTH_BASE_URL": self.base_url,
            "JIGUANG_PROJECT_ID": self.project_id,
            "JIGUANG_PROJECT_SECRET": self.project_secret,
        }


@contextmanager
def sandbox_process(*options: str) -> Iterator[Sandbox]:
    """``jiguang-growth sandbox --port 0`` in its own process; stopped by PID on exit."""
    process = subprocess.Popen([*CLI, "sandbox", "--port", "0", *options], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner: dict[str, str] = {}
        for line in process.stdout:
            if match := re.match(r"\S.* listening on (\S+)", line):
                banner["base_url"] = match.group(1)
            elif match := re.match(r"\s+project (id|secret)\s+(\S+)", line):
                banner[match.group(1)] = match.group(2)
            if line.startswith("Press Ctrl-C"):
                break
        if process.poll() is not None or len(banner) != 3:
            raise RuntimeError(f"the sandbox did not start (exit {process.poll()})")
        yield Sandbox(process, banner["base_url"], banner["id"], banner["secret"])
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def events(count: int, first: int = 0) -> Iterator[EventParam]:
    for n in range(first, first + count):
        yield {
            "cuid": 10000000001 + n % 100000,
            "eventName": "open_app",
            "itime": 1654076420772 + n,
            "properties": {"page": f"p{n % 50}", "price": n % 1000},
        }


def bulk_run(
    sandbox: Sandbox,
    count: int,
    timeout: float,
    *,
    concurrency: int = bulk.DEFAULT_CONCURRENCY,
    pace: bool | str = True,
    first: int = 0,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Report ``count`` events; return the figures, checked against the sandbox's state.

    ``pace`` may name a Redis for a shared quota; ``first`` numbers the events, so that
    several processes can share one sandbox; ``transport`` replaces the client's own (the
    handshakes of ``jiguang_growth.sandbox.handshake_transport``).
    """
    sent_ids: dict[str, Outcome] = {}

    def note(outcome: RecordOutcome) -> None:
        sent_ids[outcome.value["randomId"]] = outcome.outcome

    with GrowthClient(
        sandbox.project_id,
        sandbox.project_secret,
        sandbox.base_url,
        timeout=timeout,
        pace=pace,
        transport=transport,
    ) as client:
        started = time.perf_counter()
        summary = bulk.report_events(client, events(count, first), on_outcome=note, concurrency=concurrency)
        elapsed = time.perf_counter() - started
    state = sandbox.state()
    stored = collections.Counter(event["randomId"] for event in state["events"])
    statuses = collections.Counter(r["status"] for r in state["requests"] if r["operation"] == OPERATION)
    injected = collections.Counter(r["fault"] for r in state["requests"] if r["fault"])
    accepted = {rid for rid, outcome in sent_ids.items() if outcome is Outcome.ACCEPTED}
    unknown = {rid for rid, outcome in sent_ids.items() if outcome is Outcome.UNKNOWN}
    rate = count / elapsed
    return {
        "records": count,
        "seconds": round(elapsed, 2),
        "records_per_s": round(rate),
        "share_of_ceiling": round(rate / ceiling(), 3),
        "accepted": summary.accepted,
        "rejected": summary.rejected,
        "unknown": summary.unknown,
        "unknown_stored": len(unknown & set(stored)),
        "lost": len(accepted - set(stored)),
        "stored_twice": sum(1 for n in stored.values() if n > 1),
        "stored_not_sent": len(set(stored) - set(sent_ids)),
        "replays_dropped_by_sandbox": state["duplicate_events"],
        "calls": sum(statuses.values()),
        "429s": statuses.get(429, 0),
        "429s_not_injected": statuses.get(429, 0) - injected.get("429", 0),
        "faults_injected": dict(sorted(injected.items())),
        "connections": state.get("connections", {}).get("opened"),
    }


def throughput(count: int) -> dict[str, Any]:
    with sandbox_process() as sandbox:
        return bulk_run(sandbox, count, timeout=10.0)


FAULT_OPTIONS = [
    "--seed", "11",
    "--error-rate", "503=0.05",
    "--error-rate", "429=0.02",
    "--timeout-after-receipt-rate", "0.01",
    "--hang-seconds", "5",
]  # fmt: skip
"""The sandbox options of the fault mix (c), which benchmarks/pacing.py runs too."""
FAULT_TIMEOUT = 2.0
"""The client's timeout in the fault mix: an injected hang ends in a timeout, then a retry."""


def faults(count: int) -> dict[str, Any]:
    with sandbox_process(*FAULT_OPTIONS) as sandbox:
        return bulk_run(sandbox, count, timeout=FAULT_TIMEOUT)


def memory(count: int) -> dict[str, Any]:
    """Peak RSS of the CLI streaming ``count`` events from a file (the sandbox is not counted)."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "events.jsonl"
        with source.open("w", encoding="utf-8") as handle:
            for event in events(count):
                handle.write(json.dumps(event, separators=(",", ":")) + "\n")
        size_mb = source.stat().st_size / 2**20
        with sandbox_process("--qps", "100") as sandbox:
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", MEASURED_CLI, "report-events", str(source), "--progress", "off"],
                env=sandbox.env(),
                capture_output=True,
                text=True,
                check=False,
            )
            elapsed = time.perf_counter() - started
            stored = len(sandbox.state()["events"]) if count <= 200_000 else None
    peak = re.search(r"^peak_rss_kb (\d+)$", done.stderr, re.MULTILINE)
    if done.returncode != 0:
        raise RuntimeError(f"report-events failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return {
        "records": count,
        "file_mb": round(size_mb, 1),
        "seconds": round(elapsed, 1),
        "peak_rss_mb": round(int(peak.group(1)) / 1024, 1) if peak else None,
        "stored": stored,
        "summary": done.stdout.strip().splitlines()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", default="all", choices=["throughput", "faults", "memory", "all"])
    parser.add_argument("--records", type=int, help="events per run (default 100,000; memory 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="small runs, to check the script works")
    args = parser.parse_args(argv)
    quick = 3000 if args.quick else None
    print(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"# ceiling: {ceiling():,} records/s (maxItems x x-qps-limit of {OPERATION})")
    results: dict[str, Any] = {}
    if args.what in {"throughput", "all"}:
        results["throughput"] = throughput(args.records or quick or 100_000)
    if args.what in {"faults", "all"}:
        results["faults"] = faults(args.records or quick or 100_000)
    if args.what in {"memory", "all"}:
        results["memory"] = memory(args.records or quick or 1_000_000)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
