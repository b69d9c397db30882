"""A careful start: with a wrong secret a run sends one call, not a round trip's worth of them.

Counted at the sandbox, over real sockets, 300 ms away: a run that sent at full speed from its
start would have some thirty calls out before the first 401 came back.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from jiguang_growth import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncGrowthClient,
    AuthenticationError,
    EventReporter,
    GrowthClient,
    PermissionDeniedError,
    bulk,
)
from jiguang_growth._first_call import AsyncFirstCallGate, FirstCallGate, answered
from jiguang_growth.sandbox import NetworkConfig, SandboxServer, run_sandbox

WRONG = "not-the-secret"
MOST_CALLS = 3
"""Issue 24's bound on the calls a wrong secret may cost."""


@contextmanager
def far_sandbox() -> Iterator[SandboxServer]:
    network = NetworkConfig.round_trip(300, 50, seed=2)
    with run_sandbox(project_id=f"p{uuid.uuid4().hex[:8]}", network=network) as sandbox:
        yield sandbox


def refusals(sandbox: SandboxServer) -> int:
    return sum(1 for r in sandbox.state.requests() if r.status == 401)


def events(count: int) -> list[dict[str, object]]:
    return [
        {"cuid": 10000000001 + n, "eventName": "open_app", "itime": 1654076420772 + n} for n in range(count)
    ]


def test_a_bulk_run_with_a_wrong_secret_sends_its_first_call_alone() -> None:
    with far_sandbox() as sandbox:
        with GrowthClient(sandbox.project_id, WRONG, sandbox.base_url) as client:
            summary = bulk.report_events(client, events(3000))
        assert summary.stopped == "credentials"
        assert 1 <= refusals(sandbox) <= MOST_CALLS
        assert len(sandbox.state.requests()) == refusals(sandbox)
    assert summary.accepted == 0


async def test_an_async_bulk_run_with_a_wrong_secret_sends_its_first_call_alone() -> None:
    with far_sandbox() as sandbox:
        async with AsyncGrowthClient(sandbox.project_id, WRONG, sandbox.base_url) as client:
            summary = await bulk.report_events_async(client, events(3000))
        assert summary.stopped == "credentials"
        assert 1 <= refusals(sandbox) <= MOST_CALLS


def test_with_the_right_secret_the_pipeline_opens_after_the_first_answer() -> None:
    with far_sandbox() as sandbox:
        with GrowthClient(sandbox.project_id, sandbox.project_secret, sandbox.base_url) as client:
            summary = bulk.report_events(client, events(3000))
        assert summary.accepted == 3000
        # Thirty calls in about a round trip and a third of a second, not thirty round trips: after
        # the first answer, the other calls overlapped on several connections.
        assert sandbox.app.connections.opened > 2


def test_the_reporter_with_a_wrong_secret_sends_one_call_at_a_time() -> None:
    with far_sandbox() as sandbox:
        with GrowthClient(sandbox.project_id, WRONG, sandbox.base_url) as client:
            reporter = EventReporter(client, flush_interval=0.0)
            for event in events(3000):
                reporter.track(event)
            time.sleep(0.8)  # a little over two round trips
            reporter.close(timeout=0.0)
        time.sleep(0.7)  # a call still out when it closed reaches the sandbox's log
        # One at a time, on one kept-alive connection: a round trip each.
        assert sandbox.app.connections.opened == 1
        assert 1 <= refusals(sandbox) <= 2 + MOST_CALLS


@pytest.mark.parametrize(
    ("outcome", "opens"),
    [
        (None, True),
        (APIError("bad request", status_code=400, code=40001, msg="bad"), True),
        (APIError("refused", status_code=429, code=42900, msg="slow down"), True),
        (AuthenticationError("wrong secret", status_code=401, code=40100), False),
        (PermissionDeniedError("not allowed", status_code=403, code=40300), False),
        (APITimeoutError("no answer", method="POST", url="u", request_sent=True), False),
        (APIConnectionError("no host", method="POST", url="u", request_sent=False), False),
    ],
)
def test_what_opens_the_gate(outcome: object, opens: bool) -> None:
    assert answered(outcome) is opens
    gate = FirstCallGate()
    with gate.turn():
        gate.note(outcome)
    assert gate.open is opens


def test_calls_that_waited_for_the_first_answer_then_go_together() -> None:
    gate = FirstCallGate()
    inside = threading.Barrier(3, timeout=5)
    passed: list[bool] = []

    def call() -> None:
        with gate.turn():
            inside.wait()  # passes only when all three are inside their turn at once
            passed.append(True)

    with gate.turn():
        waiting = [threading.Thread(target=call) for _ in range(3)]
        for thread in waiting:
            thread.start()
        time.sleep(0.1)  # they queue for the turn
        gate.note(None)  # the first call was answered
    for thread in waiting:
        thread.join()
    assert passed == [True] * 3


async def test_tasks_that_waited_for_the_first_answer_then_go_together() -> None:
    gate = AsyncFirstCallGate()
    together = asyncio.Event()
    inside = 0

    async def call() -> None:
        nonlocal inside
        async with gate.turn():
            inside += 1
            if inside == 3:
                together.set()
            await asyncio.wait_for(together.wait(), 5)

    async with gate.turn():
        tasks = [asyncio.create_task(call()) for _ in range(3)]
        await asyncio.sleep(0.05)
        assert inside == 0  # the gate is closed: they wait for the first call
        gate.note(None)
    await asyncio.gather(*tasks)
    assert inside == 3
