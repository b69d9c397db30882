"""Process-wide pacing of calls to stay under each operation's QPS limit, at full speed far away.

The server counts a call when it arrives, one request-path delay after the
client sent it. The client cannot see that delay, only each call's answer
time (request path, server, response path). Sending at an even rate ``r``,
arrivals land within ``r x (1 + spread)`` per second, where ``spread`` is how
much the request-path delay varies; the answer times vary at least as much.
A :class:`Pacer` therefore grants slots evenly spaced at

    rate = limit / period x (1 - margin),  margin = MARGIN_DEVIATIONS x rttvar / period

where ``rttvar`` is the mean deviation of the answer time, estimated the way
TCP does for its retransmission timer (RFC 6298: ``srtt`` and ``rttvar``,
gains 1/8 and 1/4). The margin stays between ``MIN_MARGIN`` and ``MAX_MARGIN``;
before the first answer it is ``INITIAL_MARGIN``. Nothing depends on the
answer time itself, so a server 500 ms away gets the same rate as one next door.

A 429 means the server counted differently, or someone else uses the same
project. It delays its own call by ``Retry-After`` (the retry policy does
that) and cuts this pacer's rate to ``CUBIC_BETA`` of the rate it was sending
at (deeper when a larger share of the last period's answers were 429s); the
rate then grows back along a cubic curve, slowly near the old rate and
faster beyond it (CUBIC, as TCP and botocore's ``adaptive`` retry mode use),
and the margin widens by ``MARGIN_STEP`` (halving every ``MARGIN_HALF_LIFE``
periods), so jitter the answer times did not show makes the next 429 rarer.
Only 429s from calls granted after the last cut count as a new signal, so one
burst of refusals cuts once. Other threads keep sending at the lower rate;
only when ``STORM_CUTS`` cuts come in a row with no success between them does
the pacer hold every slot for the ``Retry-After`` (:meth:`Pacer.pause`).
Processes that share a project without coordination each cut on their own
429s and converge on a fair split, as TCP flows sharing a link do.

:meth:`Pacer.in_flight_target` applies Little's law (calls in flight = rate x
answer time) so that bulk work keeps just enough calls in flight.

With a :class:`~._shared_quota.RedisQuota` the grants of every process are
spaced on one schedule kept in Redis (``pace="redis://…"``); the local rate
still applies on top, and a Redis that goes away leaves the local rate alone.

:meth:`Pacer.acquire` never blocks: it grants a slot or says how long to
wait before asking again, so one pacer serves threads (``time.sleep``) and
asyncio tasks (``asyncio.sleep``) alike. :func:`shared_pacer` returns the one
pacer per (server, project, operation, quota) of the process, with its limit
read from openapi.yaml's ``x-qps-limit``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from . import _spec
from ._checks import whole_number

__all__ = [
    "CUBIC_BETA",
    "INITIAL_MARGIN",
    "MARGIN_DEVIATIONS",
    "MAX_MARGIN",
    "MIN_MARGIN",
    "STORM_CUTS",
    "Pacer",
    "Quota",
    "shared_pacer",
]

MIN_MARGIN = 0.01
"""The rate stays at least this share below the limit (the machine's own timing is not perfect)."""
MAX_MARGIN = 0.5
INITIAL_MARGIN = 0.1
"""Margin before the first answer has been timed."""
MARGIN_DEVIATIONS = 2.0
"""Mean deviations of the answer time the margin covers."""
CUBIC_BETA = 0.9
"""A 429 cuts the rate to this share of the rate sent at (TCP CUBIC and botocore use 0.7; the limit
is known here, so a 429 mostly means jitter or a neighbour, and a gentler cut loses less)."""
CUBIC_SCALE = 0.01
"""CUBIC's C as a share of ``limit / period`` per second cubed: from a cut at the full rate, the
rate is back after about two seconds, and probes beyond it slowly."""
MARGIN_STEP = 0.01
"""Each 429 that cuts the rate also widens the margin by this much (jitter the answer times hid)."""
MARGIN_HALF_LIFE = 30.0
"""Periods after which that extra margin has shrunk by half."""
MIN_RATE_SHARE = 0.02
"""Cuts never take the rate below this share of the limit."""
MIN_MEASURED = 0.25
"""Periods a pacer must have granted for before a cut starts from the rate it measured sending at
(earlier, from the rate it allows)."""
MIN_ANSWERS = 10
"""Answers of the last period needed before the share refused among them deepens a cut."""
STORM_CUTS = 3
"""Cuts in a row, with no success between them, after which a 429 holds every slot."""
CATCH_UP = 0.5
"""A grant asked for late may come this share of a spacing early (late threads catch up a little)."""
DEFAULT_IN_FLIGHT = 64
"""Calls in flight suggested before any answer has been timed (the grants are spaced anyway, so
more calls waiting for a slot cost nothing, and a far server is not kept waiting for work)."""
IN_FLIGHT_HEADROOM = 16
"""Calls in flight added to Little's law: a call waiting to retry (a 503's ``Retry-After``, a
timeout) holds its place for seconds without sending, and must not starve the others."""

_clock: Callable[[], float] = time.monotonic
"""Clock of the shared pacers (tests replace it)."""


class Quota(Protocol):
    """A schedule of grants shared with other processes (see :mod:`._shared_quota`)."""

    def acquire(self, interval: float) -> float | None:
        """``0.0`` for a grant, the seconds to wait, or ``None`` when the quota cannot be reached."""


class Pacer:
    """Evenly spaced grants a little under ``limit`` per ``period``, adapted to answer times and 429s."""

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
        self._granted: deque[float] = deque()
        """Grant times of the last period (the rate actually sent at)."""
        self._first_grant = math.inf
        self._answers: deque[tuple[float, bool]] = deque()
        """(when, whether it was a 429) of the answers of the last period."""
        self._in_flight = 0
        self._paused_until = -math.inf
        self._srtt: float | None = None
        self._rttvar = 0.0
        self._cut_at = -math.inf
        self._cut_from = math.inf
        """The rate when the last cut happened (CUBIC's W_max); infinite before any cut."""
        self._cuts_in_row = 0
        self._beta = CUBIC_BETA
        """The factor of the last cut."""
        self._extra = 0.0
        """Margin learnt from 429s, as of ``_cut_at`` (it decays from there)."""
        self.pauses = 0
        """How many times every slot was held (:meth:`pause`)."""
        self.rate_limited = 0
        """429s seen through this pacer."""

    # --- the surface the calls use ---------------------------------------------------------

    def acquire(self) -> float:
        """Take a slot and return ``0.0``, or return the seconds to wait before asking again."""
        with self._lock:
            now = self._clock()
            if now < self._paused_until:
                return self._paused_until - now
            interval = self.period / self.limit / self._share(now)
            if now < self._next_grant:
                return self._next_grant - now
            if self.quota is not None:
                wait = self.quota.acquire(interval)
                if wait:  # None (unreachable) and 0.0 both go ahead on the local rate
                    return wait
            self._next_grant = max(self._next_grant, now - CATCH_UP * interval) + interval
            self._first_grant = min(self._first_grant, now)
            self._in_flight += 1
            granted = self._granted
            granted.append(now)
            while granted[0] <= now - self.period:
                granted.popleft()
            return 0.0

    def release(
        self,
        answer_seconds: float | None = None,
        *,
        throttled: bool = False,
        retry_after: float | None = None,
    ) -> None:
        """The call of one granted slot has ended.

        ``answer_seconds`` is how long its answer took from the grant (``None``:
        no answer came, nothing to learn); ``throttled`` says it was a 429, with
        the answer's ``Retry-After`` in seconds if it had one.
        """
        with self._lock:
            if self._in_flight < 1:
                raise RuntimeError("release() without a matching acquire()")
            self._in_flight -= 1
            now = self._clock()
            if answer_seconds is not None:
                self._sample(max(0.0, answer_seconds))
                answers = self._answers
                answers.append((now, throttled))
                while answers[0][0] <= now - self.period:  # the last period only, as _cut reads it
                    answers.popleft()
            if throttled:
                self.rate_limited += 1
                granted_at = now - (answer_seconds or 0.0)
                if granted_at >= self._cut_at:  # sent after the last cut: a new signal
                    self._cut(now, retry_after)
            elif answer_seconds is not None:
                self._cuts_in_row = 0

    def pause(self, seconds: float) -> None:
        """Grant no slot for ``seconds``."""
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

    def in_flight_target(self) -> int:
        """Calls to keep in flight for the current rate (Little's law, with headroom)."""
        with self._lock:
            if self._srtt is None:
                return DEFAULT_IN_FLIGHT
            rate = self.limit / self.period * self._share(self._clock())
            return math.ceil(rate * (self._srtt + 4 * self._rttvar)) + IN_FLIGHT_HEADROOM

    # --- inside the lock ----------------------------------------------------------------------

    def _margin(self, now: float | None = None) -> float:
        if self._srtt is None:
            return INITIAL_MARGIN
        measured = MARGIN_DEVIATIONS * self._rttvar / self.period
        return min(MAX_MARGIN, max(MIN_MARGIN, measured) + self._extra_margin(now))

    def _extra_margin(self, now: float | None) -> float:
        if not self._extra:
            return 0.0
        elapsed = ((self._clock() if now is None else now) - self._cut_at) / self.period
        return float(self._extra * 0.5 ** (elapsed / MARGIN_HALF_LIFE))

    def _share(self, now: float) -> float:
        """The share of the limit granted now: under the margin, and under CUBIC after a cut."""
        share = 1.0 - self._margin(now)
        if self._cut_from < math.inf:
            scale = CUBIC_SCALE
            top = self._cut_from
            k = (top * (1.0 - self._beta) / scale) ** (1 / 3)
            elapsed = (now - self._cut_at) / self.period
            share = min(share, max(MIN_RATE_SHARE, scale * (elapsed - k) ** 3 + top))
        return share

    def _sample(self, seconds: float) -> None:
        """RFC 6298's estimators of the answer time and its mean deviation."""
        if self._srtt is None:
            self._srtt, self._rttvar = seconds, seconds / 2
        else:
            self._rttvar += (abs(self._srtt - seconds) - self._rttvar) / 4
            self._srtt += (seconds - self._srtt) / 8

    def _cut(self, now: float, retry_after: float | None) -> None:
        granted = self._granted
        while granted and granted[0] <= now - self.period:
            granted.popleft()
        current = self._share(now)
        span = min(self.period, now - self._first_grant)  # a young pacer has sent for less than a period
        sent_share = current
        if span >= MIN_MEASURED * self.period:
            sent_share = len(granted) * self.period / span / self.limit  # the share actually sent at
        answers = self._answers
        while answers and answers[0][0] <= now - self.period:
            answers.popleft()
        refused = 0.0
        if len(answers) >= MIN_ANSWERS:
            refused = sum(1 for _, throttled in answers if throttled) / len(answers)
        # Far over the limit (many refused), cut by as much as was refused; else by CUBIC's beta.
        self._beta = max(MIN_RATE_SHARE, min(CUBIC_BETA, 1.0 - refused))
        self._cut_from = max(MIN_RATE_SHARE, min(current, sent_share))
        self._extra = min(MAX_MARGIN, self._extra_margin(now) + MARGIN_STEP)
        self._cut_at = now
        self._cuts_in_row += 1
        if self._cuts_in_row >= STORM_CUTS:
            self._cuts_in_row = 0
            self._pause(self.period if retry_after is None else retry_after)

    def _pause(self, seconds: float) -> None:
        self.pauses += 1
        self._paused_until = max(self._paused_until, self._clock() + seconds)


_shared: dict[tuple[str, str, str, str | None], Pacer] = {}
_shared_lock = threading.Lock()


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
