"""track: checked at once, stamped, queued; sent in maxItems batches through the shared pacer."""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid

import pytest

from jiguang_growth import EventOutcome, EventReporter, GrowthClient, RequestValidationError, _pacing, _spec
from jiguang_growth.bulk import Outcome
from jiguang_growth.sandbox import FaultConfig, SandboxServer, run_sandbox

from .conftest import event, report_calls, stored_ids, stored_keys

MAX_ITEMS = _spec.operation("reportEvents").max_records


def test_track_returns_a_random_id_and_fills_itime_without_waiting_for_the_network(
    sandbox: SandboxServer, client: GrowthClient
) -> None:
    sandbox.faults.configure(latency_ms=400)
    given = {"cuid": 10000000001, "eventName": "open_app", "properties": {"page": "home"}}
    with EventReporter(client) as reporter:
        started = time.monotonic()
        first = reporter.track(given)
        second = reporter.track(event(2, randomId="my-own-id"))
        took = time.monotonic() - started
        assert took < 0.1  # a call takes 400 ms here
        assert first is not None and uuid.UUID(first).version == 4
        assert second == "my-own-id"
        assert given == {"cuid": 10000000001, "eventName": "open_app", "properties": {"page": "home"}}
        assert reporter.flush(10)
    stored = {e["randomId"]: e for e in sandbox.state.events()}
    assert set(stored) == {first, "my-own-id"}
    assert abs(stored[first]["itime"] - time.time() * 1000) < 60_000
    assert stored["my-own-id"]["itime"] == event(2)["itime"]


@pytest.mark.parametrize(
    ("bad", "field", "rule"),
    [
        (
            {"cuid": 10000000001, "eventName": "Open App", "itime": 1654076420772},
            "event.eventName",
            "pattern",
        ),
        ({"eventName": "open_app", "itime": 1654076420772}, "event", "required"),
        ({**event(1), "properties": {"Bad Key": 1}}, "event.properties", "propertyNames"),
        ({**event(1), "randomId": ""}, "event.randomId", "minLength"),
    ],
)
def test_an_invalid_event_raises_at_track_with_field_and_rule_and_is_never_queued(
    sandbox: SandboxServer, client: GrowthClient, bad: dict[str, object], field: str, rule: str
) -> None:
    with EventReporter(client) as reporter:
        with pytest.raises(RequestValidationError) as raised:
            reporter.track(bad)
        assert (raised.value.field, raised.value.rule) == (field, rule)
        assert field in str(raised.value)
        with pytest.raises(RequestValidationError, match="mapping"):
            reporter.track(["not", "an", "event"])
        assert reporter.flush(5)
        assert reporter.stats.tracked == 0 and reporter.stats.sent == 0
    assert report_calls(sandbox) == 0


def test_batches_are_cut_at_the_operations_max_items(sandbox: SandboxServer, client: GrowthClient) -> None:
    count = 2 * MAX_ITEMS + MAX_ITEMS // 2
    with EventReporter(client, flush_interval=30) as reporter:
        ids = [reporter.track(event(n)) for n in range(count)]
        assert reporter.flush(10)
    assert report_calls(sandbox) == math.ceil(count / MAX_ITEMS) == 3
    assert set(stored_ids(sandbox)) == set(ids)


def test_a_partial_batch_waits_for_the_flush_interval_then_goes_out_alone(
    sandbox: SandboxServer, client: GrowthClient
) -> None:
    with EventReporter(client, flush_interval=0.6) as reporter:
        ids = {reporter.track(event(n)) for n in range(3)}
        time.sleep(0.3)
        assert report_calls(sandbox) == 0  # still waiting for more events
        deadline = time.monotonic() + 5
        while reporter.stats.accepted < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert reporter.stats.accepted == 3  # no flush() was called
        assert set(stored_ids(sandbox)) == ids


def test_calls_wait_for_the_process_wide_pacer(sandbox: SandboxServer, client: GrowthClient) -> None:
    pacer = _pacing.shared_pacer("reportEvents", project_id=client.project_id, base_url=client.api_url)
    assert pacer.limit == _spec.operation("reportEvents").qps_limit
    pacer.pause(1.5)  # "someone else" in the process got a 429: no slot for anyone until it passes
    with EventReporter(client) as reporter:
        reporter.track(event(1))
        assert not reporter.flush(0.5)
        assert report_calls(sandbox) == 0
        assert reporter.flush(5)
    assert report_calls(sandbox) == 1


def test_several_calls_are_in_flight_at_once(sandbox: SandboxServer, client: GrowthClient) -> None:
    sandbox.faults.configure(latency_ms=500)
    with EventReporter(client, concurrency=16) as reporter:
        for n in range(10 * MAX_ITEMS):
            reporter.track(event(n))
        started = time.monotonic()
        assert reporter.flush(20)
        took = time.monotonic() - started
    assert report_calls(sandbox) == 10
    assert took < 2.5  # one call at a time would take 5 s


