"""``jiguang-growth sandbox``: started in a subprocess, used over HTTP, stopped by its PID."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import httpx
import pytest

from jiguang_growth import cli
from jiguang_growth.sandbox import FaultConfig, NetworkConfig, PortInUseError, SandboxConfig, run_sandbox
from jiguang_growth.sandbox import _cli as sandbox_cli

COMMAND = [sys.executable, "-m", "jiguang_growth.cli"]


class Running:
    """A CLI process whose stdout is read line by line in the background."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.process.stdout is not None
        stdout = self.process.stdout
        threading.Thread(target=lambda: [self.lines.put(line) for line in stdout], daemon=True).start()

    def read_until(self, marker: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while not any(marker in line for line in self.seen):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.process.poll() is not None and self.lines.empty()):
                raise AssertionError(f"no {marker!r} in the output: {self.seen}; stderr: {self.stderr()}")
            with contextlib.suppress(queue.Empty):
                self.seen.append(self.lines.get(timeout=min(remaining, 0.2)))
        return "".join(self.seen)

    def stderr(self) -> str:
        if self.process.poll() is None:
            return ""
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=20)


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for proc in started:
        if proc.process.poll() is None:
            proc.process.kill()
            proc.process.wait(timeout=10)


def field(output: str, name: str) -> str:
    match = re.search(rf"^\s+{name}\s+(\S+)", output, re.MULTILINE)
    assert match, output
    return match.group(1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_sandbox_command_prints_its_url_and_credentials_serves_and_stops_cleanly(
    running: list[Running], sig: int
) -> None:
    proc = Running("sandbox", "--port", "0", "--project-id", "4242", "--project-secret", "cli-secret-42")
    running.append(proc)
    output = proc.read_until("Press Ctrl-C")

    base_url = re.search(r"listening on (http://127\.0\.0\.1:\d+)$", output, re.MULTILINE)
    assert base_url, output
    assert field(output, "API base URL") == base_url.group(1) + "/smartop/api/v1"
    assert field(output, "project id") == "4242"
    assert field(output, "project secret") == "cli-secret-42"
    assert f"JIGUANG_GROWTH_BASE_URL={base_url.group(1)}" in output

    api = field(output, "API base URL")
    answer = httpx.post(
        api + "/user/register",
        json={"identityName": "phone", "identityValues": ["18012345678"]},
        auth=("4242", "cli-secret-42"),
    )
    state = httpx.get(base_url.group(1) + "/_sandbox/state", auth=("4242", "cli-secret-42"))
    assert answer.json()["code"] == 0
    assert state.json()["data"]["identities"] == {"phone": {"18012345678": answer.json()["data"][0]["cuid"]}}

    assert proc.stop(sig) == 0
    assert "stopped" in proc.read_until("stopped")
    assert "Traceback" not in proc.stderr()
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url.group(1) + "/_sandbox/state", timeout=2)


