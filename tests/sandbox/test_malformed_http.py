"""Requests that are not valid HTTP/1.1 get a 400 and a closed connection, never a hang.

They never reach the application (uvicorn's parser refuses them), so the
answer is uvicorn's short plain-text 400 rather than the envelope; what
matters is that it is immediate, carries no traceback, and that the sandbox
keeps serving.
"""

from __future__ import annotations

import socket

import httpx
import pytest

from jiguang_growth.sandbox import SandboxServer

from .conftest import VALID_BODIES, assert_envelope, call

REGISTER = "/smartop/api/v1/user/register"

MALFORMED = {
    "garbage-request-line": b"GARBAGE\r\n\r\n",
    "bad-content-length": f"POST {REGISTER} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".encode(),
    "two-content-lengths": (
        f"POST {REGISTER} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}"
    ).encode(),
    "bad-chunk-size": (
        f"POST {REGISTER} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: application/json\r\n\r\nzz\r\n"
    ).encode(),
    "header-without-colon": f"POST {REGISTER} HTTP/1.1\r\nHost x\r\n\r\n".encode(),
}


def exchange(sandbox: SandboxServer, raw: bytes) -> bytes:
    """Send ``raw`` and read until the sandbox closes the connection (the socket times out in 10 s)."""
    answer = b""
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as connection:
        connection.sendall(raw)
        while piece := connection.recv(65536):
            answer += piece
    return answer


@pytest.mark.parametrize("raw", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_http_gets_400_and_the_connection_is_closed(
    sandbox: SandboxServer, client: httpx.Client, raw: bytes
) -> None:
    answer = exchange(sandbox, raw)  # returns only once the sandbox has closed the connection

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"Traceback" not in answer
    assert sandbox.state.snapshot().identities == {}
    assert_envelope(call(client, "getCuids", {"identityName": "phone"}), 400, 40002)  # still serving
    assert call(client, "getCuids", VALID_BODIES["getCuids"]).json()["code"] == 0
