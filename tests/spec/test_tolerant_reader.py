"""The Python client keeps working, and keeps what it can, when the vendor adds a field to an answer.

Each operation is answered over a real socket (scripted_server.py) with envelopes that carry a
field the spec does not name, at the top level and inside ``data``: a success's ``data`` object
keeps the added field in the result model's ``additional_properties``; a ``getCuids`` item with
an added field still gives its CUID; a refusal (HTTP 400, or a non-zero ``code`` in a 200) keeps
``code`` and ``msg`` and the whole answer, added fields included, in ``error.body``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from jiguang_growth import APIError, AsyncGrowthClient, BadRequestError, CuidResult, GrowthClient

from .scripted_server import ScriptedServer, json_answer, scripted_server

ADDED = {"requestId": "req-7f3a", "servedBy": {"zone": "cn-east-2"}}
"""Top-level fields the spec does not name (an object among them)."""
ADDED_IN_DATA = {"traceId": "t-91", "quota": {"left": 99}}
ARGUMENTS: dict[str, tuple[Any, ...]] = {
    "report_events": ([{"cuid": 1, "eventName": "open_app", "itime": 1700000000000, "randomId": "r-1"}],),
    "set_user_attributes": (2, {"user_level": 3}),
    "set_user_channels": ([{"cuid": 3, "channels": [{"id": 210, "channelValues": {"默认联系": "150"}}]}],),
    "get_cuids": ("phone", ["18012345678"]),
}
OBJECT_RESULTS = ("report_events", "set_user_attributes", "set_user_channels")


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with scripted_server(None) as running:
        yield running


def call(server: ScriptedServer, method: str, *, use_async: bool = False) -> Any:
    if use_async:

        async def calling() -> Any:
            async with AsyncGrowthClient("100102", "tolerant-secret", server.url, max_retries=0) as client:
                return await getattr(client, method)(*ARGUMENTS[method])

        return asyncio.run(calling())
    with GrowthClient("100102", "tolerant-secret", server.url, max_retries=0) as client:
        return getattr(client, method)(*ARGUMENTS[method])


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("method", OBJECT_RESULTS)
def test_a_success_keeps_the_fields_added_to_data(
    server: ScriptedServer, method: str, use_async: bool
) -> None:
    server.script(
        [json_answer(200, {"code": 0, "msg": "ok", **ADDED, "data": {"accepted": 1, **ADDED_IN_DATA}})]
    )
    result = call(server, method, use_async=use_async)
    assert result.additional_properties == {"accepted": 1, **ADDED_IN_DATA}
    assert len(server.requests()) == 1


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_cuid_item_with_an_added_field_still_gives_its_cuid(
    server: ScriptedServer, use_async: bool
) -> None:
    item = {"identityValues": "18012345678", "cuid": 10000091198, "errorCode": 0, **ADDED_IN_DATA}
    server.script([json_answer(200, {"code": 0, "msg": "success", **ADDED, "data": [item]})])
    assert call(server, "get_cuids", use_async=use_async) == [CuidResult("18012345678", 10000091198, 0)]


REFUSALS = {
    "HTTP 400": (400, BadRequestError),
    "code in a 200": (200, APIError),
}


@pytest.mark.parametrize("refusal", list(REFUSALS))
@pytest.mark.parametrize("method", list(ARGUMENTS))
def test_a_refusal_keeps_code_msg_and_every_added_field(
    server: ScriptedServer, method: str, refusal: str
) -> None:
    status, error_type = REFUSALS[refusal]
    answer = {
        "code": 40002,
        "msg": "invalid request: cuid",
        **ADDED,
        "data": {"field": "cuid", "rule": "min"},
    }
    server.script([json_answer(status, answer)])
    with pytest.raises(error_type) as caught:
        call(server, method)
    error = caught.value
    assert (error.status_code, error.code, error.msg) == (status, 40002, "invalid request: cuid")
    assert isinstance(error.body, str)
    assert json.loads(error.body) == answer
