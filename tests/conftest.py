"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi.yaml"


def pytest_configure(config: pytest.Config) -> None:
    """Node tools run on the Node that package.json pins (node_modules/.bin/node), as under make."""
    node_bin = str(ROOT / "node_modules" / ".bin")
    if not os.environ.get("PATH", "").startswith(node_bin + os.pathsep):
        os.environ["PATH"] = f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    """openapi.yaml, parsed. Do not mutate it."""
    with SPEC_PATH.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document
