"""Helpers for the sandbox tests: real loopback HTTP with httpx, nothing mocked.

Starting and stopping uvicorn costs about 0.2 s, so the tests of one module
share a sandbox (``sandbox``), with its state and faults reset before each
test and a rate limit high enough never to interfere. A test marked
``@pytest.mark.growth_sandbox(...)`` gets a fresh one with those settings,
started by the package's own pytest plugin; test_fixture.py tests the plugin.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jiguang_growth import _spec
from jiguang_growth.sandbox import SandboxServer, run_sandbox
from jiguang_growth.sandbox.pytest_plugin import MARKER

OPS = _spec.operations()
PATH = {name: op.path for name, op in OPS.items()}
"""operationId -> path below the base path, read from the spec."""
METHOD = {name: op.method for name, op in OPS.items()}

ITIME = 1654076420772


def event(n: int = 0, **fields: Any) -> dict[str, Any]:
    """A valid event; ``randomId`` is ``ev-<n>`` unless given (None removes it)."""
    body: dict[str, Any] = {
        "cuid": 10000091198,
        "eventName": "open_app",
        "itime": ITIME,
        "randomId": f"ev-{n}",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


VALID_BODIES: dict[str, Any] = {
    "reportEvents": {"appKey": "96441e4d73207a6517abfbbc", "data": [event(1)]},
    "setUserAttributes": {"cuid": 10362473, "data": {"user_level": 3}},
    "getCuids": {"identityName": "phone", "identityValues": ["18012345678"]},
    "setUserChannels": [
        {"cuid": 10362819, "channels": [{"id": 210, "channelValues": {"默认联系": "15088888888"}}]}
    ],
}
"""One valid request body per operation."""


def call(client: httpx.Client, operation_id: str, body: Any) -> httpx.Response:
    """Send ``body`` to an operation with its documented method."""
    return client.request(METHOD[operation_id], PATH[operation_id], json=body)


def send_raw(client: httpx.Client, operation_id: str, content: bytes, **headers: str) -> httpx.Response:
    """Send raw bytes as a JSON body."""
    return client.request(
        METHOD[operation_id],
        PATH[operation_id],
        content=content,
        headers={"content-type": "application/json", **headers},
    )


def assert_envelope(response: httpx.Response, status: int, code: int | None = None) -> dict[str, Any]:
    """The answer is a JSON envelope with this status and a non-zero (or this) code; no traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text
    payload = json.loads(response.content)
    assert isinstance(payload, dict)
    assert type(payload["code"]) is int
    assert isinstance(payload["msg"], str)
    if code is None:
        assert payload["code"] != 0
    else:
        assert payload["code"] == code
    return payload


def make_client(sandbox: SandboxServer, **kwargs: Any) -> httpx.Client:
    options: dict[str, Any] = {"base_url": sandbox.api_url, "auth": sandbox.auth, "timeout": 10.0}
    options.update(kwargs)
    return httpx.Client(**options)


SHARED_QPS = 1_000_000
"""The shared sandbox's rate limit: tests send calls back to back."""


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[SandboxServer]:
    with run_sandbox(qps_limit=SHARED_QPS) as server:
        yield server


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, shared_sandbox: SandboxServer) -> SandboxServer:
    """The module's shared sandbox, emptied; or a fresh one if the test has a growth_sandbox marker."""
    if request.node.get_closest_marker(MARKER) is not None:
        fresh: SandboxServer = request.getfixturevalue("growth_sandbox")
        return fresh
    shared_sandbox.state.reset()
    shared_sandbox.faults.clear()
    return shared_sandbox


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """An httpx client for ``sandbox``'s API, with its credentials."""
    with make_client(sandbox) as http:
        yield http
