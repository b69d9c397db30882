"""A bulk run stops on bad credentials and dead hosts, keeps bad records to themselves, and says why."""

from __future__ import annotations

import errno
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jiguang_growth import GrowthClient, bulk
from jiguang_growth.bulk import Limits, OutputError

from .conftest import FakeApi, event


def read_jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_stop_the_run_at_once_and_journal_nothing(
    api: FakeApi, client: GrowthClient, tmp_path: Path, status: int
) -> None:
    api.script = lambda path, body, attempt: httpx.Response(status, json={"code": 40100, "msg": "bad auth"})
    stopping: list[int] = []
    summary = bulk.report_events(
        client,
        [event(n) for n in range(1000)],
        out_dir=tmp_path,
        concurrency=2,
        on_stopping=lambda s, in_flight: stopping.append(in_flight),
    )
    assert summary.stopped == "credentials" and f"({status} bad auth)" in (summary.stop_message or "")
    assert len(api.bodies) <= 2 and stopping  # no more calls after the first refusals
    assert (summary.records, summary.rejected) == (0, 0)
    assert summary.unsettled == summary.lines_read >= len(api.bodies) * 100  # sent or read, none settled
    assert not summary.ok and not (tmp_path / "rejected.jsonl").exists()

    api.script = None  # the credentials are fixed: the resumed run sends everything
    again = bulk.report_events(client, [event(n) for n in range(1000)], out_dir=tmp_path, resume=True)
    assert (again.records, again.accepted, again.resumed) == (1000, 1000, 0) and again.ok


