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

import httpx
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
    starts: list[float] | None = None,
) -> list[Tally]:
    """Workers of each pacer call for ``seconds`` from its start (``starts``, default all at 0);
    the server's ``limiter`` counts arrivals."""
    queue: list[tuple[float, int, str, int, float]] = []
    order = itertools.count()
    begin = starts or [0.0] * len(pacers)
    for index in range(len(pacers)):
        for _ in range(workers):
            heapq.heappush(queue, (begin[index], next(order), "ask", index, 0.0))
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
        if at >= begin[index] + seconds:
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
    assert jittery.margin > 0.03
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


def take_slot(pacer: _pacing.Pacer, clock: FakeClock) -> None:
    """Wait on the fake clock until ``pacer`` grants a slot."""
    while (wait := pacer.acquire()) > 0:
        clock.now += wait


def send(
    pacer: _pacing.Pacer,
    clock: FakeClock,
    *,
    answer: float = 0.0,
    throttled: bool = False,
    retry_after: float = 1.0,
) -> None:
    """One call through ``pacer``: wait for its slot, then its answer (a 429 if ``throttled``)."""
    take_slot(pacer, clock)
    pacer.release(answer, throttled=throttled, retry_after=retry_after if throttled else None)


def warmed(clock: FakeClock, answer: float = 0.2, calls: int = 200) -> _pacing.Pacer:
    """A pacer that has sent ``calls`` calls at its full rate, each answered after ``answer`` seconds."""
    pacer = _pacing.Pacer(limit=100, clock=clock)
    for _ in range(calls):
        send(pacer, clock, answer=answer)
    return pacer


def test_a_stray_429_at_the_top_widens_the_margin_and_stops_no_one() -> None:
    clock = FakeClock()
    pacer = warmed(clock)
    before = pacer.rate
    assert before == pytest.approx(100 * (1 - _pacing.MIN_MARGIN))
    send(pacer, clock, answer=0.2, throttled=True)
    assert pacer.rate_limited == 1
    assert pacer.pauses == 0
    assert pacer.margin == pytest.approx(_pacing.MIN_MARGIN + _pacing.MARGIN_STEP)
    assert pacer.rate == pytest.approx(before - 100 * _pacing.MARGIN_STEP)  # no cut: the limit is known
    wait = pacer.acquire()
    assert 0 < wait < 0.02  # the next call waits one spacing, not the Retry-After
    clock.now += 30 * _pacing.MARGIN_HALF_LIFE
    assert pacer.margin == pytest.approx(_pacing.MIN_MARGIN, abs=1e-6)  # and the lesson fades


def test_the_margin_learnt_from_429s_is_bounded() -> None:
    """Stray 429s that no margin avoids (the fault mix's random ones) must not slow a run to a crawl."""
    clock = FakeClock()
    pacer = warmed(clock, answer=0.0)
    for _ in range(40):
        for _ in range(60):
            send(pacer, clock)
        send(pacer, clock, throttled=True)
    assert pacer.margin <= _pacing.MIN_MARGIN + _pacing.MAX_LEARNT_MARGIN + 1e-9
    assert pacer.rate >= 100 * (1 - _pacing.MIN_MARGIN - _pacing.MAX_LEARNT_MARGIN) - 1e-6
    assert pacer.pauses == 0


def refuse_many(pacer: _pacing.Pacer, clock: FakeClock, refused: int, accepted: int) -> None:
    """The last period's answers: ``accepted`` successes, then ``refused`` 429s."""
    for _ in range(accepted):
        send(pacer, clock)
    for _ in range(refused):
        send(pacer, clock, throttled=True)


def test_many_429s_cut_the_rate_to_just_under_what_the_server_accepted() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    for _ in range(50):
        send(pacer, clock)
    while pacer.rate > 60:  # then someone else takes the other half of the limit
        send(pacer, clock, throttled=True)
    learnt = pacer.margin - _pacing.MIN_MARGIN  # from the first few, taken for strays at the top
    assert 0 < learnt <= _pacing.MAX_LEARNT_MARGIN
    accepted = 50 / 100
    assert pacer.rate == pytest.approx(100 * accepted * (1 - _pacing.CUT_BACKOFF) * (1 - learnt), rel=0.01)
    assert 3 <= pacer.rate_limited <= 10
    assert pacer.pauses == 0  # many, not a storm
    rates = []
    for _ in range(8):
        clock.now += 0.5
        rates.append(pacer.rate)
    assert rates == sorted(rates)  # it grows back ...
    assert rates[-1] > 100 * accepted  # ... and probes beyond the rate it was given


