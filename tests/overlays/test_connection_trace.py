"""A call that opened its connection (told by httpcore's ``trace`` extension, in both drivers) is
left out of the pacer's margin: over real HTTP on loopback, a sandbox whose new connections cost
two round trips, as TCP and TLS handshakes do far away."""

from __future__ import annotations

import asyncio

from jiguang_growth import AsyncGrowthClient, GrowthClient, _pacing
from jiguang_growth.sandbox import NetworkConfig, SandboxServer, run_sandbox

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
