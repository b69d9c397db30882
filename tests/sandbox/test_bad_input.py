"""Every malformed request gets the envelope with a non-zero code, never a traceback, never a hang."""

from __future__ import annotations

import base64
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jiguang_growth import _spec
from jiguang_growth.sandbox import SandboxServer

from .conftest import METHOD, OPS, PATH, VALID_BODIES, assert_envelope, call, event, send_raw

ALL_OPS = sorted(OPS)


# --- authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize("operation_id", ALL_OPS)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(b"100102:wrong").decode(),
        "Basic " + base64.b64encode(b"999:sandbox-secret").decode(),
        "Basic not-base64!",
        "Bearer sandbox-secret",
    ],
    ids=["missing", "wrong-secret", "wrong-project", "malformed", "not-basic"],
)
def test_missing_or_wrong_credentials_get_401_with_the_basic_challenge(
    sandbox: SandboxServer, operation_id: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with httpx.Client(base_url=sandbox.api_url, headers=headers) as anonymous:
        response = call(anonymous, operation_id, VALID_BODIES[operation_id])

    payload = assert_envelope(response, 401, 40100)
    assert response.headers["www-authenticate"].startswith("Basic ")
    assert sandbox.project_secret not in payload["msg"]
    assert sandbox.state.snapshot().events == ()
    assert sandbox.state.requests()[-1].applied is False


@pytest.mark.growth_sandbox(project_id="42", project_secret="Z7Ls8-WdOvZp")
def test_configured_credentials_are_the_ones_accepted(sandbox: SandboxServer) -> None:
    default = ("100102", "sandbox-secret")
    with httpx.Client(base_url=sandbox.api_url) as http:
        accepted = http.post(PATH["getCuids"], json=VALID_BODIES["getCuids"], auth=("42", "Z7Ls8-WdOvZp"))
        refused = http.post(PATH["getCuids"], json=VALID_BODIES["getCuids"], auth=default)

    assert accepted.json()["code"] == 0
    assert_envelope(refused, 401, 40100)


# --- bodies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"", b"   ", b"{bad", b'{"data": [', b"\xff\xfe{}", b"NaN", b'{"cuid": Infinity}', b"1e400"],
    ids=["empty", "blank", "bad-json", "truncated", "not-utf8", "nan", "infinity", "overflow"],
)
@pytest.mark.parametrize("operation_id", ALL_OPS)
def test_bodies_that_are_not_json_get_400(
    sandbox: SandboxServer, client: httpx.Client, operation_id: str, content: bytes
) -> None:
    payload = assert_envelope(send_raw(client, operation_id, content), 400, 40001)
    assert "body" in payload["msg"]


def test_deeply_nested_json_gets_400_not_a_crash(client: httpx.Client) -> None:
    content = b"[" * 50_000 + b"]" * 50_000
    assert_envelope(send_raw(client, "setUserChannels", content), 400, 40001)


def test_a_content_type_other_than_json_gets_415(client: httpx.Client) -> None:
    response = client.post(
        PATH["getCuids"], content=b"identityName=phone", headers={"content-type": "text/plain"}
    )
    payload = assert_envelope(response, 415, 41500)
    assert "application/json" in payload["msg"]


def test_json_content_types_with_parameters_are_accepted(client: httpx.Client) -> None:
    body = b'{"identityName": "phone", "identityValues": ["1"]}'
    response = send_raw(client, "getCuids", body, **{"content-type": "application/json; charset=utf-8"})
    assert response.json()["code"] == 0