def test_calls_that_never_connect_stop_the_run_after_the_budget_and_stay_unsettled(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    def refuse(path: str, body: Any, attempt: int) -> Exception:
        return httpx.ConnectError("connection refused")

    api.script = refuse
    summary = bulk.report_events(
        client,
        [event(n) for n in range(5000)],
        out_dir=tmp_path,
        concurrency=1,
        limits=Limits(connection_failures=3),
    )
    assert summary.stopped == "connection" and "3 calls in a row got no answer" in (
        summary.stop_message or ""
    )
    assert summary.batches == 3 and summary.records == 0
    assert summary.unsettled == summary.lines_read >= 300  # the 300 sent and any read after them
    api.script = None
    again = bulk.report_events(client, [event(n) for n in range(5000)], out_dir=tmp_path, resume=True)
    assert again.accepted == 5000 and again.ok


def test_one_answer_resets_the_count_of_failures_in_a_row(api: FakeApi, client: GrowthClient) -> None:
    def every_other_batch(path: str, body: Any, attempt: int) -> Exception | None:
        return httpx.ConnectError("refused") if body["data"][0]["cuid"] % 200 == 0 else None

    api.script = every_other_batch
    summary = bulk.report_events(
        client, [event(n) for n in range(1000)], concurrency=1, limits=Limits(connection_failures=2)
    )
    assert summary.stopped is None and summary.accepted == 500 and summary.unsettled == 500
    assert not summary.ok


def test_no_answer_for_the_time_budget_stops_the_run(api: FakeApi, client: GrowthClient) -> None:
    def hang(path: str, body: Any, attempt: int) -> Exception:
        time.sleep(0.05)
        return httpx.ReadTimeout("timed out")

    api.script = hang
    summary = bulk.report_events(
        client,
        [event(n) for n in range(100_000)],
        concurrency=1,
        limits=Limits(no_answer=0.3, connection_failures=10_000),
    )
    assert summary.stopped == "no_answer" and "no answer from the server" in (summary.stop_message or "")
    assert summary.batches < 20  # far from the 1,000 calls of the whole input


def test_an_oversized_record_is_rejected_alone(api: FakeApi, client: GrowthClient, tmp_path: Path) -> None:
    big = event(1, extra="x" * 2_000_000)

    def limit(path: str, body: Any, attempt: int) -> httpx.Response | None:
        if len(json.dumps(body)) > 1_048_576:
            return httpx.Response(413, json={"code": 41300, "msg": "too large"})
        return None

    api.script = limit
    summary = bulk.report_events(client, [event(0), big, event(2)], out_dir=tmp_path)
    assert (summary.accepted, summary.rejected) == (2, 1)
    assert summary.by_reason == {"too_large:41300": 1}
    assert [len(body["data"]) for _, body in api.bodies] == [1, 1, 1]  # cut by bytes around the big one
    assert read_jsonl(tmp_path / "failures.jsonl")[0]["line"] == 2


def test_a_413_splits_the_batch_until_the_record_that_is_too_large_stands_alone(
    api: FakeApi, client: GrowthClient
) -> None:
    def limit(path: str, body: Any, attempt: int) -> httpx.Response | None:
        if any("extra" in e for e in body["data"]):
            return httpx.Response(413, json={"code": 41300, "msg": "too large"})
        return None

    api.script = limit
    events = [event(n, extra="x") if n == 37 else event(n) for n in range(100)]
    summary = bulk.report_events(client, events, limits=Limits(batch_bytes=10_000_000))
    assert (summary.accepted, summary.rejected) == (99, 1)
    assert len(api.sent_events()) > 100  # the halves were sent again; only line 38 was refused


def test_an_integer_of_more_than_4300_digits_rejects_only_its_record(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    huge = 10**5000
    summary = bulk.report_events(client, [event(0), event(1, cuid=huge), event(2)], out_dir=tmp_path)
    attributes = bulk.set_user_attributes(client, [{"cuid": 10000000001, "data": {"n": huge}}])
    assert (summary.accepted, summary.rejected) == (2, 1)
    (failure,) = read_jsonl(tmp_path / "failures.jsonl")
    assert "more than 4,300 digits" in failure["msg"]
    assert "an integer of about 5,000 digits" in (tmp_path / "rejected.jsonl").read_text(encoding="utf-8")
    assert attributes.rejected == 1 and attributes.by_reason == {"invalid": 1}


def test_messages_are_capped_and_say_how_much_was_cut(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    api.script = lambda path, body, attempt: httpx.Response(400, json={"code": 40001, "msg": "m" * 100_000})
    summary = bulk.report_events(client, [event(0, eventName="X" * 1_000_000), event(1)], out_dir=tmp_path)
    assert summary.rejected == 2
    invalid, refused = read_jsonl(tmp_path / "failures.jsonl")
    assert len(invalid["msg"]) < 1100 and "more characters cut]" in invalid["msg"]
    assert refused["msg"] == "m" * bulk.MESSAGE_LIMIT + "... [99,000 more characters cut]"
    assert (tmp_path / "failures.jsonl").stat().st_size < 5000


def test_an_out_dir_that_is_a_file_is_refused_before_anything_is_sent(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    file = tmp_path / "taken"
    file.write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="is not a folder"):
        bulk.report_events(client, [event(0)], out_dir=file)
    assert api.bodies == []


def test_a_full_disk_is_an_output_error_not_a_traceback(
    api: FakeApi, client: GrowthClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match="No space left on device"):
        bulk.report_events(client, [event(n) for n in range(300)], out_dir=tmp_path)


def test_get_cuids_rejects_values_with_white_space_around_them_unless_asked_to_strip(
    api: FakeApi, client: GrowthClient
) -> None:
    values = ["18000000001", " 18000000002", "18000000003\t"]
    summary = bulk.get_cuids(client, "phone", values, on_outcome=None)
    assert (summary.accepted, summary.rejected) == (1, 2)
    stripped = bulk.get_cuids(client, "phone", values, strip=True)
    assert stripped.accepted == 3
    assert api.bodies[-1][1]["identityValues"] == ["18000000001", "18000000002", "18000000003"]


def test_time_with_nothing_in_flight_does_not_count_as_silence(api: FakeApi, client: GrowthClient) -> None:
    def slow_input() -> Iterator[dict[str, Any]]:
        for n in range(300):
            if n % 100 == 0:
                time.sleep(0.35)  # a slow producer: no call is out meanwhile
            yield event(n)

    api.script = lambda path, body, attempt: httpx.ConnectError("refused")
    summary = bulk.report_events(
        client, slow_input(), concurrency=1, limits=Limits(no_answer=0.3, connection_failures=100)
    )
    assert summary.stopped is None and summary.batches == 3 and summary.unsettled == 300
