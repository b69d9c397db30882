"""The clients against Prism, an independent mock of openapi.yaml.

Every request example of every operation goes through GrowthClient and
AsyncGrowthClient, whose methods ``make generate`` writes. Prism
checks each request against the spec (body schema, Basic credentials, server
URL) and answers with the spec's response examples, which must come back as
the typed values those examples describe. Nothing here reads the overlays'
own view of the spec: operations, paths and examples come from openapi.yaml.

The overlays run with their default base URL, the production host: a small
transport (:class:`ToPrism`) delivers each call to Prism instead. Prism serves
the paths without the servers' base path, so the transport passes the server
URL the client built (host plus ``/smartop/api/v1``) in Prism's ``__server``
query parameter, and Prism checks it against the spec's ``servers``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from jiguang_growth import (
    APIError,
    AsyncGrowthClient,
    AuthenticationError,
    BadRequestError,
    CuidResult,
    GrowthClient,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
)
from jiguang_growth_generated.models import (
    ReportEventsResult,
    SetUserAttributesResult,
    SetUserChannelsResult,
)

from .prism import SPEC, prism

__all__ = ["prism"]  # the shared session fixture, imported so that pytest finds it here

pytestmark = pytest.mark.prism

PROJECT_ID = "100102"
SECRET = "prism-checks-only-the-scheme"
"""Prism checks that Basic credentials are there, not what they are."""

with SPEC.open(encoding="utf-8") as _handle:
    DOC: dict[str, Any] = yaml.safe_load(_handle)

BASE_PATH = urlsplit(DOC["servers"][0]["url"]).path
"""``/smartop/api/v1``, read from the spec's first server."""


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = DOC["components"][section][name]
    return node


def _examples(media: Mapping[str, Any]) -> dict[str, Any]:
    """name -> value of a media type's examples (``example`` is named "default")."""
    if "examples" in media:
        return {name: _resolve(example)["value"] for name, example in media["examples"].items()}
    return {"default": media["example"]}


OPERATIONS: dict[str, dict[str, Any]] = {
    operation["operationId"]: {"path": path, "method": method.upper(), **operation}
    for path, item in DOC["paths"].items()
    for method, operation in item.items()
    if isinstance(operation, dict) and "operationId" in operation
}


def request_examples(operation_id: str) -> dict[str, Any]:
    return _examples(OPERATIONS[operation_id]["requestBody"]["content"]["application/json"])


def response_media(operation_id: str, status: str) -> Mapping[str, Any]:
    response = _resolve(OPERATIONS[operation_id]["responses"][status])
    media: Mapping[str, Any] = response["content"]["application/json"]
    return media


def response_examples(operation_id: str, status: str) -> dict[str, Any]:
    return _examples(response_media(operation_id, status))


def status_key(operation_id: str, status: int) -> str:
    """The spec's response key for a status: exact (``429``) or its range (``4XX``)."""
    responses = OPERATIONS[operation_id]["responses"]
    return str(status) if str(status) in responses else f"{str(status)[0]}XX"


CASES = [
    pytest.param(op_id, request_name, response_name, id=f"{op_id}-{request_name}-{response_name}")
    for op_id in OPERATIONS
    for request_name in request_examples(op_id)
    for response_name in response_examples(op_id, "200")
]
ERROR_STATUSES = [400, 401, 403, 404, 429, 500, 502, 503, 504]


def test_the_cases_cover_every_operation_and_both_200_examples() -> None:
    assert sorted(OPERATIONS) == ["getCuids", "reportEvents", "setUserAttributes", "setUserChannels"]
    # every request example with both answers (success, failure): reportEvents and setUserAttributes
    # have two examples each, getCuids two (different values first, then the vendor's), setUserChannels one
    assert len(CASES) == 14
    assert BASE_PATH == "/smartop/api/v1"


# --- the clients ---------------------------------------------------------------------------


def to_prism(request: httpx.Request, prism: str, prefer: str | None, drop_auth: bool) -> httpx.Request:
    """The overlay's request, sent to Prism instead: the server URL the client built (everything up
    to the base path) goes into ``__server``, which Prism matches against the spec's ``servers``."""
    prefix, found, rest = request.url.path.partition(BASE_PATH + "/")
    if not found:
        raise AssertionError(f"the client left out the base path {BASE_PATH}: {request.url}")
    server = str(request.url.copy_with(path=prefix + BASE_PATH, query=None))
    url = httpx.URL(prism).copy_with(path="/" + rest, params={"__server": server})
    headers = httpx.Headers(request.headers)
    del headers["Host"]  # httpx sets Prism's
    if prefer is not None:
        headers["Prefer"] = prefer
    if drop_auth:
        del headers["Authorization"]
    return httpx.Request(request.method, url, headers=headers, content=request.content)


class ToPrism(httpx.BaseTransport):
    """GrowthClient's transport: sends to Prism whatever host the client aimed at; keeps what it saw."""

    def __init__(self, prism: str, prefer: str | None = None, *, drop_auth: bool = False) -> None:
        self.prism = prism
        self.prefer = prefer
        self.drop_auth = drop_auth
        self.sent: list[httpx.Request] = []
        self.answers: list[httpx.Response] = []
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        answer = self._inner.handle_request(to_prism(request, self.prism, self.prefer, self.drop_auth))
        answer.read()
        self.answers.append(answer)
        return answer

    def close(self) -> None:
        self._inner.close()


