"""Per-call ``timeout``, ``max_retries``, ``extra_headers``; ``with_options(timeout, default_headers)``."""

from __future__ import annotations

import asyncio
import inspect
import math
from typing import Any

import httpx
import pytest

from jiguang_growth import AsyncGrowthClient, ConfigurationError, GrowthClient, InternalServerError

from .conftest import OPS, PROJECT_ID, SECRET, TOKEN, Harness, Op, envelope

BUSY = httpx.Response(503, text="<html>unavailable</html>")
PER_CALL = ("timeout", "max_retries", "extra_headers")


def ok(op: Op) -> httpx.Response:
    return httpx.Response(200, json=envelope(data=op.success_data))


@pytest.mark.parametrize("cls", [GrowthClient, AsyncGrowthClient])
@pytest.mark.parametrize("operation_id", list(OPS))
def test_every_operation_method_takes_the_three_options_by_keyword_only(cls: type, operation_id: str) -> None:
    parameters = inspect.signature(getattr(cls, OPS[operation_id].method_name)).parameters
    for name in PER_CALL:
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[name].default is None


@pytest.mark.parametrize("operation_id", list(OPS))
def test_a_per_call_timeout_reaches_the_transport_and_leaves_the_client_alone(
    harness: Harness, operation_id: str
) -> None:
    op = OPS[operation_id]
    kwargs = {**op.kwargs, "timeout": 42.5}
    outcome = harness.run(op, [ok(op)], kwargs=kwargs)
    assert outcome.error is None, outcome.error
    assert outcome.requests[0].extensions["timeout"] == httpx.Timeout(42.5).as_dict()
    plain = harness.run(op, [ok(op)])
    assert plain.requests[0].extensions["timeout"] == httpx.Timeout(10.0, connect=5.0).as_dict()


def test_an_httpx_timeout_per_call_is_sent_as_given(harness: Harness) -> None:
    op = OPS["setUserAttributes"]
    timeout = httpx.Timeout(5.0, read=60.0)
    outcome = harness.run(op, [ok(op)], kwargs={"timeout": timeout})
    assert outcome.requests[0].extensions["timeout"] == timeout.as_dict()


@pytest.mark.parametrize("max_retries", [0, 4])
def test_per_call_max_retries_overrides_the_clients(harness: Harness, max_retries: int) -> None:
    op = OPS["getCuids"]
    outcome = harness.run(op, [BUSY], kwargs={"max_retries": max_retries}, max_retries=2)
    assert isinstance(outcome.error, InternalServerError)
    assert len(outcome.requests) == max_retries + 1 == outcome.error.attempts


def test_extra_headers_are_sent_on_top_of_the_defaults_case_insensitively(harness: Harness) -> None:
    op = OPS["reportEvents"]
    extra = {"X-Request-Id": "abc", "user-agent": "my-app/2"}
    outcome = harness.run(op, [ok(op)], kwargs={**op.kwargs, "extra_headers": extra})
    headers = outcome.requests[0].headers
    assert headers["x-request-id"] == "abc"
    assert headers.get_list("user-agent") == ["my-app/2"]  # replaced, not sent twice
    assert headers["authorization"] == f"Basic {TOKEN}" and headers["content-type"] == "application/json"


def test_default_headers_from_the_constructor_and_with_options_stack_under_extra_headers() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(OPS["getCuids"])

    transport = httpx.MockTransport(answer)
    with GrowthClient(
        PROJECT_ID, SECRET, transport=transport, default_headers={"X-A": "1", "X-B": "1"}
    ) as base:
        tagged = base.with_options(default_headers={"x-b": "2", "X-C": "2"}, timeout=3)
        tagged.get_cuids("phone_test", ["18012345678"], extra_headers={"X-C": "3"})
        base.get_cuids("phone_test", ["18012345678"])
    first, second = seen
    assert [first.headers.get_list(h) for h in ("x-a", "x-b", "x-c")] == [["1"], ["2"], ["3"]]
    assert first.extensions["timeout"] == httpx.Timeout(3).as_dict()
    assert (second.headers["x-b"], "x-c" in second.headers) == ("1", False)
    assert second.extensions["timeout"] == httpx.Timeout(10.0, connect=5.0).as_dict()


def test_extra_headers_merge_with_the_headers_sent_through_your_own_http_client() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(OPS["getCuids"])

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        client = GrowthClient(PROJECT_ID, SECRET, http_client=http)
        client.get_cuids(
            "phone_test", ["18012345678"], extra_headers={"Accept": "application/json; q=1", "X-Id": "9"}
        )
    (request,) = seen
    assert request.headers.get_list("accept") == ["application/json; q=1"]
    assert request.headers["x-id"] == "9" and request.headers["content-type"] == "application/json"


