"""Helpers for the cross-language client tests: build each client once, run its check program.

``tools/clients.py`` builds (or reuses from ``build/clients/``) the Go, TypeScript and pydantic
clients; a build failure fails every test of that language with the failed step in the message.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNABLE = ("go", "typescript", "pydantic")
"""Languages whose generated client is compiled and run here (Java and Kotlin are generated only)."""


def load_tool(name: str) -> ModuleType:
    """Import tools/<name>.py (tools/ is a folder of scripts, not a package)."""
    module_name = f"_tools_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, ROOT / "tools" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


clients = load_tool("clients")
EXAMPLES = clients.spec_examples.load()


@cache
def _build(language: str) -> str:
    return str(clients.build([language])[language])


def built(language: str) -> str:
    """Build one language's client (cached); fail the test naming the step that failed."""
    try:
        return _build(language)
    except clients.ClientBuildError as error:
        pytest.fail(f"{language} client: {error}", pytrace=False)


def run_check(language: str, *arguments: str, timeout: float = 120) -> Any:
    """Run a built client's check program and return the JSON it prints."""
    built(language)
    command = [*clients.command(language), *arguments]
    run = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if run.returncode != 0:
        pytest.fail(
            f"{language} client: {' '.join(command[:2])} failed (exit {run.returncode}):\n{run.stderr}"
        )
    return json.loads(run.stdout)


def same_json(left: Any, right: Any) -> bool:
    """Equal as JSON values, with integers and decimals told apart (2 is not 2.0, 1 is not true)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same_json(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(same_json(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


@pytest.fixture(scope="session")
def examples_file() -> Path:
    return Path(clients.write_examples())