def test_failed_calls_are_retried_and_nothing_is_lost_or_stored_twice() -> None:
    faults = FaultConfig(hang_seconds=2, retry_after_seconds=0)
    with run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}", faults=faults) as sandbox:
        sandbox.faults.force("503", "429", "timeout", "drop", "502", "timeout")
        with (
            GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url, timeout=0.5) as client,
            EventReporter(client) as reporter,
        ):
            ids = [reporter.track(event(n)) for n in range(1000)]
            assert reporter.flush(30)
            stats = reporter.stats
        faulted = [r.fault for r in sandbox.state.requests() if r.fault]
        stored, keys = stored_ids(sandbox), stored_keys(sandbox)
    assert len(faulted) == 6
    assert stats.accepted == 1000 and stats.rejected == stats.unknown == 0
    assert set(stored) == set(ids) and max(stored.values()) == 1 and max(keys.values()) == 1


def test_outcomes_reach_the_callback_on_a_sender_thread(sandbox: SandboxServer, client: GrowthClient) -> None:
    seen: list[tuple[EventOutcome, str]] = []

    def on_outcome(outcome: EventOutcome) -> None:
        seen.append((outcome, threading.current_thread().name))
        if len(seen) == 1:
            raise RuntimeError("a bug in the callback")

    with EventReporter(client, on_outcome=on_outcome) as reporter:
        ids = [reporter.track(event(n)) for n in range(150)]
        assert reporter.flush(10)
    assert sorted(o.random_id for o, _ in seen) == sorted(ids)  # the raising callback stopped nothing
    assert {o.outcome for o, _ in seen} == {Outcome.ACCEPTED}
    assert all(name.startswith("jiguang-reporter-") for _, name in seen)


def test_a_refused_event_is_rejected_with_the_servers_code_and_an_ambiguous_failure_is_unknown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[EventOutcome] = []
    with (
        run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}", event_names=frozenset({"open_app"})) as sandbox,
        GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url) as client,
        EventReporter(client, on_outcome=seen.append) as reporter,
        caplog.at_level(logging.WARNING, "jiguang_growth.reporter"),
    ):
        reporter.track({**event(1), "eventName": "not_defined"})
        assert reporter.flush(10)
        sandbox.faults.force("500")  # not retried: the call may have been applied
        reporter.track(event(2))
        assert reporter.flush(10)
        stats = reporter.stats
    assert [o.outcome for o in seen] == [Outcome.REJECTED, Outcome.UNKNOWN]
    rejected, unknown = seen
    assert rejected.failure is not None and rejected.failure.code is not None
    assert unknown.failure is not None and unknown.failure.status_code == 500
    assert (stats.rejected, stats.unknown, stats.accepted) == (1, 1, 0)
    logged = caplog.text
    assert "1 event(s) rejected" in logged and "1 event(s) unknown" in logged


def test_a_full_queue_drops_new_events_counted_and_logged(
    sandbox: SandboxServer, client: GrowthClient, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        EventReporter(client, max_queue=5, on_full="drop", flush_interval=30) as reporter,
        caplog.at_level(logging.WARNING, "jiguang_growth.reporter"),
    ):
        ids = [reporter.track(event(n)) for n in range(7)]
        assert ids[5:] == [None, None] and None not in ids[:5]
        assert reporter.stats.dropped == 2 and reporter.stats.tracked == 5
        assert caplog.text.count("event queue full") == 1  # once per 5 s, with the count
        assert reporter.flush(10)
    assert "dropped 1 event(s) since the last report, 2 in all" in caplog.text  # the rest, at close
    assert set(stored_ids(sandbox)) == set(ids[:5])


def test_a_full_queue_blocks_track_until_there_is_room_or_the_time_limit(
    sandbox: SandboxServer, client: GrowthClient
) -> None:
    with EventReporter(
        client, max_queue=5, on_full="block", block_timeout=0.4, flush_interval=30
    ) as reporter:
        for n in range(5):
            reporter.track(event(n))
        started = time.monotonic()
        assert reporter.track(event(5)) is None  # no room came: dropped after the time limit
        assert 0.35 < time.monotonic() - started < 2.0
    with EventReporter(client, max_queue=5, on_full="block", block_timeout=5, flush_interval=0.2) as reporter:
        for n in range(10, 15):
            reporter.track(event(n))
        started = time.monotonic()
        assert reporter.track(event(15)) is not None  # the sender made room after its interval
        assert time.monotonic() - started < 3.0
        assert reporter.stats.dropped == 0


def test_close_is_bounded_and_reports_what_it_could_not_send(
    sandbox: SandboxServer, client: GrowthClient, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults.configure(latency_ms=3000)
    reporter = EventReporter(client)
    for n in range(250):
        reporter.track(event(n))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, "jiguang_growth.reporter"):
        assert reporter.close(timeout=0.3) is False
    assert time.monotonic() - started < 1.5
    assert reporter.stats.unsent == 250
    assert "250 event(s) unsent at close and lost (no spool)" in caplog.text
    with pytest.raises(Exception, match="closed"):
        reporter.track(event(1))
