"""An independent consumer: Stoplight Prism (pinned in package.json) mocks openapi.yaml.

Prism parses the spec its own way, serves its examples and validates requests and credentials
against it. The mock runs on a free 127.0.0.1 port, started straight from node_modules/.bin (no
npx, no shell) so the PID we hold is the server's, and is stopped by that PID.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import ROOT

pytestmark = pytest.mark.prism

PRISM = ROOT / "node_modules" / ".bin" / "prism"
AUTH = ("100102", "any-secret")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def prism() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [str(PRISM), "mock", str(ROOT / "openapi.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line)
            if "Prism is listening" in line:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(60) or process.poll() is not None:
            pytest.fail("Prism did not start:\n" + "".join(log))
        yield f"http://127.0.0.1:{port}"  # Prism serves the paths without the servers' base path
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


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
