"""``on_attempt`` hooks: an immutable record per attempt, no secrets; a raising hook never breaks a call."""

from __future__ import annotations

import dataclasses
import logging
import pickle
import time
from typing import Any

import httpx
import pytest

from jiguang_growth import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    Attempt,
    ConfigurationError,
    GrowthClient,
    InternalServerError,
    RateLimitError,
)

from .conftest import CHANNELS, OPS, PROJECT_ID, SECRET, TOKEN, Harness, envelope

OK_CUIDS = httpx.Response(200, json=envelope(data=OPS["getCuids"].success_data))
BUSY = httpx.Response(503, text="<html>unavailable</html>", headers={"Retry-After": "0"})


def test_one_record_per_attempt_with_status_code_and_retry_decision(harness: Harness) -> None:
    records: list[Attempt] = []
    outcome = harness.run(OPS["getCuids"], [BUSY, BUSY, OK_CUIDS], on_attempt=records.append, telemetry=False)
    assert outcome.error is None
    assert [r.attempt for r in records] == [1, 2, 3]
    assert [r.status_code for r in records] == [503, 503, 200]
    assert [r.code for r in records] == [None, None, 0]
    assert [r.will_retry for r in records] == [True, True, False]
    assert [r.retry_delay for r in records] == [0.0, 0.0, None]
    assert [r.error_type for r in records] == [InternalServerError, InternalServerError, None]
    assert all(r.operation_id == "getCuids" and r.request_sent for r in records)
    assert all(r.elapsed >= 0 for r in records)


def test_a_refusal_records_its_envelope_code_and_the_final_attempt_says_no_retry(harness: Harness) -> None:
    records: list[Attempt] = []
    answer = httpx.Response(429, json=envelope(code=4, msg="slow down"), headers={"Retry-After": "0"})
    outcome = harness.run(OPS["reportEvents"], [answer], on_attempt=records.append, max_retries=1)
    assert isinstance(outcome.error, RateLimitError)
    assert [(r.attempt, r.status_code, r.code, r.will_retry) for r in records] == [
        (1, 429, 4, True),
        (2, 429, 4, False),
    ]
    assert records[-1].error_type is RateLimitError


@pytest.mark.parametrize(
    ("failure", "sent", "error_type"),
    [
        (httpx.ConnectError("refused"), False, APIConnectionError),
        (httpx.ReadTimeout("timed out"), True, APITimeoutError),
    ],
)
def test_no_answer_records_no_status_and_whether_the_request_was_sent(
    harness: Harness, failure: Exception, sent: bool, error_type: type[Exception]
) -> None:
    records: list[Attempt] = []
    outcome = harness.run(OPS["setUserAttributes"], [failure], on_attempt=records.append, max_retries=0)
    assert isinstance(outcome.error, error_type)
    (record,) = records
    assert (record.status_code, record.code, record.request_sent) == (None, None, sent)
    assert record.error_type is error_type and not record.will_retry


def test_an_unreadable_answer_is_recorded_and_not_retried(harness: Harness) -> None:
    records: list[Attempt] = []
    outcome = harness.run(
        OPS["setUserChannels"], [httpx.Response(200, text="<html>")], on_attempt=records.append
    )
    assert isinstance(outcome.error, APIResponseError)
    assert [(r.status_code, r.code, r.error_type, r.will_retry) for r in records] == [
        (200, None, APIResponseError, False)
    ]


def test_the_record_is_immutable_picklable_and_holds_no_secret_or_body(harness: Harness) -> None:
    records: list[Attempt] = []
    body = {"code": 0, "msg": "success", "data": {"count": 1}, "echo": SECRET}
    harness.run(OPS["setUserChannels"], [httpx.Response(200, json=body)], on_attempt=records.append)
    (record,) = records
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.attempt = 2  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(record)) == record
    assert [f.name for f in dataclasses.fields(Attempt)] == [
        "operation_id",
        "attempt",
        "status_code",
        "code",
        "elapsed",
        "will_retry",
        "retry_delay",
        "request_sent",
        "error_type",
    ]
    text = repr(record) + repr(pickle.dumps(record))
    assert SECRET not in text and TOKEN not in text and "channelValues" not in text and "echo" not in text


def test_several_hooks_are_called_in_order(harness: Harness) -> None:
    calls: list[tuple[str, int]] = []
    hooks = [lambda r: calls.append(("a", r.attempt)), lambda r: calls.append(("b", r.attempt))]
    harness.run(OPS["getCuids"], [BUSY, OK_CUIDS], on_attempt=hooks)
    assert calls == [("a", 1), ("b", 1), ("a", 2), ("b", 2)]


