"""What becomes of each event: bad credentials hold it, one bad event never sinks its batch,
the queue is bounded in bytes, the counts and close() tell the truth, and each event is validated once."""

from __future__ import annotations

import ast
import asyncio
import json
import logging
import time
from pathlib import Path

import pytest

from jiguang_growth import (
    AsyncEventReporter,
    AsyncGrowthClient,
    EventReporter,
    GrowthClient,
    ReporterClosedError,
    RequestValidationError,
    _spec,
)
from jiguang_growth._reporter import _queue, _sender, _spool
from jiguang_growth.bulk import MAX_BATCH_BYTES, Outcome
from jiguang_growth.cli import main
from jiguang_growth.sandbox import SandboxServer, run_sandbox

from .conftest import event, report_calls, stored_ids, stored_keys
from .test_spool import pending, segments

REPORTER = Path(_queue.__file__).resolve().parent
DOC = Path(__file__).resolve().parents[2] / "docs" / "reporter.md"


def balanced(stats: object) -> bool:
    s = stats.as_dict()  # type: ignore[attr-defined]
    out = s["accepted"] + s["rejected"] + s["unknown"] + s["kept"] + s["held"] + s["queued"] + s["unsent"]
    return bool(s["tracked"] + s["adopted"] == out)


# --- 1. a rotated or mistyped secret holds the events --------------------------------------------