def test_a_young_pacers_first_429s_are_not_many() -> None:
    """Three 429s among a young pacer's first twenty answers are strays, not a neighbour."""
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    refuse_many(pacer, clock, refused=3, accepted=17)
    assert pacer.rate >= 100 * (1 - _pacing.MIN_MARGIN - 3 * _pacing.MARGIN_STEP) - 1e-6
    assert pacer.pauses == 0


def test_after_a_cut_the_calls_of_before_are_not_counted_again() -> None:
    """The server's count holds the calls sent before a cut for a period: their 429s cut once."""
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    refuse_many(pacer, clock, refused=10, accepted=80)
    after_cut = pacer.rate
    for _ in range(10):  # granted after the cut, refused while the server still counts the old ones
        send(pacer, clock, throttled=True)
    assert pacer.rate == pytest.approx(after_cut, rel=0.02)


def test_429s_of_calls_sent_before_the_pacer_acted_are_acted_on_once() -> None:
    clock = FakeClock()
    pacer = warmed(clock)
    sent = clock.now
    for _ in range(3):
        take_slot(pacer, clock)
    clock.now += 0.2
    for _ in range(3):  # all three were on their way before the first refusal came back
        pacer.release(0.2, throttled=True, retry_after=1.0)
    assert pacer.rate_limited == 3
    assert sent < clock.now
    assert pacer._extra_margin(clock.now) == pytest.approx(_pacing.MARGIN_STEP)  # one step, not three


def test_back_near_the_accepted_rate_a_few_429s_lower_where_it_settles_without_a_cut() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    refuse_many(pacer, clock, refused=10, accepted=80)
    clock.now += 1.5  # past the quiet period, back near the 0.8 accepted
    before, margin = pacer.rate, pacer.margin
    assert before == pytest.approx(80 * (1 - (margin - _pacing.MIN_MARGIN)), rel=0.02)
    send(pacer, clock, throttled=True)
    assert pacer.margin > margin
    assert pacer.rate < before
    assert pacer.rate > before * (1 - _pacing.CUT_BACKOFF)  # a step of margin, not a cut


def test_a_probe_past_the_accepted_rate_that_meets_a_429_backs_off_from_there() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    refuse_many(pacer, clock, refused=40, accepted=50)
    clock.now += 4.0  # the curve is past the 0.5 accepted, probing
    probing = pacer.rate
    assert probing > 100 * 0.5 * (1 + _pacing.CUT_BACKOFF / 2)
    learnt = pacer.margin - _pacing.MIN_MARGIN
    send(pacer, clock, throttled=True)
    assert pacer.rate == pytest.approx(probing * (1 - _pacing.CUT_BACKOFF) * (1 - learnt), rel=0.01)
    for _ in range(4):
        clock.now += 0.5
        assert pacer.rate < probing  # it settles under where the probe met the neighbour


def test_429s_that_keep_coming_hold_every_slot_for_the_retry_after() -> None:
    clock = FakeClock()
    pacer = warmed(clock, answer=0.0)
    for _ in range(60):
        send(pacer, clock)
    paused = False
    for _ in range(30):  # a third of the last period's answers
        send(pacer, clock, throttled=True, retry_after=3.0)
        if pacer.pauses:
            paused = True
            break
    assert paused
    assert pacer.acquire() == pytest.approx(3.0)


def test_two_processes_sharing_a_project_settle_on_a_fair_split_with_few_429s() -> None:
    clock = FakeClock()
    pacers = [_pacing.Pacer(limit=100, clock=clock) for _ in range(2)]
    limiter = RateLimiter({"op": 100}, clock=clock)
    rng = random.Random(2)
    tallies = simulate(pacers, clock, limiter, workers=32, seconds=60, latency=one_way(rng, 0.002, 0.001))
    admitted = [t.admitted for t in tallies]
    calls = sum(t.admitted + t.refused for t in tallies)
    assert sum(admitted) / 60 / 100 >= 0.93
    assert min(admitted) / max(admitted) > 0.8
    # Each probe past the other's share meets a 429 or two: about 2% of calls in this model (seeds
    # 2-7: 1.6-2.2%; with CUBIC's C at 0.01 of the limit, probing twice as often, 2.5-3.2%).
    assert sum(t.refused for t in tallies) <= 0.025 * calls


