"""The sandbox answers without waiting for the client's delayed ACK (Nagle off on its connections)."""

from __future__ import annotations

import socket

import httpx
import pytest

from jiguang_growth.sandbox import run_sandbox


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_accepted_connections_have_nagle_off(host: str) -> None:
    # With Nagle on, the second small write of an answer waits for the client's delayed ACK
    # (about 40 ms on Linux), which made every sandbox call take that long.
    if host == "::1" and not socket.has_ipv6:
        pytest.skip("no IPv6")
    with run_sandbox(host=host) as sandbox, httpx.Client(base_url=sandbox.api_url) as http:
        assert http.get("/nowhere").status_code == 404  # keeps the connection open
        connections = list(sandbox._uvicorn.server_state.connections)
        assert connections
        for protocol in connections:
            server_side = protocol.transport.get_extra_info("socket")
            assert server_side.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
