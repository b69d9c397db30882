"""A careful start: one call at a time until the server has answered one with something other than 401/403.

A wrong or rotated secret is refused with 401 (or 403) on every call. A run
that sent at full speed from its start would have every call of its first
round trip out before the first refusal came back: far away, dozens. So
bulk runs and the reporter send their first call alone and open the
pipeline only once a call was answered with anything but a refusal of the
credentials. A call that got no answer (the host is down, the network is
gone) does not open it either: the next one goes alone again.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from ._exceptions import APIError, APIResponseError, AuthenticationError, PermissionDeniedError

__all__ = ["AsyncFirstCallGate", "FirstCallGate", "answered"]


def answered(outcome: object) -> bool:
    """Whether a call's result or error shows the server took the credentials.

    A result (or a per-record outcome) is an answer; an :class:`APIError` other
    than 401/403 and a malformed answer are answers too; a refusal of the
    credentials, a timeout or a connection error are not.
    """
    if isinstance(outcome, AuthenticationError | PermissionDeniedError):
        return False
    if isinstance(outcome, APIError | APIResponseError):
        return True
    return not isinstance(outcome, BaseException)


class FirstCallGate:
    """For threads: one call at a time until :meth:`note` was given an answer, then any number."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._turn = threading.Lock()

    @property
    def open(self) -> bool:
        return self._open.is_set()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the only turn while the gate is closed (no wait once it is open)."""
        if not self._open.is_set():
            self._turn.acquire()
            if not self._open.is_set():  # still closed: this call goes alone
                try:
                    yield
                finally:
                    self._turn.release()
                return
            self._turn.release()  # it opened while this thread waited: no need to hold the turn
        yield

    def note(self, outcome: object) -> None:
        """The outcome of a call sent through :meth:`turn`."""
        if not self._open.is_set() and answered(outcome):
            self._open.set()


class AsyncFirstCallGate:
    """:class:`FirstCallGate` for tasks on one event loop."""

    def __init__(self) -> None:
        self._open = False
        self._turn: asyncio.Lock | None = None

    @property
    def open(self) -> bool:
        return self._open

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if not self._open:
            if self._turn is None:  # made on the loop that first needs it
                self._turn = asyncio.Lock()
            await self._turn.acquire()
            if not self._open:  # still closed: this call goes alone
                try:
                    yield
                finally:
                    self._turn.release()
                return
            self._turn.release()  # it opened while this task waited
        yield

    def note(self, outcome: object) -> None:
        if not self._open and answered(outcome):
            self._open = True
