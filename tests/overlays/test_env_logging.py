"""``JIGUANG_GROWTH_LOG=debug|info``: one line per attempt, never a credential; other values are refused."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from jiguang_growth import ConfigurationError

from .conftest import OPS, SECRET, TOKEN, Harness, envelope

BUSY = httpx.Response(503, text="<html>unavailable</html>", headers={"Retry-After": "0"})
OK = httpx.Response(200, json=envelope(data=OPS["getCuids"].success_data))
PACKAGE_LOGGER = logging.getLogger("jiguang_growth")


@pytest.fixture(autouse=True)
def _restore_package_logger() -> Iterator[None]:
    """Whatever the client sets up on the package logger is undone after each test."""
    level, handlers = PACKAGE_LOGGER.level, list(PACKAGE_LOGGER.handlers)
    yield
    PACKAGE_LOGGER.setLevel(level)
    PACKAGE_LOGGER.handlers[:] = handlers


def lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "jiguang_growth"]


def test_info_logs_one_line_per_attempt_with_the_retry_decision(
    harness: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIGUANG_GROWTH_LOG", "info")
    with caplog.at_level(logging.INFO, logger="jiguang_growth"):
        outcome = harness.run(OPS["getCuids"], [BUSY, OK], telemetry=False)
    assert outcome.error is None
    records = lines(caplog)
    assert [r.levelno for r in records] == [logging.INFO, logging.INFO]  # no second line for the retry
    first, second = (r.getMessage() for r in records)
    assert first.startswith("getCuids attempt 1: HTTP 503 in ")
    assert first.endswith("s, InternalServerError, retry in 0.00s")
    assert second.startswith("getCuids attempt 2: HTTP 200 code 0 in ") and second.endswith("s, ok")
    assert "https://" not in first  # the URL is for debug


def test_debug_adds_method_and_url_and_a_final_failure_says_not_retried(
    harness: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIGUANG_GROWTH_LOG", "DEBUG")
    refused = httpx.Response(400, json=envelope(code=4, msg="bad"))
    with caplog.at_level(logging.DEBUG, logger="jiguang_growth"):
        harness.run(OPS["setUserAttributes"], [httpx.ReadTimeout("slow")], telemetry=False)
        harness.run(OPS["reportEvents"], [refused], telemetry=False)
    timeout, bad = (r.getMessage() for r in lines(caplog))
    assert all(r.levelno == logging.DEBUG for r in lines(caplog))
    assert timeout.startswith(
        f"setUserAttributes PUT {OPS['setUserAttributes'].url} attempt 1: no answer (sent) in"
    )
    assert timeout.endswith("APITimeoutError, not retried")
    assert bad.startswith(f"reportEvents POST {OPS['reportEvents'].url} attempt 1: HTTP 400 code 4 in")
    assert bad.endswith("BadRequestError, not retried")


def test_without_the_variable_only_retries_are_logged_as_before(
    harness: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JIGUANG_GROWTH_LOG", raising=False)
    with caplog.at_level(logging.DEBUG, logger="jiguang_growth"):
        harness.run(OPS["getCuids"], [BUSY, OK], telemetry=False)
    assert [r.getMessage().split(" for ")[0] for r in lines(caplog)] == ["retry 1 of 2"]


@pytest.mark.parametrize("value", ["verbose", "warning", "1", "true"])
def test_an_unknown_value_is_a_configuration_error_listing_the_allowed_ones(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("JIGUANG_GROWTH_LOG", value)
    with pytest.raises(ConfigurationError) as raised:
        harness.client()
    assert f"JIGUANG_GROWTH_LOG is {value!r}" in str(raised.value)
    assert "allowed values: debug, info" in str(raised.value)


def test_an_empty_value_is_off(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIGUANG_GROWTH_LOG", " ")
    assert harness.client(telemetry=False)._observer is None


SCRIPT = """
import httpx
from jiguang_growth import GrowthClient

def answer(request):
    return httpx.Response(200, json={"code": 0, "msg": "ok", "data": {"count": 1}})

client = GrowthClient("100102", SECRET, transport=httpx.MockTransport(answer), telemetry=False)
client.set_user_channels([{"cuid": 1, "channels": [{"id": 1, "channelValues": {"a": "b"}}]}])
"""


def test_the_lines_reach_stderr_without_any_logging_setup_and_hold_no_credential() -> None:
    env = {**os.environ, "JIGUANG_GROWTH_LOG": "debug"}
    script = f"SECRET = {SECRET!r}\n" + SCRIPT
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert " DEBUG jiguang_growth: setUserChannels PUT https://growth.jiguang.cn/" in line
    assert "attempt 1: HTTP 200 code 0 in " in line and line.endswith("s, ok")
    assert SECRET not in done.stderr and TOKEN not in done.stderr and "Basic" not in done.stderr
