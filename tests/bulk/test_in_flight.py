"""Calls in flight when a run died: settled as unknown, never resent, where a replay would count twice."""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from jiguang_growth import GrowthClient, bulk
from jiguang_growth.bulk._journal import Journal, LineSet, RunIdentity
from jiguang_growth.sandbox import FaultConfig, NetworkConfig, run_sandbox

from .conftest import FakeApi

COMMAND = [sys.executable, "-m", "jiguang_growth.cli"]


def attribute(n: int) -> dict[str, Any]:
    return {"cuid": 10000000000 + n, "data": {"total_spend": n}}


def channel(n: int) -> dict[str, Any]:
    return {"cuid": 10000000000 + n, "channels": [{"id": 1, "channelValues": {"phone": f"1801234{n:04d}"}}]}


def died_in_flight(
    client: GrowthClient, folder: Path, operation: str, *, settled: int, sent: list[int]
) -> None:
    """The journal a run leaves when killed after line ``settled`` settled and ``sent`` went out."""
    identity = RunIdentity(operation, client.api_url, client.project_id, None)
    journal = Journal(folder / bulk.JOURNAL_NAME, identity, resume=False)
    totals = {"records": settled, "accepted": settled, "rejected": 0, "unknown": 0, "batches": settled}
    journal.record(range(1, settled + 1), {**totals, "by_reason": {}, "rate_limited": 0}, {})
    journal.sending(sent)
    journal.close()


def sent_cuids(api: FakeApi) -> list[int]:
    found: list[int] = []
    for _, body in api.bodies:
        found.extend(item["cuid"] for item in (body if isinstance(body, list) else [body]))
    return found