def test_a_process_that_joins_late_gets_a_share() -> None:
    clock = FakeClock()
    pacers = [_pacing.Pacer(limit=100, clock=clock) for _ in range(2)]
    limiter = RateLimiter({"op": 100}, clock=clock)
    rng = random.Random(4)
    late = pacers[1]
    latency = one_way(rng, 0.002, 0.001)
    tallies = simulate(pacers, clock, limiter, workers=32, seconds=40, latency=latency, starts=[0.0, 5.0])
    first, second = (t.admitted for t in tallies)
    assert second > 0.25 * (first + second)  # not starved by the one that was there first
    assert late.pauses <= 2


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
        take_slot(pacer, clock)
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


def test_the_local_rate_holds_in_every_period_even_when_callers_come_late() -> None:
    """Late callers may catch up a little on the spacing, never past the rate in a whole period."""
    clock = FakeClock()
    pacer = warmed(clock, answer=0.0)
    grants: list[float] = []
    rng = random.Random(9)
    while clock.now < 30:
        wait = pacer.acquire()
        if wait > 0:
            clock.now += wait + rng.choice([0.0, 0.0, 0.006])  # a caller that often wakes up late
            continue
        grants.append(clock.now)
        pacer.release(0.0)
    most = max(sum(1 for g in grants if t <= g < t + 1.0) for t in grants)
    assert most <= 100 * (1 - _pacing.MIN_MARGIN)


# --- waiting: a queue of waiters, each woken when its own slot is due -------------------------


def test_waiters_in_the_queue_are_told_when_their_own_slot_is_due() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    turns = [pacer.turn() for _ in range(5)]
    assert pacer.acquire(turns[0]) == 0.0
    shortest = 0.01 / (1 - _pacing.MIN_MARGIN)
    spacing = 0.01 / (1 - _pacing.INITIAL_MARGIN)
    waits = [pacer.acquire(turn) for turn in turns[1:]]
    head = spacing * (1 - _pacing.CATCH_UP)
    assert waits == pytest.approx([head + n * shortest for n in range(4)])
    clock.now += waits[0]  # the third comes back early, before the second: not its turn yet
    assert pacer.acquire(turns[2]) == pytest.approx(shortest)
    assert pacer.acquire(turns[1]) == 0.0
    assert pacer.acquire(turns[2]) == pytest.approx(spacing)  # first in line now: the next slot


def test_a_waiter_that_comes_back_late_loses_its_place_and_gets_the_next_slot() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    first, second = pacer.turn(), pacer.turn()
    assert pacer.acquire(first) == 0.0
    wait = pacer.acquire(second)
    third = pacer.turn()
    clock.now += wait + 0.02  # "second" oversleeps: "third", on time for a slot, takes it
    assert pacer.acquire(third) == 0.0
    fourth = pacer.turn()
    wait = pacer.acquire(second)  # back: first in line again, before "fourth"
    assert 0 < wait < pacer.acquire(fourth)
    clock.now += wait
    assert pacer.acquire(second) == 0.0


def test_a_waiter_that_leaves_makes_room_for_the_next() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    turns = [pacer.turn() for _ in range(3)]
    assert pacer.acquire(turns[0]) == 0.0
    before = pacer.acquire(turns[2])
    pacer.leave(turns[1])
    pacer.leave(turns[1])  # twice is harmless
    assert pacer.acquire(turns[2]) < before


def test_many_callers_wake_about_once_per_grant_not_once_per_waiter() -> None:
    """200 calls through the clients' own call logic (``_call.call``) wait for one pacer on a fake
    clock: every Sleep the calls ask for is one ``acquire()`` more. A polled pacer wakes every waiter
    for each grant (about 100 calls per grant here); the queue wakes about one."""
    from jiguang_growth import _call

    clock = FakeClock()
    asks = [0]

    class Counting(_pacing.Pacer):
        def acquire(self, *turn: _pacing.Turn) -> float:
            asks[0] += 1
            return super().acquire(*turn)

    pacer = Counting(limit=100, clock=clock)
    route = _call.CallSetup("reportEvents", "POST", "http://x/report", max_retries=0, pacer=pacer)
    ok = b'{"code":0,"msg":"ok","data":null}'
    answered = 0
    queue: list[tuple[float, int, _call.Call[object], object]] = []
    order = itertools.count()
    for _ in range(200):
        gen = _call.call(route, b"{}", lambda data: data)
        heapq.heappush(queue, (0.0, next(order), gen, None))
    while queue:
        at, _, gen, reply = heapq.heappop(queue)
        clock.now = at
        try:
            step = gen.send(reply) if reply is not None else next(gen)
        except StopIteration:
            answered += 1
            continue
        if isinstance(step, _call.Sleep):
            heapq.heappush(queue, (at + step.seconds, next(order), gen, None))
        else:
            response = httpx.Response(200, content=ok, request=httpx.Request("POST", step.url))
            heapq.heappush(queue, (at + 0.2, next(order), gen, response))
    assert answered == 200
    assert pacer.in_flight == 0
    assert asks[0] / 200 <= 4  # the first ask, the wake-up when due, now and then one more


