"""A call that opened its connection (told by httpcore's ``trace`` extension, in both drivers) is
left out of the pacer's margin: over real HTTP on loopback, a sandbox whose new connections cost
two round trips, as TCP and TLS handshakes do far away."""

from __future__ import annotations

import asyncio

import pytest

from jiguang_growth import AsyncGrowthClient, GrowthClient, _pacing
from jiguang_growth.sandbox import NetworkConfig, SandboxServer, handshake_transport, run_sandbox

NETWORK = NetworkConfig(request_delay_ms=40, response_delay_ms=40, connect_round_trips=2)
"""80 ms round trips; the first call of a connection answers in 240 ms."""
CALLS = 6


def _pacer(server: SandboxServer, project: str) -> _pacing.Pacer:
    return _pacing.shared_pacer("getCuids", project_id=project, base_url=server.api_url)


def test_the_sync_client_keeps_handshakes_out_of_the_margin() -> None:
    with run_sandbox(network=NETWORK) as server:
        user, secret = server.auth
        with GrowthClient(user, secret, server.base_url, pace=True) as client:
            for _ in range(CALLS):
                client.get_cuids("userid", ["u1"])
        handshakes = server.app.connections.handshakes
        margin = _pacer(server, user).margin
    assert handshakes == 1
    assert margin < 0.05  # with the first call's 240 ms as a sample, 0.1 or more


def test_the_async_client_keeps_handshakes_out_of_the_margin() -> None:
    async def calls(server: SandboxServer) -> None:
        user, secret = server.auth
        async with AsyncGrowthClient(user, secret, server.base_url, pace=True) as client:
            for _ in range(CALLS):
                await client.get_cuids("userid", ["u1"])

    with run_sandbox(network=NETWORK) as server:
        asyncio.run(calls(server))
        handshakes = server.app.connections.handshakes
        margin = _pacer(server, server.auth[0]).margin
    assert handshakes == 1
    assert margin < 0.05


def test_each_attempt_tells_the_pacer_once_when_it_goes_out_in_both_clients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The drivers call the pacer's ``sent`` with the slot's grant time as the headers go out (after
    a new connection's handshakes), once per attempt."""
    with run_sandbox() as server:
        user, secret = server.auth
        pacer = _pacer(server, user)
        reported: list[tuple[float, float]] = []
        monkeypatch.setattr(pacer, "sent", lambda granted_at: reported.append((granted_at, pacer.now())))
        slow = handshake_transport(NETWORK)  # the handshakes on the client's side, as far away
        with GrowthClient(user, secret, server.base_url, pace=True, transport=slow) as client:
            client.get_cuids("userid", ["u1"])
            client.get_cuids("userid", ["u1"])

        async def calls() -> None:
            async with AsyncGrowthClient(user, secret, server.base_url, pace=True) as client:
                await client.get_cuids("userid", ["u1"])

        asyncio.run(calls())
    assert len(reported) == 3
    late = [went - granted for granted, went in reported]
    assert late[0] >= 0.15  # it opened its connection: two 80 ms round trips first
    assert late[1] < 0.05 and late[2] < 0.05  # a kept connection, and next door: out at once
