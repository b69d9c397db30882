"""Contract test: schemathesis, driven by openapi.yaml, against the live sandbox on loopback.

Every generated case (the spec's examples, the coverage phase's boundary
values, and fuzzing with both valid and invalid data) must get an answer that
conforms to openapi.yaml, under all of schemathesis' default checks.

Two settings of the harness, and why:

* The sandbox runs with ``strict_attributes=False`` and a rate limit it never
  reaches. Valid data must be accepted (``positive_data_acceptance``), but
  openapi.yaml cannot say which attributes exist in a console, and
  schemathesis sends cases back to back, far above 100 per second. The
  attribute rules and the limit have their own tests.
* openapi.yaml restricts attribute names with its ``x-key-pattern``
  extension, which schemathesis cannot see (it also ignores ``propertyNames``
  in OpenAPI 3.0), so its valid cases would carry names such as ``""`` that
  the spec forbids. The ``map_case`` hook below renames such keys in valid
  cases only, following the extension wherever the request schema declares
  it, just as ``jiguang_growth._validation`` enforces it. Invalid cases are
  left alone.

No check is excluded. The schemathesis version pinned here cannot use
``schemathesis.pytest.from_fixture`` under pytest 9 (it reads the removed
``request.node._nodeid``), so the schema is loaded at import and each call
gets the running sandbox's URL. The schema's own base URL points at a closed
loopback port, so a call can never leave this machine.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode

from jiguang_growth import _spec
from jiguang_growth.sandbox import DEFAULT_PROJECT_ID, DEFAULT_PROJECT_SECRET, SandboxServer, run_sandbox

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
DOCUMENT: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
MAX_EXAMPLES = 50
"""Fuzzing cases per operation; with the examples and coverage phases about 600 cases, ~15 s."""

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261128,
        "base-url": "http://127.0.0.1:9" + _spec.base_path(),  # discard port; calls pass the real URL
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
        "auth": {"basic": {"username": DEFAULT_PROJECT_ID, "password": DEFAULT_PROJECT_SECRET}},
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)

_SCHEMAS = DOCUMENT["components"]["schemas"]
_KEY_PATTERN = _spec.KEY_PATTERN_EXTENSION


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = _SCHEMAS[node["$ref"].rsplit("/", 1)[1]]
    return node


def conform_keys(value: Any, node: dict[str, Any]) -> Any:
    """``value`` with every object key that breaks its schema's ``x-key-pattern`` renamed."""
    node = _resolve(node)
    if isinstance(value, dict):
        pattern = node.get(_KEY_PATTERN)
        if pattern is not None:
            value = {
                key if re.search(pattern, key) else f"key_{index}": item
                for index, (key, item) in enumerate(value.items())
            }
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        return {
            key: conform_keys(item, properties.get(key) or (extra if isinstance(extra, dict) else {}))
            for key, item in value.items()
        }
    if isinstance(value, list) and "items" in node:
        return [conform_keys(item, node["items"]) for item in value]
    return value


@schema.hook
def map_case(context: Any, case: Any) -> Any:
    positive = case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
    if positive and isinstance(case.body, dict | list):
        content = case.operation.definition.raw["requestBody"]["content"]
        case.body = conform_keys(case.body, content["application/json"]["schema"])
    return case


SEEN: Counter[tuple[str, str, str]] = Counter()
"""(operation, phase, mode) -> cases run."""


@pytest.fixture(scope="module")
def contract_sandbox() -> Iterator[SandboxServer]:
    with run_sandbox(strict_attributes=False, qps_limit=1_000_000) as sandbox:
        yield sandbox


@schema.parametrize()
def test_every_answer_conforms_to_openapi_yaml(case: Any, contract_sandbox: SandboxServer) -> None:
    SEEN[(case.operation.label, case.meta.phase.name.value, case.meta.generation.mode.value)] += 1
    case.call_and_validate(base_url=contract_sandbox.api_url)


def test_the_run_covered_every_operation_with_valid_and_invalid_data(contract_sandbox: SandboxServer) -> None:
    if not SEEN:
        pytest.skip("runs after test_every_answer_conforms_to_openapi_yaml in the same session")
    for op in _spec.operations().values():
        label = f"{op.method} {op.path}"
        for phase in ("examples", "coverage", "fuzzing"):
            assert any(key[:2] == (label, phase) for key in SEEN), (label, phase)
        for mode in ("positive", "negative"):
            cases = sum(n for key, n in SEEN.items() if key[0] == label and key[2] == mode)
            assert cases >= 10, (label, mode, cases)
    statuses = Counter(r.status for r in contract_sandbox.state.requests())
    assert statuses[200] > 0
    assert statuses[400] > 0  # invalid cases were rejected ...
    assert statuses[401] > 0  # ... so were calls without or with wrong credentials
    assert statuses[405] > 0  # ... and wrong methods
    assert not [status for status in statuses if status is None or status >= 500]
    print(f"\nschemathesis cases: {sum(SEEN.values())}; sandbox requests: {statuses.total()}")
    for key, count in sorted(SEEN.items()):
        print("  ", *key, count)


def test_conform_keys_follows_the_extension_only_where_declared() -> None:
    body = {"cuid": 1, "data": {"": 1, "ok_name": 2, "Bad": 3}}
    fixed = conform_keys(body, {"$ref": "#/components/schemas/SetUserAttributesRequest"})
    assert fixed == {"cuid": 1, "data": {"key_0": 1, "ok_name": 2, "key_2": 3}}
    channels = [{"cuid": 1, "channels": [{"id": 2, "channelValues": {"默认联系": "x"}}]}]
    assert conform_keys(channels, {"$ref": "#/components/schemas/SetUserChannelsRequest"}) == channels