@pytest.mark.parametrize("name", ["Authorization", "authorization", "AUTHORIZATION"])
def test_authorization_can_never_be_set_by_a_header_option(harness: Harness, name: str) -> None:
    op = OPS["getCuids"]
    outcome = harness.run(op, [ok(op)], kwargs={"extra_headers": {name: "Basic b3RoZXI6c2VjcmV0"}})
    assert isinstance(outcome.error, ConfigurationError) and not outcome.requests
    assert "must not set Authorization" in str(outcome.error)
    with pytest.raises(ConfigurationError, match="default_headers must not set Authorization"):
        harness.client(default_headers={name: "x"})
    with pytest.raises(ConfigurationError, match="default_headers must not set Authorization"):
        harness.client().with_options(default_headers={name: "x"})


@pytest.mark.parametrize("name", ["Content-Length", "transfer-encoding", "Host"])
def test_the_framing_headers_httpx_writes_cannot_be_set_either(harness: Harness, name: str) -> None:
    op = OPS["getCuids"]
    outcome = harness.run(op, [ok(op)], kwargs={"extra_headers": {name: "1"}})
    assert isinstance(outcome.error, ConfigurationError) and not outcome.requests
    assert f"extra_headers must not set {name}" in str(outcome.error)


@pytest.mark.parametrize(
    "headers", [["X-A", "1"], {"X-A": 1}, {b"X-A": "1"}, {"X-A": "1\r\nX-Evil: 1"}, {"": "1"}, "X-A: 1"]
)
def test_headers_that_are_not_a_mapping_of_clean_strings_are_refused(harness: Harness, headers: Any) -> None:
    op = OPS["getCuids"]
    outcome = harness.run(op, [ok(op)], kwargs={"extra_headers": headers})
    assert isinstance(outcome.error, ConfigurationError) and not outcome.requests
    assert "extra_headers" in str(outcome.error)


BAD_TIMEOUTS = [
    0,
    -1,
    0.0,
    math.nan,
    math.inf,
    -math.inf,
    "5",
    True,
    httpx.Timeout(5.0, read=0),
    httpx.Timeout(math.nan),
]


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS, ids=repr)
def test_a_timeout_that_is_not_positive_and_finite_is_a_configuration_error(
    harness: Harness, timeout: Any
) -> None:
    op = OPS["reportEvents"]
    outcome = harness.run(op, [ok(op)], kwargs={"timeout": timeout})
    assert isinstance(outcome.error, ConfigurationError) and not outcome.requests
    assert "timeout" in str(outcome.error) and "positive, finite" in str(outcome.error)
    with pytest.raises(ConfigurationError, match="positive, finite"):
        harness.client(timeout=timeout)
    with pytest.raises(ConfigurationError, match="positive, finite"):
        harness.client().with_options(timeout=timeout)


@pytest.mark.parametrize("max_retries", [-1, 1.5, "2", True])
def test_a_bad_per_call_max_retries_is_a_configuration_error(harness: Harness, max_retries: Any) -> None:
    op = OPS["getCuids"]
    outcome = harness.run(op, [ok(op)], kwargs={"max_retries": max_retries})
    assert isinstance(outcome.error, ConfigurationError) and not outcome.requests


@pytest.mark.parametrize("operation_id", list(OPS))
@pytest.mark.parametrize("keyword", ["timout", "headers", "retries", "eventName"])
def test_an_unknown_keyword_is_pythons_type_error_and_nothing_is_sent(
    harness: Harness, operation_id: str, keyword: str
) -> None:
    op = OPS[operation_id]
    outcome = harness.run(op, [ok(op)], kwargs={**op.kwargs, keyword: 5})
    assert isinstance(outcome.error, TypeError) and not outcome.requests
    assert f"unexpected keyword argument '{keyword}'" in str(outcome.error)


def test_with_options_keeps_the_connection_pool_and_the_originals_settings() -> None:
    async def main() -> None:
        async with AsyncGrowthClient(
            PROJECT_ID, SECRET, transport=httpx.MockTransport(lambda r: BUSY)
        ) as base:
            copy = base.with_options(timeout=1.5, default_headers={"X-A": "1"})
            assert copy._http is base._http and not copy._owns_http
            assert (base._timeout, base._request_headers) == (None, None)
            assert (copy._timeout, copy._request_headers) == (1.5, {"x-a": "1"})

    asyncio.run(main())
