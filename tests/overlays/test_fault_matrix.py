"""Every kind of answer ends in exactly one outcome: a typed result or one of our exceptions.

Each row runs against all four operations and both clients, with retries
off, so it pins the outcome of a single answer. Retries are tested in
test_retries.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from jiguang_growth import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CuidResult,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from jiguang_growth_generated.models import ReportEventsResult, SetUserAttributesResult, SetUserChannelsResult

from .conftest import OPS, Harness, Op, envelope

WRITE_RESULT = {
    "reportEvents": ReportEventsResult,
    "setUserAttributes": SetUserAttributesResult,
    "setUserChannels": SetUserChannelsResult,
}
HTML = "<html><body><h1>502 Bad Gateway</h1></body></html>"

STATUS_CLASS = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
    500: InternalServerError,
    502: InternalServerError,
    503: InternalServerError,
    504: InternalServerError,
    520: InternalServerError,
}


def op_params() -> list[Any]:
    return [pytest.param(op, id=op.operation_id) for op in OPS.values()]


def json_response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def raw_response(status: int, content: bytes, content_type: str | None) -> httpx.Response:
    headers = {"content-type": content_type} if content_type else {}
    return httpx.Response(status, content=content, headers=headers)


# --- 200 with code 0 -------------------------------------------------------------------------


@pytest.mark.parametrize("op", op_params())
def test_code_0_with_data_returns_the_typed_data(harness: Harness, op: Op) -> None:
    out = harness.run(op, [json_response(200, envelope(data=op.success_data))], max_retries=0)
    assert out.error is None
    assert len(out.requests) == 1
    if op.operation_id == "getCuids":
        assert out.result == [CuidResult("18012345678", 10000091198, 0)]
        assert out.result[0].ok
    else:
        assert type(out.result) is WRITE_RESULT[op.operation_id]
        assert out.result.additional_properties == op.success_data


@pytest.mark.parametrize("data", ["absent", "null"])
@pytest.mark.parametrize("op", op_params())
def test_code_0_without_data(harness: Harness, op: Op, data: str) -> None:
    body = envelope(msg="ok") if data == "absent" else envelope(data=None)
    out = harness.run(op, [json_response(200, body)], max_retries=0)
    if op.operation_id == "getCuids":
        # The requested values are not accounted for: a malformed answer.
        assert type(out.error) is APIResponseError
        assert out.error.status_code == 200
        assert "'data' is missing or null" in str(out.error)
    else:
        assert out.error is None
        assert type(out.result) is WRITE_RESULT[op.operation_id]
        assert out.result.additional_properties == {}


# --- 200 with a failure code or a malformed envelope ------------------------------------------


@pytest.mark.parametrize("op", op_params())
def test_200_with_non_zero_code_raises_api_error_with_that_code(harness: Harness, op: Op) -> None:
    out = harness.run(op, [json_response(200, envelope(code=40050, msg="request rejected"))], max_retries=0)
    assert type(out.error) is APIError
    assert (out.error.code, out.error.msg, out.error.status_code) == (40050, "request rejected", 200)
    assert str(out.error) == f"HTTP 200 from {op.http_method} {op.url}: code 40050: request rejected"
    assert (out.error.method, out.error.url) == (op.http_method, op.url)


MALFORMED_200 = [
    pytest.param(
        b'{"code": 0, "msg": "succ', "application/json", "body is not JSON (application/json)", id="truncated"
    ),
    pytest.param(
        b'{"code": "0", "msg": "success"}',
        "application/json",
        "'code' is a string, expected an integer",
        id="code-str",
    ),
    pytest.param(
        b'{"code": true}', "application/json", "'code' is a boolean, expected an integer", id="code-bool"
    ),
    pytest.param(
        b'{"code": 0.0}', "application/json", "'code' is a number, expected an integer", id="code-float"
    ),
    pytest.param(b'{"msg": "ok"}', "application/json", "'code' is missing", id="code-missing"),
    pytest.param(
        b'{"code": null}', "application/json", "'code' is null, expected an integer", id="code-null"
    ),
    pytest.param(
        b'{"code": 0, "msg": 5}', "application/json", "'msg' is a number, expected a string", id="msg-number"
    ),
    pytest.param(
        b"[0]", "application/json", "body is an array, expected an envelope object", id="json-array"
    ),
    pytest.param(
        b'"ok"', "application/json", "body is a string, expected an envelope object", id="json-string"
    ),
    pytest.param(HTML.encode(), "text/html; charset=utf-8", "body is not JSON (text/html)", id="html"),
    pytest.param(b"", None, "empty body", id="empty"),
    pytest.param(b"\xff\xfe\xfa", "application/json", "body is not JSON (application/json)", id="not-utf8"),
]


@pytest.mark.parametrize(("content", "content_type", "reason"), MALFORMED_200)
@pytest.mark.parametrize("op", op_params())
def test_malformed_success_raises_api_response_error(
    harness: Harness, op: Op, content: bytes, content_type: str | None, reason: str
) -> None:
    out = harness.run(op, [raw_response(200, content, content_type)], max_retries=0)
    assert type(out.error) is APIResponseError
    assert str(out.error) == f"HTTP 200 from {op.http_method} {op.url}: {reason}"
    assert out.error.status_code == 200
    assert out.error.body == content.decode("utf-8", "replace")


def test_truncated_json_is_not_chained_to_the_decode_error(harness: Harness) -> None:
    """A JSON decoder's error keeps the whole document (``doc``), so it must not be reachable."""
    out = harness.run(
        OPS["reportEvents"], [raw_response(200, b'{"code": 0', "application/json")], max_retries=0
    )
    assert type(out.error) is APIResponseError
    assert "body is not JSON (application/json)" in str(out.error)
    assert out.error.__cause__ is None
    assert out.error.__context__ is None


