"""The pacer never lets more than `limit` slots into any window, and wastes little."""

from __future__ import annotations

import random
import threading

import pytest

from jiguang_growth import _pacing


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def granted_slots(pacer: _pacing.Pacer, clock: FakeClock, arrivals: list[float]) -> list[float]:
    slots = []
    for at in sorted(arrivals):
        clock.now = at
        slots.append(at + pacer.reserve())
    return slots


def busiest_window(slots: list[float], window: float) -> int:
    ordered = sorted(slots)
    best, start = 0, 0
    for end, value in enumerate(ordered):
        while ordered[start] <= value - window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("seed", range(5))
def test_no_window_holds_more_than_the_limit(seed: int) -> None:
    rng = random.Random(seed)
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    arrivals = [rng.uniform(0, 5) for _ in range(2000)]
    slots = granted_slots(pacer, clock, arrivals)
    # Windows are half-open; shave off float rounding at the boundary.
    assert busiest_window(slots, pacer.window - 1e-9) == 100
    # Slots are never granted before the caller asked.
    assert all(slot >= at for slot, at in zip(slots, sorted(arrivals), strict=True))


def test_a_backlog_runs_at_the_documented_rate() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, margin=0.03, clock=clock)
    slots = granted_slots(pacer, clock, [0.0] * 1000)
    # 1000 slots: 10 windows of 100, the last starting after 9 full windows.
    assert slots[-1] == pytest.approx(9 * 1.03)
    assert pacer.rate == pytest.approx(100 / 1.03)
    assert 1000 / (slots[-1] + 1.03) >= 0.95 * 100


def test_pause_delays_every_later_slot() -> None:
    clock = FakeClock()
    pacer = _pacing.Pacer(limit=100, clock=clock)
    assert pacer.reserve() == 0.0
    pacer.pause(2.0)
    clock.now = 0.5
    assert pacer.reserve() == pytest.approx(1.5)


def test_threads_share_one_budget() -> None:
    pacer = _pacing.Pacer(limit=50, period=0.2, margin=0.0)
    slots: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(40):
            _, slot = pacer.reserve_slot()
            with lock:
                slots.append(slot)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(slots) == 320
    assert busiest_window(slots, pacer.window - 1e-9) <= 50


def test_shared_pacer_is_one_per_operation_and_project_with_the_spec_limit() -> None:
    a = _pacing.shared_pacer("reportEvents", project_id="p1", base_url="http://x")
    assert a is _pacing.shared_pacer("reportEvents", project_id="p1", base_url="http://x")
    assert a is not _pacing.shared_pacer("getCuids", project_id="p1", base_url="http://x")
    assert a is not _pacing.shared_pacer("reportEvents", project_id="p2", base_url="http://x")
    assert a.limit == 100  # x-qps-limit in openapi.yaml


@pytest.mark.parametrize(("limit", "period", "margin"), [(0, 1.0, 0.0), (1, 0.0, 0.0), (1, 1.0, -0.1)])
def test_invalid_settings_are_refused(limit: int, period: float, margin: float) -> None:
    with pytest.raises(ValueError):
        _pacing.Pacer(limit, period, margin)
