"""The delivery core that bulk runs and the reporter share: where a record ends, and one batch sent.

Both parts send records in batches through a paced client and settle each
record as accepted, rejected (surely not applied) or unknown (may have been
applied). This module holds what they agree on, so neither imports the
other: the :class:`Outcome` and :class:`Failure` of a record, how a failed
call settles its records (:func:`failure_of`), the retry budget and the
concurrency both start from, and sending one batch (a 413 splits it in
halves). Sending follows the package's one sync/async pattern: a sans-I/O
generator (:func:`batch_parts`) makes every decision, and two drivers of a
few lines, :func:`send_batch` and :func:`send_batch_async`, only call and await.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    CancelledCallError,
    RateLimitError,
    RequestValidationError,
)
from ._retry import possibly_applied

if TYPE_CHECKING:
    from ._client import AsyncGrowthClient, GrowthClient

__all__ = [
    "BULK_MAX_RETRIES",
    "DEFAULT_CONCURRENCY",
    "MAX_BATCH_BYTES",
    "MESSAGE_LIMIT",
    "Accepted",
    "BatchResult",
    "BatchSender",
    "CallSender",
    "Failure",
    "Outcome",
    "batch_parts",
    "capped",
    "failure_of",
    "send_batch",
    "send_batch_async",
]

MAX_BATCH_BYTES = 1_000_000
"""A batch is cut before its records' JSON passes this many bytes (the sandbox takes 1 MiB bodies;
the vendor documents no limit). A bigger record goes alone; a 413 splits a batch in halves."""
DEFAULT_CONCURRENCY = 64
"""Most calls in flight. The run keeps as many in flight as the pacer's rate times the answer
time needs (Little's law), up to this: at 100 calls a second, answers up to about 500 ms away."""
BULK_MAX_RETRIES = 6
"""Retries per call in a bulk run (where the retry policy allows any): a long run
rides out short outages instead of turning them into rejected records."""
MESSAGE_LIMIT = 1000
"""Characters of a failure message kept (in failures.jsonl, on stderr, in callbacks); the rest is cut
with a note of how much, so a 50 MB bad value or server message does not become a 50 MB line."""


def capped(text: str | None, limit: int = MESSAGE_LIMIT) -> str | None:
    """``text`` cut to ``limit`` characters, saying how many were cut."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit:,} more characters cut]"


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"
    """The server acknowledged the record."""
    REJECTED = "rejected"
    """The record was refused, by our validation or by the server; it was not applied."""
    UNKNOWN = "unknown"
    """The call failed after it may have reached the server; the record may or may not be applied."""


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a record was rejected or is unknown."""

    reason: str
    """Short machine-readable cause, e.g. ``invalid``, ``api_error``, ``timeout``."""
    code: int | None = None
    msg: str | None = None
    """At most :data:`MESSAGE_LIMIT` characters, plus a note of how many were cut."""
    status_code: int | None = None

    def __post_init__(self) -> None:
        if self.msg is not None and len(self.msg) > MESSAGE_LIMIT:
            object.__setattr__(self, "msg", capped(self.msg))


@dataclass(frozen=True, slots=True)
class Accepted:
    """A record the server acknowledged, with its own result if the operation has one."""

    result: Any = None


BatchResult = Accepted | Failure | Exception
"""One record's end in a call: accepted, rejected with a reason, or the error its call ended with."""


def failure_of(error: BaseException) -> tuple[Outcome, Failure]:
    """How a failed call settles its records: rejected when surely not applied, else unknown."""
    if isinstance(error, RequestValidationError):
        return Outcome.REJECTED, Failure("invalid", msg=str(error))
    if isinstance(error, APIError):
        reason = "rate_limited" if isinstance(error, RateLimitError) else "api_error"
        if error.status_code == 413:
            reason = "too_large"
        failure = Failure(reason, code=error.code, msg=error.msg or str(error), status_code=error.status_code)
    elif isinstance(error, APIResponseError):
        failure = Failure("bad_response", msg=str(error), status_code=error.status_code)
    elif isinstance(error, CancelledCallError):
        failure = Failure("cancelled", msg=str(error))
    elif isinstance(error, APITimeoutError):
        failure = Failure("timeout", msg=str(error))
    elif isinstance(error, APIConnectionError):
        failure = Failure("connection", msg=str(error))
    else:  # not ours: a bug somewhere; the call may have gone out
        failure = Failure(f"error:{type(error).__name__}", msg=str(error))
    return (Outcome.UNKNOWN if possibly_applied(error) else Outcome.REJECTED), failure


class BatchSender(Protocol):
    """How one operation's batch is sent (bulk's ``Job`` is one)."""

    @property
    def call(self) -> Callable[[Any, list[Any]], Any]:
        """Send one batch of values with a client: the result, or (async client) an awaitable of it."""

    @property
    def outcomes(self) -> Callable[[list[Any], Any], list[Accepted | Failure]] | None:
        """One outcome per value from the call's result; ``None``: every value is accepted."""


@dataclass(frozen=True, slots=True)
class CallSender:
    """A :class:`BatchSender` made of a call alone, whose answer accepts every value it sent."""

    call: Callable[[Any, list[Any]], Any]
    outcomes: Callable[[list[Any], Any], list[Accepted | Failure]] | None = None


def batch_parts(sender: BatchSender, values: list[Any]) -> Generator[list[Any], Any, list[BatchResult]]:
    """Ask for ``values`` to be sent (the answer: the result or the exception); split a batch on 413."""
    answer = yield values
    if isinstance(answer, APIError) and answer.status_code == 413 and len(values) > 1:
        half = len(values) // 2
        first = yield from batch_parts(sender, values[:half])
        return first + (yield from batch_parts(sender, values[half:]))
    if isinstance(answer, Exception):
        return [answer] * len(values)
    if sender.outcomes is None:
        return [Accepted()] * len(values)
    return list(sender.outcomes(values, answer))


def send_batch(sender: BatchSender, client: GrowthClient, values: list[Any]) -> list[BatchResult]:
    """Send one batch with a sync client; one result per value."""
    parts = batch_parts(sender, values)
    answer: Any = None
    while True:
        try:
            chunk = parts.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        try:
            answer = sender.call(client, chunk)
        except Exception as error:  # settled per record by the caller
            answer = error


async def send_batch_async(
    sender: BatchSender, client: AsyncGrowthClient, values: list[Any]
) -> list[BatchResult]:
    """Send one batch with an async client; one result per value."""
    parts = batch_parts(sender, values)
    answer: Any = None
    while True:
        try:
            chunk = parts.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        try:
            answer = await sender.call(client, chunk)
        except Exception as error:  # settled per record by the caller
            answer = error
