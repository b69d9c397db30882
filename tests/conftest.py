"""Fixtures shared by every test folder."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi.yaml"


def pytest_configure(config: pytest.Config) -> None:
    """Node tools run on the Node that package.json pins, as under make (tools/_common.py decides how)."""
    spec = importlib.util.spec_from_file_location("_tools_common_node", ROOT / "tools" / "_common.py")
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))  # its import calls use_pinned_node()


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
