"""Helpers for reading openapi.yaml the way an independent consumer would."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from ..docs.conftest import copy_repo, make

__all__ = ["copy_repo", "make"]

HTTP_METHODS = ("get", "put", "post", "patch", "delete")


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
    copy = copy_repo(tmp_path / "repo")
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