EXPORTS = re.compile(r"^export JIGUANG_\w+=.+$", re.MULTILINE)


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_the_printed_export_lines_pasted_alone_into_a_shell_point_a_client_at_the_sandbox(
    running: list[Running], shell: str
) -> None:
    """What a newcomer does: copy the printed lines (nothing else) into a new shell, run a script there."""
    proc = Running("sandbox", "--port", "0", "--project-secret", "s3cret with space")
    running.append(proc)
    output = proc.read_until("Press Ctrl-C")
    pasted = "\n".join(EXPORTS.findall(output))
    assert pasted.count("export ") == 3, output
    assert "POSIX shell" in output
    script = (
        "from jiguang_growth import GrowthClient\n"
        "with GrowthClient() as client:\n"
        "    print(client.get_cuids('phone', ['18012345678'])[0].cuid)\n"
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith("JIGUANG_")}
    done = subprocess.run(
        [shell, "-c", f"{pasted}\n{shlex.quote(sys.executable)} -c {shlex.quote(script)}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0


def test_docs_show_the_banner_the_command_prints(running: list[Running]) -> None:
    proc = Running("sandbox", "--port", "0")
    running.append(proc)
    output = proc.read_until("Press Ctrl-C")
    port = re.search(r"listening on http://127\.0\.0\.1:(\d+)$", output, re.MULTILINE)
    assert port, output
    printed = output.replace(f"127.0.0.1:{port.group(1)}", "127.0.0.1:8765")
    docs = (Path(__file__).parents[2] / "docs" / "sandbox.md").read_text(encoding="utf-8")
    shown = re.search(
        r"```\n(jiguang-growth sandbox listening on .*?Press Ctrl-C to stop\.\n)```", docs, re.S
    )
    assert shown, "docs/sandbox.md lost its banner block"
    assert shown.group(1) == printed


def test_options_reach_the_running_sandbox(running: list[Running], tmp_path: Path) -> None:
    settings = tmp_path / "sandbox.json"
    settings.write_text(
        json.dumps({"identity_names": ["phone"], "project_secret": "from-file"}), encoding="utf-8"
    )
    proc = Running("sandbox", "--port", "0", "--config", str(settings), "--qps", "2", "--error-rate", "503=1")
    running.append(proc)
    api = field(proc.read_until("Press Ctrl-C"), "API base URL")
    auth = ("100102", "from-file")

    with httpx.Client(base_url=api, auth=auth) as http:
        statuses = [
            http.post("/user/register", json={"identityName": "phone", "identityValues": ["1"]}).status_code
            for _ in range(3)
        ]
    assert statuses == [503, 503, 429]
    assert proc.stop() == 0


def test_a_busy_port_is_a_clear_error_with_exit_status_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        done = subprocess.run(
            [*COMMAND, "sandbox", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        expected = f"port {port} on 127.0.0.1 is already in use"
        with pytest.raises(PortInUseError, match=expected), run_sandbox(port=port):
            pass

    assert done.returncode == 2
    assert time.monotonic() - started < 20
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.com"])
def test_non_loopback_hosts_are_refused_unless_allowed(host: str) -> None:
    status = cli.main(["sandbox", "--host", host, "--port", "0"])
    assert status == 2


def test_non_loopback_refusal_explains_itself(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sandbox", "--host", "0.0.0.0"]) == 2
    assert "refusing to listen on '0.0.0.0'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--error-rate", "503"], "STATUS=RATE"),
        (["--error-rate", "503=0.7", "--drop-rate", "0.5"], "add up to 1.2"),
        (["--qps", "0"], "at least 1"),
        (["--config", "/no/such/file.json"], "No such file"),
    ],
)
def test_bad_options_are_clear_errors_with_status_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert cli.main(["sandbox", "--port", "0", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("jiguang-growth sandbox: error: bad sandbox settings")


def test_options_map_onto_the_configuration(tmp_path: Path) -> None:
    settings = tmp_path / "sandbox.json"
    settings.write_text(json.dumps({"faults": {"error_rates": {"500": 0.1}, "seed": 1}}), encoding="utf-8")
    args = cli.build_parser().parse_args(
        [
            "sandbox",
            "--config",
            str(settings),
            "--project-id",
            "9",
            "--no-strict-attributes",
            "--seed",
            "4",
            "--latency-ms",
            "20",
            "--latency-jitter-ms",
            "5",
            "--error-rate",
            "503=0.05",
            "--error-rate",
            "429=0.02",
            "--malformed-rate",
            "0.1",
            "--malformed-kinds",
            "truncated",
            "--drop-rate",
            "0.01",
            "--timeout-after-receipt-rate",
            "0.03",
            "--hang-seconds",
            "2",
        ]
    )
    config = sandbox_cli.sandbox_config(args)

    assert config.project_id == "9"
    assert config.strict_attributes is False
    faults = config.faults
    assert (faults.seed, faults.latency_ms, faults.latency_jitter_ms) == (4, 20, 5)
    assert dict(faults.error_rates) == {429: 0.02, 500: 0.1, 503: 0.05}
    assert (faults.malformed_rate, faults.malformed_kinds) == (0.1, ("truncated",))
    assert (faults.drop_rate, faults.timeout_after_receipt_rate, faults.hang_seconds) == (0.01, 0.03, 2)


def test_usage_without_a_command_or_with_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "sandbox" in capsys.readouterr().err
    assert cli.main(["sandbox", "--help"]) == 0
    out = capsys.readouterr().out
    for option in (
        "--port",
        "--project-secret",
        "--qps",
        "--config",
        "--latency-ms",
        "--error-rate",
        "--seed",
    ):
        assert option in out


def test_new_subcommands_plug_in_through_the_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--name")

    def run(args: argparse.Namespace) -> int:
        if args.name == "bad":
            raise cli.CommandError("bad name", status=3)
        print(f"hello {args.name}")
        return 0

    monkeypatch.setattr(
        cli, "COMMANDS", [*cli.COMMANDS, cli.Command("hello", "say hello", add_arguments, run)]
    )

    assert cli.main(["hello", "--name", "growth"]) == 0
    assert capsys.readouterr().out == "hello growth\n"
    assert cli.main(["hello", "--name", "bad"]) == 3
    assert capsys.readouterr().err == "jiguang-growth hello: error: bad name\n"


def test_the_console_script_is_declared() -> None:
    scripts = {e.name: e.value for e in metadata.entry_points(group="console_scripts")}
    assert scripts["jiguang-growth"] == "jiguang_growth.cli:main"


def test_the_access_log_goes_to_stderr_and_leaves_stdout_to_the_banner(running: list[Running]) -> None:
    proc = Running("sandbox", "--port", "0", "--access-log")
    running.append(proc)
    api = field(proc.read_until("Press Ctrl-C"), "API base URL")
    httpx.post(api + "/user/register", json={}, auth=("100102", "sandbox-secret"))

    assert proc.stop() == 0
    stdout = proc.read_until("stopped")
    assert '"POST /smartop/api/v1/user/register HTTP/1.1" 400' in proc.stderr()
    assert "/user/register HTTP" not in stdout


def test_ipv6_loopback_and_localhost_work() -> None:
    with run_sandbox(host="::1") as six, run_sandbox(host="localhost") as four:
        assert six.base_url == f"http://[::1]:{six.port}"
        assert four.base_url.startswith("http://127.0.0.1:")
        for sandbox in (six, four):
            answer = httpx.get(sandbox.state_url, auth=sandbox.auth)
            assert answer.json()["code"] == 0


def test_every_behaviour_and_fault_option_sets_the_configuration_field_it_is_named_after() -> None:
    parser = argparse.ArgumentParser()
    sandbox_cli.SANDBOX_COMMAND.add_arguments(parser)
    serving = {
        "help",
        "host",
        "port",
        "allow_non_loopback",
        "allowed_hosts",
        "config",
        "log_level",
        "access_log",
    }
    settings = {action.dest for action in parser._actions} - serving
    shorthands = {"rtt_ms", "rtt_jitter_ms"}  # half each way: NetworkConfig.round_trip
    fields = {
        f.name
        for config in (SandboxConfig, FaultConfig, NetworkConfig)
        for f in dataclasses.fields(config)  # type: ignore[arg-type]
    }
    assert settings - fields - shorthands == set()
    assert "qps_limit" in settings and "error_rates" in settings and "hang_seconds" in settings


def test_the_command_takes_what_survived_out_of_the_collectors_reach() -> None:
    """The records the sandbox keeps must not be walked by every full collection (they stall the
    server and bunch arrivals); young garbage is collected first, so it is not kept for good."""
    import gc
    import weakref

    from jiguang_growth.sandbox import _cli

    class Node:
        link: object = None

    gc.unfreeze()
    try:
        kept = [[n] for n in range(2000)]  # containers the collector tracks
        cycle = Node()
        cycle.link = cycle  # a young cycle, unreachable once the name is dropped
        gone = weakref.ref(cycle)
        del cycle
        before = gc.get_freeze_count()
        _cli.freeze_long_lived()
        assert gc.get_freeze_count() >= before + len(kept)
        assert gone() is None  # collected, not frozen for good
    finally:
        gc.unfreeze()
