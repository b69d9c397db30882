"""The Makefile's spec targets fail loudly on bad input and leave generated/ alone.

Each test works on a throw-away copy of the repository that shares this
checkout's .venv and node_modules.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import make

ROOT = Path(__file__).resolve().parents[2]
GENERATED = Path("generated/jiguang_growth_generated")


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


BROKEN = {
    "yaml-syntax": lambda text: text.replace("paths:\n", "paths: [\n", 1),
    # An operation without `responses` is not valid OpenAPI.
    "missing-responses": lambda text: text.replace("      responses:\n", "      x-responses:\n", 1),
    "dangling-ref": lambda text: text.replace(
        '$ref: "#/components/schemas/GetCuidsRequest"', '$ref: "#/components/schemas/NoSuchSchema"', 1
    ),
}


@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_broken_spec_fails_every_target_and_keeps_generated(repo: Path, breakage: str) -> None:
    spec = repo / "openapi.yaml"
    original = spec.read_text("utf-8")
    broken = BROKEN[breakage](original)
    assert broken != original, "the breakage did not apply"
    spec.write_text(broken, "utf-8")
    before = tree_digest(repo / GENERATED)
    for target in ("validate", "lint", "generate"):
        result = make(repo, target)
        assert result.returncode != 0, f"make {target} passed on a {breakage} spec"
        assert result.stdout.strip() or result.stderr.strip(), f"make {target} failed silently"
    assert tree_digest(repo / GENERATED) == before
    assert not list((repo / "generated").glob(".generate-*")), "a temporary folder was left behind"


def test_check_passes_on_a_clean_tree_and_names_drift(repo: Path) -> None:
    result = make(repo, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    spec = repo / "openapi.yaml"
    spec.write_text(
        spec.read_text("utf-8").replace("summary: Report behaviour events", "summary: Report user events"),
        "utf-8",
    )
    subprocess.run(
        ["git", "commit", "-qam", "spec only"],
        cwd=repo,
        check=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
    )
    result = make(repo, "check")
    assert result.returncode != 0
    assert "out of date" in result.stdout
    assert "generated/jiguang_growth_generated/operations.py" in result.stdout


def test_generate_is_byte_identical_across_runs(repo: Path) -> None:
    first = make(repo, "generate")
    assert first.returncode == 0, first.stderr
    digest = tree_digest(repo / GENERATED)
    second = make(repo, "generate")
    assert second.returncode == 0, second.stderr
    assert tree_digest(repo / GENERATED) == digest
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True)
    assert status.stdout == "", "regenerating a committed tree changed it"


def test_help_lists_every_target(repo: Path) -> None:
    result = make(repo, "help")
    for target in ("setup", "validate", "lint", "generate", "check", "test", "clean"):
        assert f"make {target} " in result.stdout