# --- holds: bounded, and never longer than a call waits for a Retry-After ---------------------


def test_a_hold_lasts_at_most_max_hold_and_a_longer_retry_after_ends_the_waiting_calls() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    waiting = pacer.turn()
    pacer.pause(3600.0)  # the server shut the project out for an hour
    with pytest.raises(_pacing.HeldError) as held:
        pacer.acquire(waiting)
    assert held.value.seconds == pytest.approx(_pacing.MAX_HOLD)
    assert held.value.retry_after == pytest.approx(3600.0)
    assert len(pacer._queue) == 0  # the ended call left the queue
    clock.now = _pacing.MAX_HOLD  # the hold itself is bounded: then calls go again
    assert pacer.acquire() == 0.0


def test_a_hold_within_max_hold_is_waited_for() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    pacer.pause(30.0)
    assert pacer.acquire(pacer.turn()) == pytest.approx(30.0)


def test_a_call_waiting_during_a_long_hold_ends_at_once_with_a_rate_limit_error_not_sent() -> None:
    """Through the clients' call logic: no Sleep step, a RateLimitError whose retry_after is the
    server's, and nothing was sent (the bulk helpers keep such records as refused, not lost)."""
    from jiguang_growth import RateLimitError, _call
    from jiguang_growth._retry import possibly_applied

    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    route = _call.CallSetup("reportEvents", "POST", "http://x/report", max_retries=3, pacer=pacer)
    first = _call.call(route, b"{}", lambda data: data)
    step = next(first)
    assert isinstance(step, _call.Send)
    refused = httpx.Response(
        429,
        json={"code": 2005, "msg": "too many"},
        headers={"Retry-After": "3600"},
        request=httpx.Request("POST", step.url),
    )
    pacer.pause(3600.0)  # as a storm of such answers makes the pacer do (the rule is tested above)
    with pytest.raises(RateLimitError) as ended:
        first.send(refused)
    assert ended.value.retry_after == 3600  # the call that got it ends at once, as documented
    waiting = _call.call(route, b"{}", lambda data: data)
    clock.now = 5.0
    with pytest.raises(RateLimitError) as held:
        next(waiting)  # no Sleep(55) first
    assert held.value.retry_after == pytest.approx(3595.0)
    assert "not sent" in str(held.value)
    assert not possibly_applied(held.value)
    assert pacer.in_flight == 0


def test_a_call_closed_while_it_waits_for_a_slot_leaves_the_queue() -> None:
    from jiguang_growth import _call

    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    route = _call.CallSetup("reportEvents", "POST", "http://x/report", max_retries=0, pacer=pacer)
    assert pacer.acquire() == 0.0  # the next slot is a spacing away
    waiting = _call.call(route, b"{}", lambda data: data)
    assert isinstance(next(waiting), _call.Sleep)
    assert len(pacer._queue) == 1
    waiting.close()  # the driver gave up (an exception, a cancelled task)
    assert len(pacer._queue) == 0
    assert pacer.in_flight == 1


def test_the_first_answer_never_widens_the_margin_past_the_initial_one() -> None:
    """A far server's first answer (500 ms) must not cut a short run's rate by a quarter at its start;
    the margin then follows the spread of the answers that come."""
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    take_slot(pacer, clock)
    clock.now += 0.5
    pacer.release(0.5)
    assert pacer.margin <= _pacing.INITIAL_MARGIN
    for _ in range(40):  # steady answers: the margin falls towards the floor
        take_slot(pacer, clock)
        pacer.release(0.5)
    assert pacer.margin < 0.02