class AsyncToPrism(httpx.AsyncBaseTransport):
    """The same for AsyncGrowthClient."""

    def __init__(self, prism: str, prefer: str | None = None) -> None:
        self.prism = prism
        self.prefer = prefer
        self.sent: list[httpx.Request] = []
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        answer = await self._inner.handle_async_request(to_prism(request, self.prism, self.prefer, False))
        await answer.aread()
        return answer

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture(autouse=True)
def _no_client_settings_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JIGUANG_PROJECT_ID", "JIGUANG_PROJECT_SECRET", "JIGUANG_GROWTH_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


RESULTS: dict[str, type[Any]] = {
    "reportEvents": ReportEventsResult,
    "setUserAttributes": SetUserAttributesResult,
    "setUserChannels": SetUserChannelsResult,
}
"""The typed ``data`` of the three writes (getCuids returns a list of CuidResult)."""


def overlay_call(operation_id: str, body: Any) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """The overlay method and arguments that send ``body`` (a request example)."""
    if operation_id == "reportEvents":
        return "report_events", (body["data"],), {"app_key": body.get("appKey")}
    if operation_id == "setUserAttributes":
        return "set_user_attributes", (body["cuid"], body["data"]), {}
    if operation_id == "getCuids":
        return "get_cuids", (body["identityName"], body["identityValues"]), {}
    return "set_user_channels", (body,), {}


def expected_body(operation_id: str, example: Any, sent: Any) -> Any:
    """The example as the overlay sends it: events without ``randomId`` get a fresh UUID."""
    if operation_id != "reportEvents":
        return example
    events = []
    for event, sent_event in zip(example["data"], sent["data"], strict=True):
        if "randomId" not in event:
            assert uuid.UUID(sent_event["randomId"]).version == 4
            event = {**event, "randomId": sent_event["randomId"]}
        events.append(event)
    return {**example, "data": events}


def check_result(operation_id: str, request: Any, answer: Mapping[str, Any], result: Any) -> None:
    """``result`` is the typed form of the answer example's ``data``."""
    data = answer.get("data")
    if operation_id == "getCuids":
        first: dict[str, Any] = {}
        for item in data:
            first.setdefault(item["identityValues"], item)
        assert result == [
            CuidResult(value, first[value]["cuid"], first[value]["errorCode"])
            for value in request["identityValues"]
        ]
        assert all(item.ok for item in result)
    else:
        assert type(result) is RESULTS[operation_id]
        assert result.to_dict() == (data or {})


def overlay_client(transport: httpx.BaseTransport, **options: Any) -> GrowthClient:
    """A GrowthClient with its default base URL, the production host: the transport reroutes
    the calls to Prism, and Prism checks that host plus base path against the spec's servers."""
    return GrowthClient(PROJECT_ID, SECRET, transport=transport, **options)


@pytest.mark.parametrize(("operation_id", "request_name", "response_name"), CASES)
def test_growth_client_sends_each_request_example_and_returns_the_typed_answer(
    prism: str, operation_id: str, request_name: str, response_name: str
) -> None:
    example = request_examples(operation_id)[request_name]
    answer = response_examples(operation_id, "200")[response_name]
    method, args, kwargs = overlay_call(operation_id, example)
    transport = ToPrism(prism, f"example={response_name}")

    error: APIError | None = None
    with overlay_client(transport, max_retries=0) as client:
        try:
            result: Any = getattr(client, method)(*args, **kwargs)
        except APIError as raised:
            result, error = None, raised

    assert len(transport.sent) == 1
    sent = transport.sent[0]
    assert (sent.method, str(sent.url)) == (  # the default base URL is the spec's production server
        OPERATIONS[operation_id]["method"],
        DOC["servers"][0]["url"] + OPERATIONS[operation_id]["path"],
    )
    assert transport.answers[0].status_code == 200, transport.answers[0].text  # Prism accepted it
    body = json.loads(sent.content)
    assert body == expected_body(operation_id, example, body)
    if answer["code"] == 0:
        assert error is None
        check_result(operation_id, example, answer, result)
    else:
        assert type(error) is APIError  # a failure inside HTTP 200: no status class applies
        assert (error.status_code, error.code, error.msg) == (200, answer["code"], answer["msg"])


@pytest.mark.parametrize("operation_id", list(OPERATIONS))
def test_async_growth_client_sends_each_request_example_and_returns_the_typed_answer(
    prism: str, operation_id: str
) -> None:
    example = next(iter(request_examples(operation_id).values()))
    answer = response_examples(operation_id, "200")["success"]
    method, args, kwargs = overlay_call(operation_id, example)
    transport = AsyncToPrism(prism, "example=success")

    async def main() -> Any:
        async with AsyncGrowthClient(PROJECT_ID, SECRET, transport=transport) as client:
            return await getattr(client, method)(*args, **kwargs)

    result = asyncio.run(main())

    assert len(transport.sent) == 1
    body = json.loads(transport.sent[0].content)
    assert body == expected_body(operation_id, example, body)
    check_result(operation_id, example, answer, result)


