"""``client.with_raw_response``: the typed result together with what the answer said about it.

``client.with_raw_response.get_cuids(...)`` takes the arguments of
``client.get_cuids`` and returns a :class:`RawResponse` whose ``parsed`` is
what ``get_cuids`` returns. It runs the call on a copy of the client whose
observer captures the last answer, so the client itself is not changed and
concurrent calls do not see each other's answers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx

from ._call import scrubbed_headers
from ._hooks import Attempt

__all__ = ["Capture", "RawResponse"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RawResponse(Generic[T]):
    """A typed result with the status and headers of the answer it came from."""

    parsed: T
    """What the plain method returns."""
    status_code: int
    headers: dict[str, str]
    """The answer's headers, lower-case names; a repeated header's values joined by ", "; a value
    holding the secret or the Authorization value has it replaced by ``[redacted]``, as errors do."""
    elapsed: float
    """Seconds from the start of the call to its last answer, retries and their waits included."""
    attempts: int
    """How many attempts the call made (1 when the first one succeeded)."""


class Capture:
    """An observer that keeps the last answer of the one call it watches."""

    def __init__(self, redactions: tuple[str, ...] = ()) -> None:
        self.redactions = redactions
        self.response: httpx.Response | None = None
        self.attempts = 0
        self.started = 0.0
        self.elapsed = 0.0

    def start(self, operation_id: str, method: str, url: str) -> Capture:
        self.started = time.perf_counter()
        return self

    def attempt(self, record: Attempt) -> None:
        self.attempts = record.attempt

    def end(self, error: BaseException | None, response: httpx.Response | None) -> None:
        self.response = response
        self.elapsed = time.perf_counter() - self.started

    def result(self, parsed: T) -> RawResponse[T]:
        response = self.response
        if response is None:  # pragma: no cover - a call that returned has had an answer
            raise RuntimeError("the call returned without an answer")
        headers = scrubbed_headers(self.redactions, response.headers)
        return RawResponse(parsed, response.status_code, headers, self.elapsed, self.attempts)
