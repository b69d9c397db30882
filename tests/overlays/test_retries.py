"""Retries happen where the README's policy says, and only there."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from jiguang_growth import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
    RequestValidationError,
    _retry,
)
from jiguang_growth._exceptions import BadRequestError

from .conftest import OPS, REPLAY_SAFE, Harness, envelope

ALWAYS, SAFE_ONLY, NEVER = "always", "replay-safe operations only", "never"

FAILURES: dict[str, tuple[Any, str]] = {
    "connect error (not sent)": (httpx.ConnectError("connection refused"), ALWAYS),
    "connect timeout (not sent)": (httpx.ConnectTimeout("timed out"), ALWAYS),
    "read timeout (sent)": (httpx.ReadTimeout("timed out"), SAFE_ONLY),
    "write timeout (sent)": (httpx.WriteTimeout("timed out"), SAFE_ONLY),
    "connection reset (sent)": (httpx.ReadError("[Errno 104] Connection reset by peer"), SAFE_ONLY),
    "429": (httpx.Response(429, json=envelope(code=4, msg="too many requests")), ALWAYS),
    "429 html": (httpx.Response(429, text="<html>slow down</html>"), ALWAYS),
    "503 with Retry-After": (httpx.Response(503, text="maintenance", headers={"Retry-After": "1"}), ALWAYS),
    "503": (httpx.Response(503, text="<html>unavailable</html>"), SAFE_ONLY),
    "502": (httpx.Response(502, text="<html>bad gateway</html>"), SAFE_ONLY),
    "504": (httpx.Response(504, json=envelope(code=5, msg="gateway timeout")), SAFE_ONLY),
    "500": (httpx.Response(500, json=envelope(code=5, msg="internal error")), NEVER),
    "520": (httpx.Response(520, text=""), NEVER),
    "400": (httpx.Response(400, json=envelope(code=4, msg="invalid request")), NEVER),
    "401": (httpx.Response(401, json=envelope(code=4, msg="auth")), NEVER),
    "200 code 4": (httpx.Response(200, json=envelope(code=4, msg="rejected")), NEVER),
    "200 html": (httpx.Response(200, text="<html>ok?</html>"), NEVER),
}


def expected_retries(operation_id: str, rule: str) -> bool:
    return rule == ALWAYS or (rule == SAFE_ONLY and REPLAY_SAFE[operation_id])


@pytest.mark.parametrize("failure_name", list(FAILURES))
@pytest.mark.parametrize("operation_id", list(OPS))
def test_retries_only_where_the_policy_says(harness: Harness, operation_id: str, failure_name: str) -> None:
    failure, rule = FAILURES[failure_name]
    out = harness.run(OPS[operation_id], [failure], max_retries=2)
    assert out.error is not None
    if expected_retries(operation_id, rule):
        assert len(out.requests) == 3
        assert len(out.sleeps) == 2
    else:
        assert len(out.requests) == 1
        assert out.sleeps == []


@pytest.mark.parametrize("operation_id", list(OPS))
def test_a_retry_that_succeeds_returns_the_result(harness: Harness, operation_id: str) -> None:
    op = OPS[operation_id]
    ok = httpx.Response(200, json=envelope(data=op.success_data))
    out = harness.run(op, [httpx.Response(429, text=""), httpx.ConnectError("refused"), ok], max_retries=2)
    assert out.error is None
    assert out.result is not None
    assert len(out.requests) == 3
    # Every attempt sends the very same bytes: a replay carries the same randomIds.
    assert len({request.content for request in out.requests}) == 1


def test_report_events_replays_with_the_random_ids_of_the_first_attempt(harness: Harness) -> None:
    out = harness.run(
        OPS["reportEvents"],
        [httpx.ReadTimeout("timed out"), httpx.Response(502, text=""), httpx.Response(200, json=envelope())],
        max_retries=2,
    )
    assert out.error is None
    bodies = [json.loads(request.content) for request in out.requests]
    ids = [[event["randomId"] for event in body["data"]] for body in bodies]
    assert len(ids) == 3
    assert ids[0] == ids[1] == ids[2]
    assert all(ids[0])


def test_set_user_attributes_is_not_replayed_after_a_timeout(harness: Harness) -> None:
    """An accumulate attribute would count twice if the first write had landed."""
    out = harness.run(OPS["setUserAttributes"], [httpx.ReadTimeout("timed out")], max_retries=5)
    assert type(out.error) is APITimeoutError
    assert out.error.request_sent is True
    assert len(out.requests) == 1


def test_the_last_error_is_raised_when_retries_run_out(harness: Harness) -> None:
    answers = [
        httpx.Response(502, text=""),
        httpx.Response(503, text=""),
        httpx.Response(504, json=envelope(code=5)),
    ]
    out = harness.run(OPS["getCuids"], answers, max_retries=2)
    assert type(out.error) is InternalServerError
    assert out.error.status_code == 504
    assert out.error.code == 5


def test_retry_after_seconds_is_honoured(harness: Harness) -> None:
    limited = httpx.Response(429, json=envelope(code=4), headers={"Retry-After": "3"})
    out = harness.run(
        OPS["setUserAttributes"], [limited, httpx.Response(200, json=envelope())], max_retries=2
    )
    assert out.error is None
    assert out.sleeps == [3.0]


def test_retry_after_http_date_is_honoured(harness: Harness) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    limited = httpx.Response(503, text="", headers={"Retry-After": when})
    out = harness.run(OPS["setUserChannels"], [limited, httpx.Response(200, json=envelope())], max_retries=1)
    assert out.error is None
    assert len(out.sleeps) == 1
    assert 27.0 <= out.sleeps[0] <= 30.0


def test_a_retry_after_beyond_the_cap_ends_the_call_at_once(harness: Harness) -> None:
    limited = httpx.Response(429, json=envelope(code=4), headers={"Retry-After": "3600"})
    out = harness.run(OPS["reportEvents"], [limited], max_retries=2)
    assert type(out.error) is RateLimitError
    assert out.error.retry_after == 3600.0
    assert len(out.requests) == 1
    assert out.sleeps == []


def test_backoff_grows_exponentially_with_jitter(harness: Harness) -> None:
    out = harness.run(OPS["getCuids"], [httpx.ConnectError("refused")], max_retries=4)
    assert len(out.requests) == 5
    assert len(out.sleeps) == 4
    for retry, seconds in enumerate(out.sleeps):
        base = min(_retry.MAX_DELAY, _retry.INITIAL_DELAY * 2**retry)
        assert base / 2 <= seconds <= base


def test_max_retries_zero_sends_once(harness: Harness) -> None:
    out = harness.run(OPS["getCuids"], [httpx.ConnectError("refused")], max_retries=0)
    assert type(out.error) is APIConnectionError
    assert len(out.requests) == 1


def test_retries_are_logged_without_credentials(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    from .conftest import SECRET, TOKEN

    caplog.set_level(logging.DEBUG)
    harness.run(OPS["reportEvents"], [httpx.Response(503, text=f"echo {TOKEN}")], max_retries=2)
    retries = [r for r in caplog.records if r.name == "jiguang_growth"]
    assert [r.levelno for r in retries] == [logging.INFO, logging.INFO]
    assert (
        "retry 1 of 2 for POST https://growth.jiguang.cn/smartop/api/v1/events/report"
        in retries[0].getMessage()
    )
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert TOKEN not in record.getMessage()


# --- the pure policy functions -------------------------------------------------------------------


def api_error(status: int, retry_after: float | None = None, cls: type[APIError] = APIError) -> APIError:
    return cls("x", status_code=status, retry_after=retry_after)


def connection_error(sent: bool) -> APIConnectionError:
    return APIConnectionError("x", method="POST", url="u", request_sent=sent)


@pytest.mark.parametrize(
    ("error", "applied"),
    [
        (RequestValidationError("x", field="body", rule="type"), False),
        (connection_error(False), False),
        (connection_error(True), True),
        (APITimeoutError("x", method="POST", url="u", request_sent=True), True),
        (api_error(200), False),
        (api_error(400, cls=BadRequestError), False),
        (api_error(429, cls=RateLimitError), False),
        (api_error(429, 5.0, cls=RateLimitError), False),
        (api_error(500), True),
        (api_error(502), True),
        (api_error(503), True),
        (api_error(503, 2.0), False),
        (api_error(504), True),
        (api_error(520), True),
        (APIResponseError("x", status_code=200, body=""), True),
        (RuntimeError("unknown"), True),
    ],
)
def test_possibly_applied(error: BaseException, applied: bool) -> None:
    assert _retry.possibly_applied(error) is applied


@pytest.mark.parametrize("operation_id", list(OPS))
def test_is_retryable_matches_the_independent_table(operation_id: str) -> None:
    safe = REPLAY_SAFE[operation_id]
    assert _retry.is_retryable(operation_id, connection_error(False)) is True
    assert _retry.is_retryable(operation_id, connection_error(True)) is safe
    assert _retry.is_retryable(operation_id, api_error(429)) is True
    assert _retry.is_retryable(operation_id, api_error(503, 1.0)) is True
    for status in (502, 503, 504):
        assert _retry.is_retryable(operation_id, api_error(status)) is safe
    for status in (200, 400, 401, 403, 404, 500, 520):
        assert _retry.is_retryable(operation_id, api_error(status)) is False
    assert _retry.is_retryable(operation_id, APIResponseError("x", status_code=200, body="")) is False


def test_the_retry_policy_reads_replay_safety_from_the_spec(spec: dict[str, Any]) -> None:
    operations = [op for item in spec["paths"].values() for op in item.values() if "operationId" in op]
    from_spec = {op["operationId"]: op["x-replay-safe"]["safe"] for op in operations}
    assert from_spec == REPLAY_SAFE
    assert {op_id: _retry.replay_safe(op_id) for op_id in from_spec} == REPLAY_SAFE


def test_retry_delay_stops_at_max_retries() -> None:
    error = api_error(429)
    assert _retry.retry_delay("getCuids", error, 0, 2, rand=lambda: 1.0) == 0.5
    assert _retry.retry_delay("getCuids", error, 1, 2, rand=lambda: 1.0) == 1.0
    assert _retry.retry_delay("getCuids", error, 2, 2, rand=lambda: 1.0) is None


def test_retry_delay_prefers_retry_after_and_caps_it() -> None:
    assert _retry.retry_delay("getCuids", api_error(429, 4.0), 0, 2) == 4.0
    assert _retry.retry_delay("getCuids", api_error(429, 0.0), 0, 2) == 0.0
    assert _retry.retry_delay("getCuids", api_error(429, 61.0), 0, 2) is None
    assert _retry.retry_delay("getCuids", api_error(429, 61.0), 0, 2, max_retry_after=120) == 61.0


def test_backoff_delay_bounds() -> None:
    assert _retry.backoff_delay(0, rand=lambda: 0.0) == 0.25
    assert _retry.backoff_delay(0, rand=lambda: 1.0) == 0.5
    assert _retry.backoff_delay(3, rand=lambda: 1.0) == 4.0
    assert _retry.backoff_delay(10, rand=lambda: 1.0) == _retry.MAX_DELAY
    assert _retry.backoff_delay(10, rand=lambda: 0.0) == _retry.MAX_DELAY / 2
    assert _retry.backoff_delay(5, retry_after=2.5) == 2.5
    assert _retry.backoff_delay(5, retry_after=-1.0) == 0.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        ("1.5", None),  # delta-seconds are digits only (RFC 9110 10.2.3)
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("21 Oct 2015 07:28:10 GMT", None),  # an HTTP-date has its day name
        (None, None),
        ("", None),
        ("soon", None),
        ("-3", None),
        ("nan", None),
        ("1e999", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC).timestamp()
    assert _retry.parse_retry_after(value, now=now) == seconds


def test_readme_retry_table_matches_the_policy(root: Path) -> None:
    readme = (root / "docs" / "client.md").read_text(encoding="utf-8")
    section = readme.split("## Retry policy", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| `[^`]+` \| (yes|no) \|", section, flags=re.MULTILINE)
    assert {op_id: answer == "yes" for op_id, answer in rows} == {
        op_id: _retry.replay_safe(op_id) for op_id in REPLAY_SAFE
    }
