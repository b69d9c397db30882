"""EventReporter against the sandbox in a separate process: track cost, throughput, processes, crash, memory.

* ``track`` (a): the cost of one ``track()`` call, median and p99, in memory and
  with the spool, next to one synchronous ``report_events`` call to a sandbox
  answering 100 ms late.
* ``throughput`` (b): one process tracking as fast as it can, spool on, against
  the sandbox's 100 calls/s: events/s from the first ``track`` to the end of
  ``flush``, as a share of the ceiling (maxItems x x-qps-limit).
* ``processes`` (c): eight processes, each tracking 1,000 events/s into one
  spool folder: all delivered, none twice, the combined rate and the 429s.
* ``crash`` (d): a process tracks 50,000 events and is killed with SIGKILL at a
  random moment; a new reporter on its spool delivers the rest. Lost and stored
  twice are counted against the sandbox's state view.
* ``memory`` (e): peak RSS of a process whose queue is full (the API
  unreachable), and the spool's size on disk per 100,000 events.

    .venv/bin/python benchmarks/reporter.py [track|throughput|processes|crash|memory|all] [--quick]

The sandbox runs as ``jiguang-growth sandbox --port 0`` in its own process, on
127.0.0.1, and is stopped by its PID; so are the helper processes.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bulk import Sandbox, ceiling, sandbox_process

from jiguang_growth import EventParam, EventReporter, GrowthClient

OPERATION = "reportEvents"
SCRIPT = str(Path(__file__).resolve())


def event(n: int) -> EventParam:
    return {
        "cuid": 10000000001 + n,
        "eventName": "open_app",
        "itime": 1654076420772 + n,
        "properties": {"page": f"p{n % 50}", "price": n % 1000},
    }


def client_for(sandbox: Sandbox, timeout: float = 10.0) -> GrowthClient:
    return GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url, timeout=timeout)


def delivery(sandbox: Sandbox, tracked: set[str]) -> dict[str, Any]:
    """Lost and stored-twice counts from the sandbox's state view (content identifies an event)."""
    state = sandbox.state()
    ids = collections.Counter(e["randomId"] for e in state["events"])
    keys = collections.Counter((e["cuid"], e["itime"]) for e in state["events"])
    statuses = collections.Counter(r["status"] for r in state["requests"] if r["operation"] == OPERATION)
    return {
        "stored": len(state["events"]),
        "lost": len(tracked - set(ids)),
        "stored_twice": sum(1 for n in keys.values() if n > 1),
        "replays_dropped_by_sandbox": state["duplicate_events"],
        "calls": sum(statuses.values()),
        "429s": statuses.get(429, 0),
    }


def quantiles_us(samples: list[int]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_us": round(statistics.median(ordered) / 1000, 2),
        "p99_us": round(ordered[int(len(ordered) * 0.99)] / 1000, 2),
    }


