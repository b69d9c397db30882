"""Bulk runs keep their connections: about as many opened as calls in flight, not one per call.

Far away, each new connection costs a TCP and a TLS handshake; the sandbox charges them
(``connect_round_trips``) and counts the connections it opened.
"""

from __future__ import annotations

import uuid

from jiguang_growth import AsyncGrowthClient, GrowthClient, bulk
from jiguang_growth.sandbox import NetworkConfig, run_sandbox

CALLS = 150
"""Calls of each run: a second and a half at the limit, with some 50 calls in flight at a time."""


def far_sandbox():  # type: ignore[no-untyped-def]
    network = NetworkConfig(250, 60, 250, 60, seed=1, connect_round_trips=2)
    return run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}", network=network)


def events(count: int) -> list[dict[str, object]]:
    return [
        {"cuid": 10000000001 + n, "eventName": "open_app", "itime": 1654076420772 + n} for n in range(count)
    ]


def test_a_bulk_run_opens_about_as_many_connections_as_calls_in_flight() -> None:
    with far_sandbox() as sandbox:
        with GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url) as client:
            summary = bulk.report_events(client, events(CALLS * 100))
        opened = sandbox.app.connections.opened
    assert summary.accepted == CALLS * 100
    # At most the calls in flight at the start (64, before the first answer teaches the pacer
    # the answer time) and a few more; a pool that kept only 20 idle opened one for most calls.
    assert opened <= bulk.DEFAULT_CONCURRENCY + 8, (opened, sandbox.app.connections.handshakes)


async def test_an_async_bulk_run_keeps_its_connections_too() -> None:
    with far_sandbox() as sandbox:
        async with AsyncGrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url) as client:
            summary = await bulk.report_events_async(client, events(CALLS * 100))
        opened = sandbox.app.connections.opened
    assert summary.accepted == CALLS * 100
    assert opened <= bulk.DEFAULT_CONCURRENCY + 8, (opened, sandbox.app.connections.handshakes)
