"""HTTP Basic through httpx, and the secret never shows: repr, str, exceptions, pickles, logs."""

from __future__ import annotations

import logging
import pickle
from typing import Any

import httpx
import pytest

import jiguang_growth
from jiguang_growth import (
    APIConnectionError,
    APIError,
    APIResponseError,
    AsyncGrowthClient,
    GrowthClient,
    GrowthError,
    RateLimitError,
    RequestValidationError,
)

from .conftest import EVENT, OPS, PROJECT_ID, SECRET, TOKEN, Harness, envelope


def test_exact_authorization_header_for_the_documented_example() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope())

    with GrowthClient("100102", "secret", transport=httpx.MockTransport(handler)) as client:
        client.set_user_attributes(10362473, {"user_number_once": 46.2})
    assert seen[0].headers["Authorization"] == "Basic MTAwMTAyOnNlY3JldA=="
    assert seen[0].headers.get_list("Authorization") == ["Basic MTAwMTAyOnNlY3JldA=="]


async def test_exact_authorization_header_async() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope())

    async with AsyncGrowthClient("100102", "secret", transport=httpx.MockTransport(handler)) as client:
        await client.report_events([EVENT])
    assert seen[0].headers["Authorization"] == "Basic MTAwMTAyOnNlY3JldA=="


def test_auth_goes_through_httpx_basic_auth() -> None:
    client = GrowthClient(PROJECT_ID, SECRET)
    assert isinstance(client._auth, httpx.BasicAuth)
    client.close()


def test_auth_is_sent_even_on_an_http_client_passed_in() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope())

    own = httpx.Client(transport=httpx.MockTransport(handler), headers={"X-Trace": "1"})
    client = GrowthClient(PROJECT_ID, SECRET, http_client=own)
    client.set_user_channels(OPS["setUserChannels"].args[0])
    assert seen[0].headers["Authorization"] == f"Basic {TOKEN}"
    assert seen[0].headers["X-Trace"] == "1"
    assert seen[0].headers["Content-Type"] == "application/json"
    client.close()
    assert not own.is_closed  # not ours to close
    own.close()


def all_text(value: Any) -> str:
    """Everything an exception or client exposes as text, and its pickle."""
    parts = [str(value), repr(value)]
    if isinstance(value, BaseException):
        parts += [repr(v) for v in vars(value).values()]
        parts.append(pickle.dumps(value).decode("latin-1"))
    return "\n".join(parts)


def assert_no_credentials(text: str) -> None:
    assert SECRET not in text
    assert TOKEN not in text


def test_repr_and_str_of_clients_hide_the_secret() -> None:
    for cls in (GrowthClient, AsyncGrowthClient):
        client = cls(PROJECT_ID, SECRET)
        assert repr(client) == f"{cls.__name__}(project_id='100102', base_url='https://growth.jiguang.cn')"
        assert_no_credentials(str(client) + repr(client) + repr(vars(client)))


def test_clients_refuse_to_pickle() -> None:
    client = GrowthClient(PROJECT_ID, SECRET)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(client)
    client.close()


ANSWERS: list[Any] = [
    httpx.Response(200, json=envelope(code=4, msg=f"bad auth {SECRET}")),
    httpx.Response(401, json=envelope(code=4, msg=f"Basic {TOKEN} rejected")),
    httpx.Response(502, text=f"<html>proxy saw Authorization: Basic {TOKEN}</html>"),
    httpx.Response(429, text="", headers={"Retry-After": "2"}),
    httpx.Response(200, text=f"not json {SECRET}"),
    httpx.ReadTimeout("timed out"),
    httpx.ConnectError("refused"),
]


