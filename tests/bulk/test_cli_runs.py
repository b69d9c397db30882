"""Bulk CLI runs in the field: a shared --out, piped input, huge lines, signals, truthful stops.

Every test runs the real ``jiguang-growth`` command in its own process against a real sandbox.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jiguang_growth.sandbox import NetworkConfig, SandboxConfig, SandboxServer, run_sandbox

from .test_cli import COMMAND, event, run, sandbox_env, write_jsonl

RUN_LOCKED = 7
TOTAL_SPEND = "total_spend"
"""An attribute the sandbox accumulates: applied twice, a user's total would be 2."""
FIRST_CUID = 10000000000


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}") as server:
        yield server


def start(*args: str, env: dict[str, str], **options: Any) -> subprocess.Popen[str]:
    """The CLI in the background, its progress lines on a pipe every 0.1 s."""
    return subprocess.Popen(
        [*COMMAND, *args, "--progress-interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **options,
    )


def wait_for_progress(process: subprocess.Popen[str]) -> str:
    """Block until the run prints its first progress line: it is sending."""
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("progress "), line + (process.stderr.read() if process.stderr else "")
    return line


def attribute_records(users: int) -> list[dict[str, Any]]:
    return [{"cuid": FIRST_CUID + n, "data": {TOTAL_SPEND: 1}} for n in range(users)]


# -- one run per --out ------------------------------------------------------------------------------


def test_a_second_run_or_a_resume_on_a_busy_out_is_refused_and_nothing_is_applied_twice(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    users = 600  # one call each: about 6 s at the operation's 100 calls per second
    source = write_jsonl(tmp_path / "a.jsonl", attribute_records(users))
    out = tmp_path / "out"
    env = sandbox_env(sandbox)
    first = start("set-attributes", str(source), "--out", str(out), env=env)
    try:
        wait_for_progress(first)
        second = run("set-attributes", str(source), "--out", str(out), env=env)
        resumed = run("set-attributes", str(source), "--out", str(out), "--resume", env=env)
        _, first_err = first.communicate(timeout=120)
    finally:
        first.kill()
        first.wait()
    for refused in (second, resumed):
        assert refused.returncode == RUN_LOCKED, refused.stderr
        assert f"{out} is in use by another run (PID {first.pid})" in refused.stderr
        assert "sandbox:" not in refused.stderr and "Traceback" not in refused.stderr
    assert first.returncode == 0, first_err
    totals = collections.Counter(
        sandbox.state.attributes(FIRST_CUID + n).get(TOTAL_SPEND) for n in range(users)
    )
    assert totals == {1: users}  # every user once: none twice, none missed
    assert stat.S_IMODE((out / "run.lock").stat().st_mode) == 0o600


def test_a_run_killed_with_sigkill_leaves_no_lock_behind(tmp_path: Path, sandbox: SandboxServer) -> None:
    source = write_jsonl(tmp_path / "a.jsonl", attribute_records(400))
    out = tmp_path / "out"
    env = sandbox_env(sandbox)
    crashed = start("set-attributes", str(source), "--out", str(out), env=env)
    wait_for_progress(crashed)
    crashed.kill()
    crashed.communicate(timeout=60)
    done = run("set-attributes", str(source), "--out", str(out), "--resume", env=env)
    assert done.returncode in (0, 1), done.stderr  # 1: calls in flight at the kill end as unknown
    assert "in use by another run" not in done.stderr
    assert max(sandbox.state.attributes(FIRST_CUID + n).get(TOTAL_SPEND, 0) for n in range(400)) == 1


# -- input that can be read only once ---------------------------------------------------------------


def fill_fifo(path: Path, text: str) -> threading.Thread:
    """A writer that opens the FIFO (blocking until the reader does), writes ``text`` and closes."""

    def write() -> None:
        with path.open("w", encoding="utf-8") as handle:
            handle.write(text)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def events_text(count: int) -> str:
    return "".join(json.dumps(event(n)) + "\n" for n in range(count))


def test_every_record_of_a_fifo_is_sent_and_its_resume_is_refused_clearly(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    writer = fill_fifo(fifo, events_text(250))
    out = tmp_path / "out"
    done = run("report-events", str(fifo), "--out", str(out), env=sandbox_env(sandbox))
    writer.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert "accepted          250" in done.stdout
    assert len(sandbox.state.events()) == 250

    again = run("report-events", str(fifo), "--out", str(out), "--resume", env=sandbox_env(sandbox))
    assert again.returncode == 2, again.stderr
    assert f"--resume needs the input as a regular file: {fifo} is a pipe or FIFO" in again.stderr
    assert len(sandbox.state.events()) == 250


@pytest.mark.parametrize("form", ["<(cat FILE)", "/dev/stdin < <(cat FILE)", "- < <(cat FILE)"])
def test_every_record_of_a_pipe_is_sent(tmp_path: Path, sandbox: SandboxServer, form: str) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text(events_text(250), encoding="utf-8")
    command = " ".join(shlex.quote(part) for part in COMMAND)
    out = shlex.quote(str(tmp_path / "out"))
    piped = form.replace("FILE", shlex.quote(str(source)))
    done = subprocess.run(
        ["bash", "-c", f"{command} report-events {piped} --out {out}"],
        capture_output=True,
        text=True,
        timeout=120,
        env=sandbox_env(sandbox),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "accepted          250" in done.stdout
    assert len(sandbox.state.events()) == 250


# -- a line too long to hold ------------------------------------------------------------------------

RUN_AND_REPORT_PEAK_MEMORY = (
    "import sys\n"
    "from jiguang_growth.cli import main\n"
    "status = main(sys.argv[1:])\n"
    "peak = [line for line in open('/proc/self/status') if line.startswith('VmHWM:')][0]\n"
    "print('peak-kib', peak.split()[1], file=sys.stderr)\n"
    "sys.exit(status)\n"
)
LONG_LINE = 64 * 1024 * 1024


def peak_kib(stderr: str) -> int:
    (line,) = [line for line in stderr.splitlines() if line.startswith("peak-kib ")]
    return int(line.split()[1])


def run_measured(source: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN_AND_REPORT_PEAK_MEMORY, "report-events", str(source), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def test_a_64_mib_line_is_rejected_with_a_reason_in_bounded_memory(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    small = tmp_path / "small.jsonl"
    small.write_text(events_text(3), encoding="utf-8")
    big = tmp_path / "big.jsonl"
    with big.open("wb") as handle:  # line 2 is 64 MiB of zero bytes: a hole, not written data
        handle.write((json.dumps(event(0)) + "\n").encode())
        handle.seek(LONG_LINE, os.SEEK_CUR)
        handle.write(b"\n" + (json.dumps(event(2)) + "\n").encode())
    env = sandbox_env(sandbox)
    baseline = run_measured(small, tmp_path / "small.out", env)
    done = run_measured(big, tmp_path / "big.out", env)
    assert baseline.returncode == 0, baseline.stderr
    assert done.returncode == 1, done.stderr
    assert f"line 2: rejected (line_too_long): the line has {LONG_LINE:,} bytes, more than the limit of" in (
        done.stderr
    )
    assert "accepted            2" in done.stdout and "rejected            1" in done.stdout
    (failure,) = [json.loads(line) for line in (tmp_path / "big.out" / "failures.jsonl").open()]
    assert (failure["line"], failure["reason"]) == (2, "line_too_long")
    assert (tmp_path / "big.out" / "rejected.jsonl").stat().st_size < 100  # a note, not the line
    assert sorted(e["cuid"] for e in sandbox.state.events()) == [event(n)["cuid"] for n in (0, 0, 1, 2, 2)]
    grown_kib = peak_kib(done.stderr) - peak_kib(baseline.stderr)
    assert grown_kib < 32 * 1024, f"peak memory grew {grown_kib:,} KiB for a {LONG_LINE:,}-byte line"


# -- signals while calls wait for the pacer ---------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_calls_wait_for_the_pacer_exits_130_not_no_answer(
    tmp_path: Path, signum: signal.Signals
) -> None:
    source = write_jsonl(tmp_path / "e.jsonl", [event(n) for n in range(20_000)])
    # The sandbox takes 2 calls a second: its 429s make the pacer hold the run's calls for seconds.
    config = SandboxConfig(project_id=f"p{uuid.uuid4().hex[:8]}", qps_limit=2)
    with run_sandbox(config) as server:
        process = start("report-events", str(source), env=sandbox_env(server))
        wait_for_progress(process)
        time.sleep(1.0)  # long enough for calls to queue behind the pacer
        process.send_signal(signum)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "stopped:" not in err and "no answer" not in err
    assert "interrupted: " in err and "run again with --resume" in err


# -- what a Ctrl-C says ------------------------------------------------------------------------------

INTERRUPTED_LINE = re.compile(
    r"interrupted: ([\d,]+) input lines read, ([\d,]+) records settled, ([\d,]+) read but not settled, "
    r"([\d,]+) never read; run again with --resume"
)


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_ctrl_c_mid_run_says_how_many_lines_were_read_settled_and_never_read(tmp_path: Path) -> None:
    total = 30_000  # 300 calls: about 3 s at 100 calls per second
    source = write_jsonl(tmp_path / "e.jsonl", [event(n) for n in range(total)])
    with run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}") as server:
        process = start("report-events", str(source), env=sandbox_env(server))
        wait_for_progress(process)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        stored = len(server.state.events())
    assert process.returncode == 130, err
    found = INTERRUPTED_LINE.search(err)
    assert found is not None, err
    read, settled, unsettled, unread = (number(group) for group in found.groups())
    assert read == settled + unsettled and read + unread == total and unread > 0
    assert stored == settled  # every settled event was accepted, nothing else arrived
    summary = json.loads((tmp_path / "e.jsonl.out" / "summary.json").read_text(encoding="utf-8"))
    assert (summary["lines_read"], summary["lines_unread"], summary["unsettled"]) == (read, unread, unsettled)
    assert summary["records"] == settled and summary["interrupted"] is True


def test_ctrl_c_once_everything_was_read_lets_it_settle_exits_0_and_a_resume_says_nothing_is_left(
    tmp_path: Path,
) -> None:
    total = 300  # 3 calls, each answered 1.8 s after the sandbox has stored its events
    source = write_jsonl(tmp_path / "e.jsonl", [event(n) for n in range(total)])
    config = SandboxConfig(
        project_id=f"p{uuid.uuid4().hex[:8]}", network=NetworkConfig(response_delay_ms=1800)
    )
    with run_sandbox(config) as server:
        env = sandbox_env(server)
        process = start("report-events", str(source), env=env)
        deadline = time.monotonic() + 60
        while len(server.state.events()) < total and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)  # every line read, the last two calls in flight, unanswered
        out, err = process.communicate(timeout=60)
        again = run("report-events", str(source), "--resume", env=env)
        stored = len(server.state.events())
    assert process.returncode == 0, err
    # The careful start sent the first call alone: it was answered before the other two went out.
    assert "stopping: every input line was read (300), 100 records settled; waiting for the 2 calls" in err
    assert "interrupted" not in err and "--resume" not in err
    assert "accepted          300" in out
    summary = json.loads((tmp_path / "e.jsonl.out" / "summary.json").read_text(encoding="utf-8"))
    assert (summary["interrupted"], summary["lines_read"], summary["lines_unread"]) == (False, 300, 0)
    assert again.returncode == 0, again.stderr
    assert "nothing to send: earlier runs settled every line of the input" in again.stdout
    assert "ETA ?" not in again.stdout and "ETA 0:00" in again.stdout
    assert stored == total


# -- the input lines docs/bulk.md shows ----------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "bulk.md"


def documented_inputs() -> list[tuple[str, list[str], str]]:
    """``(file name, command arguments, example line)`` for each input line docs/bulk.md shows."""
    text = DOCS.read_text(encoding="utf-8")
    commands: dict[str, list[str]] = {}
    for line in re.findall(r"^jiguang-growth (.+)$", text, flags=re.MULTILINE):
        words = shlex.split(line.split("#", 1)[0])
        commands.setdefault(words[1], words)  # the first command for each file
    block = text.split("```text", 1)[1].split("```", 1)[0] if "```text" in text else ""
    examples = re.findall(r"^(\S+):\s+(.+)$", block, re.MULTILINE)
    return [(name, commands[name], line) for name, line in examples]


def test_docs_show_one_input_line_for_each_bulk_command() -> None:
    shown = {args[0] for _, args, _ in documented_inputs()}
    assert shown == {"report-events", "get-cuids", "set-attributes", "set-channels"}


@pytest.mark.parametrize(("name", "args", "line"), documented_inputs(), ids=lambda value: str(value)[:20])
def test_each_documented_input_line_is_accepted_by_its_command(
    tmp_path: Path, sandbox: SandboxServer, name: str, args: list[str], line: str
) -> None:
    (tmp_path / name).write_text(line + "\n", encoding="utf-8")
    command, _, *rest = args
    done = run(command, str(tmp_path / name), *rest, "--out", str(tmp_path / "out"), env=sandbox_env(sandbox))
    assert done.returncode == 0, done.stderr
    assert "accepted            1" in done.stdout and "rejected            0" in done.stdout
