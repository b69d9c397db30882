"""The spool: on disk before track returns, deleted once settled, adopted after a crash, bad files kept."""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from jiguang_growth import ConfigurationError, EventReporter, GrowthClient
from jiguang_growth._reporter import _spool
from jiguang_growth.bulk import Outcome
from jiguang_growth.sandbox import SandboxServer

from .conftest import CHILD, event, report_calls, stored_ids, stored_keys


def segments(folder: Path) -> list[Path]:
    return sorted(folder.glob("*" + _spool.SEGMENT_SUFFIX))


def pending(folder: Path) -> int:
    return sum(_spool.scan_segment(path).pending for path in segments(folder))


def leave_unsent(client: GrowthClient, folder: Path, count: int, first: int = 0) -> list[str]:
    """Track ``count`` events in a process whose network is down, which then dies: they stay spooled.

    The events belong to ``client``'s project and base URL, so a reporter of that client adopts them.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read_end)

            def refused(*args: object, **kwargs: object) -> socket.socket:
                raise ConnectionRefusedError(errno.ECONNREFUSED, "the network is down in this process")

            socket.create_connection = refused  # type: ignore[assignment]
            down = GrowthClient(client.project_id, "unused-secret", client.base_url, max_retries=0)
            reporter = EventReporter(down, spool=folder, flush_interval=30, concurrency=1)
            ids = [reporter.track(event(n)) for n in range(first, first + count)]
            os.write(write_end, json.dumps(ids).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        ids = json.loads(pipe.read() or b"null")
    os.waitpid(pid, 0)
    assert ids is not None and None not in ids
    return [str(i) for i in ids]


def test_an_event_is_in_the_spool_before_track_returns(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path
) -> None:
    sandbox.faults.configure(latency_ms=2000)
    with EventReporter(client, spool=tmp_path, flush_interval=30) as reporter:
        random_id = reporter.track(event(1))
        (path,) = segments(tmp_path)
        lines = path.read_bytes().splitlines()
        assert random_id is not None and random_id.encode() in lines[-1]
        assert pending(tmp_path) == 1
        reporter.close(timeout=0)


def test_settled_events_leave_the_spool_and_are_not_sent_again(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path
) -> None:
    with EventReporter(client, spool=tmp_path) as reporter:
        for n in range(250):
            reporter.track(event(n))
        assert reporter.flush(10)
        assert pending(tmp_path) == 0
    assert segments(tmp_path) == []  # all settled: the file is deleted
    calls = report_calls(sandbox)
    with EventReporter(client, spool=tmp_path) as again:
        assert again.flush(5)
        assert again.stats.adopted == 0
    assert report_calls(sandbox) == calls


def test_a_segment_is_finished_and_deleted_when_the_next_one_starts(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path
) -> None:
    with EventReporter(client, spool=tmp_path, segment_events=150) as reporter:
        for n in range(400):
            reporter.track(event(n))
        assert reporter.flush(10)
        assert len(segments(tmp_path)) == 1  # the two full ones are settled and gone
    assert len(stored_ids(sandbox)) == 400


def test_a_reporter_sends_what_an_earlier_process_left_first(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path
) -> None:
    left = leave_unsent(client, tmp_path, 150)
    assert pending(tmp_path) == 150
    with EventReporter(client, spool=tmp_path, concurrency=1) as reporter:
        new = reporter.track(event(1000))
        assert reporter.flush(10)
        assert reporter.stats.adopted == 150
    order = [e["randomId"] for e in sandbox.state.events()]
    assert set(order) == {*left, new}
    assert order.index(new) > max(order.index(i) for i in left)  # the leftovers went out first
    assert segments(tmp_path) == []


def test_a_transient_failure_keeps_the_events_in_the_spool_for_the_next_start(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    seen: list[bool] = []
    with GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url, max_retries=0) as client:
        sandbox.faults.configure(retry_after_seconds=0)
        sandbox.faults.force(*["503"] * 7)  # more than the reporter's retries
        with EventReporter(client, spool=tmp_path, on_outcome=lambda o: seen.append(o.kept)) as reporter:
            reporter.track(event(1))
            assert reporter.flush(30)
            assert (reporter.stats.rejected, reporter.stats.kept) == (0, 1)  # kept, not rejected
        assert seen == [True]
        assert reporter.stats.unsent == 1 and reporter.stats.kept == 0  # close says it was not delivered
        assert pending(tmp_path) == 1 and stored_ids(sandbox) == {}
        with EventReporter(client, spool=tmp_path) as again:
            assert again.flush(10)
            assert again.stats.accepted == 1
    assert len(stored_ids(sandbox)) == 1 and segments(tmp_path) == []


def test_an_unknown_event_stays_in_the_spool_and_a_refused_one_goes_to_rejected_jsonl(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path
) -> None:
    sandbox.faults.force("500", "400")
    outcomes = []
    with EventReporter(client, spool=tmp_path, on_outcome=outcomes.append, concurrency=1) as reporter:
        unknown = reporter.track(event(1))
        assert reporter.flush(10)
        refused = reporter.track(event(2))
        assert reporter.flush(10)
    assert [(o.outcome, o.kept) for o in outcomes] == [(Outcome.UNKNOWN, True), (Outcome.REJECTED, False)]
    (line,) = (tmp_path / _spool.REJECTED_NAME).read_text().splitlines()
    assert json.loads(line)["event"]["randomId"] == refused
    assert pending(tmp_path) == 1
    with EventReporter(client, spool=tmp_path) as again:
        assert again.flush(10)
    assert list(stored_ids(sandbox)) == [unknown]


def test_a_corrupt_segment_is_moved_aside_never_deleted_and_the_reporter_keeps_working(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    leave_unsent(client, tmp_path, 5)
    (path,) = segments(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"open_app", b"open_ap?")  # a damaged line with good ones after it
    path.write_bytes(b"".join(lines))
    with (
        caplog.at_level(logging.ERROR, "jiguang_growth.reporter"),
        EventReporter(client, spool=tmp_path) as reporter,
    ):
        ok = reporter.track(event(99))
        assert reporter.flush(10)
    aside = path.with_name(path.name + _spool.CORRUPT_SUFFIX)
    assert aside.read_bytes() == b"".join(lines)
    assert "corrupt" in caplog.text and aside.name in caplog.text
    assert list(stored_ids(sandbox)) == [ok]


def test_a_torn_last_line_is_cut_off_and_the_rest_is_sent(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path
) -> None:
    left = leave_unsent(client, tmp_path, 5)
    (path,) = segments(tmp_path)
    with path.open("ab") as handle:
        handle.write(b'0badc0de e{"cuid": 100000')  # a write cut short by a crash
    with EventReporter(client, spool=tmp_path) as reporter:
        assert reporter.flush(10)
    assert set(stored_ids(sandbox)) == set(left)
    assert not list(tmp_path.glob("*" + _spool.CORRUPT_SUFFIX)) and segments(tmp_path) == []


def test_a_spool_folder_that_cannot_be_created_is_a_configuration_error(
    client: GrowthClient, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigurationError, match="cannot be created"):
        EventReporter(client, spool=blocker / "spool")
    with pytest.raises(ConfigurationError, match="not writable"):
        EventReporter(client, spool="/proc/self")


def test_a_full_disk_makes_track_raise_a_typed_error_and_leaves_only_whole_lines(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.faults.configure(latency_ms=5000)  # nothing is settled meanwhile
    done = subprocess.run(
        [
            *CHILD,
            str(tmp_path),
            "--count",
            "100000",
            "--end",
            "atexit",
            "--file-limit",
            "20000",
            "--close-timeout",
            "0.2",
        ],
        env={**os.environ, **sandbox.env()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["error"] is not None, done.stderr
    assert summary["error"]["type"] == "SpoolError" and summary["error"]["errno"] in (
        errno.EFBIG,
        errno.ENOSPC,
    )
    assert 0 < summary["tracked"] < 100000
    (path,) = segments(tmp_path)
    scan = _spool.scan_segment(path)
    assert not scan.torn and not scan.corrupt  # the half-written line was cut back
    assert scan.events == summary["tracked"]


def test_fsync_true_syncs_every_event_before_track_returns(
    client: GrowthClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real = os.fdatasync
    monkeypatch.setattr(_spool.os, "fdatasync", lambda fd: (synced.append(fd), real(fd))[1])
    with EventReporter(client, spool=tmp_path / "a", fsync=True, flush_interval=30) as reporter:
        before = len(synced)
        reporter.track(event(1))
        reporter.track(event(2))
        assert len(synced) - before == 2
        reporter.close(timeout=0)
    with EventReporter(client, spool=tmp_path / "b", flush_interval=30) as reporter:
        before = len(synced)
        reporter.track(event(1))
        assert len(synced) == before
        reporter.close(timeout=0)


def test_close_keeps_what_it_could_not_send_in_the_spool(
    sandbox: SandboxServer, client: GrowthClient, tmp_path: Path
) -> None:
    ids = leave_unsent(client, tmp_path, 120)
    assert pending(tmp_path) == 120
    with EventReporter(client, spool=tmp_path) as reporter:
        assert reporter.flush(10)
    assert set(stored_ids(sandbox)) == set(ids) and max(stored_keys(sandbox).values()) == 1


def test_a_live_reporter_sends_its_kept_events_again_after_the_scan_interval(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.faults.configure(retry_after_seconds=0)
    sandbox.faults.force(*["503"] * 7)  # more than the reporter's retries: the event is kept
    with (
        GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url, max_retries=0) as client,
        EventReporter(client, spool=tmp_path, scan_interval=0.3) as reporter,
    ):
        random_id = reporter.track(event(1))
        assert reporter.flush(30) and reporter.stats.kept == 1 and reporter.stats.rejected == 0
        deadline = time.monotonic() + 10
        while reporter.stats.accepted == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = reporter.stats  # its own kept event, sent again: neither adopted nor counted twice
        assert (stats.accepted, stats.kept, stats.adopted, stats.tracked) == (1, 0, 0, 1)
    assert list(stored_ids(sandbox)) == [random_id] and segments(tmp_path) == []


def test_a_dropped_event_is_not_written_to_the_spool(client: GrowthClient, tmp_path: Path) -> None:
    with EventReporter(client, spool=tmp_path, max_queue=3, on_full="drop", flush_interval=30) as reporter:
        ids = [reporter.track(event(n)) for n in range(4)]
        assert ids[3] is None and pending(tmp_path) == 3
        reporter.close(timeout=0)
