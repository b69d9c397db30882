"""Hooks, raw responses, per-call timeouts and error metadata over real HTTP, against a loopback sandbox."""

from __future__ import annotations

import pickle
import time

import pytest

from jiguang_growth import APITimeoutError, Attempt, GrowthClient, RateLimitError
from jiguang_growth.sandbox import SandboxServer


def client_for(sandbox: SandboxServer, records: list[Attempt]) -> GrowthClient:
    return GrowthClient(
        sandbox.project_id,
        sandbox.project_secret,
        sandbox.base_url,
        on_attempt=records.append,
        telemetry=False,
    )


def test_a_retried_call_reports_each_attempt_and_its_raw_answer(growth_sandbox: SandboxServer) -> None:
    records: list[Attempt] = []
    growth_sandbox.faults.configure(retry_after_seconds=0)
    growth_sandbox.faults.force(503)
    with client_for(growth_sandbox, records) as client:
        raw = client.with_raw_response.get_cuids(
            "phone", ["18012345678"], extra_headers={"X-Request-Id": "t-1"}
        )
    assert (raw.status_code, raw.attempts) == (200, 2)
    assert raw.headers["content-type"].startswith("application/json")
    assert raw.parsed[0].cuid == growth_sandbox.state.cuid_for("phone", "18012345678")
    assert [(r.attempt, r.status_code, r.code, r.will_retry) for r in records] == [
        (1, 503, 50399, True),
        (2, 200, 0, False),
    ]
    assert raw.elapsed >= sum(r.elapsed for r in records)


def test_a_refusal_carries_the_servers_headers_and_the_attempts_and_pickles(
    growth_sandbox: SandboxServer,
) -> None:
    records: list[Attempt] = []
    growth_sandbox.faults.configure(retry_after_seconds=0)
    growth_sandbox.faults.force(429, 429)
    with client_for(growth_sandbox, records) as client, pytest.raises(RateLimitError) as raised:
        client.report_events(
            [{"cuid": 10000091198, "eventName": "open_app", "itime": 1654076420772}], max_retries=1
        )
    error = pickle.loads(pickle.dumps(raised.value))
    assert (error.attempts, error.headers["retry-after"], error.code) == (2, "0", 42999)
    assert growth_sandbox.state.events() == []
    assert [r.will_retry for r in records] == [True, False]


def test_a_per_call_timeout_is_the_one_the_socket_waits_for(growth_sandbox: SandboxServer) -> None:
    records: list[Attempt] = []
    growth_sandbox.faults.configure(hang_seconds=5.0)
    growth_sandbox.faults.force("timeout")
    with client_for(growth_sandbox, records) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as raised:
            client.set_user_attributes(10000091198, {"user_level": 3}, timeout=0.3)
        waited = time.monotonic() - started
    assert waited < 4.0  # the sandbox stays silent for 5 s; the client's default read timeout is 10 s
    assert raised.value.request_sent and raised.value.attempts == 1  # never replayed
    (record,) = records
    assert (record.status_code, record.request_sent, record.error_type) == (None, True, APITimeoutError)
