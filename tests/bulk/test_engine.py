"""The bulk engine's fault matrix: every record ends in exactly one outcome, and files tell which."""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jiguang_growth import GrowthClient, bulk
from jiguang_growth._random_ids import stable_random_id
from jiguang_growth.bulk import Outcome, RecordOutcome, _jobs
from jiguang_growth.bulk._input import number_values

from .conftest import FakeApi, event


def read_jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def journal_run_id(out: Path) -> uuid.UUID:
    return uuid.UUID(read_jsonl(out / bulk.JOURNAL_NAME)[0]["run"])


def test_batches_are_cut_at_max_items_and_every_record_is_accepted(
    api: FakeApi, client: GrowthClient
) -> None:
    summary = bulk.report_events(client, (event(n) for n in range(250)))
    sizes = sorted(len(body["data"]) for _, body in api.bodies)
    assert sizes == [50, 100, 100]
    assert (summary.records, summary.accepted, summary.rejected, summary.unknown) == (250, 250, 0, 0)
    assert summary.batches == 3 and summary.ok
    assert sorted(e["cuid"] for e in api.sent_events()) == [10000000000 + n for n in range(250)]


def test_missing_random_ids_are_derived_from_the_run_and_the_line(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    given = event(2, randomId="kept-as-is")
    bulk.report_events(client, [event(1), given, event(3)], out_dir=tmp_path)
    run_id = journal_run_id(tmp_path)
    ids = {e["cuid"]: e["randomId"] for e in api.sent_events()}
    assert ids[10000000001] == stable_random_id(run_id, "line:1")
    assert ids[10000000002] == "kept-as-is"
    assert ids[10000000003] == stable_random_id(run_id, "line:3")


def test_invalid_records_are_rejected_alone_and_named(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    records: list[Any] = [event(n) for n in range(5)]
    records[1] = {**event(1), "eventName": "Open_App"}
    records[3] = "not an object"
    seen: list[RecordOutcome] = []
    summary = bulk.report_events(client, records, out_dir=tmp_path, on_outcome=seen.append)
    assert (summary.accepted, summary.rejected, summary.unknown) == (3, 2, 0)
    assert len(api.sent_events()) == 3
    failures = read_jsonl(tmp_path / "failures.jsonl")
    assert [(f["line"], f["outcome"], f["reason"]) for f in failures] == [
        (2, "rejected", "invalid"),
        (4, "rejected", "invalid"),
    ]
    assert "eventName" in failures[0]["msg"] and "pattern" in failures[0]["msg"]
    rejected = read_jsonl(tmp_path / "rejected.jsonl")
    assert rejected[0]["eventName"] == "Open_App" and rejected[0]["randomId"]  # resendable, same ID
    assert rejected[1] == "not an object"
    assert sorted(o.line for o in seen) == [1, 2, 3, 4, 5]
    assert {o.line: o.outcome for o in seen}[2] is Outcome.REJECTED


def answer_batches(status: int, *, retry_after: str | None = None, fail_batch: int = 1) -> Any:
    """A script that fails every attempt of the ``fail_batch``-th distinct batch with ``status``."""
    first_cuids: list[int] = []

    def script(path: str, body: Any, attempt: int) -> httpx.Response | None:
        cuid = body["data"][0]["cuid"] if isinstance(body, dict) and "data" in body else 0
        if cuid not in first_cuids:
            first_cuids.append(cuid)
        if first_cuids.index(cuid) + 1 == fail_batch:
            headers = {"Retry-After": retry_after} if retry_after else {}
            return httpx.Response(
                status, headers=headers, json={"code": 7000 + status, "msg": f"said {status}"}
            )
        return None

    return script


@pytest.mark.parametrize(
    ("status", "retry_after", "outcome", "attempts"),
    [
        (400, None, Outcome.REJECTED, 1),  # refused: not applied, not retried
        (429, "0", Outcome.REJECTED, 7),  # refused every time: 1 + BULK_MAX_RETRIES attempts
        (503, "0", Outcome.REJECTED, 7),  # a deliberate "come back later": not applied
        (500, None, Outcome.UNKNOWN, 1),  # may have been applied, never retried
        (502, None, Outcome.UNKNOWN, 7),  # replay-safe events are retried, then unknown
    ],
)
def test_a_failing_batch_settles_all_its_records_by_the_retry_policy(
    api: FakeApi,
    client: GrowthClient,
    tmp_path: Path,
    status: int,
    retry_after: str | None,
    outcome: Outcome,
    attempts: int,
) -> None:
    api.script = answer_batches(status, retry_after=retry_after)
    summary = bulk.report_events(client, [event(n) for n in range(150)], out_dir=tmp_path, concurrency=1)
    failed = 100
    assert summary.records == 150 and summary.accepted == 50
    assert (summary.rejected, summary.unknown) == (
        (failed, 0) if outcome is Outcome.REJECTED else (0, failed)
    )
    assert len(api.bodies) == attempts + 1
    file = tmp_path / f"{outcome.value}.jsonl"
    assert [r["cuid"] for r in read_jsonl(file)] == [10000000000 + n for n in range(100)]
    reasons = read_jsonl(tmp_path / "failures.jsonl")
    assert {(r["status_code"], r["code"]) for r in reasons} == {(status, 7000 + status)}
    assert summary.accepted + summary.rejected + summary.unknown == 150


def test_a_timeout_after_sending_is_retried_for_events_and_settles_accepted(
    api: FakeApi, client: GrowthClient
) -> None:
    def script(path: str, body: Any, attempt: int) -> Exception | None:
        return httpx.ReadTimeout("slow") if attempt == 1 else None

    api.script = script
    summary = bulk.report_events(client, [event(n) for n in range(10)])
    assert summary.accepted == 10
    first, second = (body["data"] for _, body in api.bodies)
    assert first == second  # the replay carries the same randomIds


def test_attributes_are_never_replayed_after_a_timeout_and_end_unknown(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    def script(path: str, body: Any, attempt: int) -> Exception | None:
        return httpx.ReadTimeout("slow") if body["cuid"] == 10000000002 else None

    api.script = script
    records = [{"cuid": 10000000000 + n, "data": {"total_spend": 5}} for n in range(1, 4)]
    summary = bulk.set_user_attributes(client, records, out_dir=tmp_path)
    assert (summary.accepted, summary.unknown, summary.batches) == (2, 1, 3)
    assert [body["cuid"] for _, body in api.bodies].count(10000000002) == 1
    assert read_jsonl(tmp_path / "unknown.jsonl") == [records[1]]
    assert read_jsonl(tmp_path / "failures.jsonl")[0]["reason"] == "timeout"


def test_cuid_lookups_keep_results_and_reject_items_with_an_error_code(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    def script(path: str, body: Any, attempt: int) -> httpx.Response:
        items = [
            {"identityValues": v, "errorCode": 40401}
            if v == "bad"
            else {"identityValues": v, "cuid": 100 + i, "errorCode": 0}
            for i, v in enumerate(body["identityValues"])
        ]
        return httpx.Response(200, json={"code": 0, "data": items})

    api.script = script
    values = ["a", "bad", "c", "x" * 257]
    summary = bulk.get_cuids(client, "phone", values, out_dir=tmp_path)
    assert (summary.accepted, summary.rejected) == (2, 2)
    assert read_jsonl(tmp_path / "results.jsonl") == [
        {"line": 1, "identityValue": "a", "cuid": 100},
        {"line": 3, "identityValue": "c", "cuid": 102},
    ]
    rejected = (tmp_path / "rejected.txt").read_text(encoding="utf-8").splitlines()
    assert sorted(rejected) == ["bad", "x" * 257]  # in the order they were settled
    reasons = {r["line"]: (r["reason"], r["code"]) for r in read_jsonl(tmp_path / "failures.jsonl")}
    assert reasons == {2: ("item_error", 40401), 4: ("invalid", None)}


def test_run_wide_settings_are_checked_before_anything_is_read(api: FakeApi, client: GrowthClient) -> None:
    consumed: list[int] = []

    def values() -> Iterator[str]:
        consumed.append(1)
        yield "a"

    with pytest.raises(ValueError, match="identity_name"):
        bulk.get_cuids(client, "", values())
    with pytest.raises(ValueError, match="app_key"):
        bulk.report_events(client, [event(1)], app_key="")
    assert consumed == [] and api.bodies == []


def test_the_input_is_streamed_not_read_ahead(api: FakeApi, client: GrowthClient) -> None:
    read = [0]
    sent_when_read: list[int] = []

    def events() -> Iterator[dict[str, Any]]:
        for n in range(5000):
            read[0] += 1
            yield event(n)

    def script(path: str, body: Any, attempt: int) -> None:
        sent_when_read.append(read[0])

    api.script = script
    summary = bulk.report_events(client, events(), concurrency=2)
    assert summary.accepted == 5000
    # When batch k goes out, at most the batches in flight (2) and the one being cut were read.
    assert all(at <= (k + 3) * 100 for k, at in enumerate(sent_when_read))


def test_several_calls_are_in_flight_at_once(api: FakeApi, client: GrowthClient) -> None:
    barrier = threading.Barrier(4, timeout=10)

    def script(path: str, body: Any, attempt: int) -> None:
        if 2 <= attempt <= 5:  # the first call goes alone (a careful start); then the pipeline opens
            barrier.wait()  # only passes when 4 calls are open together

    api.script = script
    summary = bulk.report_events(client, [event(n) for n in range(800)], concurrency=4)
    assert summary.accepted == 800


def test_a_stopped_run_settles_what_is_in_flight_and_resume_sends_only_the_rest(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    stop = threading.Event()

    def script(path: str, body: Any, attempt: int) -> None:
        if attempt == 3:
            stop.set()

    api.script = script
    first = bulk.report_events(
        client, [event(n) for n in range(1000)], out_dir=tmp_path, stop=stop, concurrency=2
    )
    assert first.interrupted and not first.ok
    assert first.records == first.accepted and 300 <= first.records < 1000
    sent_first = len(api.sent_events())
    assert sent_first == first.records  # nothing sent is left unsettled

    with pytest.raises(FileExistsError):
        bulk.report_events(client, [event(n) for n in range(1000)], out_dir=tmp_path)
    api.script = None
    second = bulk.report_events(client, [event(n) for n in range(1000)], out_dir=tmp_path, resume=True)
    assert second.resumed == first.records and second.skipped == 0
    assert second.records == 1000 and second.accepted == 1000 and second.ok  # the whole run
    sent = api.sent_events()
    assert sorted(e["cuid"] for e in sent) == [10000000000 + n for n in range(1000)]  # each once
    run_id = journal_run_id(tmp_path)
    assert all(e["randomId"] == stable_random_id(run_id, f"line:{e['cuid'] - 10000000000 + 1}") for e in sent)
    summary_file = json.loads((tmp_path / bulk.SUMMARY_NAME).read_text(encoding="utf-8"))
    assert summary_file["resumed"] == first.records and summary_file["records"] == 1000


def test_ctrl_c_while_reading_ends_cleanly(api: FakeApi, client: GrowthClient, tmp_path: Path) -> None:
    def events() -> Iterator[dict[str, Any]]:
        for n in range(450):
            yield event(n)
        raise KeyboardInterrupt

    summary = bulk.report_events(client, events(), out_dir=tmp_path)
    assert summary.interrupted
    assert summary.records == 400  # the 4 full batches; the 50 still being cut were never sent
    assert len(api.sent_events()) == 400
    journal = read_jsonl(tmp_path / bulk.JOURNAL_NAME)[1:]
    assert sorted(
        n for entry in journal for start, end in entry["lines"] for n in range(start, end + 1)
    ) == list(range(1, 401))


def test_channels_go_in_batches_and_bad_items_are_rejected(api: FakeApi, client: GrowthClient) -> None:
    items: list[Any] = [
        {"cuid": 10000000000 + n, "channels": [{"id": 210, "channelValues": {"email": f"u{n}@example.com"}}]}
        for n in range(120)
    ]
    items[5] = {"cuid": 1}  # no channels
    summary = bulk.set_user_channels(client, items)
    assert (summary.accepted, summary.rejected) == (119, 1)
    assert sorted(len(body) for _, body in api.bodies) == [19, 100]


def test_resume_needs_an_out_dir(client: GrowthClient) -> None:
    with pytest.raises(ValueError, match="out_dir"):
        bulk.report_events(client, [event(1)], resume=True)


def test_a_journal_of_another_operation_is_refused(client: GrowthClient, tmp_path: Path) -> None:
    bulk.report_events(client, [event(1)], out_dir=tmp_path)
    with pytest.raises(bulk.JournalError, match="operation 'reportEvents' then, 'getCuids' now"):
        bulk.get_cuids(client, "phone", ["a"], out_dir=tmp_path, resume=True)


def test_an_unexpected_error_in_a_batch_settles_its_records_as_unknown_and_the_run_goes_on(
    api: FakeApi, client: GrowthClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _jobs.job("setUserChannels", {})
    calls = [0]

    def call(growth: GrowthClient, items: list[Any]) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise TypeError("a bug")
        return job.call(growth, items)

    broken = dataclasses.replace(job, call=call)
    items = [
        {"cuid": 10000000000 + n, "channels": [{"id": 1, "channelValues": {"a": "b"}}]} for n in range(150)
    ]
    summary = bulk.run_job(broken, client, number_values(items), "jsonl", concurrency=1)
    assert (summary.unknown, summary.accepted) == (100, 50)
    assert summary.by_reason == {"error:TypeError": 100}


def test_writes_to_one_user_land_in_input_order_while_other_users_go_in_parallel(
    api: FakeApi, client: GrowthClient
) -> None:
    rng = random.Random(5)
    applied: list[Any] = []
    open_calls = [0]
    most_open = [0]
    lock = threading.Lock()

    def script(path: str, body: Any, attempt: int) -> None:
        with lock:
            open_calls[0] += 1
            most_open[0] = max(most_open[0], open_calls[0])
        time.sleep(rng.uniform(0, 0.004))  # the server takes its time, then applies the write
        with lock:
            applied.append(body)
            open_calls[0] -= 1

    api.script = script
    users = [10000000001, 10000000002, 10000000003, 10000000004]
    records = [{"cuid": users[n % 4], "data": {"user_level": n}} for n in range(200)]
    summary = bulk.set_user_attributes(client, records, concurrency=8)
    assert summary.accepted == 200
    for user in users:
        levels = [body["data"]["user_level"] for body in applied if body["cuid"] == user]
        assert levels == sorted(levels) and len(levels) == 50  # this user's lines, in order
    assert most_open[0] > 1  # different users still went in parallel


def test_channel_batches_that_share_a_user_do_not_overlap(api: FakeApi, client: GrowthClient) -> None:
    rng = random.Random(6)
    applied: list[int] = []
    lock = threading.Lock()

    def script(path: str, body: Any, attempt: int) -> None:
        time.sleep(rng.uniform(0, 0.004))
        with lock:
            applied.extend(int(item["channels"][0]["channelValues"]["email"].split("@")[0]) for item in body)

    api.script = script
    items = [
        {
            "cuid": 10000000000 + n % 150,
            "channels": [{"id": 1, "channelValues": {"email": f"{n}@example.com"}}],
        }
        for n in range(600)
    ]
    assert bulk.set_user_channels(client, items, concurrency=8).accepted == 600
    for user in range(150):
        mine = [n for n in applied if n % 150 == user]
        assert mine == sorted(mine) and len(mine) == 4
