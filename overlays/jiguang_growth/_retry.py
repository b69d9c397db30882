"""When a failed call may be sent again, and how long to wait first.

Pure functions, no I/O: the clients and the bulk ingestion share them, so the
policy is written down once. Two questions decide a retry:

* Is the failure *transient*? Connection failures, 429, and 502/503/504 are;
  a 500 (usually a bug that a repeat hits again), other statuses, a non-zero
  ``code`` in a 200 and an unreadable success are not.
* May the request already have been applied (:func:`possibly_applied`)? If
  so, it is replayed only when the operation is safe to repeat: its
  ``x-replay-safe`` in openapi.yaml, with the reason (:func:`replay_safe`).
"""

from __future__ import annotations

import calendar
import datetime
import random
import re
import time
from collections.abc import Callable

from . import _spec
from ._exceptions import APIConnectionError, APIError, RequestValidationError

__all__ = [
    "INITIAL_DELAY",
    "MAX_DELAY",
    "MAX_RETRY_AFTER",
    "TRANSIENT_STATUSES",
    "backoff_delay",
    "is_retryable",
    "is_transient",
    "parse_retry_after",
    "possibly_applied",
    "replay_safe",
    "retry_delay",
]

INITIAL_DELAY = 0.5
"""Seconds before the first retry, before jitter."""
MAX_DELAY = 8.0
"""Longest computed backoff, before jitter."""
MAX_RETRY_AFTER = 60.0
"""Longest ``Retry-After`` a call waits for. A longer one ends the call instead:
waiting less than the server asked for only earns another refusal, and the
error carries ``retry_after`` so the caller can come back later."""
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
"""HTTP statuses worth another attempt (subject to :func:`possibly_applied`)."""


def replay_safe(operation_id: str) -> bool:
    """Whether ``operation_id`` may be replayed after it may have been applied (its ``x-replay-safe``)."""
    return _spec.operation(operation_id).replay_safe


def possibly_applied(error: BaseException) -> bool:
    """Whether the request that ended in ``error`` may have been applied.

    ``False`` means the server definitely did not apply it, as far as the
    protocol can tell:

    * our validation refused it, or the connection failed before it was sent;
    * the server refused it: any 4xx (429 included: a rate limiter turns a
      call away before it is processed), a 503 that carries ``Retry-After``
      (a deliberate "come back later"), and a non-zero ``code`` in a 2xx.
      A batch refused with a ``code`` is treated as not applied; the vendor
      does not document partial application.

    ``True`` (ambiguous) for a connection failure or timeout after the
    request was sent, any other 5xx (a gateway's 502/504 and a bare 503 can
    follow an upstream that already did the work), a success status with an
    unreadable body, and any error this function does not know.
    """
    if isinstance(error, RequestValidationError):
        return False
    if isinstance(error, APIConnectionError):
        return error.request_sent
    if isinstance(error, APIError):
        if error.status_code < 500:
            return False
        return not (error.status_code == 503 and error.retry_after is not None)
    return True


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is a kind of failure that retries cover at all."""
    if isinstance(error, APIConnectionError):
        return True
    return isinstance(error, APIError) and error.status_code in TRANSIENT_STATUSES


def is_retryable(operation_id: str, error: BaseException) -> bool:
    """Whether ``error`` may be retried for ``operation_id``, ignoring the attempt count."""
    return is_transient(error) and (replay_safe(operation_id) or not possibly_applied(error))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, read as RFC 9110 section 10.2.3 defines it.

    Only two forms are delays: delta-seconds (ASCII digits only) and an
    HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms, in GMT).
    Spaces and tabs around the value are optional whitespace and are ignored.
    Anything else (``1_0``, ``1e3``, ``-1``, ``1.5``, ``inf``, ``nan``, a date
    with another zone) is not a delay and gives ``None``, as if the header were
    absent, so the call is decided as for an answer without one. A date in the
    past gives 0; delta-seconds beyond :data:`LONGEST_DELTA_SECONDS` count as that.
    ``now`` is the current Unix time (defaults to ``time.time()``).
    """
    if value is None:
        return None
    text = value.strip(" \t")
    if text.isascii() and text.isdigit():
        digits = text.lstrip("0") or "0"  # int() refuses more than 4,300 digits
        if len(digits) > len(str(LONGEST_DELTA_SECONDS)):
            return float(LONGEST_DELTA_SECONDS)
        return float(min(int(digits), LONGEST_DELTA_SECONDS))
    moment = _http_date(text)
    if moment is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, moment - current)


LONGEST_DELTA_SECONDS = 10**12
"""Delta-seconds above this (some 31,000 years) count as this; far beyond any wait a call makes."""

_MONTHS = {name: number for number, name in enumerate(calendar.month_abbr) if name}
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_LONG_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = r"(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = r"(?P<hour>\d\d):(?P<minute>\d\d):(?P<second>\d\d)"
_HTTP_DATES = (
    re.compile(rf"{_DAY}, (?P<day>\d\d) {_MONTH} (?P<year>\d{{4}}) {_TIME} GMT", re.ASCII),
    re.compile(rf"{_LONG_DAY}, (?P<day>\d\d)-{_MONTH}-(?P<year>\d\d) {_TIME} GMT", re.ASCII),
    re.compile(rf"{_DAY} {_MONTH} (?P<day>[ \d]\d) {_TIME} (?P<year>\d{{4}})", re.ASCII),
)
"""IMF-fixdate, the obsolete RFC 850 date and asctime's format (RFC 9110 section 5.6.7)."""


def _http_date(text: str) -> float | None:
    """The Unix time of an RFC 9110 HTTP-date, or ``None`` when ``text`` is not one."""
    for pattern in _HTTP_DATES:
        match = pattern.fullmatch(text)
        if match is not None:
            break
    else:
        return None
    year = int(match["year"])
    if len(match["year"]) == 2:  # RFC 850: a year that looks over 50 years ahead is in the past
        year += 2000 if year + 2000 <= time.gmtime().tm_year + 50 else 1900
    fields = (year, _MONTHS[match["month"]], int(match["day"]))
    clock = (int(match["hour"]), int(match["minute"]), int(match["second"]))
    try:
        moment = datetime.datetime(*fields, *clock, tzinfo=datetime.UTC)
    except ValueError:  # 31 Feb, hour 25 ...
        return None
    return moment.timestamp()


def backoff_delay(
    retries_done: int,
    *,
    retry_after: float | None = None,
    initial: float = INITIAL_DELAY,
    maximum: float = MAX_DELAY,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number ``retries_done + 1``.

    The server's ``retry_after`` wins when given. Otherwise exponential
    backoff ``initial * 2**retries_done``, capped at ``maximum``, with equal
    jitter: a uniform pick from the upper half, so that many clients that
    failed together spread out.
    """
    if retry_after is not None:
        return max(0.0, retry_after)
    base = min(maximum, initial * 2.0**retries_done)
    return base / 2.0 + rand() * base / 2.0


def retry_delay(
    operation_id: str,
    error: BaseException,
    retries_done: int,
    max_retries: int,
    *,
    max_retry_after: float = MAX_RETRY_AFTER,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before retrying ``error``, or ``None`` to give up now."""
    if retries_done >= max_retries or not is_retryable(operation_id, error):
        return None
    retry_after = error.retry_after if isinstance(error, APIError) else None
    if retry_after is not None and retry_after > max_retry_after:
        return None
    return backoff_delay(retries_done, retry_after=retry_after, rand=rand)
