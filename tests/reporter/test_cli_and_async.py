"""``jiguang-growth spool status|drain`` and AsyncEventReporter."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from jiguang_growth import (
    AsyncEventReporter,
    AsyncGrowthClient,
    ConfigurationError,
    EventReporter,
    GrowthClient,
)
from jiguang_growth.cli import main
from jiguang_growth.sandbox import SandboxServer

from .conftest import event, report_calls, stored_ids, stored_keys
from .test_spool import leave_unsent, pending, segments


def test_spool_status_lists_segments_and_what_they_hold(
    client: GrowthClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leave_unsent(client, tmp_path, 7)
    assert main(["spool", "status", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    (row,) = [line for line in out.splitlines() if line.endswith(tuple("0123456789")) and ".spool" in line]
    assert row.split()[1:4] == ["orphan", "7", "7"]
    assert "7 in orphaned segments" in out
    assert main(["spool", "status", str(tmp_path / "missing")]) == 2


def test_spool_drain_sends_an_orphaned_spool_and_empties_it(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = leave_unsent(client, tmp_path, 230)
    args = ["--project-id", sandbox.project_id, "--base-url", sandbox.base_url]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JIGUANG_PROJECT_SECRET", sandbox.project_secret)
        assert main(["spool", "drain", str(tmp_path), *args]) == 0
    assert "230 event(s) found, 230 accepted" in capsys.readouterr().out
    assert set(stored_ids(sandbox)) == set(ids) and segments(tmp_path) == []
    calls = report_calls(sandbox)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JIGUANG_PROJECT_SECRET", sandbox.project_secret)
        assert main(["spool", "drain", str(tmp_path), *args]) == 0
    assert report_calls(sandbox) == calls


async def test_the_async_reporter_tracks_without_awaiting_and_flushes_on_await(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.faults.configure(latency_ms=200)
    async with AsyncGrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url) as client:
        reporter = AsyncEventReporter(client, spool=tmp_path)
        started = time.monotonic()
        ids = [reporter.track(event(n)) for n in range(450)]
        assert time.monotonic() - started < 0.5
        assert await reporter.flush(10)
        assert await reporter.close()
    assert set(stored_ids(sandbox)) == set(ids) and max(stored_keys(sandbox).values()) == 1
    assert segments(tmp_path) == []


async def test_the_async_reporter_keeps_in_the_spool_what_close_could_not_send(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.faults.configure(latency_ms=3000)
    async with AsyncGrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url) as client:
        reporter = AsyncEventReporter(client, spool=tmp_path, max_queue=100)
        ids = [reporter.track(event(n)) for n in range(101)]
        assert ids[-1] is None and reporter.stats.dropped == 1  # full: dropped at once, never waits
        started = time.monotonic()
        assert not await reporter.close(timeout=0.2)
        assert time.monotonic() - started < 1.5
    assert pending(tmp_path) == 100
    sandbox.faults.configure(latency_ms=0)
    with (
        GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url) as sync_client,
        EventReporter(sync_client, spool=tmp_path) as again,
    ):
        assert again.flush(10)
    await asyncio.sleep(3.2)  # the cancelled call may still land; the server drops it as a repeat
    assert set(stored_ids(sandbox)) == set(ids[:100]) and max(stored_keys(sandbox).values()) == 1


def test_each_reporter_takes_only_its_own_kind_of_client(
    sandbox: SandboxServer, client: GrowthClient
) -> None:
    with pytest.raises(ConfigurationError, match="AsyncGrowthClient"):
        AsyncEventReporter(client)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="max_queue"):
        EventReporter(client, max_queue=0)
    with pytest.raises(ConfigurationError, match="scan_interval"):
        EventReporter(client, scan_interval=0)
    with pytest.raises(ConfigurationError, match="on_full"):
        EventReporter(client, on_full="wait")  # type: ignore[arg-type]