ERROR_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
    500: InternalServerError,
    502: InternalServerError,
    503: InternalServerError,
    504: InternalServerError,
}


@pytest.mark.parametrize("status", ERROR_STATUSES)
@pytest.mark.parametrize("operation_id", list(OPERATIONS))
def test_growth_client_raises_the_typed_error_of_each_documented_error_answer(
    prism: str, operation_id: str, status: int
) -> None:
    example = next(iter(request_examples(operation_id).values()))
    key = status_key(operation_id, status)
    answer = next(iter(response_examples(operation_id, key).values()))
    headers = _resolve(OPERATIONS[operation_id]["responses"][key]).get("headers", {})
    method, args, kwargs = overlay_call(operation_id, example)
    transport = ToPrism(prism, f"code={status}")

    with overlay_client(transport, max_retries=0) as client, pytest.raises(APIError) as raised:
        getattr(client, method)(*args, **kwargs)

    error = raised.value
    assert type(error) is ERROR_CLASSES[status]
    assert (error.status_code, error.code, error.msg) == (status, answer["code"], answer["msg"])
    retry_after = headers.get("Retry-After", {}).get("example")
    assert error.retry_after == (None if retry_after is None else float(retry_after))
    assert len(transport.sent) == 1


def test_prism_refuses_a_call_without_credentials_and_the_client_raises_authentication_error(
    prism: str,
) -> None:
    # As if a proxy on the way stripped the Authorization header the client sent.
    transport = ToPrism(prism, drop_auth=True)
    with (
        overlay_client(transport, max_retries=0) as client,
        pytest.raises(AuthenticationError) as raised,
    ):
        client.get_cuids("phone", ["18012345678"])

    assert "authorization" in transport.sent[0].headers  # the client itself did send them
    assert raised.value.status_code == 401
    assert "security" in transport.answers[0].headers.get("sl-violations", "").lower()
    assert SECRET not in str(raised.value)


def test_prism_refuses_a_server_url_that_is_not_in_the_spec(prism: str) -> None:
    # The negative control for __server: a server the spec does not list is a 404 from Prism.
    transport = ToPrism(prism)
    client = GrowthClient(
        PROJECT_ID, SECRET, "https://growth.jiguang.cn/v2", transport=transport, max_retries=0
    )
    with client, pytest.raises(NotFoundError):
        client.get_cuids("phone", ["18012345678"])
    assert "NO_SERVER_MATCHED" in transport.answers[0].text


OVER_THE_LIMIT: list[tuple[str, Any, str]] = [
    ("reportEvents", {"data": [{"cuid": 1, "eventName": "e", "itime": 1654076420772}] * 101}, "maxItems"),
    ("setUserAttributes", {"cuid": 1, "data": {}}, "minProperties"),
    ("getCuids", {"identityName": "phone", "identityValues": ["x" * 257]}, "maxLength"),
    (
        "setUserChannels",
        [{"cuid": 1, "channels": [{"id": 1, "channelValues": {"l": "v"}}]}] * 101,
        "maxItems",
    ),
]


@pytest.mark.parametrize(("operation_id", "body", "rule"), OVER_THE_LIMIT, ids=[c[0] for c in OVER_THE_LIMIT])
def test_prism_and_the_overlays_agree_on_what_breaks_the_spec(
    prism: str, operation_id: str, body: Any, rule: str
) -> None:
    method, args, kwargs = overlay_call(operation_id, body)
    transport = ToPrism(prism)
    with overlay_client(transport) as client, pytest.raises(RequestValidationError) as raised:
        getattr(client, method)(*args, **kwargs)
    assert raised.value.rule == rule
    assert transport.sent == []  # refused before sending

    operation = OPERATIONS[operation_id]
    refused = httpx.request(
        operation["method"], prism + operation["path"], json=body, auth=(PROJECT_ID, SECRET), timeout=15
    )
    assert 400 <= refused.status_code < 500
    assert refused.headers.get("sl-violations")


def test_attribute_names_are_checked_by_the_overlays_alone(prism: str) -> None:
    # Attribute and property names follow the spec's x-key-pattern, an extension: OpenAPI 3.0 has
    # no propertyNames, so a generic reader such as Prism lets a bad name through. The overlays
    # read the extension and refuse the name before sending.
    body = {"cuid": 1, "data": {"UserLevel": 3}}
    transport = ToPrism(prism)
    with overlay_client(transport) as client, pytest.raises(RequestValidationError) as raised:
        client.set_user_attributes(body["cuid"], body["data"])
    assert (raised.value.field, raised.value.rule) == ("body.data", "propertyNames")
    assert transport.sent == []

    operation = OPERATIONS["setUserAttributes"]
    accepted = httpx.put(prism + operation["path"], json=body, auth=(PROJECT_ID, SECRET), timeout=15)
    assert accepted.status_code == 200
