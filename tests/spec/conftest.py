"""Helpers for reading openapi.yaml the way an independent consumer would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

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
