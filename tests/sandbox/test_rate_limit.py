"""The per-operation limit: exactly N calls in any rolling second, 429 with the envelope beyond."""

from __future__ import annotations

import time

import httpx
import pytest

from jiguang_growth import _spec
from jiguang_growth.sandbox import SandboxConfig, SandboxServer, run_sandbox
from jiguang_growth.sandbox._ratelimit import RateLimiter

from .conftest import VALID_BODIES, assert_envelope, call, make_client


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_exactly_limit_calls_pass_in_any_window_and_the_next_waits_for_the_oldest() -> None:
    clock = Clock()
    limiter = RateLimiter({"op": 100}, window=1000, clock=clock)  # milliseconds keep the sums exact
    for ms in range(0, 1000, 10):
        clock.now = ms
        assert limiter.acquire("op") is None
    clock.now = 995
    assert limiter.acquire("op") == 5  # the call at 0 leaves the window at 1000
    clock.now = 1000
    assert limiter.acquire("op") is None  # a call exactly one window older no longer counts
    assert limiter.acquire("op") == 10  # ... but the one at 10 still does


def test_refused_calls_do_not_count() -> None:
    clock = Clock()
    limiter = RateLimiter({"op": 2}, window=1000, clock=clock)
    assert limiter.acquire("op") is None
    assert limiter.acquire("op") is None
    for ms in range(1, 1000, 7):  # hammering while refused
        clock.now = ms
        assert limiter.acquire("op") is not None
    clock.now = 1000
    assert limiter.acquire("op") is None


def test_operations_have_separate_limits() -> None:
    limiter = RateLimiter({"a": 1, "b": 1}, clock=Clock())
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") is not None
    assert limiter.acquire("b") is None


def test_retry_after_is_whole_seconds_within_the_spec_range() -> None:
    header = _spec.spec()["components"]["responses"]["RateLimited"]["headers"]["Retry-After"]["schema"]
    for wait in (0.0001, 0.5, 1.0, 1.01, 10_000.0):
        value = RateLimiter.retry_after(wait)
        assert header["minimum"] <= value <= header["maximum"]
        assert value >= wait or value == header["maximum"]


def test_the_default_limit_is_each_operations_x_qps_limit() -> None:
    config = SandboxConfig()
    for name, op in _spec.operations().items():
        assert config.limit_for(name) == op.qps_limit
    tuned = SandboxConfig(qps_limit=7, qps_limits={"getCuids": 3})
    assert tuned.limit_for("reportEvents") == 7
    assert tuned.limit_for("getCuids") == 3
    with pytest.raises(ValueError, match="unknown operations"):
        SandboxConfig(qps_limits={"noSuchOperation": 1})
    with pytest.raises(ValueError, match="at least 1"):
        SandboxConfig(qps_limit=0)


def test_over_the_limit_calls_get_429_with_retry_after_and_are_not_applied() -> None:
    with run_sandbox(qps_limit=3) as sandbox, make_client(sandbox) as client:
        answers = [
            call(client, "getCuids", {"identityName": "phone", "identityValues": [f"v{n}"]}) for n in range(5)
        ]
        other_operation = call(client, "setUserChannels", VALID_BODIES["setUserChannels"])
        time.sleep(1.05)
        after_a_second = call(client, "getCuids", {"identityName": "phone", "identityValues": ["later"]})

        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
        for refused in answers[3:]:
            payload = assert_envelope(refused, 429, 42900)
            assert refused.headers["retry-after"] == "1"
            assert "3 calls per second" in payload["msg"]
        assert other_operation.json()["code"] == 0
        assert after_a_second.json()["code"] == 0
        assert sorted(sandbox.state.snapshot().identities["phone"]) == ["later", "v0", "v1", "v2"]
        records = [r for r in sandbox.state.requests() if r.operation == "getCuids"]
        assert [(r.status, r.code, r.applied) for r in records][3:5] == [(429, 42900, False)] * 2


@pytest.mark.growth_sandbox(qps_limits={"reportEvents": 2})
def test_per_operation_limits_from_the_configuration(sandbox: SandboxServer, client: httpx.Client) -> None:
    statuses = [call(client, "reportEvents", {"data": [{"cuid": 1, "eventName": "e", "itime": 10**12}]})
                .status_code for _ in range(3)]  # fmt: skip
    cuids = [call(client, "getCuids", VALID_BODIES["getCuids"]).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert cuids == [200, 200, 200]
    assert len(sandbox.state.events()) == 2