WRONG_DATA = [
    pytest.param("reportEvents", [], "'data' is an array, expected an object or null", id="events-array"),
    pytest.param(
        "setUserAttributes", "ok", "'data' is a string, expected an object or null", id="attrs-string"
    ),
    pytest.param(
        "setUserChannels", 1, "'data' is a number, expected an object or null", id="channels-number"
    ),
    pytest.param("getCuids", {}, "'data' is an object, expected an array", id="cuids-object"),
    pytest.param("getCuids", ["x"], "'data[0]' is a string, expected an object", id="cuids-item-string"),
    pytest.param(
        "getCuids",
        [{"identityValues": "18012345678", "cuid": "10000091198", "errorCode": 0}],
        "the cuid of 'data[0]' is a string, expected an integer or null",
        id="cuids-cuid-string",
    ),
    pytest.param(
        "getCuids",
        [{"identityValues": "18012345678", "cuid": 1, "errorCode": "0"}],
        "the error code of 'data[0]' is a string, expected an integer",
        id="cuids-errorcode-string",
    ),
    pytest.param(
        "getCuids",
        [{"cuid": 1, "errorCode": 0}],
        "the identity value of 'data[0]' is missing",
        id="cuids-value-missing",
    ),
    pytest.param(
        "getCuids",
        [{"identityValues": "other", "cuid": 1, "errorCode": 0}],
        "'data' has no result for the requested value(s) '18012345678'",
        id="cuids-unpaired",
    ),
]


@pytest.mark.parametrize(("operation_id", "data", "reason"), WRONG_DATA)
def test_code_0_with_wrong_data_types_raises_api_response_error(
    harness: Harness, operation_id: str, data: Any, reason: str
) -> None:
    op = OPS[operation_id]
    out = harness.run(op, [json_response(200, envelope(data=data))], max_retries=0)
    assert type(out.error) is APIResponseError
    assert str(out.error) == f"HTTP 200 from {op.http_method} {op.url}: {reason}"


# --- non-2xx statuses, each with an envelope, an HTML page and an empty body ------------------


@pytest.mark.parametrize("status", sorted(STATUS_CLASS))
@pytest.mark.parametrize("op", op_params())
def test_error_status_with_envelope(harness: Harness, op: Op, status: int) -> None:
    out = harness.run(op, [json_response(status, envelope(code=4, msg="invalid request"))], max_retries=0)
    assert type(out.error) is STATUS_CLASS[status]
    assert (out.error.status_code, out.error.code, out.error.msg) == (status, 4, "invalid request")
    assert str(out.error) == f"HTTP {status} from {op.http_method} {op.url}: code 4: invalid request"
    assert len(out.requests) == 1


