"""The fault-injection harness: every file step of the spool and of a bulk run, each error it can meet.

harness.py runs the workloads in forked processes against two sandboxes over
real loopback HTTP (projects A and B); this test checks the invariants case by
case: every tracked or read record ends accepted, rejected with a reason, or
still held; none is stored twice; none goes to another project; nothing hangs.
It prints how many injection points and faults it covered.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jiguang_growth.sandbox import SandboxServer, run_sandbox

HARNESS = Path(__file__).resolve().parent / "harness.py"
ALLOWED = frozenset({"open_app"})
"""The sandboxes refuse any other event name: ``bad_event`` is the record the server rejects."""


@pytest.fixture
def sandboxes() -> Iterator[tuple[SandboxServer, SandboxServer]]:
    with (
        run_sandbox(project_id=f"a{uuid.uuid4().hex[:8]}", event_names=ALLOWED) as a,
        run_sandbox(project_id=f"b{uuid.uuid4().hex[:8]}", event_names=ALLOWED) as b,
    ):
        yield a, b


def _settings(server: SandboxServer) -> dict[str, str]:
    return {
        "project_id": server.project_id,
        "project_secret": server.project_secret,
        "base_url": server.base_url,
    }


def run_harness(mode: str, sandboxes: tuple[SandboxServer, SandboxServer], work: Path) -> dict[str, Any]:
    out = work / "results.json"
    config = {"mode": mode, "work": str(work), "out": str(out), "a": _settings(sandboxes[0])}
    config["b"] = _settings(sandboxes[1])
    (work / "config.json").write_text(json.dumps(config))
    done = subprocess.run(
        [sys.executable, str(HARNESS), str(work / "config.json")], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results: dict[str, Any] = json.loads(out.read_text())
    return results


def _stored(server: SandboxServer) -> tuple[collections.Counter[str], collections.Counter[int]]:
    events = server.state.events()
    return collections.Counter(e["randomId"] for e in events), collections.Counter(e["cuid"] for e in events)


def _coverage(results: dict[str, Any], mode: str) -> str:
    cases = results["cases"][1:]
    steps = collections.Counter(results["trace"])
    faults = collections.Counter(case["injected"]["fault"] for case in cases)
    return (
        f"{mode}: {len(results['trace'])} injection points ({dict(steps)}), {len(cases)} faulted runs "
        f"({dict(faults)})"
    )


def _record(mode: str, line: str) -> None:
    print(line)
    folder = Path(__file__).resolve().parents[2] / "build"
    folder.mkdir(exist_ok=True)
    (folder / f"fault-harness-{mode}.txt").write_text(line + "\n")


def test_the_spool_keeps_every_event_at_every_faulted_step(
    sandboxes: tuple[SandboxServer, SandboxServer], tmp_path: Path
) -> None:
    results = run_harness("spool", sandboxes, tmp_path)
    a_ids, a_cuids = _stored(sandboxes[0])
    b_ids, b_cuids = _stored(sandboxes[1])
    problems: list[str] = []
    for case in results["cases"]:
        name = f"case {case['case']} {case.get('injected', 'dry run')}"
        children = (case["setup"], case["faulty"], case["recovered"])
        if any(child.get("hang") for child in children):
            problems.append(f"{name}: a process hung")
            continue
        if case["setup"].get("exit") != 0 or case["recovered"].get("exit") != 0:
            problems.append(f"{name}: setup or recovery failed: {case['setup']} {case['recovered']}")
            continue
        if any("unreadable" in r for r in case["recovered"]["rejected"]):
            problems.append(f"{name}: unreadable lines in rejected.jsonl: {case['recovered']['rejected']}")
        rejected = {r["event"]["randomId"] for r in case["recovered"]["rejected"] if r.get("reason")}
        held = {h["id"] for h in case["recovered"]["held"]}
        for random_id in case["tracked"]:
            if random_id not in a_ids and random_id not in rejected and random_id not in held:
                problems.append(f"{name}: {random_id} was lost")
            if random_id in b_ids:
                problems.append(f"{name}: {random_id} of project A went to project B")
        for random_id in case["foreign"]:
            if random_id in a_ids:
                problems.append(f"{name}: {random_id} of project B went to project A")
            if random_id not in b_ids and random_id not in held:
                problems.append(f"{name}: {random_id} of project B was lost")
        base = case["base"]
        twice = [c for c in range(base, base + 100) if a_cuids[10000000000 + c] > 1]
        if twice:
            problems.append(f"{name}: stored twice: {twice}")
        if b_cuids[10000000000 + base + 50] > 1:
            problems.append(f"{name}: project B's event stored twice")
    assert results["cases"][0]["faulty"].get("exit") == 0, results["cases"][0]
    assert len(results["cases"]) > 100, _coverage(results, "spool")
    assert not problems, "\n".join(problems[:40])
    repeats = sandboxes[0].state.snapshot().duplicate_events
    _record("spool", f"{_coverage(results, 'spool')}; resends the server dropped as repeats: {repeats}")


def test_a_bulk_run_keeps_every_record_at_every_faulted_step(
    sandboxes: tuple[SandboxServer, SandboxServer], tmp_path: Path
) -> None:
    results = run_harness("bulk", sandboxes, tmp_path)
    _, a_cuids = _stored(sandboxes[0])
    problems: list[str] = []
    for case in results["cases"]:
        name = f"case {case['case']} {case.get('injected', 'dry run')}"
        if case["faulty"].get("hang") or case["recovered"].get("hang"):
            problems.append(f"{name}: a run hung")
            continue
        recovered = case["recovered"]
        if "summary" not in recovered:
            problems.append(f"{name}: the resume failed: {recovered}")
            continue
        files = case["files"]
        torn = [r for rows in files.values() for r in rows if "unreadable" in r]
        if torn:
            problems.append(f"{name}: unreadable lines in the outcome files: {torn}")
            continue
        failed = {r["cuid"] for r in files["rejected.jsonl"] + files["unknown.jsonl"]}
        reasons = [f for f in files["failures.jsonl"] if f.get("reason")]
        if len(reasons) != len(files["rejected.jsonl"]) + len(files["unknown.jsonl"]):
            problems.append(f"{name}: {len(failed)} failed records, {len(reasons)} reasons")
        for n in range(6):
            cuid = 10000000000 + case["base"] + n
            stored = a_cuids[cuid]
            if stored > 1:
                problems.append(f"{name}: record {n} stored {stored} times")
            if stored == 0 and cuid not in failed:
                problems.append(f"{name}: record {n} was lost")
            if stored and cuid in failed:
                problems.append(f"{name}: record {n} both stored and listed as failed")
        summary = recovered["summary"]
        if summary["accepted"] + summary["rejected"] + summary["unknown"] != 6:
            problems.append(f"{name}: the summary does not add up: {summary}")
    assert "summary" in results["cases"][0]["faulty"], results["cases"][0]
    assert not _stored(sandboxes[1])[0], "a bulk run of project A sent to project B"
    assert len(results["cases"]) > 30, _coverage(results, "bulk")
    assert not problems, "\n".join(problems[:40])
    repeats = sandboxes[0].state.snapshot().duplicate_events
    _record("bulk", f"{_coverage(results, 'bulk')}; resends the server dropped as repeats: {repeats}")
