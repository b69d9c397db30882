"""Async bulk helpers against the sandbox over loopback: the outcomes, journal and order of the sync ones."""

from __future__ import annotations

import asyncio
import collections
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jiguang_growth import AsyncGrowthClient, GrowthClient, bulk
from jiguang_growth.bulk import BulkSummary, RecordOutcome
from jiguang_growth.sandbox import FaultConfig, SandboxServer, run_sandbox


def event(n: int, **extra: Any) -> dict[str, Any]:
    return {"cuid": 10000000000 + n, "eventName": "open_app", "itime": 1654076420772 + n, **extra}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}") as server:
        yield server


def credentials(server: SandboxServer) -> tuple[str, str, str]:
    return server.project_id, server.project_secret, server.base_url


def counts(summary: BulkSummary) -> tuple[Any, ...]:
    return summary.records, summary.accepted, summary.rejected, summary.unknown, summary.by_reason


def files(folder: Path) -> dict[str, list[Any]]:
    """The outcome files' lines, in a fixed order (calls in flight settle in any order)."""
    found: dict[str, list[Any]] = {}
    for path in sorted(folder.glob("*.*")):
        if path.name in {"journal.jsonl", "summary.json", "run.lock"}:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        if path.suffix == ".jsonl":
            lines = [json.dumps(_same_run(json.loads(line)), sort_keys=True) for line in lines]
        found[path.name] = sorted(lines)
    return found


def _same_run(value: Any) -> Any:
    """A record without its ``randomId``, which each run derives from its own run ID."""
    return {k: v for k, v in value.items() if k != "randomId"} if isinstance(value, dict) else value


EVENTS = [event(n, eventName="Bad Name") if n % 97 == 0 else event(n) for n in range(700)]
VALUES = [f"1800000{n:04d}" for n in range(250)] + [" 18000000001", ""]
CHANNELS = [
    {"cuid": 10000000000 + n % 40, "channels": [{"id": 1, "channelValues": {"email": f"u{n}@example.com"}}]}
    for n in range(300)
]


def test_each_async_helper_gives_the_outcomes_and_files_of_its_sync_twin(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    with GrowthClient(*credentials(sandbox)) as client:
        sync = [
            bulk.report_events(client, EVENTS, out_dir=tmp_path / "s-events"),
            bulk.get_cuids(client, "phone", VALUES, out_dir=tmp_path / "s-cuids"),
            bulk.set_user_channels(client, CHANNELS, out_dir=tmp_path / "s-channels"),
        ]

    async def main() -> list[BulkSummary]:
        async with AsyncGrowthClient(*credentials(sandbox)) as client:
            return [
                await bulk.report_events_async(client, EVENTS, out_dir=tmp_path / "a-events"),
                await bulk.get_cuids_async(client, "phone", VALUES, out_dir=tmp_path / "a-cuids"),
                await bulk.set_user_channels_async(client, CHANNELS, out_dir=tmp_path / "a-channels"),
            ]

    done = asyncio.run(main())
    assert [counts(s) for s in done] == [counts(s) for s in sync]
    assert done[0].rejected == 8 and done[1].rejected == 2  # a value with white space, an empty one
    assert set(files(tmp_path / "a-cuids")) == {"failures.jsonl", "rejected.txt", "results.jsonl"}
    for name in ("events", "cuids", "channels"):
        assert files(tmp_path / f"a-{name}") == files(tmp_path / f"s-{name}"), name
    stored = collections.Counter(e["randomId"] for e in sandbox.state.events())
    assert len(stored) == 2 * 692 and max(stored.values()) == 1  # two runs, two run IDs, each once


def test_async_attributes_keep_each_users_order_and_are_never_replayed() -> None:
    faults = FaultConfig(seed=3, latency_jitter_ms=20)
    records = [{"cuid": 10000000000 + n % 5, "data": {"user_level": n}} for n in range(60)]

    async def main(server: SandboxServer) -> BulkSummary:
        async with AsyncGrowthClient(*credentials(server)) as client:
            return await bulk.set_user_attributes_async(client, records, concurrency=8)

    with run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}", faults=faults) as server:
        summary = asyncio.run(main(server))
        levels = {u: server.state.attributes(10000000000 + u)["user_level"] for u in range(5)}
    assert summary.accepted == 60
    assert levels == {u: 55 + u for u in range(5)}  # the last line of each user wins


def test_an_async_run_resumes_a_sync_run_and_the_other_way_round(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    stop = threading.Event()
    seen = [0]

    def count(outcome: RecordOutcome) -> None:
        seen[0] += 1
        if seen[0] >= 300:
            stop.set()

    events = [event(n) for n in range(1000)]
    with GrowthClient(*credentials(sandbox)) as client:
        first = bulk.report_events(
            client, events, out_dir=tmp_path, stop=stop, on_outcome=count, concurrency=2
        )
    assert first.interrupted and 300 <= first.records < 1000

    async def resume() -> BulkSummary:
        async with AsyncGrowthClient(*credentials(sandbox)) as client:
            return await bulk.report_events_async(client, events, out_dir=tmp_path, resume=True)

    second = asyncio.run(resume())
    assert (second.records, second.accepted, second.resumed) == (1000, 1000, first.records) and second.ok
    stored = collections.Counter(e["randomId"] for e in sandbox.state.events())
    assert len(stored) == 1000 and max(stored.values()) == 1  # the same run ID: every event once

    with GrowthClient(*credentials(sandbox)) as client:  # and back: a sync resume of the finished run
        third = bulk.report_events(client, events, out_dir=tmp_path, resume=True)
    assert third.resumed == 1000 and third.batches == second.batches and len(sandbox.state.events()) == 1000


def test_async_refused_credentials_stop_the_run_and_journal_nothing(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    async def main(secret: str) -> BulkSummary:
        async with AsyncGrowthClient(sandbox.project_id, secret, sandbox.base_url) as client:
            return await bulk.report_events_async(
                client, [event(n) for n in range(500)], out_dir=tmp_path, concurrency=1, resume=True
            )

    refused = asyncio.run(main("wrong-secret-000"))
    assert refused.stopped == "credentials" and refused.records == 0
    assert refused.unsettled == refused.lines_read >= 100
    fixed = asyncio.run(main(sandbox.project_secret))
    assert fixed.accepted == 500 and fixed.ok


def test_a_stopped_async_run_cancels_calls_that_hang_after_the_grace() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(60)
        raise AssertionError("never answered")

    async def main() -> tuple[BulkSummary, float]:
        stop = threading.Event()
        async with AsyncGrowthClient(
            f"p{uuid.uuid4().hex[:10]}",
            "secret-12345678",
            "https://x.test",
            transport=httpx.MockTransport(hang),
        ) as client:
            asyncio.get_running_loop().call_later(0.2, stop.set)
            started = time.monotonic()
            summary = await bulk.report_events_async(client, [event(n) for n in range(300)], stop=stop)
            return summary, time.monotonic() - started

    summary, seconds = asyncio.run(main())
    assert summary.interrupted and seconds < 10  # 2 s of grace, then cancelled
    # The first call goes alone until one is answered (a careful start), so one call is out.
    assert summary.batches == 1 and summary.unknown == 100 and summary.by_reason == {"cancelled": 100}