@pytest.mark.parametrize("status", sorted(STATUS_CLASS))
@pytest.mark.parametrize("op", op_params())
def test_error_status_with_html(harness: Harness, op: Op, status: int) -> None:
    out = harness.run(op, [raw_response(status, HTML.encode(), "text/html")], max_retries=0)
    assert type(out.error) is STATUS_CLASS[status]
    assert (out.error.status_code, out.error.code, out.error.msg) == (status, None, None)
    assert str(out.error) == f"HTTP {status} from {op.http_method} {op.url}: body is not JSON (text/html)"
    assert out.error.body == HTML


@pytest.mark.parametrize("status", sorted(STATUS_CLASS))
@pytest.mark.parametrize("op", op_params())
def test_error_status_with_empty_body(harness: Harness, op: Op, status: int) -> None:
    out = harness.run(op, [raw_response(status, b"", None)], max_retries=0)
    assert type(out.error) is STATUS_CLASS[status]
    assert (out.error.status_code, out.error.code, out.error.msg, out.error.body) == (status, None, None, "")
    assert str(out.error) == f"HTTP {status} from {op.http_method} {op.url}: empty body"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param(
            {"error": {"code": 1004, "message": "auth failed"}}, "body is an object without an integer 'code'"
        ),
        pytest.param({"code": "4", "msg": "bad"}, "body is an object without an integer 'code'"),
        pytest.param([1, 2], "body is an array without an integer 'code'"),
    ],
)
def test_error_status_with_json_that_is_not_an_envelope(harness: Harness, body: Any, detail: str) -> None:
    op = OPS["setUserChannels"]
    out = harness.run(op, [json_response(400, body)], max_retries=0)
    assert type(out.error) is BadRequestError
    assert out.error.code is None
    assert str(out.error) == f"HTTP 400 from PUT {op.url}: {detail}"


def test_rate_limit_carries_retry_after(harness: Harness) -> None:
    answer = httpx.Response(429, json=envelope(code=4, msg="too many requests"), headers={"Retry-After": "7"})
    out = harness.run(OPS["getCuids"], [answer], max_retries=0)
    assert type(out.error) is RateLimitError
    assert out.error.retry_after == 7.0


def test_long_body_is_truncated_in_the_exception(harness: Harness) -> None:
    page = "x" * 5000
    out = harness.run(OPS["getCuids"], [raw_response(502, page.encode(), "text/plain")], max_retries=0)
    assert isinstance(out.error, APIError)
    assert out.error.body.startswith("x" * 512)
    assert out.error.body.endswith("... [4488 more characters]")


# --- transport failures ------------------------------------------------------------------------

TRANSPORT = [
    pytest.param(httpx.ReadTimeout("timed out"), APITimeoutError, True, "timed out after", id="read-timeout"),
    pytest.param(
        httpx.WriteTimeout("timed out"), APITimeoutError, True, "timed out after", id="write-timeout"
    ),
    pytest.param(
        httpx.ConnectTimeout("timed out"), APITimeoutError, False, "timed out before", id="connect-timeout"
    ),
    pytest.param(
        httpx.PoolTimeout("timed out"), APITimeoutError, False, "timed out before", id="pool-timeout"
    ),
    pytest.param(
        httpx.ReadError("[Errno 104] Connection reset by peer"),
        APIConnectionError,
        True,
        "failed after",
        id="reset",
    ),
    pytest.param(
        httpx.ConnectError("[Errno 104] Connection reset by peer"),
        APIConnectionError,
        False,
        "failed before",
        id="reset-on-connect",
    ),
    pytest.param(
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        APIConnectionError,
        True,
        "failed after",
        id="disconnect",
    ),
]


@pytest.mark.parametrize(("failure", "expected", "sent", "phrase"), TRANSPORT)
@pytest.mark.parametrize("op", op_params())
def test_transport_failure(
    harness: Harness, op: Op, failure: Exception, expected: type[Exception], sent: bool, phrase: str
) -> None:
    out = harness.run(op, [failure], max_retries=0)
    assert type(out.error) is expected
    assert isinstance(out.error, APIConnectionError)
    assert out.error.request_sent is sent
    assert (out.error.method, out.error.url) == (op.http_method, op.url)
    assert str(out.error).startswith(f"{op.http_method} {op.url} {phrase} the request was sent (")
    assert type(out.error.__cause__) is type(failure)
    assert out.error.__cause__.args == failure.args
