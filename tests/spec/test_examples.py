"""Every example in openapi.yaml validates against the schema it illustrates.

openapi-spec-validator does not look at examples, so this reads them with an
independent OAS 3.0 validator (openapi-schema-validator) and with the
project's own request validator.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jiguang_growth import _validation

from .conftest import iter_operations, oas_validator, resolve


def media_examples(spec: dict[str, Any], media: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if "example" in media:
        yield "example", media["example"]
    for name, example in media.get("examples", {}).items():
        yield name, resolve(spec, example)["value"]


def collect(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    """``(where, schema, value)`` for every example in the document."""
    found: list[tuple[str, dict[str, Any], Any]] = []
    for path, method, op in iter_operations(spec):
        media = op["requestBody"]["content"]["application/json"]
        for name, value in media_examples(spec, media):
            found.append((f"{method} {path} request {name}", media["schema"], value))
        for status, response in op["responses"].items():
            response = resolve(spec, response)
            for header_name, header in response.get("headers", {}).items():
                found.append(
                    (f"{method} {path} {status} header {header_name}", header["schema"], header["example"])
                )
            for media in response.get("content", {}).values():
                for name, value in media_examples(spec, media):
                    found.append((f"{method} {path} {status} {name}", media["schema"], value))

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "example" in node and ("type" in node or "$ref" in node or "anyOf" in node):
                found.append((where, node, node["example"]))
            for key, value in node.items():
                if key != "example":
                    walk(value, f"{where}.{key}")

    walk(spec["components"]["schemas"], "components.schemas")
    return found


def test_examples_were_found(spec: dict[str, Any]) -> None:
    # 4 requests, 4 x (2 success/failure + 3 error responses + 1 header), plus schema examples.
    assert len(collect(spec)) > 40


def test_every_example_matches_its_schema(spec: dict[str, Any]) -> None:
    failures = []
    for where, schema, value in collect(spec):
        errors = list(oas_validator(spec, schema).iter_errors(value))
        if errors:
            failures.append(f"{where}: {errors[0].message}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("operation_id", ["reportEvents", "setUserAttributes", "getCuids", "setUserChannels"])
def test_request_examples_pass_the_client_side_validator(spec: dict[str, Any], operation_id: str) -> None:
    op = next(op for _, _, op in iter_operations(spec) if op["operationId"] == operation_id)
    examples = list(media_examples(spec, op["requestBody"]["content"]["application/json"]))
    assert examples
    for _, value in examples:
        _validation.validate_request(operation_id, value)
