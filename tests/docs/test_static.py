"""CI gate: the sharing tools pass mypy --strict, and they and these tests pass ruff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

BIN = Path(sys.executable).parent
COMMANDS = {
    "mypy-strict-tools": [str(BIN / "mypy"), "--strict", "tools"],
    "ruff-check": [str(BIN / "ruff"), "check", "tools", "tests/docs"],
    "ruff-format": [str(BIN / "ruff"), "format", "--check", "tools", "tests/docs"],
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_static_checks_pass(name: str) -> None:
    command = COMMANDS[name]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
