"""Several processes on one spool folder, a kill -9, and interpreter exit, at CI sizes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from pathlib import Path

import pytest

from jiguang_growth import EventReporter, GrowthClient
from jiguang_growth.sandbox import SandboxServer

from .conftest import CHILD, stored_ids, stored_keys
from .test_spool import leave_unsent, pending, segments

CRASH_EVENTS = 5000
PROCESSES = 4


def child(sandbox: SandboxServer, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CHILD, *args],
        env={**os.environ, **sandbox.env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def summary_of(process: subprocess.Popen[str]) -> dict[str, int]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    result: dict[str, int] = json.loads(out.splitlines()[-1])
    return result


@pytest.mark.timeout(180)
def test_after_kill_9_every_tracked_event_is_delivered_once_on_restart(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path
) -> None:
    seed = random.randrange(1 << 30)
    kill_after = random.Random(seed).randrange(CRASH_EVENTS // 10, CRASH_EVENTS)
    sandbox.faults.configure(latency_ms=30, latency_jitter_ms=30, seed=seed)
    process = child(sandbox, str(tmp_path), "--count", str(CRASH_EVENTS), "--print-ids", "--end", "hang")
    assert process.stdout is not None
    returned: list[str] = []
    for line in process.stdout:
        if line.strip() == "tracked":
            break
        returned.append(line.strip())
        if len(returned) == kill_after:
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    at_kill = len(stored_ids(sandbox))
    with EventReporter(client, spool=tmp_path) as reporter:
        assert reporter.flush(60)
        adopted = reporter.stats.adopted
    stored, keys = stored_ids(sandbox), stored_keys(sandbox)
    assert len(returned) == kill_after, f"seed {seed}"
    assert set(returned) <= set(stored), f"seed {seed}: lost {len(set(returned) - set(stored))}"
    assert max(keys.values()) == 1, f"seed {seed}: an event was stored twice"
    assert adopted > 0 and at_kill < len(returned), f"seed {seed}: the kill left nothing to recover"
    assert pending(tmp_path) == 0 and segments(tmp_path) == []


@pytest.mark.timeout(180)
def test_processes_sharing_a_spool_folder_deliver_everything_once(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    folder = tmp_path / "spool"
    per_process = CRASH_EVENTS // PROCESSES
    options = ["--count", str(per_process), "--go", str(go), "--scan-interval", "0.02"]
    # each process looks for orphans all the time: it must never take another live one's segment
    processes = [
        child(sandbox, str(folder), *options, "--first", str(n * per_process)) for n in range(PROCESSES)
    ]
    go.touch()
    summaries = [summary_of(p) for p in processes]
    stored, keys = stored_ids(sandbox), stored_keys(sandbox)
    assert sum(s["accepted"] for s in summaries) == PROCESSES * per_process
    assert len(stored) == PROCESSES * per_process and max(keys.values()) == 1
    assert sandbox.state.snapshot().duplicate_events == 0  # no process sent another one's events
    assert segments(folder) == []


@pytest.mark.timeout(180)
def test_an_orphaned_segment_is_adopted_by_exactly_one_of_several_processes(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path
) -> None:
    folder = tmp_path / "spool"
    left = [i for n in range(6) for i in leave_unsent(client, folder, 200, first=n * 200)]
    assert len(segments(folder)) == 6 and pending(folder) == 1200
    go = tmp_path / "go"
    processes = [child(sandbox, str(folder), "--go", str(go)) for _ in range(PROCESSES)]
    go.touch()
    summaries = [summary_of(p) for p in processes]
    assert sum(s["adopted"] for s in summaries) == 1200  # adopted twice would count more
    assert set(stored_ids(sandbox)) == set(left)
    assert sandbox.state.snapshot().duplicate_events == 0
    assert segments(folder) == []


def test_interpreter_exit_flushes_the_queue(sandbox: SandboxServer, tmp_path: Path) -> None:
    process = child(sandbox, str(tmp_path), "--count", "300", "--end", "atexit")
    summary = summary_of(process)
    assert summary["tracked"] == 300
    assert len(stored_ids(sandbox)) == 300
    assert segments(tmp_path) == []