WRONG_BODIES: list[tuple[str, Any, str, str]] = [
    # (operation, body, field named in msg, rule)
    ("reportEvents", {"data": [event(cuid="10000091198")]}, "body.data[0].cuid", "type"),
    ("reportEvents", {"data": [event(n) for n in range(101)]}, "body.data", "maxItems"),
    ("reportEvents", {"data": []}, "body.data", "minItems"),
    ("reportEvents", {"data": [event(eventName="OpenApp")]}, "body.data[0].eventName", "pattern"),
    (
        "reportEvents",
        {"data": [event(properties={"PropertyA": "a"})]},
        "body.data[0].properties",
        "propertyNames",
    ),
    ("reportEvents", {"data": [event(itime=1654076420)]}, "body.data[0].itime", "minimum"),
    ("reportEvents", [event()], "body", "type"),
    ("setUserAttributes", {"cuid": 1, "data": {"UserLevel": 3}}, "body.data", "propertyNames"),
    ("setUserAttributes", {"cuid": True, "data": {"user_level": 3}}, "body.cuid", "type"),
    ("setUserAttributes", {"cuid": 1, "data": {}}, "body.data", "minProperties"),
    ("setUserAttributes", {"data": {"user_level": 3}}, "body", "required"),
    (
        "getCuids",
        {"identityName": "phone", "identityValues": ["x" * 257]},
        "body.identityValues[0]",
        "maxLength",
    ),
    (
        "getCuids",
        {"identityName": "phone", "identityValues": [str(n) for n in range(101)]},
        "body.identityValues",
        "maxItems",
    ),
    ("getCuids", {"identityName": "phone", "identityValues": "18012345678"}, "body.identityValues", "type"),
    ("setUserChannels", [VALID_BODIES["setUserChannels"][0]] * 101, "body", "maxItems"),
    (
        "setUserChannels",
        [{"cuid": 1, "channels": [{"id": 0, "channelValues": {"l": "v"}}]}],
        "body[0].channels[0].id",
        "minimum",
    ),
    ("setUserChannels", {"cuid": 1, "channels": []}, "body", "type"),
]


@pytest.mark.parametrize(
    ("operation_id", "body", "field", "rule"),
    WRONG_BODIES,
    ids=[f"{op}-{field}-{rule}" for op, _, field, rule in WRONG_BODIES],
)
def test_bodies_that_break_the_spec_get_400_naming_the_field_and_rule(
    sandbox: SandboxServer, client: httpx.Client, operation_id: str, body: Any, field: str, rule: str
) -> None:
    payload = assert_envelope(call(client, operation_id, body), 400, 40002)

    assert field in payload["msg"]
    assert f"rule: {rule}" in payload["msg"]
    assert payload["data"] == {"field": field, "rule": rule}
    snapshot = sandbox.state.snapshot()
    assert (snapshot.events, snapshot.identities, snapshot.attributes, snapshot.channels) == ((), {}, {}, {})


def test_a_batch_at_the_limit_is_accepted(sandbox: SandboxServer, client: httpx.Client) -> None:
    limit = OPS["reportEvents"].max_records
    response = call(client, "reportEvents", {"data": [event(n) for n in range(limit)]})

    assert response.json()["data"] == {"accepted": limit, "duplicates": 0}
    assert len(sandbox.state.events()) == limit


@pytest.mark.growth_sandbox(max_body_bytes=2000)
def test_bodies_over_the_size_limit_get_413_whether_announced_or_chunked(client: httpx.Client) -> None:
    big = b'{"identityName": "phone", "identityValues": ["' + b"x" * 5000 + b'"]}'

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 500):
            yield big[start : start + 500]

    announced = send_raw(client, "getCuids", big)
    chunked = client.post(PATH["getCuids"], content=chunks(), headers={"content-type": "application/json"})

    assert_envelope(announced, 413, 41300)
    assert_envelope(chunked, 413, 41300)
    assert "transfer-encoding" not in announced.request.headers
    assert chunked.request.headers["transfer-encoding"] == "chunked"


