"""Turn SIGINT and SIGTERM into a flag while a long-running command works."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterable, Iterator
from types import FrameType

__all__ = ["stop_on_signals"]


@contextlib.contextmanager
def stop_on_signals(
    stop: threading.Event, signals: Iterable[signal.Signals] = (signal.SIGINT, signal.SIGTERM)
) -> Iterator[threading.Event]:
    """While inside, each of ``signals`` sets ``stop``; the previous handlers come back on exit.

    Off the main thread Python cannot install handlers, so nothing is changed there.
    """
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in signals}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
