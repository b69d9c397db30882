"""Find a decimal such as ``1.0`` where openapi.yaml wants an integer.

fastjsonschema follows draft-7 JSON Schema, under which ``1.0`` counts as an integer;
OpenAPI 3.0 readers (openapi-core, every generated client with an ``int64`` field) refuse it.
:func:`jiguang_growth._validation.validate_schema` asks this walk after fastjsonschema
accepted a body that the fast check did not, so the client refuses such a body before
sending it, and the sandbox, which validates with the same function, refuses it too.
A decimal is accepted wherever some branch of an ``anyOf``/``oneOf`` takes a number.
"""

from __future__ import annotations

from typing import Any

from .. import _spec

__all__ = ["decimal_for_integer"]


def decimal_for_integer(schema_name: str, body: Any) -> str | None:
    """The JSON path of the first decimal in ``body`` where the schema says integer, or None."""
    return _find({"$ref": f"#/components/schemas/{schema_name}"}, body, "body")


def _resolve(schema: Any) -> dict[str, Any]:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = _spec.schema(schema["$ref"].rsplit("/", 1)[-1])
    return schema if isinstance(schema, dict) else {}


def _find(schema: Any, value: Any, path: str) -> str | None:
    """The path of the first decimal in ``value`` where ``schema`` wants an integer, or None."""
    node = _resolve(schema)
    found = _find_in_all_of(node.get("allOf", []), value, path)
    if found is not None:
        return found
    branches = node.get("anyOf", []) + node.get("oneOf", [])
    if branches:
        return _find_in_branches(branches, value, path)
    if isinstance(value, float):  # only a number schema takes it (the validator checked the rest)
        return None if node.get("type", "number") == "number" else path
    if isinstance(value, list):
        return _find_in_items(node, value, path)
    if isinstance(value, dict):
        return _find_in_properties(node, value, path)
    return None


def _find_in_all_of(parts: list[Any], value: Any, path: str) -> str | None:
    """The first decimal that one of the ``allOf`` parts refuses."""
    for part in parts:
        found = _find(part, value, path)
        if found is not None:
            return found
    return None


def _find_in_branches(branches: list[Any], value: Any, path: str) -> str | None:
    """A decimal refused by every ``anyOf``/``oneOf`` branch (the first branch's path), else None."""
    misses = [_find(branch, value, path) for branch in branches]
    return None if None in misses else misses[0]


def _find_in_items(node: dict[str, Any], value: list[Any], path: str) -> str | None:
    """The first decimal among the items of an array."""
    if "items" not in node:
        return None
    for index, item in enumerate(value):
        found = _find(node["items"], item, f"{path}[{index}]")
        if found is not None:
            return found
    return None


def _find_in_properties(node: dict[str, Any], value: dict[str, Any], path: str) -> str | None:
    """The first decimal among the values of an object, under its properties or additionalProperties."""
    properties = node.get("properties", {})
    extra = node.get("additionalProperties")
    for key, item in value.items():
        child = properties.get(key, extra if isinstance(extra, dict) else None)
        found = None if child is None else _find(child, item, f"{path}.{key}")
        if found is not None:
            return found
    return None
