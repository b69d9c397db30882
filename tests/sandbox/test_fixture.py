"""The ``growth_sandbox`` pytest fixture, as a user's own test suite gets it, and import costs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import httpx

from jiguang_growth.sandbox import SandboxServer

USER_CONFTEST = """
import pytest
from jiguang_growth.sandbox import SandboxConfig

@pytest.fixture
def growth_sandbox_config():
    return SandboxConfig(project_secret="from-conftest", strict_attributes=False)
"""

USER_TESTS = """
import httpx
import pytest

PORTS = []

def test_a_sandbox_runs_for_the_test(growth_sandbox):
    PORTS.append(growth_sandbox.port)
    assert growth_sandbox.base_url.startswith("http://127.0.0.1:")
    assert growth_sandbox.project_secret == "from-conftest"
    answer = httpx.put(
        growth_sandbox.api_url + "/user/attribute",
        json={"cuid": 1, "data": {"anything_goes": 1}},
        auth=growth_sandbox.auth,
    )
    assert answer.json() == {"code": 0, "msg": "ok"}
    assert growth_sandbox.state.attributes(1) == {"anything_goes": 1}

@pytest.mark.growth_sandbox(qps_limit=1, project_secret="from-marker")
def test_the_marker_changes_settings(growth_sandbox):
    assert growth_sandbox.project_secret == "from-marker"
    body = {"identityName": "phone", "identityValues": ["1"]}
    first = httpx.post(growth_sandbox.api_url + "/user/register", json=body, auth=growth_sandbox.auth)
    second = httpx.post(growth_sandbox.api_url + "/user/register", json=body, auth=growth_sandbox.auth)
    assert (first.status_code, second.status_code) == (200, 429)

def test_the_previous_sandbox_is_gone(growth_sandbox):
    assert PORTS
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{PORTS[0]}/_sandbox/state", timeout=2)
"""


def test_the_plugin_is_registered_for_pytest() -> None:
    plugins = {e.name: e.value for e in metadata.entry_points(group="pytest11")}
    assert plugins["jiguang_growth_sandbox"] == "jiguang_growth.sandbox.pytest_plugin"


def test_a_users_test_suite_gets_the_fixture_without_any_setup(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(textwrap.dedent(USER_CONFTEST), encoding="utf-8")
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_the_fixture_in_this_suite(growth_sandbox: SandboxServer) -> None:
    answer = httpx.get(growth_sandbox.state_url, auth=growth_sandbox.auth)
    assert answer.json()["data"]["events"] == []
    assert growth_sandbox.running


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def test_importing_the_client_or_the_plugin_does_not_load_the_server_stack() -> None:
    loaded = run_python(
        "import sys, jiguang_growth, jiguang_growth.sandbox.pytest_plugin, jiguang_growth.sandbox, "
        "jiguang_growth.cli; print(sorted(m for m in ('starlette', 'uvicorn') if m in sys.modules))"
    )
    assert loaded == "[]"


def test_the_server_parts_load_on_first_use() -> None:
    loaded = run_python(
        "import sys, jiguang_growth.sandbox as s; s.run_sandbox; "
        "print(sorted(m for m in ('starlette', 'uvicorn') if m in sys.modules))"
    )
    assert loaded == "['starlette', 'uvicorn']"


def test_without_the_extra_the_error_says_what_to_install() -> None:
    out = run_python(
        "import sys\n"
        "sys.modules['starlette'] = None\n"
        "import jiguang_growth.sandbox as s\n"
        "try:\n    s.run_sandbox\nexcept ImportError as e:\n    print(e)\n"
    )
    assert "pip install 'jiguang-growth[sandbox]'" in out
