"""Helpers for the tests of the sharing tools (tools/*.py) and the docs they build."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
TOOLS = ROOT / "tools"


def load_tool(name: str) -> ModuleType:
    """Import tools/<name>.py (tools/ is a folder of scripts, not a package)."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))  # the scripts import their shared tools/_common.py
    module_name = f"_tools_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


# `make` in a copy of the repository: the install stamps count as up to date, so the copy uses
# this checkout's .venv, node_modules and build/clients-venv (symlinked) and never reinstalls anything.
MAKE = [
    "make", "--no-print-directory", "-o", ".venv/.installed", "-o", "node_modules/.installed",
    "-o", "clients-setup",
]  # fmt: skip


def copy_repo(destination: Path) -> Path:
    """The checkout's files (tracked and untracked, not ignored) under ``destination``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for shared in (".venv", "node_modules", "build/clients-venv"):
        if (ROOT / shared).exists():
            (destination / shared).parent.mkdir(parents=True, exist_ok=True)
            (destination / shared).symlink_to(ROOT / shared)
    return destination


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")


def make(repo: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MAKE, *arguments], cwd=repo, capture_output=True, text=True, timeout=300)