def test_a_call_refused_as_a_stray_at_the_top_retries_at_its_next_slot_and_otherwise_waits() -> None:
    """A 429 near a short run's end must not add its whole Retry-After to the run when the pacer's
    rate holds; after a cut or while every slot is held, the call waits for it."""
    clock = FakeClock()
    pacer = warmed(clock)
    take_slot(pacer, clock)
    pacer.release(0.2, throttled=True, retry_after=1.0)  # one stray at the top
    assert pacer.retry_wait(1.0) == 0.0
    refuse_many(pacer, clock, refused=10, accepted=40)  # many: the rate is cut
    assert pacer.retry_wait(1.0) == 1.0
    clock.now += 2 * pacer.period
    stray = warmed(clock)
    take_slot(stray, clock)
    stray.release(0.2, throttled=True, retry_after=1.0)
    stray.pause(3.0)  # every slot held (429s that keep coming): the call waits for its Retry-After
    assert stray.retry_wait(3.0) == 3.0


def test_a_new_connections_handshakes_count_for_the_calls_in_flight_not_for_the_margin() -> None:
    """Far away over TLS, a call that opens its connection answers two round trips later than one
    on a kept connection. Filling the pool must not read that as jitter (a margin of a third of the
    rate while the run starts) but must keep enough calls in flight for it."""
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    for n in range(60):  # the pool fills: each call opens a connection and answers in 1.5 s, not 0.5
        take_slot(pacer, clock)
        pacer.release(1.5, new_connection=True)
        if n == 0:
            assert pacer.margin == _pacing.INITIAL_MARGIN  # nothing learnt about the path's spread
    assert pacer.in_flight_target() >= 1.5 * pacer.rate  # Little's law over what holds a call now
    for n in range(60):  # then kept connections, answers 0.5 s with a little jitter
        take_slot(pacer, clock)
        pacer.release(0.5 + (0.01 if n % 2 else -0.01))
    assert pacer.margin < 0.03
    assert pacer.in_flight_target() < 1.5 * pacer.rate


def test_calls_granted_and_not_answered_count_in_the_pipe_whatever_littles_law_says() -> None:
    """Hung calls hold their place for their whole timeout: next door, Little's law asks for one or
    two calls in the pipe, but forty hung ones must not leave the flow without callers."""
    clock = FakeClock()
    pacer = warmed(clock, answer=0.005)
    assert pacer.in_flight_target() <= 2 + _pacing.IN_FLIGHT_HEADROOM
    for _ in range(40):
        take_slot(pacer, clock)
    assert pacer.in_flight_target() == 40 + _pacing.IN_FLIGHT_HEADROOM


def test_a_pacer_settled_alone_reads_429s_where_answers_barely_vary_as_strays() -> None:
    """Next door, arrivals cannot bunch by more than the answer times vary: after several periods
    alone, random 429s (the fault mix's 2%) teach at most one step of margin, not five."""
    clock = FakeClock()
    pacer = warmed(clock, answer=0.0, calls=800)  # eight periods alone at the full rate
    for _ in range(40):
        for _ in range(50):
            send(pacer, clock)
        send(pacer, clock, throttled=True)
    assert pacer.margin <= _pacing.MIN_MARGIN + _pacing.MARGIN_STEP + 1e-9
    assert pacer.pauses == 0
    other = FakeClock()
    young = warmed(other, answer=0.0, calls=50)  # a young pacer cannot tell a neighbour yet
    for _ in range(4):
        send(young, other, throttled=True)
    assert young.margin > _pacing.MIN_MARGIN + _pacing.MARGIN_STEP


def _grants_while_late_calls_go_out(report_wire_times: bool) -> int:
    """A second of slots whose calls each open a connection first (0.5 s of handshakes), then the
    half second in which they go out: how many more slots the pacer grants meanwhile."""
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    pending: list[tuple[float, float]] = []  # (when it goes out, when it was granted)
    while clock.now < 1.0:
        wait = pacer.acquire()
        if wait > 0:
            clock.now += wait
        else:
            pending.append((clock.now + 0.5, clock.now))
    more = 0
    while clock.now < 1.5:
        while report_wire_times and pending and pending[0][0] <= clock.now:
            pacer.sent(pending.pop(0)[1])
        wait = pacer.acquire()
        if wait > 0:
            clock.now += min(wait, 0.001)
        else:
            more += 1
    return more


def test_a_call_that_reaches_the_wire_late_is_counted_where_it_lands() -> None:
    """Far away over TLS, the calls that open the pool's connections go out their handshakes after
    their slots; granting calls on kept connections meanwhile would double the rate the server
    sees. Counted where they reach the wire, they hold the period's count until it has room."""
    assert _grants_while_late_calls_go_out(report_wire_times=False) > 40
    assert _grants_while_late_calls_go_out(report_wire_times=True) <= 5