def track_cost(count: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with sandbox_process("--latency-ms", "100") as sandbox, client_for(sandbox) as client:
        one = []
        for n in range(20):
            started = time.perf_counter_ns()
            client.report_events([event(n)])
            one.append(time.perf_counter_ns() - started)
        results["report_events_1_event_sync"] = quantiles_us(one)
        with tempfile.TemporaryDirectory() as folder:
            for mode, spool in (("memory", None), ("spool", folder)):
                reporter = EventReporter(client, spool=spool, max_queue=count + 1)
                samples = []
                clock = time.perf_counter_ns
                for n in range(count):
                    started = clock()
                    reporter.track(event(n))
                    samples.append(clock() - started)
                reporter.close(timeout=120)
                results[mode] = {"events": count, **quantiles_us(samples), "unsent": reporter.stats.unsent}
    results["sync_call_over_spooled_track"] = round(
        results["report_events_1_event_sync"]["median_us"] / results["spool"]["median_us"]
    )
    return results


def throughput(count: int) -> dict[str, Any]:
    with (
        sandbox_process() as sandbox,
        client_for(sandbox) as client,
        tempfile.TemporaryDirectory() as folder,
    ):
        tracked: set[str] = set()
        reporter = EventReporter(client, spool=folder, block_timeout=60)
        started = time.perf_counter()
        for n in range(count):
            random_id = reporter.track(event(n))
            if random_id is not None:
                tracked.add(random_id)
        reporter.flush(timeout=None)
        elapsed = time.perf_counter() - started
        reporter.close()
        stats = reporter.stats
        rate = count / elapsed
        return {
            "events": count,
            "seconds": round(elapsed, 2),
            "events_per_s": round(rate),
            "share_of_ceiling": round(rate / ceiling(), 3),
            "accepted": stats.accepted,
            "dropped": stats.dropped,
            **delivery(sandbox, tracked),
        }


def child(argv: list[str]) -> int:
    """A helper process: track ``--count`` events at ``--rate`` per second into SPOOL."""
    parser = argparse.ArgumentParser(prog="reporter.py _child")
    parser.add_argument("spool")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--rate", type=float)
    parser.add_argument("--print-ids", action="store_true")
    parser.add_argument("--hang", action="store_true", help="wait to be killed after tracking")
    args = parser.parse_args(argv)
    client = GrowthClient(timeout=10.0)
    reporter = EventReporter(client, spool=args.spool, block_timeout=60)
    out = sys.stdout
    started = time.perf_counter()
    for i in range(args.count):
        if args.rate and i % 100 == 0:
            ahead = started + i / args.rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
        random_id = reporter.track(event(args.first + i))
        if args.print_ids:
            out.write(f"{random_id}\n")
            out.flush()
    tracking = time.perf_counter() - started
    if args.hang:
        out.write("tracked\n")
        out.flush()
        time.sleep(3600)
    reporter.flush(timeout=None)
    reporter.close()
    out.write(json.dumps({"tracking_s": tracking, **reporter.stats.as_dict()}) + "\n")
    return 0


def helper(sandbox: Sandbox, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, SCRIPT, "_child", *args], env=sandbox.env(), stdout=subprocess.PIPE, text=True
    )


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait()


def processes(count: int, per_second: int, seconds: float) -> dict[str, Any]:
    per_process = int(per_second * seconds)
    with sandbox_process() as sandbox, tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        running = [
            helper(sandbox, folder, "--count", str(per_process), "--first", str(n * per_process),
                   "--rate", str(per_second))
            for n in range(count)
        ]  # fmt: skip
        summaries = []
        for process in running:
            out, _ = process.communicate()
            summaries.append(json.loads(out.splitlines()[-1]))
        elapsed = time.perf_counter() - started
        total = count * per_process
        state = sandbox.state()
        tracked = {e["randomId"] for e in state["events"]}
        figures = delivery(sandbox, tracked)
        keys = {(event(n)["cuid"], event(n)["itime"]) for n in range(total)}
        stored_keys = {(e["cuid"], e["itime"]) for e in state["events"]}
        return {
            "processes": count,
            "events_per_s_each": per_second,
            "events": total,
            "seconds": round(elapsed, 2),
            "combined_events_per_s": round(total / elapsed),
            "share_of_ceiling": round(total / elapsed / ceiling(), 3),
            "longest_tracking_s": round(max(s["tracking_s"] for s in summaries), 2),
            "combined_tracking_events_per_s": round(total / max(s["tracking_s"] for s in summaries)),
            "accepted": sum(s["accepted"] for s in summaries),
            "lost": len(keys - stored_keys),
            "stored_twice": figures["stored_twice"],
            "calls": figures["calls"],
            "429s": figures["429s"],
            "segments_left": len(list(Path(folder).glob("*.spool"))),
        }


