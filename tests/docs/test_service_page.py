"""docs/service.md, run as written: sandbox, the README's WSGI service and the ASGI example under
gunicorn --preload with two workers, curl, and the sandbox's state. Only the ports are swapped."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "service.md"
STEP = re.compile(r"<!-- step: ([\w-]+)(, runs until Ctrl-C)? -->\n```sh\n(.*?)```", re.S)


def python_block(path: Path, marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    (code,) = [block for block in blocks if marker in block]
    return str(code)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def steps(sandbox_port: int, app_port: int) -> dict[str, tuple[bool, str]]:
    found = {
        name: (bool(background), body.replace("8765", str(sandbox_port)).replace("8000", str(app_port)))
        for name, background, body in STEP.findall(PAGE.read_text(encoding="utf-8"))
    }
    assert list(found) == ["sandbox", "env", "serve", "post", "check", "serve-asgi", "post-asgi"]
    return found


class Shell:
    """The page's shell: commands run in ``folder`` with a clean environment (no JIGUANG_* set)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {name: value for name, value in os.environ.items() if not name.startswith("JIGUANG_")}
        self.started: list[subprocess.Popen[str]] = []

    def start(self, script: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            ["sh", "-c", script], cwd=self.folder, env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.started.append(process)
        return process

    def run(self, script: str) -> str:
        done = subprocess.run(
            ["sh", "-c", script], cwd=self.folder, env=self.env, text=True, capture_output=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def stop(self, process: subprocess.Popen[str]) -> None:
        """Ctrl-C, as the page says, to the process group the command started."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Shell]:
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "app.py").write_text(
        python_block(ROOT / "README.md", "def application(environ, start_response)")
    )
    (tmp_path / "asgi_app.py").write_text(
        python_block(ROOT / "docs" / "reporter.md", "async def application(scope, receive, send)")
    )
    page_shell = Shell(tmp_path)
    yield page_shell
    for process in page_shell.started:
        page_shell.stop(process)


def wait_for_line(process: subprocess.Popen[str], marker: str, timeout: float = 60) -> str:
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"no {marker!r} from {process.args}: {''.join(seen)}")


def wait_for_port(port: int, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def wait_for_output(shell: Shell, script: str, expected: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while (out := shell.run(script).strip()) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert out == expected


def codes(output: str) -> list[str]:
    return [line.rsplit(" ", 1)[-1] for line in output.strip().splitlines()]


def test_every_command_of_the_service_page_works_as_written(shell: Shell) -> None:
    sandbox_port, app_port = free_port(), free_port()
    page = steps(sandbox_port, app_port)
    env = page["env"][1]
    for name, (background, _) in page.items():
        assert background == (name in {"sandbox", "serve", "serve-asgi"}), name

    sandbox = shell.start(page["sandbox"][1])
    banner = wait_for_line(sandbox, "Press Ctrl-C")
    printed = [line for line in banner.splitlines() if line.startswith("export ")]
    assert printed == env.strip().splitlines()[:3]  # the page's lines are the ones the sandbox prints

    served = shell.start(env + page["serve"][1])
    wait_for_port(app_port, served)
    posted = shell.run(env + page["post"][1])
    assert codes(posted) == ["202", "400", "400"], posted
    assert "randomId" in posted.splitlines()[0]
    assert "eventName" in posted.splitlines()[2] and "pattern" in posted.splitlines()[2]
    wait_for_output(shell, page["check"][1], "['open_app']")
    shell.stop(served)
    spool = shell.folder / "growth-spool"
    assert stat_mode(spool) == 0o700 and not list(spool.glob("*.spool"))  # each worker flushed at exit

    served = shell.start(env + page["serve-asgi"][1])
    wait_for_port(app_port, served)
    posted = shell.run(env + page["post-asgi"][1])
    assert codes(posted) == ["202", "400"], posted
    wait_for_output(shell, page["check"][1], "['open_app', 'open_app']")
    shell.stop(served)
    shell.stop(sandbox)


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777