@pytest.mark.parametrize(
    "answer", ANSWERS, ids=lambda a: type(a).__name__ + str(getattr(a, "status_code", ""))
)
@pytest.mark.parametrize("operation_id", list(OPS))
def test_no_credentials_in_any_exception_or_its_cause(
    harness: Harness, operation_id: str, answer: Any
) -> None:
    out = harness.run(OPS[operation_id], [answer], max_retries=0)
    assert isinstance(out.error, GrowthError)
    seen: set[int] = set()
    error: BaseException | None = out.error
    while error is not None and id(error) not in seen:  # the chain a traceback or error tracker shows
        seen.add(id(error))
        assert_no_credentials(all_text(error) if isinstance(error, GrowthError) else str(error))
        request = getattr(error, "_request", None)
        if request is not None:
            assert_no_credentials(repr(dict(request.headers)))
        error = error.__cause__ or error.__context__
    assert len(seen) >= 1


@pytest.mark.parametrize("failure", [httpx.ReadTimeout("t"), httpx.ConnectError("refused")])
def test_the_chained_httpx_error_keeps_its_request_without_authorization(
    harness: Harness, failure: Any
) -> None:
    out = harness.run(OPS["setUserAttributes"], [failure], max_retries=0)
    assert isinstance(out.error, APIConnectionError)
    cause = out.error.__cause__
    assert isinstance(cause, httpx.RequestError)
    assert cause.request.url == OPS["setUserAttributes"].url
    assert cause.request.headers["Authorization"] == "[redacted]"


def test_echoed_credentials_are_redacted_not_dropped(harness: Harness) -> None:
    answer = httpx.Response(502, text=f"<html>Authorization: Basic {TOKEN}</html>")
    out = harness.run(OPS["getCuids"], [answer], max_retries=0)
    assert isinstance(out.error, APIError)
    assert out.error.body == "<html>Authorization: [redacted]</html>"


def test_no_credentials_in_logs(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    harness.run(
        OPS["reportEvents"], [httpx.ReadTimeout("t"), httpx.Response(200, json=envelope())], max_retries=1
    )
    assert caplog.records  # httpx and the retry both logged
    for record in caplog.records:
        assert_no_credentials(record.getMessage())


def test_constructor_errors_do_not_echo_the_secret() -> None:
    with pytest.raises(jiguang_growth.ConfigurationError) as caught:
        GrowthClient(PROJECT_ID, SECRET, base_url=f"https://user:{SECRET}@growth.jiguang.cn")
    assert_no_credentials(all_text(caught.value))


# --- pickling ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json=envelope(code=4, msg="rejected")),
        httpx.Response(429, json=envelope(code=4, msg="slow"), headers={"Retry-After": "9"}),
        httpx.Response(503, text="<html>x</html>"),
        httpx.Response(200, text="garbage"),
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError("refused"),
    ],
    ids=["api", "rate-limit", "server", "response", "timeout", "connection"],
)
def test_exceptions_raised_by_the_client_pickle_whole(harness: Harness, answer: Any) -> None:
    out = harness.run(OPS["getCuids"], [answer], max_retries=0)
    error = out.error
    assert isinstance(error, GrowthError)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert vars(copy) == vars(error)


def test_every_exception_class_pickles() -> None:
    samples: list[GrowthError] = [
        GrowthError("base"),
        RequestValidationError("body.data: too long", field="body.data", rule="maxItems"),
        APIConnectionError("failed", method="PUT", url="https://x/y", request_sent=True),
        APIResponseError("bad", status_code=200, body="x" * 600, method="POST", url="https://x/y"),
        RateLimitError("slow", status_code=429, code=4, msg="m", body="b", retry_after=1.5),
        jiguang_growth.ConfigurationError("missing"),
    ]
    for sample in samples:
        copy = pickle.loads(pickle.dumps(sample))
        assert type(copy) is type(sample)
        assert vars(copy) == vars(sample)
    assert isinstance(pickle.loads(pickle.dumps(samples[1])), ValueError)


def test_a_tiny_secret_does_not_mangle_messages() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(502, content=b"<html>bad gateway</html>"))
    client = GrowthClient("1", "s", transport=transport, max_retries=0)
    with client, pytest.raises(APIError) as caught:
        client.set_user_attributes(1, {"user_a": 1})
    url = "https://growth.jiguang.cn/smartop/api/v1/user/attribute"
    assert str(caught.value) == f"HTTP 502 from PUT {url}: body is not JSON (no content type)"
    assert caught.value.body == "<html>bad gateway</html>"
