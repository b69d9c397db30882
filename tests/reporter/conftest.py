"""A sandbox over real loopback HTTP, a client for it, and helpers to read what it stored."""

from __future__ import annotations

import collections
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jiguang_growth import GrowthClient
from jiguang_growth.sandbox import SandboxServer, run_sandbox

HERE = Path(__file__).resolve().parent
CHILD = [sys.executable, str(HERE / "child.py")]
"""A helper process that tracks events into a spool (see child.py)."""


def event(n: int, **extra: Any) -> dict[str, Any]:
    return {"cuid": 10000000000 + n, "eventName": "open_app", "itime": 1654076420772 + n, **extra}


def stored_ids(sandbox: SandboxServer) -> collections.Counter[str]:
    return collections.Counter(e["randomId"] for e in sandbox.state.events())


def stored_keys(sandbox: SandboxServer) -> collections.Counter[tuple[int, int]]:
    """Each stored event by its content (cuid, itime): a resend under a new randomId would count twice."""
    return collections.Counter((e["cuid"], e["itime"]) for e in sandbox.state.events())


def report_calls(sandbox: SandboxServer) -> int:
    return sum(1 for r in sandbox.state.requests() if r.operation == "reportEvents")


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox of its own project, so the process-wide pacers start empty."""
    with run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}") as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[GrowthClient]:
    with GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url, timeout=1.0) as growth:
        yield growth