@pytest.mark.growth_sandbox(body_timeout_seconds=0.5)
def test_a_body_that_never_arrives_gets_408_instead_of_a_hang(sandbox: SandboxServer) -> None:
    token = base64.b64encode(b"100102:sandbox-secret").decode()
    head = (
        f"POST {OPS['getCuids'].full_path} HTTP/1.1\r\nHost: 127.0.0.1:{sandbox.port}\r\n"
        f"Authorization: Basic {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    ).encode()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        sock.sendall(head + b'{"identityName"')
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            piece = sock.recv(4096)
            if not piece:
                break
            answer += piece

    assert time.monotonic() - started < 3
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"code":40800' in answer


# --- paths and methods ----------------------------------------------------------------------------


@pytest.mark.parametrize("operation_id", ALL_OPS)
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def test_wrong_methods_get_405_with_allow(client: httpx.Client, operation_id: str, method: str) -> None:
    if method == METHOD[operation_id]:
        pytest.skip("the operation's own method")
    response = client.request(method, PATH[operation_id], json=VALID_BODIES[operation_id])

    assert response.status_code == 405
    assert response.headers["allow"] == METHOD[operation_id]
    if method != "HEAD":  # a HEAD answer has no body
        payload = assert_envelope(response, 405, 40500)
        assert METHOD[operation_id] in payload["msg"]


@pytest.mark.parametrize(
    "path",
    [
        "/smartop/api/v1/events",
        "/smartop/api/v1/events/report/",
        "/",
        "/v3/push",
        "/smartop/api/v2/user/register",
    ],
)
def test_unknown_paths_get_404(sandbox: SandboxServer, path: str) -> None:
    response = httpx.post(sandbox.base_url + path, json={}, auth=sandbox.auth)

    payload = assert_envelope(response, 404, 40400)
    assert _spec.base_path() in payload["msg"]


# --- the sandbox's own failures -------------------------------------------------------------------


def test_a_bug_in_the_sandbox_answers_500_envelope_without_the_traceback(
    sandbox: SandboxServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken(operation_id: str, body: Any) -> dict[str, Any]:
        raise KeyError("secret internals")

    monkeypatch.setattr(sandbox.state, "apply", broken)
    monkeypatch.setattr(sandbox.state, "try_apply", broken)  # the path of small bodies
    with caplog.at_level(logging.ERROR, logger="jiguang_growth.sandbox"):
        response = call(client, "getCuids", VALID_BODIES["getCuids"])

    payload = assert_envelope(response, 500, 50000)
    assert "secret internals" not in response.text
    assert "sandbox" in payload["msg"]
    assert any("secret internals" in record.getMessage() or record.exc_info for record in caplog.records)
    assert sandbox.state.requests()[-1].status == 500


def test_lone_surrogates_sent_escaped_come_back_escaped(client: httpx.Client) -> None:
    response = send_raw(client, "getCuids", b'{"identityName": "phone", "identityValues": ["a\\ud800b"]}')

    assert response.status_code == 200
    assert response.json()["data"][0]["identityValues"] == "a\ud800b"


def test_cors_preflight_from_a_loopback_origin_allows_auth_and_json(client: httpx.Client) -> None:
    response = client.options(
        PATH["reportEvents"],
        headers={
            "Origin": "http://127.0.0.1:8088",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )

    assert response.status_code == 200
    assert response.json()["code"] == 0
    assert response.headers["access-control-allow-origin"] == "http://127.0.0.1:8088"
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed
    assert "content-type" in allowed
    assert "PUT" in response.headers["access-control-allow-methods"]


def test_cors_answers_carry_the_origin_and_expose_retry_after(client: httpx.Client) -> None:
    response = client.post(
        PATH["getCuids"], json=VALID_BODIES["getCuids"], headers={"Origin": "http://localhost:3000"}
    )

    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "Retry-After" in response.headers["access-control-expose-headers"]


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1.evil.example:80"])
def test_cors_preflight_from_other_origins_gets_an_envelope_400(client: httpx.Client, origin: str) -> None:
    response = client.options(
        PATH["reportEvents"], headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )

    assert_envelope(response, 400, 40008)
    assert "access-control-allow-origin" not in response.headers
