"""Process-wide pacing of calls to stay under each operation's QPS limit, at full speed far away.

The server counts a call when it arrives, one request-path delay after the
client sent it. The client cannot see that delay, only each call's answer
time (request path, server, response path). Sending at an even rate ``r``,
arrivals land within ``r x (1 + spread)`` per second, where ``spread`` is how
much the request-path delay varies; the answer times vary at least as much.
A :class:`Pacer` therefore grants slots evenly spaced at

    rate = limit / period x (1 - margin),  margin = MARGIN_DEVIATIONS x rttvar / period + learnt

where ``rttvar`` is the mean deviation of the answer time, estimated the way
TCP does for its retransmission timer (RFC 6298: ``srtt`` and ``rttvar``,
gains 1/8 and 1/4), and never more than that rate in any one period. The
measured part stays at least ``MIN_MARGIN``; before the first answer the
margin is ``INITIAL_MARGIN``. Nothing depends on the answer time itself, so a
server 500 ms away gets the same rate as one next door.

A 429 delays its own call by ``Retry-After`` (the retry policy does that).
What it does to the pacer depends on how many of the last period's answers
were 429s, because the limit is known (``x-qps-limit``) and a 429 near it is
mostly jitter:

* **A few, at the top rate**: jitter the answer times did not show, or a
  stray refusal. The margin widens by ``MARGIN_STEP`` (at most
  ``MAX_LEARNT_MARGIN`` in all; once it has sent alone for
  ``SETTLED_PERIODS``, no more than ``MARGIN_STEP`` plus the measured part:
  where the answer times barely vary, arrivals cannot bunch, and the 429s
  are strays; halving every ``MARGIN_HALF_LIFE`` periods), and the rate stays.
* **Many** (over ``JITTER_SHARE`` of the answers): someone else uses the
  project, or the server allows less. The rate is cut to ``CUT_BACKOFF``
  under what the server accepted over the last period, then grows back along
  CUBIC's curve (slowly near that rate, faster beyond it: TCP CUBIC, as
  botocore's ``adaptive`` retry mode uses), and 429s are not acted on again
  for a period, the time the server's count still holds the calls sent
  before the cut.
* **A few, while the curve probes beyond that rate**: the room ends here, and
  the rate is cut by ``CUT_BACKOFF`` from where it is. This is what lets
  processes that share a project without coordination settle on a split:
  each backs off where its probes meet the others', as TCP flows do.
* **Over ``STORM_SHARE`` of the answers**: 429s keep coming, and the pacer
  holds every slot for the ``Retry-After`` (:meth:`Pacer.pause`), since the
  server will refuse whatever arrives before then.

Only 429s for calls granted after the pacer last acted count as news, so one
burst of refusals is acted on once. Other threads keep sending throughout.

:meth:`Pacer.in_flight_target` applies Little's law (calls in flight = rate x
answer time) so that bulk work keeps just enough calls in flight.

With a :class:`~._shared_quota.RedisQuota` the grants of every process come
from one schedule kept in Redis (``pace="redis://…"``): the pacer reserves the
next free slots there, as many at a time as fall due within a few of Redis's
round trips, and asks for more before the ones in hand run out, outside its
lock; a reserved slot is kept for this process until it is taken, whichever
thread takes it. The local rate still applies on top, and a Redis that goes
away leaves the local rate alone.

:meth:`Pacer.acquire` never blocks: it grants a slot or says how long to
wait before asking again, so one pacer serves threads (``time.sleep``) and
asyncio tasks (``asyncio.sleep``) alike. A caller that holds a :class:`Turn`
(:meth:`Pacer.turn`) waits in one queue, first come first served, and is
told to come back when its own slot is due (its place in the queue times the
shortest spacing the pacer may use), not when the next slot is: each grant
wakes about one caller, however many wait. A caller that comes back late
loses its place to the next one and gets the next slot instead.

A hold (:meth:`Pacer.pause`) lasts at most ``MAX_HOLD`` seconds. When the
``Retry-After`` that set it was longer than that (the server shut the project
out for longer than any call waits for a ``Retry-After``), :meth:`Pacer.acquire`
raises :class:`HeldError` instead of telling callers to wait, so the calls end at
once, as the call that got that answer did.

:func:`shared_pacer` returns the one pacer per (server, project, operation,
quota) of the process, with its limit read from openapi.yaml's ``x-qps-limit``.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from . import _spec
from ._checks import whole_number
from ._retry import MAX_RETRY_AFTER

__all__ = [
    "CUT_BACKOFF",
    "INITIAL_MARGIN",
    "MARGIN_DEVIATIONS",
    "MAX_HOLD",
    "MAX_MARGIN",
    "MIN_MARGIN",
    "STORM_SHARE",
    "HeldError",
    "Pacer",
    "Quota",
    "Turn",
    "shared_pacer",
]

MIN_MARGIN = 0.01
"""The rate stays at least this share below the limit (the machine's own timing is not perfect)."""
MAX_MARGIN = 0.5
INITIAL_MARGIN = 0.1
"""Margin before the first answer has been timed."""
MARGIN_DEVIATIONS = 1.0
"""Mean deviations of the answer time the margin covers. Only the request path's part of the spread
moves arrivals, and only the calls near a period's edges, so one is enough; 429s teach the rest."""
MARGIN_STEP = 0.01
"""A 429 at the top rate widens the margin by this much: jitter the answer times did not show."""
MAX_LEARNT_MARGIN = 0.05
"""The margin learnt from 429s stays below this (429s that no margin avoids must not stop a run)."""
SETTLED_PERIODS = 5.0
"""Periods after its first answer, without a cut, from which a pacer takes itself to send alone."""
LEARNT_PER_SPREAD = 1.0
"""The margin learnt from 429s also stays within ``MARGIN_STEP`` plus this many times the measured
part: arrivals bunch by at most the request path's spread, which the answer times include, so
where they barely vary a 429 at the top is a stray (the fault mix's random 429s next door), not
jitter the margin failed to cover."""
MARGIN_HALF_LIFE = 30.0
"""Periods after which the learnt margin has shrunk by half."""
JITTER_SHARE = 0.05
"""429s up to this share of the last period's answers (and ``JITTER_CALLS`` more) are "a few":
jitter or strays. Beyond it, someone else uses the project or the limit is lower."""
JITTER_CALLS = 2
"""429s "a few" may count on top of ``JITTER_SHARE`` (a couple of strays in a young pacer's first
answers are not "many")."""
CUT_BACKOFF = 0.03
"""A cut sets the rate this share below the rate the server accepted over the last period."""
CUBIC_SCALE = 0.004
"""CUBIC's C as a share of ``limit / period`` per period cubed: after a cut at the full rate the
curve is back at the accepted rate in about two periods, then probes beyond it slowly; a process
left alone at half the limit is back at the full rate in five. Two processes sharing a project
without Redis meet one 429 or two at each probe: 0.01 (back in 1.4 periods) probed twice as
often, 2.9% of calls against 2.1% (docs/benchmarks.md)."""
MIN_RATE_SHARE = 0.02
"""Cuts never take the rate below this share of the limit."""
MIN_ANSWERS = 10
"""The storm share is taken of at least this many answers (three 429s of a pacer's first four
answers are not a storm)."""
STORM_SHARE = 0.25
"""A 429 holds every slot for its ``Retry-After`` when at least this share of the last period's
answers were 429s (429s keep coming: the server will refuse whatever is sent before then)."""
CATCH_UP = 0.5
"""A grant asked for late may come this share of a spacing early (late threads catch up a little)."""
DEFAULT_IN_FLIGHT = 64
"""Calls in flight suggested before any answer has been timed (the grants are spaced anyway, so
more calls waiting for a slot cost nothing, and a far server is not kept waiting for work)."""
IN_FLIGHT_HEADROOM = 16
"""Calls in flight added to Little's law: a call waiting to retry (a 503's ``Retry-After``, a
timeout) holds its place for seconds without sending, and must not starve the others."""

MAX_HOLD = MAX_RETRY_AFTER
"""Longest a hold lasts: no call waits longer for a ``Retry-After`` (a longer one ends it)."""
LATE_SHARE = 0.5
"""A waiter that comes back this share of the shortest spacing after the time it was given has lost its
place in the queue: the next one may take the slot (it gets its place back at the front)."""
QUOTA_ROUND_TRIPS = 3.0
"""Reserve as many shared slots at a time as fall due within this many of Redis's round trips, and ask
for more once the slots in hand run out within two."""
MAX_QUOTA_BATCH = 0.25
"""At most this share of a period's slots is reserved in one ask."""

_clock: Callable[[], float] = time.monotonic
"""Clock of the shared pacers (tests replace it)."""


class Quota(Protocol):
    """A schedule of grants shared with other processes (see :mod:`._shared_quota`)."""

    def reserve(self, interval: float, count: int) -> float | None:
        """Reserve the next ``count`` free slots ``interval`` apart: the seconds until the first
        (``0.0``: now), or ``None`` when the quota cannot be reached."""


class Turn:
    """A caller's place in a pacer's queue of waiters (:meth:`Pacer.turn`)."""

    __slots__ = ("expected", "queued")

    def __init__(self, now: float) -> None:
        self.expected = now
        """When the caller was told to come back."""
        self.queued = False
        """Whether it is in the queue (a late caller has lost its place until it comes back)."""


class HeldError(Exception):
    """The pacer holds every slot after 429s whose ``Retry-After`` is longer than any call waits."""

    def __init__(self, seconds: float, retry_after: float) -> None:
        super().__init__(f"every slot is held for {seconds:.0f} s")
        self.seconds = seconds
        """Until the hold ends."""
        self.retry_after = retry_after
        """Until the end of the server's ``Retry-After`` that set the hold."""


class Pacer:
    """Evenly spaced grants a little under ``limit`` per ``period``, adapted to answer times and 429s."""

    _srtt: float | None
    _rttvar: float
    """Answer time and its mean deviation over calls on kept connections (the path's spread)."""
    _held: float | None
    """Answer time over every call, new connections' handshakes included (Little's law)."""
    _first_answer: float
    """When the first answer came (``inf`` before)."""

    def __init__(
        self,
        limit: int,
        period: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        quota: Quota | None = None,
    ) -> None:
        whole_number("limit", limit, 1)
        if period <= 0:
            raise ValueError(f"period must be positive, got {period!r}")
        self.limit = limit
        self.period = period
        self.quota = quota
        self._clock = clock
        self._lock = threading.Lock()
        self._next_grant = -math.inf
        self._reserved: deque[float] = deque()
        """When the slots the shared quota reserved for this process are due."""
        self._asking = False
        """A thread is asking the shared quota for slots (outside the lock)."""
        self._quota_away_until = -math.inf
        """The shared quota could not be reached: the local rate alone until then."""
        self._quota_rtt = 0.0
        """Smoothed time one ask of the shared quota takes."""
        self.quota_asks = 0
        """Round trips to the shared quota."""
        self._queue: deque[Turn] = deque()
        """Callers waiting for a slot, first come first served."""
        self._held_for = -math.inf
        """Until when the ``Retry-After`` that set the current hold asked the project to wait."""
        self._granted: deque[float] = deque()
        """Grant times of the last period (the rate actually sent at)."""
        self._answers: deque[tuple[float, bool]] = deque()
        """(when, whether it was a 429) of the answers of the last period."""
        self._in_flight = 0
        self._parked = 0
        self._paused_until = -math.inf
        self._srtt, self._rttvar, self._held, self._first_answer = None, 0.0, None, math.inf
        self._cut_at = -math.inf
        self._cut_to = 0.0
        self._accepted = math.inf
        """The share the server accepted when the last cut happened (CUBIC's W_max); infinite before."""
        self._quiet_until = -math.inf
        """Until a period after a cut for many 429s, the server's count still holds the calls before it."""
        self._heard_at = -math.inf
        """When the pacer last acted on a 429: 429s of calls granted before then are old news."""
        self._extra = 0.0
        self._extra_at = -math.inf
        """Margin learnt from 429s, as of ``_extra_at`` (it decays from there)."""
        self._stray = False
        """Whether the last 429 acted on was read as a stray at the top rate (the rate holds)."""
        self.pauses = 0
        """How many times every slot was held (:meth:`pause`)."""
        self.rate_limited = 0
        """429s seen through this pacer."""

    # --- the surface the calls use ---------------------------------------------------------

    def turn(self) -> Turn:
        """A place at the back of the queue of waiters; pass it to every :meth:`acquire` of one slot."""
        with self._lock:
            turn = Turn(self._clock())
            turn.queued = True
            self._queue.append(turn)
            return turn

    def leave(self, turn: Turn) -> None:
        """Give up ``turn`` without a slot (the caller stopped waiting)."""
        with self._lock:
            self._dequeue(turn)

    def acquire(self, turn: Turn | None = None) -> float:
        """Take a slot and return ``0.0``, or return the seconds to wait before asking again.

        With ``turn`` the caller waits in the queue and is told when its own slot is due;
        without, it asks as a newcomer each time. Raises :class:`HeldError` while a hold set by a
        ``Retry-After`` over ``MAX_HOLD`` lasts.
        """
        while True:
            with self._lock:
                wait, ask, interval = self._try(turn)
            if ask:  # a round trip to the shared quota, without holding the lock
                self._ask(interval, ask)
            if wait is not None:
                return wait

    def _try(self, turn: Turn | None) -> tuple[float | None, int, float]:
        """(the wait, or ``None`` to ask the shared quota first; shared slots to ask for; spacing)."""
        now = self._clock()
        if now < self._paused_until and self._held_for - now > MAX_HOLD:
            if turn is not None:  # shut out for longer than any call waits for a Retry-After
                self._dequeue(turn)
            raise HeldError(self._paused_until - now, self._held_for - now)
        share = self._share(now)
        interval = self.period / self.limit / share
        place = self._place(turn, now)
        wait = self._due(now, share)
        if place or wait > 0:
            wait = max(0.0, wait) + place * self.period / self.limit / (1.0 - MIN_MARGIN)
            if turn is not None:
                turn.expected = now + wait
            return wait, 0, interval
        if self.quota is not None and now >= self._quota_away_until:
            if not self._reserved:
                self._asking = True  # nothing in hand: this caller asks, the others wait for it
                if turn is not None:
                    turn.expected = now + self._quota_rtt  # keeps its place while it asks
                return None, self._batch_size(interval), interval
            self._reserved.popleft()  # the shared schedule kept this slot for this process
        if turn is not None:
            self._dequeue(turn)
        self._next_grant = max(self._next_grant, now - CATCH_UP * interval) + interval
        self._in_flight += 1
        self._granted.append(now)
        return 0.0, self._ahead(now, interval), interval

    def _due(self, now: float, share: float) -> float:
        """Seconds until the next slot may be granted (0 or less: now)."""
        if now < self._paused_until:
            return self._paused_until - now
        if now < self._next_grant:
            return self._next_grant - now
        granted = self._granted
        while granted and granted[0] <= now - self.period:
            granted.popleft()
        if len(granted) >= self.limit * share:  # never more than the rate in any one period
            return max(1e-6, granted[0] + self.period - now)
        if self.quota is None or now < self._quota_away_until:
            return 0.0
        reserved = self._reserved
        while reserved and reserved[0] < now - self.period:  # a slot left unused for a period is gone
            reserved.popleft()
        if reserved:
            return reserved[0] - now
        return max(1e-3, self._quota_rtt) if self._asking else 0.0

    def _place(self, turn: Turn | None, now: float) -> int:
        """How many waiters come before the caller (one that comes back late loses its place)."""
        queue = self._queue
        late = LATE_SHARE * self.period / self.limit
        while queue and queue[0] is not turn and queue[0].expected + late < now:
            queue.popleft().queued = False  # it has not come back for its slot: the next one takes it
        if turn is None:
            return len(queue)
        if not turn.queued:  # came back late: first in line for the next slot
            turn.queued = True
            queue.appendleft(turn)
            return 0
        return queue.index(turn)

    def _dequeue(self, turn: Turn) -> None:
        if turn.queued:
            turn.queued = False
            self._queue.remove(turn)

    def _batch_size(self, interval: float) -> int:
        """Shared slots to reserve in one ask: those due within a few round trips to the quota."""
        most = max(1, int(MAX_QUOTA_BATCH * self.limit))
        return min(most, max(1, math.ceil(QUOTA_ROUND_TRIPS * self._quota_rtt / interval)))

    def _ahead(self, now: float, interval: float) -> int:
        """After a grant: shared slots to ask for before those in hand run out (0: none yet)."""
        reserved = self._reserved
        if self.quota is None or self._asking or not reserved or reserved[-1] - now >= 2 * self._quota_rtt:
            return 0
        self._asking = True
        return self._batch_size(interval)

    def _ask(self, interval: float, count: int) -> None:
        """Reserve ``count`` slots of the shared quota (without the lock; ``_asking`` is set)."""
        assert self.quota is not None
        started = time.monotonic()
        try:
            wait = self.quota.reserve(interval, count)
        except BaseException:
            with self._lock:
                self._asking = False
            raise
        took = time.monotonic() - started
        with self._lock:
            self._asking = False
            self.quota_asks += 1
            if wait is None:  # away: the local rate alone for a period, then ask again
                self._quota_away_until = self._clock() + self.period
                return
            rtt = self._quota_rtt
            self._quota_rtt = took if not rtt else rtt + (took - rtt) / 4
            first = max(self._clock() + wait, self._reserved[-1] + interval if self._reserved else -math.inf)
            self._reserved.extend(first + n * interval for n in range(count))

    def release(
        self,
        answer_seconds: float | None = None,
        *,
        throttled: bool = False,
        retry_after: float | None = None,
        new_connection: bool = False,
    ) -> None:
        """The call of one granted slot has ended.

        ``answer_seconds`` is how long its answer took from the grant (``None``:
        no answer came, nothing to learn); ``throttled`` says it was a 429, with
        the answer's ``Retry-After`` in seconds if it had one. ``new_connection``
        says the call opened its connection: its time includes the handshakes,
        so it counts for the calls to keep in flight, not for the margin.
        """
        with self._lock:
            if self._in_flight < 1:
                raise RuntimeError("release() without a matching acquire()")
            self._in_flight -= 1
            now = self._clock()
            answers = self._answers
            if answer_seconds is not None:
                self._sample(max(0.0, answer_seconds), new_connection)
                answers.append((now, throttled))
            while answers and answers[0][0] <= now - self.period:  # the last period only
                answers.popleft()
            if throttled:
                self.rate_limited += 1
                granted_at = now - (answer_seconds or 0.0)
                if granted_at >= self._heard_at:  # granted after the last act on a 429: news
                    self._throttled(now, retry_after)

    def sent(self, granted_at: float) -> None:
        """The call of the slot granted at ``granted_at`` (:meth:`now` then) starts going out now.

        A call that had to open a connection first reaches the server its handshakes later than
        its slot: the pacer counts it from now on, so the period's count holds the calls where
        they reach the wire, and calls on kept connections granted meanwhile do not land on top.
        """
        with self._lock:
            now = self._clock()
            late = now - granted_at
            if late < self.period / self.limit:
                return  # within a spacing: as granted
            granted = self._granted
            if granted_at in granted:  # still in the period's count: move it to now
                granted.remove(granted_at)
            granted.append(now)  # every grant counted is at or before now

    def retry_wait(self, retry_after: float) -> float:
        """Seconds a call refused with 429 waits before asking for a slot again.

        None when the pacer read its 429 as a stray at the top rate: the
        schedule already keeps the calls under the limit, so the call takes
        its next slot (waiting the whole ``Retry-After``, whole seconds, would
        only add to the end of a run); ``retry_after`` otherwise.
        """
        with self._lock:
            return 0.0 if self._stray and self._clock() >= self._paused_until else retry_after

    def pause(self, seconds: float) -> None:
        """Grant no slot for ``seconds`` (at most ``MAX_HOLD``; a longer one makes :meth:`acquire`
        raise :class:`HeldError` until it ends)."""
        with self._lock:
            self._pause(seconds)

    def now(self) -> float:
        """The pacer's clock (time answer times with it)."""
        return self._clock()

    # --- what the pacer has learnt ------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Granted calls not released yet."""
        return self._in_flight

    @property
    def rate(self) -> float:
        """Calls per second the pacer grants now."""
        with self._lock:
            return self.limit / self.period * self._share(self._clock())

    @property
    def margin(self) -> float:
        """Share of the limit kept free for the variation of the answer times."""
        with self._lock:
            return self._margin()

    @property
    def parked(self) -> int:
        """Calls waiting to retry (:meth:`park`)."""
        return self._parked

    def park(self, change: int) -> None:
        """A call starts (``1``) or ends (``-1``) a wait before a retry: it holds its place in the
        caller's work without taking part in the flow of slots."""
        with self._lock:
            if self._parked + change < 0:
                raise RuntimeError("park(-1) without a matching park(1)")
            self._parked += change

    def in_flight_target(self) -> int:
        """Calls to keep in flight: those the current rate needs in the pipe (Little's law, or the
        calls granted and not answered yet when more are: a hung call holds its place for its whole
        timeout), headroom, and the calls waiting to retry, which take no part in the flow."""
        with self._lock:
            if self._held is None:
                return DEFAULT_IN_FLIGHT + self._parked
            rate = self.limit / self.period * self._share(self._clock())
            pipe = max(math.ceil(rate * (self._held + 4 * self._rttvar)), self._in_flight)
            return pipe + IN_FLIGHT_HEADROOM + self._parked

    # --- inside the lock ----------------------------------------------------------------------

    def _margin(self, now: float | None = None) -> float:
        if self._srtt is None:
            return INITIAL_MARGIN
        measured = MARGIN_DEVIATIONS * self._rttvar / self.period
        return min(MAX_MARGIN, max(MIN_MARGIN, measured) + self._extra_margin(now))

    def _learnable(self, now: float) -> float:
        """The most margin 429s may teach: the whole ``MAX_LEARNT_MARGIN`` while the pacer is young
        or has had to cut (a neighbour's first 429s look like strays; 429s at the top are where
        shares meet); once it has sent alone for ``SETTLED_PERIODS``, within reach of the spread the
        answer times show."""
        if self._accepted < math.inf or now - self._first_answer < SETTLED_PERIODS * self.period:
            return MAX_LEARNT_MARGIN
        measured = MARGIN_DEVIATIONS * self._rttvar / self.period
        return min(MAX_LEARNT_MARGIN, MARGIN_STEP + LEARNT_PER_SPREAD * measured)

    def _extra_margin(self, now: float | None) -> float:
        if not self._extra:
            return 0.0
        elapsed = ((self._clock() if now is None else now) - self._extra_at) / self.period
        return float(self._extra * 0.5 ** (max(0.0, elapsed) / MARGIN_HALF_LIFE))

    def _share(self, now: float) -> float:
        """The share of the limit granted now: under the margin, and under CUBIC after a cut."""
        share = 1.0 - self._margin(now)
        if self._accepted < math.inf:
            curve = max(MIN_RATE_SHARE, self._curve(now) * (1.0 - self._extra_margin(now)))
            share = min(share, curve)
        return share

    def _curve(self, now: float) -> float:
        """CUBIC's curve since the last cut (there was one): back at the accepted rate after its K,
        then beyond."""
        elapsed = (now - self._cut_at) / self.period - self._recovery()
        return CUBIC_SCALE * elapsed**3 + self._accepted

    def _recovery(self) -> float:
        """Periods from the last cut until CUBIC's curve is back at the accepted rate (its K)."""
        return float((max(0.0, self._accepted - self._cut_to) / CUBIC_SCALE) ** (1 / 3))

    def _sample(self, seconds: float, new_connection: bool) -> None:
        """RFC 6298's estimators of the answer time and its mean deviation (started no wider than
        the initial margin), over the calls on reused connections: a new connection's handshakes
        are not the path's spread. Every call counts for the time a call is held."""
        if self._held is None:
            self._held, self._first_answer = seconds, self._clock()
        else:
            self._held += (seconds - self._held) / 8
        if new_connection:
            return
        if self._srtt is None:
            # RFC 6298 starts rttvar at half the first answer time, which suits a retransmission
            # timer but would make the margin a quarter of the rate at 500 ms, just as the run
            # starts: start no wider than the margin before any answer, and let the samples tell.
            self._srtt, self._rttvar = seconds, min(seconds / 2, INITIAL_MARGIN * self.period)
        else:
            self._rttvar += (abs(self._srtt - seconds) - self._rttvar) / 4
            self._srtt += (seconds - self._srtt) / 8

    def _refused(self) -> tuple[int, int]:
        """How many of the last period's answers were 429s, and how many answers there were
        (:meth:`release` keeps only that period's)."""
        answers = self._answers
        return sum(1 for _, throttled in answers if throttled), len(answers)

    def _throttled(self, now: float, retry_after: float | None) -> None:
        """Act on a 429 that is news: many cut the rate, a probe too far cuts it a little, and a
        stray one at the top widens the margin."""
        self._heard_at = now
        self._stray = False
        refused, answers = self._refused()
        storm = refused >= STORM_SHARE * max(answers, MIN_ANSWERS)
        if storm:  # 429s keep coming
            self._pause(self.period if retry_after is None else retry_after)
        if now < self._quiet_until:
            return  # the server's count still holds the calls sent before the last cut
        current = self._share(now)
        # Counted against at least half a period's worth of answers, and a couple more, so that a
        # young pacer's first answers, or a stray 429 or two among them, do not look like many.
        if refused > JITTER_SHARE * max(answers, self.limit / 2) + JITTER_CALLS:
            # Someone else sends too, or the server allows less: send a little under what it
            # accepted over the last period (a young pacer's whole life is in the server's count,
            # so that is its share of the count too), and grow back along CUBIC's curve.
            self._cut(now, max(MIN_RATE_SHARE, min(current, (answers - refused) / self.limit)))
            self._quiet_until = now + self.period
        elif self._probing(now):
            self._cut(now, current)  # past the rate accepted before the last cut: the room ends here
        elif current >= (1.0 - CUT_BACKOFF / 2) * self._ceiling(now):
            # At the top: jitter the answer times did not show, a new neighbour, or a stray 429.
            self._extra = min(self._learnable(now), self._extra_margin(now) + MARGIN_STEP)
            self._extra_at = now
            self._stray = not storm
        # (Well below it, growing back after a cut, a 429 says nothing about this rate.)

    def _probing(self, now: float) -> bool:
        """Whether CUBIC's curve has grown well past the rate accepted before the last cut."""
        return self._accepted < math.inf and self._curve(now) >= (1.0 + CUT_BACKOFF / 2) * self._accepted

    def _ceiling(self, now: float) -> float:
        """The share the pacer would settle at: under the margin, and under the last accepted rate."""
        return min(1.0 - self._margin(now), self._accepted * (1.0 - self._extra_margin(now)))

    def _cut(self, now: float, accepted: float) -> None:
        """Send ``CUT_BACKOFF`` under ``accepted``, then grow back to it and probe beyond (CUBIC)."""
        self._accepted = accepted
        self._cut_to = max(MIN_RATE_SHARE, accepted * (1.0 - CUT_BACKOFF))
        self._cut_at = now

    def _pause(self, seconds: float) -> None:
        self.pauses += 1
        now = self._clock()
        self._paused_until = max(self._paused_until, now + min(seconds, MAX_HOLD))
        self._held_for = max(self._held_for, now + seconds)


_shared: dict[tuple[str, str, str, str | None], Pacer] = {}
_shared_lock = threading.Lock()


def _forget_after_fork() -> None:
    """A forked child starts without pacers: the parent's count its threads' calls and may hold a lock."""
    global _shared_lock  # noqa: PLW0603 - replaced, not acquired: a parent thread may hold it
    _shared_lock = threading.Lock()
    _shared.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def shared_pacer(operation_id: str, *, project_id: str, base_url: str, quota_url: str | None = None) -> Pacer:
    """The process-wide pacer of one operation for one project and server (and shared quota).

    ``quota_url`` (``redis://…``) shares the grants with every process using the
    same Redis; connecting fails here with a :class:`ConfigurationError`.
    """
    key = (base_url, project_id, operation_id, quota_url)
    with _shared_lock:
        pacer = _shared.get(key)
        if pacer is None:
            quota: Quota | None = None
            if quota_url is not None:
                from ._shared_quota import RedisQuota  # noqa: PLC0415 - only with pace="redis://..."

                quota = RedisQuota.connect(
                    quota_url, base_url=base_url, project_id=project_id, name=operation_id
                )
            limit = _spec.operation(operation_id).qps_limit
            pacer = _shared[key] = Pacer(limit, clock=_clock, quota=quota)
        return pacer
