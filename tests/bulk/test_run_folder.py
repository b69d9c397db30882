"""A run folder's files are private, and links planted in it are never followed (over a real sandbox)."""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jiguang_growth import GrowthClient, bulk
from jiguang_growth.sandbox import SandboxServer, run_sandbox

from .conftest import event


@pytest.fixture
def served() -> Iterator[tuple[SandboxServer, GrowthClient]]:
    """A sandbox of its own project over loopback HTTP, and a client of it."""
    with (
        run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}") as sandbox,
        GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url, timeout=5.0) as client,
    ):
        yield sandbox, client


def test_a_run_folder_and_its_files_are_private(
    served: tuple[SandboxServer, GrowthClient], tmp_path: Path
) -> None:
    sandbox, growth = served
    sandbox.faults.force("400")  # the first batch is refused, so rejected.jsonl and failures.jsonl exist
    folder = tmp_path / "run"
    old = os.umask(0o022)
    try:
        summary = bulk.report_events(growth, [event(1)], out_dir=folder, concurrency=1)
        summary = bulk.report_events(growth, [event(2)], out_dir=tmp_path / "second", concurrency=1)
    finally:
        os.umask(old)
    assert summary.accepted == 1
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["failures.jsonl", "journal.jsonl", "rejected.jsonl", "run.lock", "summary.json"]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == dict.fromkeys(files, 0o600)


@pytest.mark.parametrize("name", ["rejected.jsonl", "failures.jsonl", "summary.json"])
def test_a_link_planted_in_the_run_folder_is_not_followed(
    served: tuple[SandboxServer, GrowthClient], tmp_path: Path, name: str
) -> None:
    sandbox, growth = served
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / name).symlink_to(victim)
    sandbox.faults.force("400")
    with contextlib.suppress(bulk.OutputError):  # refusing to write through the link stops the run
        bulk.report_events(growth, [event(1), event(2)], out_dir=folder, concurrency=1)
    assert victim.read_text() == "precious\n"
