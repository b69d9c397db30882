"""The shared argument check and the stop-on-signals helper."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from jiguang_growth._checks import whole_number
from jiguang_growth._exceptions import ConfigurationError
from jiguang_growth._signals import stop_on_signals


@pytest.mark.parametrize("value", [True, False, 1.0, "1", None])
def test_whole_number_refuses_what_is_not_an_int(value: object) -> None:
    with pytest.raises(ValueError, match=r"^limit must be a whole number of at least 1, got "):
        whole_number("limit", value, 1)


def test_whole_number_without_minimum_says_integer() -> None:
    with pytest.raises(ValueError, match=r"^seed must be an integer, got 1\.5$"):
        whole_number("seed", 1.5)
    assert whole_number("seed", -7) == -7


def test_whole_number_minimum_and_error_class() -> None:
    assert whole_number("n", 0, 0) == 0
    rule = r"^max_retries must be a whole number of at least 0, got -1$"
    with pytest.raises(ConfigurationError, match=rule):
        whole_number("max_retries", -1, 0, ConfigurationError)


def test_stop_on_signals_sets_the_flag_and_restores_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM)
    stop = threading.Event()
    with stop_on_signals(stop):
        assert signal.getsignal(signal.SIGTERM) is not before
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5)
    assert signal.getsignal(signal.SIGTERM) is before


def test_stop_on_signals_off_the_main_thread_changes_nothing() -> None:
    before = signal.getsignal(signal.SIGINT)
    seen: list[object] = []

    def work() -> None:
        with stop_on_signals(threading.Event()):
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [before]
