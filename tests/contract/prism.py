"""Stoplight Prism (pinned in package.json) as a mock server of openapi.yaml, for the tests.

Prism reads the spec on its own, answers with the spec's examples and checks
requests (body schemas, Basic credentials) against it: an independent reader of
the same document. It is started straight from ``node_modules/.bin`` (no npx,
no shell), so the PID we hold is the server's, on a port the OS picks on
127.0.0.1 (``-p 0``; Prism prints the port it got), and stopped by that PID.

Starting Prism takes seconds, so the test modules that use the ``prism``
fixture share one process for the whole session: import the fixture from here.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRISM = ROOT / "node_modules" / ".bin" / "prism"
SPEC = ROOT / "openapi.yaml"
START_TIMEOUT = 90.0
"""Generous: Prism's start is mostly Node loading modules, slow on a busy two-core machine."""

_LISTENING = re.compile(r"Prism is listening on (http://127\.0\.0\.1:\d+)")


@dataclass
class PrismMock:
    """A running ``prism mock``: its URL (paths are served without the servers' base path)."""

    url: str
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the server by its PID: SIGTERM, then SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_prism(spec: Path = SPEC) -> PrismMock:
    """Start ``prism mock spec`` on a free 127.0.0.1 port; return once it listens."""
    if not PRISM.exists():
        pytest.fail(f"{PRISM} is missing; run make setup")
    process = subprocess.Popen(
        [str(PRISM), "mock", str(spec), "-h", "127.0.0.1", "-p", "0"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:  # keeps draining the pipe for the server's whole life
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line)
            match = _LISTENING.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=read, name="prism-log", daemon=True).start()
    mock = PrismMock("", process, log)
    if not ready.wait(START_TIMEOUT) or not found or process.poll() is not None:
        mock.stop()
        pytest.fail("Prism did not start:\n" + "".join(log))
    mock.url = found[0]
    return mock


_shared: list[PrismMock] = []
_users = [0]


@pytest.fixture(scope="session")
def prism() -> Iterator[str]:
    """The URL of a Prism mock of openapi.yaml, one process for every module that imports this."""
    if not _shared:
        _shared.append(start_prism())
    _users[0] += 1
    try:
        yield _shared[0].url
    finally:
        _users[0] -= 1
        if _users[0] == 0:
            _shared.pop().stop()
