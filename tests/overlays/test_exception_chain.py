"""No error either client raises leads to the secret or the Authorization value, however it is walked.

Each answer below echoes the credentials the way a logging proxy or a broken
gateway might. The walk follows ``__cause__``, ``__context__``, ``args`` and
every attribute (slots too) down to the last string, so a decoder's ``doc``,
a chained httpx request or a cut body cannot hide them.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from jiguang_growth import APIResponseError, GrowthError, _call

from .conftest import OPS, SECRET, TOKEN, Harness, envelope
from .reachable import reachable_text

ECHO = f"Authorization: Basic {TOKEN}\r\nX-Secret: {SECRET}"
ANSWERS: dict[str, Any] = {
    "non-json-2xx": httpx.Response(200, text=f"<html>{ECHO}</html>"),
    "non-json-json-type": httpx.Response(
        200, content=ECHO.encode(), headers={"content-type": "application/json"}
    ),
    "truncated-json": httpx.Response(200, content=b'{"code": 0, "msg": "' + ECHO.encode()),
    "json-array": httpx.Response(200, json=[ECHO]),
    "code-missing": httpx.Response(200, json={"msg": ECHO}),
    "msg-not-string": httpx.Response(200, json=envelope(msg=[ECHO])),
    "nonzero-code": httpx.Response(200, json=envelope(code=7, msg=ECHO)),
    "bad-data": httpx.Response(200, json=envelope(data=[ECHO])),
    "401": httpx.Response(401, json=envelope(code=4, msg=ECHO)),
    "502-html": httpx.Response(502, text=ECHO),
    "over-the-cap": httpx.Response(200, text=ECHO * 200),
    "read-timeout": httpx.ReadTimeout(ECHO),
    "connect-error": httpx.ConnectError(ECHO),
}


def assert_unreachable(error: BaseException) -> None:
    for text in reachable_text(error):
        assert SECRET not in text
        assert TOKEN not in text


@pytest.mark.parametrize("answer", list(ANSWERS.values()), ids=list(ANSWERS))
@pytest.mark.parametrize("operation_id", list(OPS))
def test_no_credentials_are_reachable_from_any_error(
    harness: Harness, operation_id: str, answer: Any
) -> None:
    out = harness.run(OPS[operation_id], [answer], max_retries=0, max_response_bytes=4096)
    assert isinstance(out.error, GrowthError), out.result
    assert_unreachable(out.error)


def test_a_body_over_the_cap_is_cut_and_named(harness: Harness) -> None:
    answer = httpx.Response(200, content=b'{"code":0,"msg":"' + b"x" * 10_000 + b'"}')
    out = harness.run(OPS["setUserChannels"], [answer], max_retries=0, max_response_bytes=1000)
    assert type(out.error) is APIResponseError
    assert "larger than max_response_bytes (1,000 bytes); reading stopped" in str(out.error)
    assert out.error.body.startswith('{"code":0,"msg":"xxx')


def test_a_cancelled_call_is_unreachable_too() -> None:
    cancel = threading.Event()
    route = _call.CallSetup("setUserAttributes", "PUT", "https://h/a", 2, (SECRET, TOKEN), cancel=cancel)
    call = _call.call(route, b"{}", lambda data: data)
    next(call)
    assert isinstance(call.send(httpx.Response(429, text=ECHO)), _call.Sleep)
    cancel.set()
    with pytest.raises(GrowthError) as caught:
        call.send(None)
    assert_unreachable(caught.value)
