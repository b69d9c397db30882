"""CI gate: mypy --strict and ruff are clean wherever ``make typecheck`` looks (generated code excluded)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent

ROOT = Path(__file__).resolve().parents[2]


def _makefile_ruff_paths(subcommand: str) -> list[str]:
    """The folders ``make typecheck`` gives ruff, so CI checks the same ones."""
    prefix = f"\t$(BIN)/ruff {subcommand} "
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith(prefix):
            return [part for part in line[len(prefix) :].split() if not part.startswith("-")]
    raise AssertionError(f"no 'ruff {subcommand}' line in the Makefile's typecheck target")


COMMANDS = {
    "mypy": [str(BIN / "mypy")],
    "mypy-benchmarks": [str(BIN / "mypy"), "--strict", "benchmarks"],
    "ruff-check": [str(BIN / "ruff"), "check", *_makefile_ruff_paths("check")],
    "ruff-format": [str(BIN / "ruff"), "format", "--check", *_makefile_ruff_paths("format")],
}


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
