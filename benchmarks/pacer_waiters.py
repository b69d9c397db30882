"""Many callers waiting on one pacer: share of the limit, CPU, and wake-ups per grant.

Each of N asyncio tasks (or threads) takes a slot of one :class:`~jiguang_growth._pacing.Pacer`
(100 calls a second), "sends" by sleeping for a 200 ms answer, releases the slot and asks again,
for ``--seconds`` seconds; the first second is left out of the figures. Two ways of waiting, side
by side in one run:

* ``queued``: each caller waits in the pacer's queue with a turn (:meth:`Pacer.turn`) and is told
  when its own slot is due, as every call of the clients and bulk helpers does;
* ``polled``: each caller asks again when the next slot is due (``acquire()`` without a turn), as
  the clients did before: every waiter wakes up for every grant.

    .venv/bin/python benchmarks/pacer_waiters.py [--tasks N] [--threads N] [--seconds S] [--quick]

Then 40 threads on one pacer sharing a quota in a real ``redis-server`` whose every ask is delayed
20 ms in-process (a Redis 20 ms away): grants a second as a share of the limit, and round trips to
Redis per grant.

Columns: grants a second as a share of the limit, ``acquire()`` calls per grant, and the CPU
the process used (``time.process_time``) as a share of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from dataclasses import dataclass

from pacing import redis_process

from jiguang_growth import _pacing
from jiguang_growth._shared_quota import RedisQuota

LIMIT = 100
ANSWER = 0.2
WARM_UP = 1.0


@dataclass
class Tally:
    grants: int = 0
    asks: int = 0
    cpu: float = 0.0
    seconds: float = 0.0

    def row(self, name: str) -> str:
        return (
            f"| {name} | {self.grants / self.seconds / LIMIT:.3f} | {self.asks / max(1, self.grants):.1f} "
            f"| {100 * self.cpu / self.seconds:.1f}% |"
        )


class Window:
    """Counts grants, asks and CPU between the end of the warm-up and the end of the run (a thread of
    its own reads the CPU clock at both ends, so a lagging event loop does not stretch the window)."""

    def __init__(self, seconds: float) -> None:
        self.start = time.monotonic() + WARM_UP
        self.end = self.start + seconds - WARM_UP
        self.tally = Tally(seconds=seconds - WARM_UP)
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.sampler.start()

    def _sample(self) -> None:
        time.sleep(max(0.0, self.start - time.monotonic()))
        cpu = time.process_time()
        time.sleep(max(0.0, self.end - time.monotonic()))
        self.tally.cpu = time.process_time() - cpu

    def counting(self, now: float) -> bool:
        return self.start <= now < self.end

    def finish(self) -> Tally:
        self.sampler.join()
        return self.tally


def ask(pacer: _pacing.Pacer, turn: _pacing.Turn | None, window: Window) -> float:
    wait = pacer.acquire(turn)
    if window.counting(time.monotonic()):
        window.tally.asks += 1
        window.tally.grants += wait == 0.0
    return wait


async def task(pacer: _pacing.Pacer, queued: bool, window: Window) -> None:
    while time.monotonic() < window.end:
        turn = pacer.turn() if queued else None
        while (wait := ask(pacer, turn, window)) > 0:
            await asyncio.sleep(wait)
        await asyncio.sleep(ANSWER)
        pacer.release(ANSWER)


def thread(pacer: _pacing.Pacer, queued: bool, window: Window) -> None:
    while time.monotonic() < window.end:
        turn = pacer.turn() if queued else None
        while (wait := ask(pacer, turn, window)) > 0:
            time.sleep(wait)
        time.sleep(ANSWER)
        pacer.release(ANSWER)


def run_tasks(count: int, queued: bool, seconds: float) -> Tally:
    pacer = _pacing.Pacer(LIMIT)
    window = Window(seconds)

    async def main() -> None:
        await asyncio.gather(*(task(pacer, queued, window) for _ in range(count)))

    asyncio.run(main())
    return window.finish()


def run_threads(count: int, queued: bool, seconds: float) -> Tally:
    pacer = _pacing.Pacer(LIMIT)
    window = Window(seconds)
    workers = [threading.Thread(target=thread, args=(pacer, queued, window)) for _ in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return window.finish()


class FarQuota:
    """A shared quota whose every ask takes ``delay`` seconds more (Redis that far away)."""

    def __init__(self, quota: RedisQuota, delay: float) -> None:
        self.quota = quota
        self.delay = delay

    def reserve(self, interval: float, count: int) -> float | None:
        time.sleep(self.delay / 2)
        wait = self.quota.reserve(interval, count)
        time.sleep(self.delay / 2)
        return None if wait is None else max(0.0, wait - self.delay / 2)


def run_far_redis(url: str, threads: int, seconds: float, delay: float = 0.02) -> str:
    quota = RedisQuota.connect(url, base_url="http://benchmark", project_id="p", name="reportEvents")
    pacer = _pacing.Pacer(LIMIT, quota=FarQuota(quota, delay))
    window = Window(seconds)
    workers = [threading.Thread(target=thread, args=(pacer, True, window)) for _ in range(threads)]
    asks_before: int | None = None
    for worker in workers:
        worker.start()
    time.sleep(max(0.0, window.start - time.monotonic()))
    asks_before = pacer.quota_asks
    time.sleep(max(0.0, window.end - time.monotonic()))
    asks = pacer.quota_asks - asks_before
    for worker in workers:
        worker.join()
    quota.close()
    tally = window.finish()
    return (
        f"| {threads} threads, Redis {delay * 1000:.0f} ms away | {tally.grants / tally.seconds / LIMIT:.3f} "
        f"| {asks / max(1, tally.grants):.2f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="300 tasks, 50 threads, 3 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.tasks, args.threads, args.seconds = 300, 50, 3.0
    answer_ms = ANSWER * 1000
    print(
        f"One pacer, limit {LIMIT}/s, {answer_ms:.0f} ms answers, {args.seconds:g} s (first second left out)"
    )
    print("| callers | share of the limit | acquire() calls per grant | CPU (one core) |")
    print("|---|---|---|---|")
    for queued in (True, False):
        how = "queued" if queued else "polled"
        tasks = run_tasks(args.tasks, queued, args.seconds)
        print(tasks.row(f"{args.tasks} asyncio tasks, {how}"), flush=True)
        threads = run_threads(args.threads, queued, args.seconds)
        print(threads.row(f"{args.threads} threads, {how}"), flush=True)
    print()
    print("| callers | share of the limit | Redis round trips per grant |")
    print("|---|---|---|")
    with redis_process() as url:
        print(run_far_redis(url, 40, args.seconds), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
