"""An independent consumer: Stoplight Prism (pinned in package.json) mocks openapi.yaml.

Prism parses the spec its own way, serves its examples and validates requests and credentials
against it. These tests speak raw HTTP to it; tests/contract/test_prism_clients.py runs the
generated client and the overlays against the same mock (started and stopped by the shared
``prism`` fixture of tests/contract/prism.py, by PID, on a free 127.0.0.1 port).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ..contract.prism import prism

__all__ = ["prism"]  # the shared fixture, imported so that pytest finds it here

pytestmark = pytest.mark.prism

AUTH = ("100102", "any-secret")


def _examples(spec: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    values = []
    for example in media["examples"].values():
        if "$ref" in example:
            example = spec["components"]["examples"][example["$ref"].rsplit("/", 1)[1]]
        values.append(example["value"])
    return values


def test_prism_serves_every_operation_from_the_spec(prism: str, spec: dict[str, Any]) -> None:
    operations = [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    assert len(operations) == 4
    for path, method, operation in operations:
        request = operation["requestBody"]["content"]["application/json"]
        for body in _examples(spec, request):
            answer = httpx.request(method, prism + path, json=body, auth=AUTH, timeout=10)
            assert answer.status_code == 200, (operation["operationId"], answer.text)
            ok = operation["responses"]["200"]["content"]["application/json"]
            assert answer.json() in _examples(spec, ok)
            assert answer.json()["code"] == 0


def test_prism_enforces_basic_auth_from_the_spec(prism: str) -> None:
    answer = httpx.post(
        prism + "/user/register", json={"identityName": "phone", "identityValues": ["1"]}, timeout=10
    )
    assert answer.status_code == 401


def test_prism_validates_requests_against_the_spec(prism: str) -> None:
    too_many = {"identityName": "phone", "identityValues": [str(n) for n in range(101)]}
    answer = httpx.post(prism + "/user/register", json=too_many, auth=AUTH, timeout=10)
    assert 400 <= answer.status_code < 500
    assert "identityValues" in answer.headers.get("sl-violations", "")

    not_an_array = {"cuid": 1, "channels": [{"id": 1, "channelValues": {"默认联系": "1"}}]}
    answer = httpx.put(prism + "/user/channel/batch", json=not_an_array, auth=AUTH, timeout=10)
    assert 400 <= answer.status_code < 500
    assert "array" in answer.headers.get("sl-violations", "")
