"""openapi-core, an independent OpenAPI 3.0 validator, agrees with the sandbox about real calls.

Real request/answer pairs are recorded against a sandbox on loopback (every operation, a
failure envelope, a 401, a 429, an injected 503 with ``Retry-After`` and a proxy's HTML 502)
and checked against openapi.yaml by ``clients/openapi_core_check.py`` in build/clients-venv.
Every pair must be described; two requests the spec forbids must be refused by both.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from jiguang_growth import _spec
from jiguang_growth.sandbox import SandboxServer

from .conftest import EXAMPLES, ROOT, built, clients

Exchange = dict[str, Any]


def _record(name: str, response: httpx.Response) -> Exchange:
    request = response.request
    return {
        "name": name,
        "request": {
            "url": str(request.url),
            "method": request.method,
            "headers": dict(request.headers),
            "body": request.content.decode(),
        },
        "response": {
            "status": response.status_code,
            "headers": dict(response.headers),
            "body": response.text,
        },
    }


def _validate(exchanges: list[Exchange], tmp_path: Path) -> dict[str, dict[str, list[str]]]:
    built("pydantic")  # the same venv; fails naming the install step when it is missing
    path = tmp_path / "exchanges.json"
    path.write_text(json.dumps(exchanges, ensure_ascii=False), encoding="utf-8")
    script = ROOT / "clients" / "openapi_core_check.py"
    run = subprocess.run(
        [str(clients.VENV / "bin" / "python"), str(script), str(ROOT / "openapi.yaml"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result: dict[str, dict[str, list[str]]] = json.loads(run.stdout)
    return result


DOCUMENTED = {e.operation: e.value for e in EXAMPLES if e.name == f"{e.operation} request documented"}
CALLS: list[tuple[str, str, Any, str | None]] = [
    *((f"{operation} 200", operation, DOCUMENTED[operation], None) for operation in sorted(DOCUMENTED)),
    ("setUserAttributes 400", "setUserAttributes", {"cuid": 10362473, "data": {"undefined_x": "x"}}, None),
    ("getCuids 429", "getCuids", DOCUMENTED["getCuids"], None),  # its limit of 1 call per second is used up
    ("setUserChannels 503", "setUserChannels", DOCUMENTED["setUserChannels"], "503"),
    ("setUserChannels 502 html", "setUserChannels", DOCUMENTED["setUserChannels"], "html"),
    ("reportEvents 401", "reportEvents", DOCUMENTED["reportEvents"], "wrong password"),
]
"""(name, operation, body, what goes wrong): every call is valid by the spec."""


@pytest.mark.growth_sandbox(qps_limits={"getCuids": 1})
def test_every_answer_the_sandbox_gives_is_described(growth_sandbox: SandboxServer, tmp_path: Path) -> None:
    exchanges = []
    wrong = httpx.BasicAuth(growth_sandbox.project_id, "wrong")
    with httpx.Client(base_url=growth_sandbox.api_url, auth=growth_sandbox.auth, timeout=10) as http:
        for name, operation, body, trouble in CALLS:
            op = _spec.operation(operation)
            if trouble in {"503", "html"}:
                growth_sandbox.faults.force(int(trouble) if trouble.isdigit() else trouble)
            auth = wrong if trouble == "wrong password" else growth_sandbox.auth
            exchanges.append(_record(name, http.request(op.method, op.path, json=body, auth=auth)))
    statuses = {e["name"]: e["response"]["status"] for e in exchanges}
    assert statuses == {name: int(name.split()[1]) for name, *_ in CALLS}, statuses
    assert "retry-after" in exchanges[-3]["response"]["headers"]
    assert exchanges[-2]["response"]["headers"]["content-type"].startswith("text/html")
    result = _validate(exchanges, tmp_path)
    undescribed = {name: errors["response"] for name, errors in result.items() if errors["response"]}
    assert not undescribed, f"openapi-core finds answers the spec does not describe: {undescribed}"
    refused = {name: errors["request"] for name, errors in result.items() if errors["request"]}
    assert not refused, f"openapi-core refuses requests the test meant to be valid: {refused}"


def test_requests_the_spec_forbids_are_refused_by_openapi_core_and_the_sandbox(
    growth_sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = _spec.operation("setUserAttributes").path
    json_body = {"content-type": "application/json"}
    with httpx.Client(base_url=growth_sandbox.api_url, auth=growth_sandbox.auth, timeout=10) as http:
        decimal = http.put(path, content=b'{"cuid": 1.0, "data": {"user_level": 3}}', headers=json_body)
        untyped = http.put(path, content=b'{"cuid": 1, "data": {"user_level": 3}}')
    assert (decimal.status_code, untyped.status_code) == (400, 415)
    result = _validate([_record("cuid 1.0", decimal), _record("no Content-Type", untyped)], tmp_path)
    assert result["cuid 1.0"]["request"], "openapi-core accepted cuid: 1.0"
    assert result["no Content-Type"]["request"], "openapi-core accepted a body without Content-Type"