def test_a_refused_secret_holds_spooled_events_and_a_reporter_with_the_right_one_delivers_them_once(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "rotated-away-secret-1234"
    with (
        GrowthClient(sandbox.project_id, wrong, sandbox.base_url) as stale,
        caplog.at_level(logging.WARNING, "jiguang_growth.reporter"),
    ):
        reporter = EventReporter(stale, spool=tmp_path, close_timeout=600)
        ids = [reporter.track(event(n)) for n in range(250)]
        assert reporter.flush(30) is False  # at once: nothing will be sent
        late = reporter.track(event(250))  # still stored, for a run with the right secret
        started = time.monotonic()
        assert reporter.close() is False
        assert time.monotonic() - started < 300  # close_timeout is 600 s: close did not wait for it
        stats = reporter.stats
    assert (stats.held, stats.rejected, stats.unknown, stats.accepted) == (251, 0, 0, 0) and balanced(stats)
    assert not (tmp_path / _spool.REJECTED_NAME).exists()
    assert pending(tmp_path) == 251
    assert "refused the credentials (401" in caplog.text and wrong not in caplog.text
    assert stored_ids(sandbox) == {}
    with EventReporter(client, spool=tmp_path) as fixed:
        assert fixed.flush(60)
        assert fixed.stats.adopted == 251 and fixed.stats.accepted == 251
    stored = stored_ids(sandbox)
    assert set(stored) == {*ids, late} and max(stored.values()) == 1
    assert segments(tmp_path) == []


def test_spool_drain_with_a_refused_secret_exits_3_and_keeps_everything_for_a_drain_with_the_right_one(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox.faults.configure(latency_ms=3000)
    reporter = EventReporter(client, spool=tmp_path)
    ids = [reporter.track(event(n)) for n in range(120)]
    reporter.close(timeout=0)
    sandbox.faults.configure(latency_ms=0)
    args = ["--project-id", sandbox.project_id, "--base-url", sandbox.base_url]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JIGUANG_PROJECT_SECRET", "mistyped-secret-5678")
        assert main(["spool", "drain", str(tmp_path), *args]) == 3
        assert "mistyped-secret-5678" not in capsys.readouterr().err
        patch.setenv("JIGUANG_PROJECT_SECRET", sandbox.project_secret)
        assert main(["spool", "drain", str(tmp_path), *args]) == 0
    assert "120 event(s) found, 120 accepted" in capsys.readouterr().out
    stored = stored_ids(sandbox)
    assert set(stored) >= set(ids) and max(stored.values()) == 1 and max(stored_keys(sandbox).values()) == 1
    assert not (tmp_path / _spool.REJECTED_NAME).exists() and segments(tmp_path) == []


def test_a_403_without_a_spool_holds_the_events_in_memory_until_close_never_rejected(
    sandbox: SandboxServer, client: GrowthClient, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults.force("403")
    seen: list[object] = []
    with caplog.at_level(logging.WARNING, "jiguang_growth.reporter"):
        reporter = EventReporter(client, on_outcome=seen.append)
        for n in range(30):
            reporter.track(event(n))
        assert reporter.flush(10) is False
        assert reporter.close() is False
    stats = reporter.stats
    assert (stats.held, stats.rejected, stats.accepted) == (30, 0, 0) and balanced(stats)
    assert seen == []  # held events have not ended: no outcome yet
    assert "30 event(s) held at close" in caplog.text and "lost (no spool)" in caplog.text


# --- 7. one bad event never sinks its batch -----------------------------------------------------


@pytest.mark.parametrize("spooled", [False, True])
def test_a_lone_surrogate_is_refused_at_track_naming_the_field_and_its_batch_mates_arrive(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path, spooled: bool
) -> None:
    with EventReporter(client, spool=tmp_path if spooled else None, flush_interval=30) as reporter:
        good = [reporter.track(event(n)) for n in range(5)]
        with pytest.raises(RequestValidationError) as raised:
            reporter.track(event(5, properties={"page": "bad \ud800 text"}))
        good.append(reporter.track(event(6)))
        assert reporter.flush(10)
        assert reporter.stats.rejected == 0
    assert raised.value.field == "event.properties.page" and raised.value.rule == "json"
    assert set(stored_ids(sandbox)) == set(good)


def test_batches_are_cut_by_bytes_so_big_events_all_arrive(
    sandbox: SandboxServer, client: GrowthClient
) -> None:
    blob = "x" * 20_000
    with EventReporter(client, flush_interval=30) as reporter:
        ids = [reporter.track(event(n, properties={"blob": blob})) for n in range(100)]
        assert reporter.flush(30)
        assert (reporter.stats.accepted, reporter.stats.rejected) == (100, 0)
    assert set(stored_ids(sandbox)) == set(ids)
    assert report_calls(sandbox) >= 100 * 20_000 // MAX_BATCH_BYTES  # more than one call


def test_a_413_splits_the_batch_down_to_the_one_event_too_big_which_is_rejected_alone(
    client: GrowthClient,
) -> None:
    with (
        run_sandbox(project_id="p-split", max_body_bytes=50_000) as sandbox,
        GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url) as small,
    ):
        outcomes: list[object] = []
        with EventReporter(small, flush_interval=30, on_outcome=outcomes.append) as reporter:
            ids = [reporter.track(event(n, properties={"blob": "y" * 1000})) for n in range(60)]
            big = reporter.track(event(99, properties={"blob": "z" * 60_000}))
            assert reporter.flush(30)
            stats = reporter.stats
        assert (stats.accepted, stats.rejected) == (60, 1)
        (refused,) = [o for o in outcomes if o.outcome is Outcome.REJECTED]  # type: ignore[attr-defined]
        assert refused.random_id == big and refused.failure.reason == "too_large"  # type: ignore[attr-defined]
        assert set(stored_ids(sandbox)) == set(ids)


# --- 16. the queue is bounded in bytes too ------------------------------------------------------


def test_the_queue_counts_bytes_and_the_docs_give_the_codes_defaults(
    sandbox: SandboxServer, client: GrowthClient
) -> None:
    sandbox.faults.configure(latency_ms=3000)
    with EventReporter(client, max_queue_bytes=1_000_000, on_full="drop", flush_interval=30) as reporter:
        ids = [reporter.track(event(n, properties={"blob": "q" * 100_000})) for n in range(30)]
        assert ids.count(None) >= 19 and reporter.stats.dropped == ids.count(None)  # at most ~10 fit
        reporter.close(timeout=0)
    signature = DOC.read_text(encoding="utf-8")
    assert f"concurrency={_sender.DEFAULT_CONCURRENCY}" in signature
    assert f"max_queue_bytes={_queue.DEFAULT_MAX_QUEUE_BYTES // 2**20} * 2**20" in signature


# --- 17. close() and the counts tell the truth --------------------------------------------------


@pytest.mark.parametrize("spooled", [False, True])
def test_close_is_false_when_nothing_was_delivered_and_kept_events_are_not_rejected(
    sandbox: SandboxServer, tmp_path: Path, spooled: bool
) -> None:
    sandbox.faults.configure(error_rates={503: 1.0}, retry_after_seconds=0)
    with GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url, max_retries=0) as client:
        reporter = EventReporter(client, spool=tmp_path if spooled else None)
        for n in range(20):
            reporter.track(event(n))
        reporter.flush(30)
        assert reporter.close(timeout=5) is False
    stats = reporter.stats
    assert stats.accepted == 0 and balanced(stats)
    if spooled:  # kept in the spool: unsent at close, never called rejected
        assert (stats.rejected, stats.unsent) == (0, 20) and pending(tmp_path) == 20
    else:
        assert stats.rejected == 20


def test_unknown_never_exceeds_tracked_while_a_kept_event_is_resent(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.faults.configure(error_rates={500: 1.0})
    with GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url, max_retries=0) as client:
        reporter = EventReporter(client, spool=tmp_path, scan_interval=0.2)
        reporter.track(event(1))
        deadline = time.monotonic() + 5
        while report_calls(sandbox) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = reporter.stats
        assert report_calls(sandbox) >= 3  # sent again and again
        assert stats.unknown <= stats.tracked and stats.adopted == 0 and balanced(stats)
        assert reporter.close(timeout=0) is False


# --- 18. an async reporter whose loop ended refuses before it stores ---------------------------


def test_the_async_reporter_refuses_before_spooling_once_its_loop_ended(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    client = AsyncGrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url)

    async def start() -> AsyncEventReporter:
        reporter = AsyncEventReporter(client, spool=tmp_path)
        reporter.track(event(1))
        return reporter  # the loop ends without close()

    reporter = asyncio.run(start())
    before = pending(tmp_path)
    for _ in range(2):  # a caller that retries
        with pytest.raises(ReporterClosedError, match="event loop"):
            reporter.track(event(2))
    assert pending(tmp_path) == before == 1


# --- issue 21: one validation per event, the operation named once, items read by name ----------


def test_each_event_is_validated_once(
    sandbox: SandboxServer, client: GrowthClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real = _queue.validate_schema

    def counting(schema: str, value: object) -> None:
        nonlocal calls
        calls += 1
        real(schema, value)

    monkeypatch.setattr(_queue, "validate_schema", counting)
    with EventReporter(client) as reporter:
        for n in range(300):
            reporter.track(event(n))
        assert reporter.flush(10)
    assert calls == 300 and len(stored_ids(sandbox)) == 300


def test_the_reporter_names_no_operation_and_reads_items_by_name() -> None:
    operation_ids = set(_spec.operations())
    for path in REPORTER.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        literals = {
            n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
        assert not literals & operation_ids, f"{path.name} copies an operationId from openapi.yaml"
    assert _queue.Item._fields == ("seq", "event", "size", "segment", "number", "queued_at")
    text = (REPORTER / "_queue.py").read_text(encoding="utf-8")
    assert "item[" not in text and "items[0][" not in text


def test_stats_add_up(sandbox: SandboxServer, client: GrowthClient) -> None:
    with EventReporter(client) as reporter:
        for n in range(10):
            reporter.track(event(n))
        assert reporter.flush(10)
    assert balanced(reporter.stats) and reporter.stats.delivered
    assert json.loads(json.dumps(reporter.stats.as_dict()))["held"] == 0
