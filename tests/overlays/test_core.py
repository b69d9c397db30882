"""The sans-IO core driven by hand, and the randomId helpers bulk ingestion reuses."""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from typing import Any

import httpx
import pytest

from jiguang_growth import (
    APIConnectionError,
    APIResponseError,
    InternalServerError,
    RequestValidationError,
    _call,
    _pacing,
    _random_ids,
    _spec,
)

from .conftest import envelope

ROUTE = _call.CallSetup("setUserChannels", "PUT", "https://h/smartop/api/v1/user/channel/batch", 2)


def identity(data: Any) -> Any:
    return data


def test_the_core_yields_send_and_sleep_steps_and_returns_the_result() -> None:
    call = _call.call(ROUTE, b"[1]", identity)
    step = next(call)
    assert step == _call.Send("PUT", ROUTE.url, b"[1]", "setUserChannels")
    step = call.send(httpx.Response(503, text=""))
    assert isinstance(step, _call.Sleep)
    assert 0.25 <= step.seconds <= 0.5
    assert call.send(None) == _call.Send("PUT", ROUTE.url, b"[1]", "setUserChannels")
    step = call.send(httpx.ConnectError("refused"))
    assert isinstance(step, _call.Sleep)
    assert call.send(None) == _call.Send("PUT", ROUTE.url, b"[1]", "setUserChannels")
    with pytest.raises(StopIteration) as done:
        call.send(httpx.Response(200, json=envelope(data={"n": 1})))
    assert done.value.value == {"n": 1}


def test_the_core_raises_the_last_error_after_max_retries() -> None:
    call = _call.call(ROUTE, b"[]", identity)
    next(call)
    for _ in range(2):
        assert isinstance(call.send(httpx.Response(502, text="")), _call.Sleep)
        assert isinstance(call.send(None), _call.Send)
    with pytest.raises(InternalServerError):
        call.send(httpx.Response(502, text=""))


def test_the_core_translates_errors_raised_while_building_the_result() -> None:
    def broken(data: Any) -> Any:
        raise KeyError("identityValues")

    call = _call.call(ROUTE, b"[]", broken)
    next(call)
    with pytest.raises(Exception) as caught:
        call.send(httpx.Response(200, json=envelope(data={})))
    assert type(caught.value).__name__ == "APIResponseError"
    assert "'data' could not be read (KeyError('identityValues'))" in str(caught.value)
    # Not chained: the model layer's error and its traceback hold the decoded body, unscrubbed.
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_connection_error_message() -> None:
    call = _call.call(_call.CallSetup("setUserAttributes", "PUT", "https://h/a", 0), b"{}", identity)
    next(call)
    with pytest.raises(APIConnectionError) as caught:
        call.send(httpx.ConnectError(""))
    assert str(caught.value) == "PUT https://h/a failed before the request was sent (ConnectError)"


def test_route_repr_hides_redactions() -> None:
    route = _call.CallSetup("getCuids", "POST", "https://h", 1, ("TOPSECRET",))
    assert "TOPSECRET" not in repr(route)


# --- randomId helpers ----------------------------------------------------------------------------


def test_random_id_field_is_the_report_operations_x_random_id_field() -> None:
    assert _spec.operation("reportEvents").random_id_field == _random_ids.RANDOM_ID_FIELD
    assert _random_ids.RANDOM_ID_FIELD in _spec.schema("Event")["properties"]


def test_envelope_fields_are_the_spec_properties() -> None:
    assert {_call.CODE_FIELD, _call.MSG_FIELD} == set(_spec.schema("Envelope")["properties"])
    assert _spec.schema("Envelope")["required"] == [_call.CODE_FIELD]
    for name in (
        "ReportEventsResponse",
        "GetCuidsResponse",
        "SetUserAttributesResponse",
        "SetUserChannelsResponse",
    ):
        assert _call.DATA_FIELD in _spec.schema(name)["allOf"][1]["properties"]


def test_new_random_ids_are_distinct_version_4_uuids() -> None:
    ids = _random_ids.new_random_ids(500)
    assert len(set(ids)) == 500
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == value
    assert _random_ids.new_random_ids(0) == []


def test_with_random_ids_fills_only_missing_ones_and_never_mutates() -> None:
    has = {"cuid": 1, "randomId": "keep"}
    lacks = {"cuid": 2}
    out = _random_ids.with_random_ids([has, lacks, "not-an-event"])
    assert out[0] is has
    assert out[1] is not lacks
    assert lacks == {"cuid": 2}
    assert out[1]["cuid"] == 2
    assert uuid.UUID(out[1]["randomId"]).version == 4
    assert out[2] == "not-an-event"


def test_with_random_ids_twice_keeps_the_first_ids() -> None:
    first = _random_ids.with_random_ids([{"cuid": 1}, {"cuid": 2}])
    assert _random_ids.with_random_ids(first) == first


def standard_json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


EVENT = {"cuid": 10000000001, "eventName": "open_app", "itime": 1654076420772}


