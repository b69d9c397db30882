"""The bulk run's small parts: reading lines, the journal, progress output."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from jiguang_growth.bulk import BulkSummary
from jiguang_growth.bulk._input import BadLine, Record, read_lines
from jiguang_growth.bulk._journal import Journal, LineSet, ranges
from jiguang_growth.bulk._progress import BarProgress, LineProgress, format_duration


def test_read_lines_numbers_records_and_explains_bad_lines() -> None:
    lines = [
        b'\xef\xbb\xbf{"a": 1}\r\n',  # a byte-order mark on line 1
        b"\n",
        b"   \n",
        b'{"b": \n',
        b"\xff\xfe bad bytes\n",
        '{"c": "\u6781\u5149"}'.encode(),
    ]
    got = list(read_lines(lines, "jsonl"))
    assert got[0] == Record(1, {"a": 1})
    assert isinstance(got[1], BadLine) and got[1].line == 4 and "not valid JSON" in got[1].reason
    assert isinstance(got[2], BadLine) and got[2].line == 5 and "not UTF-8" in got[2].reason
    assert got[3] == Record(6, {"c": "极光"})
    assert len(got) == 4  # blank lines are not records


def test_read_lines_as_text_keeps_values_exactly() -> None:
    got = list(read_lines(["a\n", " b \n", "c"], "text"))
    assert got == [Record(1, "a"), Record(2, " b "), Record(3, "c")]


def test_line_sets_merge_ranges_and_answer_membership() -> None:
    done = LineSet()
    for start, end in [(5, 7), (1, 2), (3, 4), (10, 10), (8, 8)]:
        done.add_range(start, end)
    assert done.ranges() == [(1, 8), (10, 10)]
    assert len(done) == 9
    assert 8 in done and 9 not in done and 10 in done and 0 not in done
    assert ranges([9, 3, 4, 5, 1]) == [(1, 1), (3, 5), (9, 9)]


def test_the_journal_survives_a_torn_last_line_and_keeps_its_run(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, "reportEvents", resume=False)
    journal.record([1, 2, 3])
    journal.record([7])
    journal.close()
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"lines": [[8, ')  # the process died while writing
    again = Journal(path, "reportEvents", resume=True)
    assert again.run_id == journal.run_id
    assert again.done.ranges() == [(1, 3), (7, 7)]
    again.close()
    with pytest.raises(ValueError, match="reportEvents"):
        Journal(path, "getCuids", resume=True)
    header = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert header == {"run": str(journal.run_id), "operation": "reportEvents"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_come_every_interval_with_rate_and_eta() -> None:
    clock, out = Clock(), io.StringIO()
    progress = LineProgress(out, total=1000, interval=5, clock=clock)
    summary = BulkSummary("reportEvents", records=100, accepted=100)
    clock.now = 1.0
    progress(summary)
    assert out.getvalue() == ""  # not before the first interval
    clock.now = 5.0
    summary.records = summary.accepted = 500
    progress(summary)
    line = out.getvalue()
    assert "500/1,000 settled" in line and "100 records/s" in line and "ETA 0:05" in line
    clock.now = 6.0
    progress(summary)
    assert out.getvalue().count("\n") == 1


def test_the_bar_redraws_in_place_and_ends_with_a_newline() -> None:
    clock, out = Clock(), io.StringIO()
    bar = BarProgress(out, total=200, clock=clock)
    clock.now = 1.0
    bar(BulkSummary("getCuids", records=100, accepted=99, rejected=1))
    text = out.getvalue()
    assert text.startswith("\r[############............]  50% 100/200")
    assert "rejected 1" in text and "ETA 0:01" in text
    bar.finish(BulkSummary("getCuids", records=200, accepted=199, rejected=1))
    assert out.getvalue().endswith("\n") and "100% 200/200" in out.getvalue()


def test_durations_read_like_a_clock() -> None:
    assert [format_duration(s) for s in (0, 59.4, 61, 3600 + 62)] == ["0:00", "0:59", "1:01", "1:01:02"]
