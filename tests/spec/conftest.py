"""Helpers for reading openapi.yaml the way an independent consumer would."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

HTTP_METHODS = ("get", "put", "post", "patch", "delete")
ROOT = Path(__file__).resolve().parents[2]
# Treat the install stamps as up to date: the copy must never reinstall into the shared venv.
MAKE = ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", "node_modules/.installed"]


def iter_operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield ``(path, method, operation)`` for every operation."""
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (one level is all this spec uses)."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def oas_validator(spec: dict[str, Any], schema: dict[str, Any]) -> OAS30Validator:
    """An OAS 3.0 validator (openapi-schema-validator) for ``schema`` inside ``spec``."""
    root = dict(schema)
    root["components"] = spec["components"]
    return OAS30Validator(root)


@pytest.fixture(scope="session")
def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return list(iter_operations(spec))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A throw-away git repository of this checkout's files, sharing its .venv and node_modules."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    copy = tmp_path / "repo"
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for shared in (".venv", "node_modules"):
        (copy / shared).symlink_to(ROOT / shared)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "copy"]):
        subprocess.run(command, cwd=copy, check=True, env=env)
    return copy


def make(repo: Path, target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MAKE, target], cwd=repo, capture_output=True, text=True, timeout=300)
