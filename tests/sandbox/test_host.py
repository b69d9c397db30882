"""The sandbox answers only to its own loopback names: a DNS-rebinding page gets 421 and changes nothing.

A page on evil.example that points its name at 127.0.0.1 makes the browser send
``Host: evil.example:PORT`` with the page's own origin, so CORS never applies;
only the ``Host`` check stops it.
"""

from __future__ import annotations

import base64
import socket

import httpx
import pytest

from jiguang_growth import cli
from jiguang_growth.sandbox import SandboxServer, SandboxStartError, run_sandbox
from jiguang_growth.sandbox._hosts import host_allowed

from .conftest import OPS, VALID_BODIES, assert_envelope, call

MISDIRECTED = 42100


def foreign_hosts(port: int) -> list[str]:
    return [
        f"evil.example:{port}",
        "evil.example",
        f"127.0.0.1.evil.example:{port}",
        f"localhost.evil.example:{port}",
        f"127.0.0.1:{port + 1}",  # another local service's port
        "127.0.0.1",  # no port means 80
        f"[::2]:{port}",
        f"10.0.0.1:{port}",
        "",
    ]


@pytest.mark.parametrize("index", range(9))
@pytest.mark.parametrize("operation_id", sorted(OPS))
def test_a_foreign_host_gets_421_and_nothing_is_stored(
    sandbox: SandboxServer, client: httpx.Client, operation_id: str, index: int
) -> None:
    host = foreign_hosts(sandbox.port)[index]
    op = OPS[operation_id]

    answer = client.request(op.method, op.path, json=VALID_BODIES[operation_id], headers={"Host": host})

    payload = assert_envelope(answer, 421, MISDIRECTED)
    assert "DNS rebinding" in payload["msg"]
    snapshot = sandbox.state.snapshot()
    assert (snapshot.events, snapshot.identities, snapshot.attributes, snapshot.channels) == ((), {}, {}, {})
    assert [(r.operation, r.status, r.applied) for r in snapshot.requests] == [(operation_id, 421, False)]


def test_a_foreign_host_cannot_read_the_state_view_or_pass_a_preflight(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    assert call(client, "getCuids", VALID_BODIES["getCuids"]).json()["code"] == 0
    evil = {"Host": f"evil.example:{sandbox.port}"}

    view = httpx.get(sandbox.state_url, auth=sandbox.auth, headers=evil, timeout=10)
    preflight = client.options(
        OPS["getCuids"].path,
        headers={
            **evil,
            "Origin": f"http://evil.example:{sandbox.port}",
            "Access-Control-Request-Method": "POST",
        },
    )

    assert_envelope(view, 421, MISDIRECTED)
    assert "18012345678" not in view.text
    assert_envelope(preflight, 421, MISDIRECTED)
    assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]"])
def test_loopback_names_with_the_port_are_served(
    sandbox: SandboxServer, client: httpx.Client, name: str
) -> None:
    answer = client.post(
        OPS["getCuids"].path, json=VALID_BODIES["getCuids"], headers={"Host": f"{name}:{sandbox.port}"}
    )

    assert answer.json()["code"] == 0
    view = httpx.get(sandbox.state_url, auth=sandbox.auth, headers={"Host": f"{name}:{sandbox.port}"})
    assert view.status_code == 200


def test_a_request_without_host_is_refused(sandbox: SandboxServer) -> None:
    token = base64.b64encode(":".join(sandbox.auth).encode()).decode()
    body = b'{"identityName": "phone", "identityValues": ["18012345678"]}'
    request = (
        f"POST {OPS['getCuids'].full_path} HTTP/1.0\r\nAuthorization: Basic {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    answer = b""
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as sock:
        sock.sendall(request)
        while piece := sock.recv(65536):
            answer += piece

    assert answer.startswith(b"HTTP/1.1 421 ")
    assert b'"code":42100' in answer
    assert sandbox.state.snapshot().identities == {}


@pytest.mark.parametrize(
    ("value", "strict", "beyond_loopback"),
    [
        ("127.0.0.1:8765", True, True),
        ("localhost:8765", True, True),
        ("[::1]:8765", True, True),
        ("127.0.0.2:8765", True, True),  # 127.0.0.0/8 is loopback
        ("127.0.0.1:8766", False, True),  # port forwarding changes the port
        ("192.0.2.7:9000", False, True),
        ("[2001:db8::1]:80", False, True),
        ("evil.example:8765", False, False),  # a name never passes: that is what rebinding needs
        ("sandbox:8765", False, False),
        ("::1:8765", False, False),  # IPv6 without brackets
        ("127.0.0.1:x", False, False),
        ("127.0.0.1:8765:1", False, False),
        (None, False, False),
    ],
)
def test_the_host_rule(value: str | None, strict: bool, beyond_loopback: bool) -> None:
    assert host_allowed(value, 8765) is strict
    assert host_allowed(value, 8765, any_ip=True) is beyond_loopback
    if value == "sandbox:8765":
        assert host_allowed(value, 8765, names={"SANDBOX"})
        assert not host_allowed("sandbox:9000", 8765, names={"sandbox"})
        assert host_allowed("sandbox:9000", 8765, any_ip=True, names={"sandbox"})


def test_an_operator_can_allow_a_host_name_of_their_own() -> None:
    with run_sandbox(allowed_hosts=["Sandbox.CI"]) as sandbox, httpx.Client(base_url=sandbox.api_url) as http:
        path, body = OPS["getCuids"].path, VALID_BODIES["getCuids"]
        named = http.post(path, json=body, auth=sandbox.auth, headers={"Host": f"sandbox.ci:{sandbox.port}"})
        other_port = http.post(
            path, json=body, auth=sandbox.auth, headers={"Host": f"sandbox.ci:{sandbox.port + 1}"}
        )
        evil = http.post(path, json=body, auth=sandbox.auth, headers={"Host": f"evil.example:{sandbox.port}"})

    assert named.json()["code"] == 0
    assert_envelope(other_port, 421, MISDIRECTED)
    assert_envelope(evil, 421, MISDIRECTED)


@pytest.mark.parametrize("name", ["sandbox:8765", "http://sandbox", "", "[::1]"])
def test_an_allowed_host_must_be_a_bare_name(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SandboxStartError, match="bare host name"):
        SandboxServer(allowed_hosts=[name])
    assert cli.main(["sandbox", "--port", "0", "--allow-host", name]) == 2
    assert "bare host name" in capsys.readouterr().err
