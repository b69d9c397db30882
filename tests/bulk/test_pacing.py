"""The pacer: no server window sees more than ``limit`` arrivals, whatever the delays; little is wasted."""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable

import pytest

from jiguang_growth import _pacing, _spec
from jiguang_growth.sandbox._ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


Latency = Callable[[], tuple[float, float]]
"""``(to the server, back to the client)`` of one call, in seconds."""


def simulate(
    pacer: _pacing.Pacer, clock: FakeClock, workers: int, calls: int, latency: Latency
) -> list[float]:
    """Run ``calls`` calls from ``workers`` workers through ``pacer``; return when the server saw each."""
    queue: list[tuple[float, int, str]] = [(0.0, n, "ask") for n in range(workers)]
    order = workers
    arrivals: list[float] = []
    while queue:
        at, _, kind = heapq.heappop(queue)
        clock.now = at
        if kind == "answer":
            pacer.release()  # and the worker asks for its next slot at once
        if len(arrivals) == calls:
            continue
        wait = pacer.acquire()
        if wait > 0:
            event = (at + wait, order, "ask")
        else:
            to_server, back = latency()
            arrivals.append(at + to_server)
            event = (at + to_server + back, order, "answer")
        heapq.heappush(queue, event)
        order += 1
    return arrivals


def busiest_window(times: list[float], window: float) -> int:
    """Most events in any half-open window ``(t - window, t]``."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, value in enumerate(ordered):
        while ordered[start] <= value - window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_no_server_window_sees_more_than_the_limit_whatever_the_delays(seed: int) -> None:
    rng = random.Random(seed)
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)

    def latency() -> tuple[float, float]:
        # Mostly quick, sometimes a call sits for up to 300 ms on the way in: the case where
        # a pacer that counts from the moment it granted a slot lets too many arrive together.
        slow = rng.random() < 0.1
        return (rng.uniform(0.1, 0.3) if slow else rng.uniform(0, 0.005)), rng.uniform(0, 0.02)

    arrivals = simulate(pacer, clock, workers=24, calls=3000, latency=latency)
    assert len(arrivals) == 3000
    assert busiest_window(arrivals, pacer.period) <= 100


def test_near_the_server_it_runs_within_a_few_percent_of_the_limit() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    arrivals = simulate(pacer, clock, workers=16, calls=6000, latency=lambda: (0.002, 0.003))
    rate = len(arrivals) / (max(arrivals) - min(arrivals) + pacer.period)  # any span fits 100 per period
    assert 0.97 * 100 <= rate <= 100


def test_grants_are_spread_out_not_sent_in_one_burst() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    arrivals = simulate(pacer, clock, workers=16, calls=100, latency=lambda: (0.0, 0.0))
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) == pytest.approx(_pacing.SPACING * 0.01)
    assert max(arrivals) < pacer.period  # a full window still fits in one period


def test_the_sandbox_never_refuses_a_paced_client_despite_delays() -> None:
    """The client's pacer against the sandbox's limiter, both reading x-qps-limit."""
    clock = FakeClock()
    limit = _spec.operation("reportEvents").qps_limit
    pacer = _pacing.Pacer(limit, clock=clock)
    rng = random.Random(3)
    arrivals = simulate(
        pacer,
        clock,
        workers=16,
        calls=20 * limit,
        latency=lambda: (rng.uniform(0, 0.05), rng.uniform(0, 0.05)),
    )
    limiter = RateLimiter({"op": limit}, clock=clock)
    refused = 0
    for arrival in sorted(arrivals):
        clock.now = arrival
        refused += limiter.acquire("op") is not None
    assert refused == 0
    assert max(arrivals) < 21.5  # and the pacer really ran close to the limit


def test_a_call_counts_until_a_period_after_its_answer() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=2, clock=clock)
    assert pacer.acquire() == 0.0
    assert pacer.acquire() == pytest.approx(pacer.spacing)  # not at once: grants are spread out
    clock.now = pacer.spacing
    assert pacer.acquire() == 0.0
    clock.now = 1.0
    assert pacer.acquire() == _pacing.POLL_INTERVAL  # both still in flight
    pacer.release()
    assert pacer.in_flight == 1
    assert pacer.acquire() == pytest.approx(1.0)  # the answered one frees its slot at 2.0
    clock.now = 2.001
    assert pacer.acquire() == 0.0


def test_pause_holds_every_slot() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    pacer.pause(2.0)
    clock.now = 0.5
    assert pacer.acquire() == pytest.approx(1.5)
    assert pacer.pauses == 1
    clock.now = 2.0
    assert pacer.acquire() == 0.0


def test_release_without_acquire_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        _pacing.Pacer(limit=1).release()


def test_threads_share_one_budget() -> None:
    pacer = _pacing.Pacer(limit=50, period=0.2)
    seen: list[float] = []
    lock = threading.Lock()
    rng = random.Random(1)

    def worker() -> None:
        for _ in range(30):
            while (wait := pacer.acquire()) > 0:
                time.sleep(wait)
            time.sleep(rng.uniform(0, 0.002))  # on the way to the server
            with lock:
                seen.append(time.monotonic())  # the "server" counts it now
            time.sleep(rng.uniform(0, 0.002))
            pacer.release()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 240
    assert busiest_window(seen, pacer.period) <= 50
    assert pacer.in_flight == 0


def test_shared_pacer_is_one_per_operation_and_project_with_the_spec_limit() -> None:
    a = _pacing.shared_pacer("reportEvents", project_id="p1", base_url="http://x")
    assert a is _pacing.shared_pacer("reportEvents", project_id="p1", base_url="http://x")
    assert a is not _pacing.shared_pacer("getCuids", project_id="p1", base_url="http://x")
    assert a is not _pacing.shared_pacer("reportEvents", project_id="p2", base_url="http://x")
    assert a.limit == 100  # x-qps-limit in openapi.yaml


@pytest.mark.parametrize(("limit", "period"), [(0, 1.0), (True, 1.0), (1, 0.0), (1, -1.0)])
def test_invalid_settings_are_refused(limit: int, period: float) -> None:
    with pytest.raises(ValueError):
        _pacing.Pacer(limit, period)
