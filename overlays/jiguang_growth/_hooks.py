"""What the core tells its observers about a call, and the user's ``on_attempt`` hooks.

:mod:`._call` reports every attempt of a call to its route's :class:`Observer`
(``start`` once per call, ``attempt`` after each attempt, ``end`` once with
the outcome). The hooks, the environment-switched log, OpenTelemetry and the
raw-response capture are all observers; :func:`combine` joins several.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ._exceptions import ConfigurationError

if TYPE_CHECKING:
    import httpx

__all__ = ["Attempt", "AttemptHook", "Hooks", "Observer", "Watch", "check_hooks", "combine"]

logger = logging.getLogger("jiguang_growth")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt of a call, as an ``on_attempt`` hook sees it. Holds no credential and no body."""

    operation_id: str
    """The operation's ``operationId`` (``reportEvents`` ...)."""
    attempt: int
    """1 for the first attempt, 2 for the first retry ..."""
    status_code: int | None
    """The HTTP status, ``None`` when no answer came."""
    code: int | None
    """The envelope's ``code``, ``None`` when the answer had no readable envelope."""
    elapsed: float
    """Seconds from sending the request to its answer or failure (waits for the pacer excluded)."""
    will_retry: bool
    """Whether the client sends the call again after this attempt."""
    retry_delay: float | None
    """Seconds the client waits before that retry; ``None`` when it does not retry."""
    request_sent: bool
    """Whether the request may have reached the server."""
    error_type: type[Exception] | None
    """The class of the error this attempt ended with (``RateLimitError`` ...), ``None`` on success."""


AttemptHook = Callable[[Attempt], object]
"""An ``on_attempt`` hook: called with each :class:`Attempt`; what it returns is ignored."""


class Watch(Protocol):
    """An observer's view of one call."""

    def attempt(self, record: Attempt) -> None: ...

    def end(self, error: BaseException | None, response: httpx.Response | None) -> None:
        """The call is over: ``error`` is what it raised (``None`` on success); ``response``, its answer."""


class Observer(Protocol):
    """Something that watches every call of a client."""

    def start(self, operation_id: str, method: str, url: str) -> Watch: ...


class Hooks:
    """The user's ``on_attempt`` hooks. One that raises is logged once, by name, and never breaks a call."""

    def __init__(self, hooks: Sequence[AttemptHook]) -> None:
        self._hooks = tuple(hooks)
        self._failed: set[int] = set()
        self._lock = threading.Lock()

    def start(self, operation_id: str, method: str, url: str) -> Hooks:
        return self

    def attempt(self, record: Attempt) -> None:
        for hook in self._hooks:
            try:
                hook(record)
            except Exception:
                self._report(hook)

    def end(self, error: BaseException | None, response: httpx.Response | None) -> None:
        pass

    def _report(self, hook: AttemptHook) -> None:
        with self._lock:
            if id(hook) in self._failed:
                return
            self._failed.add(id(hook))
        logger.warning(
            "on_attempt hook %s raised; the call goes on, and later errors of this hook are not logged",
            _name(hook),
            exc_info=True,
        )


def _name(hook: AttemptHook) -> str:
    module = getattr(hook, "__module__", None)
    name = getattr(hook, "__qualname__", None) or repr(hook)
    return f"{module}.{name}" if module else name


def check_hooks(on_attempt: AttemptHook | Sequence[AttemptHook] | None) -> tuple[AttemptHook, ...]:
    """``on_attempt`` as a tuple of callables; anything else is a ``ConfigurationError``."""
    if on_attempt is None:
        return ()
    if callable(on_attempt):
        return (on_attempt,)
    if isinstance(on_attempt, str | bytes) or not isinstance(on_attempt, Sequence):
        raise ConfigurationError(
            f"on_attempt must be a callable or a sequence of callables, got {type(on_attempt).__name__}"
        )
    hooks = tuple(on_attempt)
    for hook in hooks:
        if not callable(hook):
            raise ConfigurationError(
                f"on_attempt must be a callable or a sequence of callables, got {type(hook).__name__}"
            )
    return hooks


class _Fanout:
    """Several observers as one."""

    def __init__(self, observers: tuple[Observer, ...]) -> None:
        self._observers = observers

    def start(self, operation_id: str, method: str, url: str) -> _FanoutWatch:
        return _FanoutWatch(tuple(o.start(operation_id, method, url) for o in self._observers))


class _FanoutWatch:
    def __init__(self, watches: tuple[Watch, ...]) -> None:
        self._watches = watches

    def attempt(self, record: Attempt) -> None:
        for watch in self._watches:
            watch.attempt(record)

    def end(self, error: BaseException | None, response: httpx.Response | None) -> None:
        for watch in self._watches:
            watch.end(error, response)


def combine(*observers: Observer | None) -> Observer | None:
    """One observer for all those given (``None`` ones left out); ``None`` when there are none."""
    present = tuple(o for o in observers if o is not None)
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return _Fanout(present)