def crash(count: int, seed: int) -> dict[str, Any]:
    kill_after = random.Random(seed).randrange(count // 10, count)
    with sandbox_process("--latency-ms", "20") as sandbox, tempfile.TemporaryDirectory() as folder:
        process = helper(sandbox, folder, "--count", str(count), "--print-ids", "--hang")
        returned: set[str] = set()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if line.strip() == "tracked":
                    break
                returned.add(line.strip())
                if len(returned) == kill_after:
                    break
        finally:
            stop(process)
        stored_at_kill = len(sandbox.state()["events"])
        with client_for(sandbox) as client:
            started = time.perf_counter()
            reporter = EventReporter(client, spool=folder)
            reporter.flush(timeout=None)
            reporter.close()
            recovery = time.perf_counter() - started
        figures = delivery(sandbox, returned)
        return {
            "events": count,
            "seed": seed,
            "killed_after_tracked": len(returned),
            "stored_at_kill": stored_at_kill,
            "adopted_on_restart": reporter.stats.adopted,
            "recovery_seconds": round(recovery, 2),
            **figures,
        }


MEMORY_PROBE = """
import json, resource, sys, tempfile, pathlib  # VmHWM: ru_maxrss would count the parent's, kept across exec
from jiguang_growth import EventParam, EventReporter, GrowthClient
sys.path.insert(0, sys.argv[1])
from reporter import event
max_queue, count, base_url = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
before = int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() // 1024
client = GrowthClient("p1", "secret-12345678", base_url, max_retries=0)
with tempfile.TemporaryDirectory() as folder:
    reporter = EventReporter(client, spool=folder, max_queue=max_queue, on_full="drop")
    for n in range(count):
        reporter.track(event(n))
    size = sum(p.stat().st_size for p in pathlib.Path(folder).iterdir())
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
    stats = reporter.stats
    reporter.close(timeout=0)
print(json.dumps({"before_kb": before, "peak_kb": peak, "spool_bytes": size, "queued": stats.queued,
                  "dropped": stats.dropped}))
"""


def memory(queue_size: int, spool_events: int) -> dict[str, Any]:
    """Peak RSS with the queue full, and spool bytes, while the API is unreachable (nothing settles).

    ``queued`` counts the full queue plus the batches the senders hold while they retry.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    results: dict[str, Any] = {}
    for name, max_queue, count in (
        ("queue_full", queue_size, 2 * queue_size),
        ("spool_per_100k", spool_events, spool_events),
    ):
        done = subprocess.run(
            [sys.executable, "-c", MEMORY_PROBE, str(Path(SCRIPT).parent), str(max_queue), str(count), dead],
            capture_output=True,
            text=True,
            check=True,
        )
        probe = json.loads(done.stdout.splitlines()[-1])
        results[name] = {
            "max_queue": max_queue,
            "queued": probe["queued"],
            "dropped": probe["dropped"],
            "peak_rss_mb": round(probe["peak_kb"] / 1024, 1),
            "rss_added_mb": round((probe["peak_kb"] - probe["before_kb"]) / 1024, 1),
            "rss_before_mb": round(probe["before_kb"] / 1024, 1),
            "spool_mb": round(probe["spool_bytes"] / 2**20, 2),
            "spool_mb_per_100k_events": round(probe["spool_bytes"] / 2**20 * 100_000 / probe["queued"], 1),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        return child(argv[1:])
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    what = ["track", "throughput", "processes", "crash", "memory", "all"]
    parser.add_argument("what", nargs="?", default="all", choices=what)
    parser.add_argument("--quick", action="store_true", help="small runs, to check the script works")
    parser.add_argument("--seed", type=int, help="seed of the crash moment (default: random)")
    args = parser.parse_args(argv)
    quick = args.quick
    print(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"# ceiling: {ceiling():,} events/s (maxItems x x-qps-limit of {OPERATION})")
    results: dict[str, Any] = {}
    if args.what in {"track", "all"}:
        results["track"] = track_cost(2000 if quick else 20_000)
    if args.what in {"throughput", "all"}:
        results["throughput"] = throughput(3000 if quick else 100_000)
    if args.what in {"processes", "all"}:
        results["processes"] = processes(8, 1000, 0.5 if quick else 10.0)
    if args.what in {"crash", "all"}:
        seed = args.seed if args.seed is not None else random.randrange(1 << 30)
        results["crash"] = crash(3000 if quick else 50_000, seed)
    if args.what in {"memory", "all"}:
        results["memory"] = memory(10_000, 10_000 if quick else 100_000)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
