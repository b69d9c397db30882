"""The resume journal: torn tails repaired, damaged lines reported or refused, the run's identity checked."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from jiguang_growth import GrowthClient, bulk
from jiguang_growth.bulk import JournalError
from jiguang_growth.bulk._journal import Journal, RunIdentity
from jiguang_growth.sandbox import run_sandbox

from .conftest import FakeApi, event

IDENTITY = RunIdentity("reportEvents", "https://x.test/smartop/api/v1", "p1", {"path": "/a", "size": 3})
TOTALS = {"records": 1}


def journal_with(path: Path, *batches: list[int]) -> Journal:
    journal = Journal(path, IDENTITY, resume=False)
    for lines in batches:
        journal.record(lines, TOTALS, {})
    journal.close()
    return journal


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def test_a_torn_tail_is_cut_off_and_the_next_checkpoint_starts_on_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    first = journal_with(path, [1, 2, 3], [7])
    with path.open("ab") as handle:
        handle.write(b'{"seq":3,"lines":[[8,')  # the process died while writing
    again = Journal(path, IDENTITY, resume=True)
    assert again.run_id == first.run_id
    assert again.done.ranges() == [(1, 3), (7, 7)]
    assert "torn last line" in again.warnings[0]
    again.record([8, 9], TOTALS, {})
    again.close()
    third = Journal(path, IDENTITY, resume=True)  # the checkpoint after the repair is read too
    assert third.done.ranges() == [(1, 3), (7, 9)] and third.warnings == []
    third.close()


def test_a_garbage_line_between_checkpoints_is_reported_and_later_checkpoints_still_count(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.jsonl"
    journal_with(path, [1, 2], [3, 4], [5])
    lines = lines_of(path)
    path.write_bytes(b"\n".join([*lines[:2], b"garbage from somewhere", *lines[2:]]))
    again = Journal(path, IDENTITY, resume=True)
    assert again.done.ranges() == [(1, 5)]
    assert again.warnings == ["passed over damaged line(s) 3: no checkpoint was lost there"]
    again.close()


@pytest.mark.parametrize(
    "damage",
    [
        lambda line: b"x" + line[1:],  # not JSON any more
        lambda line: line.replace(b"[[3,4]]", b"[[3,5]]"),  # the CRC no longer matches
        lambda line: line.replace(b'"lines":[[3,4]]', b'"lines":"3-4"'),  # wrong JSON types
    ],
    ids=["not-json", "bad-crc", "wrong-types"],
)
def test_a_damaged_checkpoint_refuses_the_resume_wherever_it_is(tmp_path: Path, damage: Any) -> None:
    for last in (False, True):
        path = tmp_path / f"journal-{last}.jsonl"
        journal_with(path, [1, 2], [3, 4], *([] if last else [[5]]))
        lines = lines_of(path)
        lines[2] = damage(lines[2])
        path.write_bytes(b"\n".join(lines))
        with pytest.raises(JournalError, match=r"which records .* settled is unknown"):
            Journal(path, IDENTITY, resume=True)


def test_a_damaged_header_or_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal_with(path, [1])
    lines = lines_of(path)
    path.write_bytes(b"\n".join([b"{}", *lines[1:]]))
    with pytest.raises(JournalError, match="header"):
        Journal(path, IDENTITY, resume=True)
    path.write_text(
        json.dumps({"run": str(uuid.uuid4()), "operation": "reportEvents"}) + "\n", encoding="utf-8"
    )
    with pytest.raises(JournalError, match="header"):  # a journal of the earlier format: no CRC
        Journal(path, IDENTITY, resume=True)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"base_url": "http://127.0.0.1:9/smartop/api/v1"}, "base url"),
        ({"project_id": "p2"}, "project id 'p1' then, 'p2' now"),
        ({"input": {"path": "/a", "size": 4}}, "input size 3 then, 4 now"),
        ({"input": None}, "input path '/a' then, None now"),
    ],
)
def test_resume_refuses_another_run_and_says_what_differs(tmp_path: Path, change: Any, said: str) -> None:
    path = tmp_path / "journal.jsonl"
    journal_with(path, [1])
    other = RunIdentity(**{**IDENTITY.as_dict(), **change})
    with pytest.raises(JournalError, match="another run") as caught:
        Journal(path, other, resume=True)
    assert said in str(caught.value)


def test_outcome_files_lose_what_came_after_the_last_checkpoint(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    events = [event(n, itime=5) if n % 10 == 0 else event(n) for n in range(200)]  # 20 invalid
    first = bulk.report_events(client, events, out_dir=tmp_path)
    assert first.rejected == 20
    rejected = tmp_path / "rejected.jsonl"
    whole = rejected.read_bytes()
    with rejected.open("ab") as handle:  # a crash while writing one more (torn) line
        handle.write(b'{"cuid":1')
    with (tmp_path / "failures.jsonl").open("ab") as handle:
        handle.write(b'{"line": 99999, "outcome": "rejected"}\n')  # written, never journaled
    again = bulk.report_events(client, events, out_dir=tmp_path, resume=True)
    assert rejected.read_bytes() == whole
    assert len((tmp_path / "failures.jsonl").read_text(encoding="utf-8").splitlines()) == 20
    assert (again.records, again.rejected, again.resumed) == (200, 20, 200)


def test_an_outcome_file_shorter_than_its_checkpoint_refuses_the_resume(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    events = [event(n, itime=5) for n in range(3)]
    bulk.report_events(client, events, out_dir=tmp_path)
    (tmp_path / "rejected.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(JournalError, match="shorter than the journal says"):
        bulk.report_events(client, events, out_dir=tmp_path, resume=True)


def test_two_resumes_over_a_torn_and_garbled_journal_apply_every_accumulate_write_exactly_once(
    tmp_path: Path,
) -> None:
    users = 150
    records = [{"cuid": 10000000000 + n % users, "data": {"total_spend": 1 + n // users}} for n in range(450)]
    expected = {
        10000000000 + u: sum(1 + n // users for n in range(450) if n % users == u) for u in range(users)
    }
    with (
        run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}") as sandbox,
        GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url) as client,
    ):
        for stop_after in (120, 260, None):
            stop = StopAfter(stop_after) if stop_after else None
            summary = bulk.set_user_attributes(
                client,
                records,
                out_dir=tmp_path,
                resume=stop_after != 120,
                stop=stop.event if stop else None,
                on_outcome=stop.count if stop else None,
            )
            journal = tmp_path / bulk.JOURNAL_NAME
            with journal.open("ab") as handle:
                handle.write(b'{"seq":')  # torn as a full disk or kill -9 leaves it
            if stop_after == 120:
                assert summary.interrupted
                text = journal.read_bytes()
                cut = text.rfind(b"\n", 0, len(text) - 8) + 1
                journal.write_bytes(text[:cut] + b"not a checkpoint\n" + text[cut:])
        totals = {cuid: sandbox.state.attributes(cuid)["total_spend"] for cuid in expected}
    assert summary.ok and summary.records == 450 and summary.accepted == 450
    assert totals == expected  # every user's total, each write applied exactly once


class StopAfter:
    """A stop event set once ``n`` records settled."""

    def __init__(self, n: int) -> None:
        self.n, self.seen, self.event = n, 0, threading.Event()

    def count(self, outcome: object) -> None:
        self.seen += 1
        if self.seen >= self.n:
            self.event.set()


def test_a_summary_after_a_resume_counts_the_whole_run(
    api: FakeApi, client: GrowthClient, tmp_path: Path
) -> None:
    events = [event(n, itime=5) if n < 2 else event(n) for n in range(1000)]
    stop = StopAfter(300)
    first = bulk.report_events(client, events, out_dir=tmp_path, stop=stop.event, on_outcome=stop.count)
    assert first.interrupted and first.rejected == 2
    second = bulk.report_events(client, events, out_dir=tmp_path, resume=True)
    assert (second.records, second.accepted, second.rejected) == (1000, 998, 2)
    assert not second.ok
    saved = json.loads((tmp_path / bulk.SUMMARY_NAME).read_text(encoding="utf-8"))
    assert (saved["records"], saved["rejected"], saved["by_reason"]) == (1000, 2, {"invalid": 2})
