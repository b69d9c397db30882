"""docs/spec.md's "Adding an operation", done in a throw-away copy of the repository.

Two path items are copied, text for text, under a new path and operationId: ``setUserChannels``
(replay-safe) and ``setUserAttributes`` (not). After ``make generate`` and nothing else, the
copy of each has a method on both clients that sends the same requests as the original's and
ends the same way, over real sockets, for every scenario of operation_twins.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import make

TWINS = Path(__file__).with_name("operation_twins.py")
COPIES = {
    "setUserChannels": ("/user/channel/batch", "/user/channel/batch-copy", "setUserChannelsCopy"),
    "setUserAttributes": ("/user/attribute", "/user/attribute-copy", "setUserAttributesCopy"),
}
"""original operationId -> (its path, the copy's path, the copy's operationId)."""


def copy_path_item(spec: str, path: str, new_path: str, operation_id: str, new_id: str) -> str:
    """Step 1 of the guide: the path item's text, under a new path and operationId, before ``components:``."""
    match = re.search(rf"^  {re.escape(path)}:\n(?:(?:    .*)?\n)+", spec, flags=re.MULTILINE)
    assert match is not None, path
    item = match.group(0)
    renamed = item.replace(f"  {path}:\n", f"  {new_path}:\n", 1).replace(
        f"operationId: {operation_id}\n", f"operationId: {new_id}\n", 1
    )
    assert renamed.count(new_id) == 1 and renamed.startswith(f"  {new_path}:")
    return spec.replace("\ncomponents:\n", f"\n{renamed.rstrip()}\ncomponents:\n".replace("\n\n", "\n"), 1)


@pytest.fixture
def twins(repo: Path) -> dict[str, Any]:
    spec = repo / "openapi.yaml"
    text = spec.read_text("utf-8")
    for original, (path, new_path, new_id) in COPIES.items():
        text = copy_path_item(text, path, new_path, original, new_id)
    spec.write_text(text, "utf-8")
    generated = make(repo, "generate")
    assert generated.returncode == 0, generated.stdout + generated.stderr
    environment = {**os.environ, "PYTHONPATH": f"{repo / 'overlays'}{os.pathsep}{repo / 'generated'}"}
    pairs = [f"{original}={new_id}" for original, (_, _, new_id) in COPIES.items()]
    done = subprocess.run(
        [sys.executable, str(TWINS), *pairs],
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_a_copied_operation_becomes_a_method_that_behaves_like_the_original(twins: dict[str, Any]) -> None:
    assert len(twins) == 2 * 2 * 6  # operations x clients x scenarios
    for case, runs in twins.items():
        assert runs["copy"] == runs["original"], case


def test_the_scenarios_did_what_they_are_for_and_replay_safety_told_the_two_apart(
    twins: dict[str, Any],
) -> None:
    """The comparison above is only worth something if the calls did what each scenario is for."""

    def seen(operation_id: str, kind: str, scenario: str) -> tuple[int, str]:
        run = twins[f"{operation_id}/{kind}/{scenario}"]["copy"]
        return len(run["requests"]), run["outcome"].get("result") or run["outcome"]["error"]

    for kind in ("sync", "async"):
        for operation_id in COPIES:
            result = f"{operation_id[0].upper()}{operation_id[1:]}Result"
            assert seen(operation_id, kind, "success") == (1, result)
            assert seen(operation_id, kind, "error envelope") == (1, "APIError")
            assert seen(operation_id, kind, "429 with Retry-After then 200") == (2, result)
            assert seen(operation_id, kind, "invalid body") == (1, "APIResponseError")
        # A write that may have been applied is resent only where x-replay-safe says so.
        assert seen("setUserChannels", kind, "503 then 200") == (2, "SetUserChannelsResult")
        assert seen("setUserChannels", kind, "closed without an answer") == (2, "SetUserChannelsResult")
        assert seen("setUserAttributes", kind, "503 then 200") == (1, "InternalServerError")
        assert seen("setUserAttributes", kind, "closed without an answer") == (1, "APIConnectionError")
    request = twins["setUserChannels/sync/success"]["copy"]["requests"][0]
    assert (request["method"], request["path"]) == ("PUT", "/smartop/api/v1/user/channel/batch")
