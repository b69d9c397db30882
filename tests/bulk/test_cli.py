"""The bulk subcommands as a user runs them: a real process, real files, a real sandbox."""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jiguang_growth.sandbox import SandboxServer, run_sandbox

COMMAND = [sys.executable, "-m", "jiguang_growth.cli"]


def event(n: int) -> dict[str, Any]:
    return {"cuid": 10000000000 + n, "eventName": "open_app", "itime": 1654076420772 + n}


def write_jsonl(path: Path, values: list[Any]) -> Path:
    path.write_text("".join(json.dumps(v) + "\n" for v in values), encoding="utf-8")
    return path


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIGUANG_")}
    return {**env, **extra}


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env or clean_env(),
        check=False,
    )


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}") as server:
        yield server


def sandbox_env(server: SandboxServer) -> dict[str, str]:
    return clean_env(**server.env())


def test_report_events_with_a_bad_line_reports_it_and_exits_1(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    lines = [json.dumps(event(1)), "{oops", json.dumps({**event(3), "itime": 99}), json.dumps(event(4))]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run("report-events", str(source), "--sandbox")
    assert done.returncode == 1, done.stderr
    assert "line 2: rejected (unreadable): not valid JSON" in done.stderr
    assert "line 3: rejected (invalid): record.itime" in done.stderr
    out = tmp_path / "events.jsonl.out"
    assert "accepted            2" in done.stdout and "rejected            2" in done.stdout
    rejected = (out / "rejected.jsonl").read_text(encoding="utf-8").splitlines()
    assert rejected[0] == "{oops" and json.loads(rejected[1])["itime"] == 99
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (summary["records"], summary["accepted"], summary["rejected"]) == (4, 2, 2)


def test_all_accepted_exits_0_and_progress_lines_go_to_a_pipe(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "e.jsonl", [event(n) for n in range(300)])
    done = run("report-events", str(source), "--sandbox", "--progress-interval", "0.01")
    assert done.returncode == 0, done.stderr
    assert "progress reportEvents: 300/300 settled, 300 accepted" in done.stdout
    assert "\r" not in done.stdout


def test_the_bar_is_drawn_in_place_when_asked(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "e.jsonl", [event(n) for n in range(150)])
    done = subprocess.run(  # bytes: text mode would turn the carriage returns into newlines
        [*COMMAND, "report-events", str(source), "--sandbox", "--progress", "bar"],
        capture_output=True,
        timeout=120,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"\r[########################] 100% 150/150" in done.stdout


def test_get_cuids_from_standard_input_writes_results(tmp_path: Path, sandbox: SandboxServer) -> None:
    out = tmp_path / "cuids"
    done = run(
        "get-cuids",
        "-",
        "--identity-name",
        "phone",
        "--out",
        str(out),
        env=sandbox_env(sandbox),
        stdin="18012345678\n18087654321\n\n18012345678\n",
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["identityValue"]) for r in results] == [
        (1, "18012345678"),
        (2, "18087654321"),
        (4, "18012345678"),
    ]
    assert results[0]["cuid"] == results[2]["cuid"] == sandbox.state.cuid_for("phone", "18012345678")


def test_set_attributes_and_set_channels(tmp_path: Path, sandbox: SandboxServer) -> None:
    attributes = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"cuid": 10000000001, "data": {"total_spend": 3}},
            {"cuid": 10000000001, "data": {"total_spend": 4}},
        ],
    )
    channels = write_jsonl(
        tmp_path / "c.jsonl",
        [{"cuid": 10000000001, "channels": [{"id": 210, "channelValues": {"email": "a@example.com"}}]}],
    )
    assert run("set-attributes", str(attributes), env=sandbox_env(sandbox)).returncode == 0
    assert run("set-channels", str(channels), env=sandbox_env(sandbox)).returncode == 0
    assert sandbox.state.attributes(10000000001)["total_spend"] == 7
    assert sandbox.state.channels(10000000001)


