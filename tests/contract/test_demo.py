"""The demo ``make demo`` ends with: every operation, two typed errors, exit status 0 only if all is well."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from jiguang_growth import demo

ROOT = Path(__file__).resolve().parents[2]
ENV_NAMES = ("JIGUANG_PROJECT_ID", "JIGUANG_PROJECT_SECRET", "JIGUANG_GROWTH_BASE_URL")


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() sets the client's variables in the process; keep them out of the other tests."""
    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if k not in ENV_NAMES})


def test_the_demo_runs_every_operation_and_shows_typed_errors() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    done = subprocess.run(
        [sys.executable, "-m", "jiguang_growth.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    for heading in (
        "getCuids  POST /smartop/api/v1/user/register",
        "reportEvents  POST /smartop/api/v1/events/report",
        "setUserAttributes  PUT /smartop/api/v1/user/attribute",
        "setUserChannels  PUT /smartop/api/v1/user/channel/batch",
    ):
        assert heading in out
    for call in (
        "client.get_cuids(",
        "client.report_events(",
        "client.set_user_attributes(",
        "client.set_user_channels(",
    ):
        assert call in out
    assert "CuidResult(identity_value='18012345678', cuid=10000000001, error_code=0)" in out
    assert 'ReportEventsResult {"accepted": 1, "duplicates": 0}' in out
    assert "RequestValidationError (before sending)" in out
    assert "rule='pattern'" in out
    assert "BadRequestError (answered by the server)" in out
    assert "status_code=400 code=40003" in out
    assert '"nickname": "小明"' in out  # readable, not escaped
    assert out.rstrip().endswith("demo OK")
    assert "sandbox-secret" not in out + done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.usefixtures("environ")
def test_the_demo_exits_1_when_a_step_goes_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    # An attribute the sandbox does not define makes the set_user_attributes step fail.
    monkeypatch.setattr(demo, "ATTRIBUTES", {"not_defined_here": 1})
    out = io.StringIO()

    assert demo.main([], out) == 1
    assert "demo FAILED: DemoError: BadRequestError" in out.getvalue()
    assert "demo OK" not in out.getvalue()


@pytest.mark.usefixtures("environ")
def test_the_demo_exits_1_with_a_clear_message_when_its_port_is_taken() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        out = io.StringIO()
        assert demo.main(["--port", str(busy.getsockname()[1])], out) == 1
    assert "demo FAILED: PortInUseError" in out.getvalue()


def test_make_demo_sets_up_validates_regenerates_checks_drift_then_runs_the_demo() -> None:
    # A dry run (make -n) lists the commands in order without running them; the install stamps
    # count as up to date so that nothing would be installed either.
    done = subprocess.run(
        [
            "make",
            "-n",
            "--no-print-directory",
            "-o",
            ".venv/.installed",
            "-o",
            "node_modules/.installed",
            "demo",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    steps = [
        "openapi-spec-validator openapi.yaml",
        "spectral lint",
        "codegen/generate.py",
        "git status --porcelain --untracked-files=all -- generated/",
        "-m jiguang_growth.demo",
    ]
    positions = [done.stdout.find(step) for step in steps]
    assert -1 not in positions, done.stdout
    assert positions == sorted(positions)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\ndemo: setup " in makefile
