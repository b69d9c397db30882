"""Bulk runs over real loopback HTTP against the sandbox, with faults: nothing lost, nothing doubled."""

from __future__ import annotations

import collections
import uuid
from typing import Any

from jiguang_growth import GrowthClient, bulk
from jiguang_growth.bulk import Outcome, RecordOutcome
from jiguang_growth.sandbox import FaultConfig, run_sandbox


def event(n: int) -> dict[str, Any]:
    return {"cuid": 10000000000 + n, "eventName": "open_app", "itime": 1654076420772 + n}


def test_events_under_503_429_and_timeouts_arrive_exactly_once() -> None:
    faults = FaultConfig(
        seed=7,
        error_rates={503: 0.05, 429: 0.02},
        timeout_after_receipt_rate=0.02,
        hang_seconds=3,
        retry_after_seconds=0,
    )
    outcomes: list[RecordOutcome] = []
    with run_sandbox(faults=faults, project_id=f"p{uuid.uuid4().hex[:8]}") as sandbox:
        sandbox.faults.force("429", "503", "timeout", "502", "drop")  # first, then the random ones
        with GrowthClient(
            sandbox.project_id, sandbox.project_secret, sandbox.base_url, timeout=0.5
        ) as client:
            summary = bulk.report_events(client, (event(n) for n in range(6000)), on_outcome=outcomes.append)
        stored = sandbox.state.events()
        log = sandbox.state.requests()

    assert summary.records == 6000 == summary.accepted + summary.rejected + summary.unknown
    injected = collections.Counter(r.fault for r in log if r.fault)
    assert injected["503"] > 1 and injected["429"] and injected["timeout"] and injected["drop"]
    assert not [r for r in log if r.status == 429 and r.fault is None]  # pacing: no real 429s
    assert summary.accepted == 6000  # every fault was retried away (events are replay-safe)
    stored_ids = collections.Counter(e["randomId"] for e in stored)
    sent_ids = {o.value["randomId"] for o in outcomes}
    assert len(sent_ids) == 6000
    assert set(stored_ids) == sent_ids  # nothing lost
    assert max(stored_ids.values()) == 1 and len(stored) == 6000  # nothing stored twice


def test_attributes_after_a_timeout_end_unknown_and_are_not_counted_twice() -> None:
    with run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}", faults=FaultConfig(hang_seconds=2)) as sandbox:
        sandbox.faults.force(None, "timeout", None)
        records = [{"cuid": 10000000001, "data": {"total_spend": 5}} for _ in range(3)]
        with GrowthClient(
            sandbox.project_id, sandbox.project_secret, sandbox.base_url, timeout=0.5
        ) as client:
            summary = bulk.set_user_attributes(client, records, concurrency=1)
        stored = sandbox.state.attributes(10000000001)
        calls = [r for r in sandbox.state.requests() if r.operation == "setUserAttributes"]

    assert (summary.accepted, summary.unknown) == (2, 1)
    assert len(calls) == 3  # the timed-out write was not sent again
    assert stored["total_spend"] == 15  # it was applied once, as "unknown" allows; never twice


def test_cuid_lookups_resolve_every_value_and_the_same_value_twice_gives_the_same_cuid() -> None:
    seen: list[RecordOutcome] = []
    values = [f"1801234{n:04d}" for n in range(250)] + ["18012340007"]
    with (
        run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}") as sandbox,
        GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url) as client,
    ):
        summary = bulk.get_cuids(client, "phone", values, on_outcome=seen.append)
    assert summary.accepted == 251 and summary.ok
    cuid_of = {o.line: o.result.cuid for o in seen if o.outcome is Outcome.ACCEPTED}
    assert cuid_of[251] == cuid_of[8]
    assert len(set(cuid_of.values())) == 250


def test_an_overwritten_attribute_ends_with_the_last_lines_value_despite_jitter() -> None:
    faults = FaultConfig(latency_ms=1, latency_jitter_ms=6, seed=3)
    users = [10000000001, 10000000002, 10000000003]
    records = [{"cuid": users[n % 3], "data": {"user_level": n}} for n in range(90)]
    with (
        run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}", faults=faults) as sandbox,
        GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url) as client,
    ):
        summary = bulk.set_user_attributes(client, records, concurrency=8)
        final = {user: sandbox.state.attributes(user)["user_level"] for user in users}
    assert summary.accepted == 90
    assert final == {users[0]: 87, users[1]: 88, users[2]: 89}