@pytest.mark.parametrize(
    "properties",
    [
        {"page": "首页\u2028", "quote": 'a"b\\c', "emoji": "\U0001f600", "control": "\x01\t"},
        {"list": ["a", "b"], "empty_list": [], "bool_text": "true", "int": 2**63 - 1, "half": 0.5},
    ],
)
def test_encoding_writes_the_bytes_the_standard_library_would(properties: dict[str, Any]) -> None:
    body = {"data": [{**EVENT, "properties": properties}]}
    assert _call.encode("reportEvents", body) == standard_json(body)


def test_encoded_floats_read_back_as_the_same_numbers() -> None:
    """Only the spelling of some exponents may differ from json.dumps (1e-7 for 1e-07)."""
    numbers = {
        "big": 1e16,
        "small": 1e-7,
        "tenth": 0.1,
        "negative_zero": -0.0,
        "tiny": 5e-324,
        "huge": 1.5e300,
    }
    body = {"data": [{**EVENT, "properties": numbers}]}
    decoded = json.loads(_call.encode("reportEvents", body))
    assert decoded == body
    assert math.copysign(1, decoded["data"][0]["properties"]["negative_zero"]) == -1


def test_encoding_falls_back_for_integers_beyond_64_bits() -> None:
    body = {"cuid": 10000000001, "data": {"total_spend": 10**30}}
    assert _call.encode("setUserAttributes", body) == standard_json(body)


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_encoding_refuses_numbers_json_cannot_carry(number: float) -> None:
    body = {"cuid": 10000000001, "data": {"total_spend": number}}
    with pytest.raises(RequestValidationError) as raised:
        _call.encode("setUserAttributes", body)
    assert (raised.value.field, raised.value.rule) == ("body", "json")


def test_an_answer_with_a_nan_token_is_not_json() -> None:
    call = _call.call(ROUTE, b"[1]", identity)
    next(call)
    with pytest.raises(APIResponseError, match="not JSON"):
        call.send(httpx.Response(200, content=b'{"code": 0, "data": {"x": NaN}}'))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_paced_route_sleeps_until_its_slot_and_ends_the_slot_with_the_answer() -> None:
    clock = Clock()
    pacer = _pacing.Pacer(1, clock=clock)
    route = dataclasses.replace(ROUTE, pacer=pacer)
    first = _call.call(route, b"[1]", identity)
    assert isinstance(next(first), _call.Send)
    assert pacer.in_flight == 1
    second = _call.call(route, b"[2]", identity)
    step = next(second)
    assert isinstance(step, _call.Sleep) and step.seconds > 0  # the one slot is taken
    with pytest.raises(StopIteration):
        first.send(httpx.Response(200, json=envelope(data=[])))
    assert pacer.in_flight == 0
    clock.now += 1.0
    assert second.send(None) == _call.Send("PUT", ROUTE.url, b"[2]", "setUserChannels")


def test_a_paced_call_closed_mid_attempt_frees_its_slot_and_a_429_slows_the_pacer() -> None:
    clock = Clock()
    pacer = _pacing.Pacer(5, clock=clock)
    route = dataclasses.replace(ROUTE, pacer=pacer)
    call = _call.call(route, b"[1]", identity)
    next(call)
    call.close()  # what a driver does when the send itself raised, e.g. KeyboardInterrupt
    assert pacer.in_flight == 0 and pacer.rate_limited == 0
    assert pacer.margin == _pacing.INITIAL_MARGIN  # no answer, nothing learnt
    clock.now += 1.0
    call = _call.call(route, b"[1]", identity)
    assert isinstance(next(call), _call.Send)
    clock.now += 0.25
    step = call.send(httpx.Response(429, headers={"Retry-After": "3"}, text=""))
    # A stray at the top rate: its own call takes the pacer's next slot, not the Retry-After ...
    assert step == _call.Sleep(0.0)
    assert pacer.in_flight == 0 and pacer.rate_limited == 1 and pacer.pauses == 0
    assert pacer.acquire() == 0.0  # ... the others go on, at a lower rate
    # its spread (at most the initial margin for a first answer), and one step
    assert pacer.margin == pytest.approx(min(0.25 / 2, _pacing.INITIAL_MARGIN) + _pacing.MARGIN_STEP)
    assert pacer.in_flight_target() > 1  # the answer time (0.25 s) was measured


@pytest.mark.parametrize(
    "properties", [{"page": "null"}, {"page": "annulled", "list": ["nullable"]}], ids=["word", "inside"]
)
def test_a_body_whose_json_holds_null_is_serialised_once(
    properties: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a NaN or an infinity (which orjson writes as null) sends encode to the standard library."""
    body = {"data": [{**EVENT, "properties": properties}]}
    expected = standard_json(body)
    calls: list[object] = []
    monkeypatch.setattr(_call.json, "dumps", lambda *args, **kwargs: calls.append(args) or "")
    assert _call.encode("reportEvents", body) == expected
    assert calls == []