def broken_hook(record: Attempt) -> None:
    raise RuntimeError(f"hook bug at attempt {record.attempt}")


def test_a_raising_hook_never_breaks_the_call_and_is_logged_once_by_name(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[int] = []
    client_options: dict[str, Any] = {"on_attempt": [broken_hook, lambda r: seen.append(r.attempt)]}
    with caplog.at_level(logging.WARNING, logger="jiguang_growth"):
        outcome = harness.run(OPS["getCuids"], [BUSY, BUSY, OK_CUIDS], **client_options)
    assert outcome.error is None and outcome.result[0].cuid == 10000091198
    assert seen == [1, 2, 3]  # the next hook still runs after the broken one
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "test_hooks.broken_hook" in warnings[0].getMessage()
    assert warnings[0].exc_info is not None and "hook bug at attempt 1" in str(warnings[0].exc_info[1])


@pytest.mark.parametrize("bad", [42, "print", [print, None]])
def test_a_hook_that_is_not_callable_is_a_configuration_error(harness: Harness, bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="on_attempt must be a callable"):
        harness.client(on_attempt=bad)


def test_errors_carry_the_attempt_count_and_the_answer_headers_and_still_pickle(harness: Harness) -> None:
    answer = httpx.Response(
        429,
        json=envelope(code=4, msg="slow down"),
        headers={"Retry-After": "0", "X-Request-Id": "req-7", "X-Echo": f"token {SECRET}"},
    )
    outcome = harness.run(OPS["getCuids"], [answer], max_retries=2)
    error = outcome.error
    assert isinstance(error, RateLimitError)
    assert error.attempts == 3
    assert error.headers["x-request-id"] == "req-7" and error.headers["retry-after"] == "0"
    assert type(error.headers) is dict
    assert SECRET not in repr(error.headers) and error.headers["x-echo"] == "token [redacted]"
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is RateLimitError
    assert (copy.attempts, copy.headers, copy.code, str(copy)) == (
        error.attempts,
        error.headers,
        4,
        str(error),
    )


def test_response_and_connection_errors_carry_attempts_too_and_pickle(harness: Harness) -> None:
    unreadable = harness.run(OPS["getCuids"], [httpx.Response(200, text="<html>", headers={"X-Id": "1"})])
    assert isinstance(unreadable.error, APIResponseError)
    assert (unreadable.error.attempts, unreadable.error.headers["x-id"]) == (1, "1")
    copy = pickle.loads(pickle.dumps(unreadable.error))
    assert (copy.attempts, copy.headers) == (1, unreadable.error.headers)

    refused = harness.run(OPS["getCuids"], [httpx.ConnectError("refused")], max_retries=1)
    assert isinstance(refused.error, APIConnectionError) and refused.error.attempts == 2
    assert pickle.loads(pickle.dumps(refused.error)).attempts == 2


def test_an_error_built_by_hand_has_empty_headers_and_one_attempt() -> None:
    error = InternalServerError("boom", status_code=500)
    assert (error.headers, error.attempts) == ({}, 1)
    assert pickle.loads(pickle.dumps(error)).headers == {}


class SlowPacer:
    """A pacer that holds the first attempt for 0.2 s of real time."""

    def __init__(self) -> None:
        self.waits = [0.2]

    def turn(self) -> None:
        return None

    def leave(self, turn: None) -> None:
        pass

    def acquire(self, turn: None = None) -> float:
        return self.waits.pop() if self.waits else 0.0

    def now(self) -> float:
        return time.monotonic()

    def release(
        self,
        answer_seconds: float | None = None,
        *,
        throttled: bool = False,
        retry_after: float | None = None,
        new_connection: bool = False,
    ) -> None:
        pass

    def sent(self, granted_at: float) -> None:
        pass

    def park(self, change: int) -> None:
        pass

    def pause(self, seconds: float) -> None:
        pass


def test_the_wait_for_the_pacer_is_not_part_of_an_attempts_elapsed_time() -> None:
    records: list[Attempt] = []
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=envelope(data={"count": 1})))
    with GrowthClient(PROJECT_ID, SECRET, transport=transport, on_attempt=records.append) as client:
        client._routes = {
            op_id: dataclasses.replace(route, pacer=SlowPacer())  # type: ignore[arg-type]
            for op_id, route in client._routes.items()
        }
        raw = client.with_raw_response.set_user_channels([CHANNELS])
    (record,) = records
    assert raw.elapsed >= 0.2 > 0.1 > record.elapsed
