"""Cancelling a call (what a stopping bulk run does): it ends at its next step and is never retried."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import httpx
import pytest

from jiguang_growth import BadRequestError, GrowthClient, _call, _pacing
from jiguang_growth._client import cancelled_by
from jiguang_growth._exceptions import CancelledCallError

from .conftest import OPS, PROJECT_ID, SECRET, envelope

WRITE = _call.CallSetup("setUserAttributes", "PUT", "https://h/smartop/api/v1/user/attribute", 5)


def identity(data: Any) -> Any:
    return data


@pytest.mark.parametrize(
    ("answer", "sent"),
    [
        (httpx.Response(429, text=""), False),  # refused: surely not applied
        (httpx.Response(503, text="", headers={"Retry-After": "1"}), False),
        (httpx.ReadTimeout("slow"), True),  # may have been applied
        (httpx.ConnectError("refused"), False),
    ],
)
def test_a_call_cancelled_while_it_waits_to_retry_ends_with_its_last_outcome(answer: Any, sent: bool) -> None:
    cancel = threading.Event()
    call = _call.call(dataclasses.replace(WRITE, operation_id="reportEvents", cancel=cancel), b"{}", identity)
    next(call)
    assert isinstance(call.send(answer), _call.Sleep)
    cancel.set()
    with pytest.raises(CancelledCallError) as caught:
        call.send(None)
    assert caught.value.request_sent is sent
    assert "cancelled" in str(caught.value)


def test_an_attempt_that_fails_after_the_cancel_is_not_retried() -> None:
    cancel = threading.Event()
    call = _call.call(dataclasses.replace(WRITE, operation_id="reportEvents", cancel=cancel), b"{}", identity)
    next(call)
    cancel.set()  # the driver's read ended because of it
    with pytest.raises(CancelledCallError) as caught:
        call.send(httpx.ReadError("cancelled"))
    assert caught.value.request_sent is True
    assert "cancelled after the request was sent" in str(caught.value)


def test_a_call_cancelled_while_waiting_for_its_pacer_slot_was_never_sent() -> None:
    cancel = threading.Event()
    pacer = _pacing.Pacer(1)
    pacer.acquire()  # the only slot is taken
    call = _call.call(dataclasses.replace(WRITE, pacer=pacer, cancel=cancel), b"{}", identity)
    assert isinstance(next(call), _call.Sleep)
    cancel.set()
    with pytest.raises(CancelledCallError) as caught:
        call.send(None)
    assert caught.value.request_sent is False
    assert "cancelled before the request was sent" in str(caught.value)


def test_the_sync_client_wakes_from_a_backoff_sleep_when_cancelled() -> None:
    answers = [httpx.Response(503, text="", headers={"Retry-After": "50"})]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers[0]

    cancel = threading.Event()
    client = GrowthClient(PROJECT_ID, SECRET, transport=httpx.MockTransport(handler), max_retries=3)
    cancellable = cancelled_by(client, cancel)
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(CancelledCallError) as caught:
        cancellable.report_events(*OPS["reportEvents"].args)
    assert time.monotonic() - started < 20  # not the 50 s the server asked for
    assert caught.value.request_sent is False  # a 503 with Retry-After is a refusal
    client.close()


def test_without_a_cancel_nothing_changes() -> None:
    call = _call.call(WRITE, b"{}", identity)
    next(call)
    with pytest.raises(StopIteration):
        call.send(httpx.Response(200, json=envelope()))


def test_an_answer_that_ends_the_call_keeps_its_own_error_after_a_cancel() -> None:
    cancel = threading.Event()
    call = _call.call(dataclasses.replace(WRITE, cancel=cancel), b"{}", identity)
    next(call)
    cancel.set()
    with pytest.raises(BadRequestError):
        call.send(httpx.Response(400, json=envelope(code=3, msg="bad")))