def test_a_write_sent_and_never_settled_is_settled_unknown_and_not_sent_again(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    died_in_flight(client, tmp_path, "setUserAttributes", settled=1, sent=[2])
    records = [attribute(n) for n in range(1, 5)]
    summary = bulk.set_user_attributes(client, records, out_dir=tmp_path, resume=True)
    assert sent_cuids(api) == [10000000003, 10000000004]  # line 2 is never sent again
    assert (summary.records, summary.accepted, summary.unknown, summary.resumed) == (4, 3, 1, 1)
    assert summary.by_reason == {"in_flight_at_stop": 1} and not summary.ok
    unknown = (tmp_path / "unknown.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in unknown] == [attribute(2)]
    failure = json.loads((tmp_path / "failures.jsonl").read_text())
    assert failure["line"] == 2 and failure["reason"] == "in_flight_at_stop"
    assert "may have been applied" in failure["msg"] and "not replay-safe" in failure["msg"]
    again = bulk.set_user_attributes(client, records, out_dir=tmp_path, resume=True)
    assert len(api.bodies) == 2 and (again.records, again.unknown) == (4, 1)  # settled for good


def test_a_replay_safe_write_sent_and_never_settled_is_sent_again(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    died_in_flight(client, tmp_path, "setUserChannels", settled=1, sent=[2])
    summary = bulk.set_user_channels(client, [channel(n) for n in range(1, 4)], out_dir=tmp_path, resume=True)
    assert sorted(sent_cuids(api)) == [10000000002, 10000000003]
    assert (summary.records, summary.accepted, summary.unknown) == (3, 3, 0) and summary.ok


def test_the_sending_entry_is_on_the_disk_before_the_call_and_a_torn_one_is_sent(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    journal = tmp_path / bulk.JOURNAL_NAME

    def check(path: str, body: Any, attempt: int) -> None:
        last = json.loads(journal.read_bytes().splitlines()[-1])
        assert last["sending"] == [[body["cuid"] - 10000000000] * 2]  # whole and fsynced already

    api.script = check
    summary = bulk.set_user_attributes(client, [attribute(1), attribute(2)], out_dir=tmp_path, concurrency=1)
    assert summary.accepted == 2 and len(api.bodies) == 2
    with journal.open("ab") as handle:
        handle.write(b'{"seq":99,"sending":[[3,')  # died while writing: line 3 was not sent yet
    records = [attribute(n) for n in range(1, 4)]
    summary = bulk.set_user_attributes(client, records, out_dir=tmp_path, resume=True)
    assert sent_cuids(api)[2:] == [10000000003] and (summary.accepted, summary.unknown) == (3, 0)


def test_a_write_held_back_by_bad_credentials_is_sent_by_the_resume(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    api.script = lambda path, body, attempt: httpx.Response(401, json={"code": 401, "msg": "bad auth"})
    records = [attribute(1)]
    summary = bulk.set_user_attributes(client, records, out_dir=tmp_path)
    assert summary.stopped == "credentials" and summary.unsettled == 1
    api.script = None
    summary = bulk.set_user_attributes(client, records, out_dir=tmp_path, resume=True)
    assert (summary.accepted, summary.unknown) == (1, 0)  # surely not applied: released, so resent
    assert sent_cuids(api) == [10000000001, 10000000001]


def test_a_cli_run_killed_with_calls_in_flight_applies_no_line_twice(tmp_path: Path) -> None:
    users, total = 40, 200
    source = tmp_path / "attributes.jsonl"
    lines = [{"cuid": 10000000000 + n % users, "data": {"total_spend": n}} for n in range(1, total + 1)]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "out"
    applied: list[int] = []  # total_spend values, one per line, as the sandbox applied them
    slow = FaultConfig(latency_ms=50)
    on_its_way = NetworkConfig(response_delay_ms=150)  # applied, the answer not back yet
    with run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}", faults=slow, network=on_its_way) as sandbox:
        state = sandbox.state
        lock = threading.Lock()

        def logged(apply: Any) -> Any:
            def call(operation_id: str, body: Any) -> Any:
                answer = apply(operation_id, body)
                if answer is not None:
                    with lock:
                        applied.append(body["data"]["total_spend"])
                return answer

            return call

        state.apply, state.try_apply = logged(state.apply), logged(state.try_apply)  # type: ignore[method-assign]
        command = [*COMMAND, "set-attributes", str(source), "--out", str(out)]
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("JIGUANG_")}, **sandbox.env()}
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ends = time.monotonic() + 30
        while len(applied) < users // 2 and time.monotonic() < ends:  # under way, calls in flight
            time.sleep(0.01)
        time.sleep(random.uniform(0.0, 0.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        time.sleep(0.3)  # the calls the dead process left let the sandbox apply them
        before = len(applied)
        assert 0 < before < total
        sandbox.faults.configure(latency_ms=0)
        done = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True, timeout=60)
        stored = {user: state.attributes(10000000000 + user).get("total_spend", 0) for user in range(users)}

    counts = collections.Counter(applied)
    assert max(counts.values()) == 1, [n for n, c in counts.items() if c > 1]  # no line applied twice
    summary = json.loads((out / "summary.json").read_text())
    failures_file = out / "failures.jsonl"
    failures = [json.loads(line) for line in failures_file.read_text().splitlines()]
    unknown = {f["line"] for f in failures if f["outcome"] == "unknown"}
    accepted = set(range(1, total + 1)) - {f["line"] for f in failures}
    assert done.returncode == 1, done.stderr  # unknown records
    assert summary["records"] == total == summary["accepted"] + summary["unknown"]
    assert summary["by_reason"].get("in_flight_at_stop", 0) == len(unknown) > 0
    assert accepted <= set(counts) <= accepted | unknown
    for user in range(users):
        assert stored[user] == sum(n for n in counts if n % users == user)


def test_a_line_set_discards_ranges_across_and_inside_its_spans() -> None:
    lines = LineSet()
    lines.add_range(1, 10)
    lines.add_range(20, 30)
    lines.discard_range(5, 22)
    lines.discard_range(25, 25)
    lines.discard_range(40, 50)
    assert lines.ranges() == [(1, 4), (23, 24), (26, 30)]