def test_wrong_credentials_stop_the_run_and_resume_with_the_right_ones_sends_everything(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    secret = "wrong-secret-0123456789"
    source = write_jsonl(tmp_path / "e.jsonl", [event(n) for n in range(250)])
    env = {**sandbox_env(sandbox), "JIGUANG_PROJECT_SECRET": secret}
    done = run("report-events", str(source), "--concurrency", "1", env=env)
    assert done.returncode == 3, done.stderr
    assert "refused the credentials (401" in done.stderr and "--project-secret" in done.stderr
    assert re.search(r"unsettled +[1-9]", done.stdout) and "accepted            0" in done.stdout
    out = tmp_path / "e.jsonl.out"
    everything = done.stdout + done.stderr + "".join(p.read_text() for p in out.iterdir())
    assert secret not in everything
    assert not sandbox.state.events()

    again = run("report-events", str(source), "--resume", env=sandbox_env(sandbox))
    assert again.returncode == 0, again.stderr
    assert "accepted          250" in again.stdout
    assert len(sandbox.state.events()) == 250


def test_missing_credentials_and_bad_settings_are_usage_errors(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "e.jsonl", [event(1)])
    done = run("report-events", str(source))
    assert done.returncode == 2 and "JIGUANG_PROJECT_ID" in done.stderr
    assert "--project-id" in done.stderr and "--project-secret" in done.stderr and "--sandbox" in done.stderr
    done = run("get-cuids", str(source), "--identity-name", "", "--sandbox")
    assert done.returncode == 2 and "--identity-name" in done.stderr and "Traceback" not in done.stderr
    done = run("report-events", str(tmp_path / "missing.jsonl"), "--sandbox")
    assert done.returncode == 2 and "cannot read" in done.stderr
    done = run("report-events", str(source), "--sandbox", "--project-id", "1")
    assert done.returncode == 2 and "--sandbox" in done.stderr


def test_an_earlier_run_is_not_overwritten_without_resume(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "e.jsonl", [event(1)])
    assert run("report-events", str(source), "--sandbox").returncode == 0
    again = run("report-events", str(source), "--sandbox")
    assert again.returncode == 2 and "--resume" in again.stderr


def test_ctrl_c_stops_cleanly_and_resume_sends_only_the_rest(tmp_path: Path) -> None:
    total = 30000  # 300 calls: about 3 s at 100 calls per second
    source = write_jsonl(tmp_path / "e.jsonl", [event(n) for n in range(total)])
    with run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}") as sandbox:
        process = subprocess.Popen(
            [*COMMAND, "report-events", str(source), "--progress-interval", "0.2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=sandbox_env(sandbox),
        )
        assert process.stdout is not None
        first_line = process.stdout.readline()  # the first progress line: the run is under way
        assert first_line.startswith("progress reportEvents"), first_line
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 130, err
        assert "--resume" in err
        assert re.search(
            r"stopping: [\d,]+ input lines read, [\d,]+ records settled; \d+ calls? in flight", err
        )
        sent_before = len(sandbox.state.events())
        assert 0 < sent_before < total

        done = run("report-events", str(source), "--resume", env=sandbox_env(sandbox))
        assert done.returncode == 0, done.stderr
        stored = sandbox.state.events()

    assert f"resumed    {sent_before:>10,}" in done.stdout
    assert f"{total:,} in the whole run" in done.stdout
    ids = collections.Counter(e["randomId"] for e in stored)
    assert len(ids) == total and max(ids.values()) == 1  # every event once
    assert sorted(e["cuid"] for e in stored) == [10000000000 + n for n in range(total)]


RUN_AND_LIST_SERVER_MODULES = (
    "import sys\n"
    "from jiguang_growth.cli import main\n"
    "status = main(sys.argv[1:])\n"
    "print(sorted(m for m in ('starlette', 'uvicorn') if m in sys.modules), status)\n"
)


def test_help_and_the_bulk_commands_never_load_the_server_stack(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "e.jsonl", [event(n) for n in range(3)])
    for args in (
        ["--help"],
        ["report-events", "--help"],
        ["report-events", str(source), "--progress", "off"],
    ):
        done = subprocess.run(
            [sys.executable, "-c", RUN_AND_LIST_SERVER_MODULES, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=sandbox_env(sandbox),
            check=False,
        )
        assert done.stdout.splitlines()[-1] == "[] 0", done.stdout + done.stderr


def test_version_comes_from_the_package_metadata() -> None:
    from importlib import metadata

    done = run("--version")
    assert (
        done.returncode == 0 and done.stdout.strip() == f"jiguang-growth {metadata.version('jiguang-growth')}"
    )


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_a_timeout_that_is_not_a_positive_finite_number_is_a_usage_error(tmp_path: Path, value: str) -> None:
    source = write_jsonl(tmp_path / "e.jsonl", [event(1)])
    done = run("report-events", str(source), "--sandbox", "--timeout", value)
    assert done.returncode == 2 and "--timeout" in done.stderr and "sandbox:" not in done.stderr


def test_blank_lines_count_as_skipped_in_progress_and_summary(tmp_path: Path) -> None:
    source = tmp_path / "e.jsonl"
    source.write_text(json.dumps(event(1)) + "\n\n   \n" + json.dumps(event(2)) + "\n", encoding="utf-8")
    done = run("report-events", str(source), "--sandbox", "--progress-interval", "0.01")
    assert done.returncode == 0, done.stderr
    assert "progress reportEvents: 4/4 settled" in done.stdout and "2 skipped" in done.stdout
    assert "skipped             2  (blank lines)" in done.stdout
    saved = json.loads((tmp_path / "e.jsonl.out" / "summary.json").read_text(encoding="utf-8"))
    assert (saved["records"], saved["skipped"]) == (2, 2)


def test_get_cuids_values_with_white_space_are_rejected_with_a_reason_or_stripped(tmp_path: Path) -> None:
    source = tmp_path / "phones.txt"
    source.write_text("18000000001\n 18000000002\n", encoding="utf-8")
    done = run("get-cuids", str(source), "--identity-name", "phone", "--sandbox")
    assert done.returncode == 1
    assert "line 2: rejected (invalid): record: has white space around it (got ' 18000000002')" in done.stderr
    assert "--strip" in done.stderr
    done = run(
        "get-cuids",
        str(source),
        "--identity-name",
        "phone",
        "--sandbox",
        "--strip",
        "--out",
        str(tmp_path / "s"),
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in (tmp_path / "s" / "results.jsonl").read_text().splitlines()]
    assert [r["identityValue"] for r in results] == ["18000000001", "18000000002"]


def test_a_refused_out_is_refused_before_a_sandbox_starts(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "e.jsonl", [event(1)])
    taken = tmp_path / "taken"
    taken.write_text("", encoding="utf-8")
    done = run("report-events", str(source), "--sandbox", "--out", str(taken))
    assert done.returncode == 6 and "is not a folder" in done.stderr
    assert "sandbox:" not in done.stderr and "Traceback" not in done.stderr


def test_resume_refuses_another_input_file_and_a_new_sandbox(tmp_path: Path, sandbox: SandboxServer) -> None:
    source = write_jsonl(tmp_path / "e.jsonl", [event(n) for n in range(5)])
    out = str(tmp_path / "out")
    assert run("report-events", str(source), "--out", out, env=sandbox_env(sandbox)).returncode == 0
    write_jsonl(source, [event(n) for n in range(6)])
    done = run("report-events", str(source), "--out", out, "--resume", env=sandbox_env(sandbox))
    assert done.returncode == 5 and "another run" in done.stderr and "input sha256" in done.stderr
    assert "input size" in done.stderr
    done = run("report-events", str(source), "--out", out, "--resume", "--sandbox")
    assert done.returncode == 5 and "base url" in done.stderr and "project id" in done.stderr


def test_the_exit_status_of_a_resumed_run_covers_the_whole_run(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    source = write_jsonl(tmp_path / "e.jsonl", [event(1), {**event(2), "itime": 5}, {**event(3), "itime": 5}])
    assert run("report-events", str(source), env=sandbox_env(sandbox)).returncode == 1
    again = run("report-events", str(source), "--resume", env=sandbox_env(sandbox))
    assert again.returncode == 1 and "rejected            2" in again.stdout
    assert "resumed             3" in again.stdout


def test_a_journal_that_cannot_be_trusted_is_its_own_exit_status(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    source = write_jsonl(tmp_path / "e.jsonl", [event(n) for n in range(3)])
    assert run("report-events", str(source), env=sandbox_env(sandbox)).returncode == 0
    journal = tmp_path / "e.jsonl.out" / "journal.jsonl"
    header, *_ = journal.read_text(encoding="utf-8").splitlines()
    journal.write_text(header + '\n{"seq": 1, "lines": "all of them"}\n', encoding="utf-8")
    done = run("report-events", str(source), "--resume", env=sandbox_env(sandbox))
    assert done.returncode == 5 and "cannot resume" in done.stderr and "Traceback" not in done.stderr
