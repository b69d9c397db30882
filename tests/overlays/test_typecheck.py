"""CI gate: mypy --strict and ruff are clean wherever ``make typecheck`` looks (generated code excluded)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent

ROOT = Path(__file__).resolve().parents[2]


COMMANDS = {
    "mypy": [str(BIN / "mypy")],
    "mypy-tools": [str(BIN / "mypy"), "--strict", "tools"],
    "mypy-benchmarks": [str(BIN / "mypy"), "--strict", "benchmarks"],
    "ruff-check": [str(BIN / "ruff"), "check", "."],
    "ruff-format": [str(BIN / "ruff"), "format", "--check", "."],
}


def _typecheck_recipe() -> list[str]:
    """The command lines of the Makefile's typecheck target."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("typecheck:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def test_make_typecheck_runs_exactly_these_checks() -> None:
    """CI (this file) and ``make typecheck`` check the same things: the whole tree for ruff."""
    expected = ["$(BIN)/" + " ".join([Path(command[0]).name, *command[1:]]) for command in COMMANDS.values()]
    assert _typecheck_recipe() == expected


@pytest.mark.parametrize("name", list(COMMANDS))
def test_static_checks_pass(name: str, root: Path) -> None:
    command = COMMANDS[name]
    if not Path(command[0]).exists():
        pytest.fail(f"{command[0]} is not installed; run make setup")
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"


def test_mypy_config_is_strict_and_excludes_only_the_generated_package(root: Path) -> None:
    import tomllib

    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["strict"] is True
    assert config["packages"] == ["jiguang_growth"]
    ignored = [o for o in config.get("overrides", []) if o.get("ignore_errors")]
    assert all(all(m.startswith("jiguang_growth_generated") for m in o["module"]) for o in ignored)
