"""``JIGUANG_GROWTH_LOG=debug|info``: one log line per attempt, switched on by the environment.

The line names the operation, the attempt, the status, the envelope ``code``,
the elapsed time and the retry decision, from the :class:`~._hooks.Attempt`
record, which holds no credential and no body. ``debug`` adds the method and
URL. When the variable is set and the ``jiguang_growth`` logger has no handler
yet, one that writes to stderr is added, so the lines show without any
logging set-up in the application.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import TYPE_CHECKING

from ._exceptions import ConfigurationError
from ._hooks import Attempt

if TYPE_CHECKING:
    import httpx

__all__ = ["ENV_LOG", "LEVELS", "AttemptLog", "from_environment"]

ENV_LOG = "JIGUANG_GROWTH_LOG"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
"""The values ``JIGUANG_GROWTH_LOG`` accepts (any case), and the level each logs at."""

logger = logging.getLogger("jiguang_growth")
_setup_lock = threading.Lock()


def from_environment() -> AttemptLog | None:
    """The attempt log ``JIGUANG_GROWTH_LOG`` asks for; ``None`` when it is unset or empty."""
    value = os.environ.get(ENV_LOG, "").strip()
    if not value:
        return None
    level = LEVELS.get(value.lower())
    if level is None:
        allowed = ", ".join(LEVELS)
        raise ConfigurationError(f"{ENV_LOG} is {value!r}; allowed values: {allowed} (or unset)")
    _install_handler(level)
    return AttemptLog(level)


def _install_handler(level: int) -> None:
    """Lower the package logger to ``level`` and give it a stderr handler unless it has one."""
    with _setup_lock:
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)
        if not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)


class AttemptLog:
    """Logs each attempt of every call as one line."""

    def __init__(self, level: int) -> None:
        self.level = level

    def start(self, operation_id: str, method: str, url: str) -> _CallLog:
        return _CallLog(self.level, method, url)


class _CallLog:
    def __init__(self, level: int, method: str, url: str) -> None:
        self._level = level
        self._target = f" {method} {url}" if level <= logging.DEBUG else ""

    def attempt(self, record: Attempt) -> None:
        if logger.isEnabledFor(self._level):
            logger.log(self._level, "%s", line(record, self._target))

    def end(self, error: BaseException | None, response: httpx.Response | None) -> None:
        pass


def line(record: Attempt, target: str = "") -> str:
    """The log line of one attempt."""
    answer = "no answer" if record.status_code is None else f"HTTP {record.status_code}"
    code = "" if record.code is None else f" code {record.code}"
    sent = "" if record.status_code is not None else (" (sent)" if record.request_sent else " (not sent)")
    if record.error_type is None:
        decision = "ok"
    elif record.retry_delay is not None:
        decision = f"{record.error_type.__name__}, retry in {record.retry_delay:.2f}s"
    else:
        decision = f"{record.error_type.__name__}, not retried"
    return (
        f"{record.operation_id}{target} attempt {record.attempt}: {answer}{code}{sent} "
        f"in {record.elapsed:.3f}s, {decision}"
    )
