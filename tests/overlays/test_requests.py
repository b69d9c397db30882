"""What goes on the wire: bodies from models or dicts, randomIds, and validation before sending."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from jiguang_growth import CuidResult, GrowthClient, RequestValidationError, _spec
from jiguang_growth_generated.models import (
    Channel,
    ChannelValues,
    Event,
    EventProperties,
    UserAttributes,
    UserChannels,
)

from .conftest import CHANNELS, EVENT, OPS, Harness, Op, envelope

OK = httpx.Response(200, json=envelope())


def sent_json(out: Any) -> Any:
    assert len(out.requests) == 1
    request = out.requests[0]
    assert request.headers["Content-Type"] == "application/json"
    return json.loads(request.content)


def test_report_events_body_with_dicts(harness: Harness) -> None:
    given = {**EVENT, "randomId": "5b102148-0d28-4a6a-8658-483f7d1c735e"}
    out = harness.run(
        OPS["reportEvents"], [OK], args=([given],), kwargs={"app_key": "96441e4d73207a6517abfbbc"}
    )
    assert out.error is None
    assert sent_json(out) == {"appKey": "96441e4d73207a6517abfbbc", "data": [given]}
    assert out.requests[0].method == "POST"
    assert str(out.requests[0].url) == "https://growth.jiguang.cn/smartop/api/v1/events/report"


def test_report_events_body_with_models_and_no_app_key(harness: Harness) -> None:
    event = Event(cuid=1, event_name="open_app", itime=1654076420772, random_id="r-1")
    event.properties = EventProperties.from_dict({"property_a": "a", "property_l": ["x", "y"]})
    out = harness.run(OPS["reportEvents"], [OK], args=([event],), kwargs={})
    assert sent_json(out) == {
        "data": [
            {
                "cuid": 1,
                "eventName": "open_app",
                "itime": 1654076420772,
                "randomId": "r-1",
                "properties": {"property_a": "a", "property_l": ["x", "y"]},
            }
        ]
    }


def test_report_events_fills_a_fresh_uuid_into_events_without_one(harness: Harness) -> None:
    model = Event(cuid=2, event_name="open_app", itime=1654076420772)
    kept = {**EVENT, "randomId": "mine"}
    events: list[Any] = [dict(EVENT), kept, model, dict(EVENT)]
    before = [dict(e) if isinstance(e, dict) else e.to_dict() for e in events]
    out = harness.run(OPS["reportEvents"], [OK], args=(events,), kwargs={})
    ids = [event["randomId"] for event in sent_json(out)["data"]]
    assert ids[1] == "mine"
    fresh = [ids[0], ids[2], ids[3]]
    assert all(uuid.UUID(value).version == 4 for value in fresh)
    assert len(set(fresh)) == 3
    # The caller's events are untouched.
    assert [dict(e) if isinstance(e, dict) else e.to_dict() for e in events] == before


def test_set_user_attributes_body(harness: Harness) -> None:
    attributes = {
        "user_number_once": 46.2,
        "user_bool": 1,
        "user_list": ["a"],
        "user_dt": "2023-12-12 00:56:23",
    }
    out = harness.run(OPS["setUserAttributes"], [OK], args=(10362473, attributes))
    assert sent_json(out) == {"cuid": 10362473, "data": attributes}
    assert out.requests[0].method == "PUT"
    assert str(out.requests[0].url) == "https://growth.jiguang.cn/smartop/api/v1/user/attribute"


def test_set_user_attributes_accepts_the_model_and_other_mappings(harness: Harness) -> None:
    model = UserAttributes.from_dict({"user_a": "x"})
    out = harness.run(OPS["setUserAttributes"], [OK], args=(7, model))
    assert sent_json(out) == {"cuid": 7, "data": {"user_a": "x"}}
    out = harness.run(OPS["setUserAttributes"], [OK], args=(7, MappingProxyType({"user_b": 2})))
    assert sent_json(out) == {"cuid": 7, "data": {"user_b": 2}}


def test_get_cuids_body_and_order(harness: Harness) -> None:
    data = [
        {"identityValues": "b", "cuid": 22, "errorCode": 0},
        {"identityValues": "a", "cuid": 11, "errorCode": 0},
        {"identityValues": "c", "cuid": None, "errorCode": 7},
        {"identityValues": "zz", "cuid": 99, "errorCode": 0},  # not asked for: ignored
    ]
    out = harness.run(
        OPS["getCuids"],
        [httpx.Response(200, json=envelope(data=data))],
        args=("phone_test", ("a", "b", "c", "a")),
    )
    assert sent_json(out) == {"identityName": "phone_test", "identityValues": ["a", "b", "c", "a"]}
    assert out.result == [
        CuidResult("a", 11, 0),
        CuidResult("b", 22, 0),
        CuidResult("c", None, 7),
        CuidResult("a", 11, 0),
    ]
    assert [item.ok for item in out.result] == [True, True, False, True]


def test_get_cuids_first_item_for_a_value_wins(harness: Harness) -> None:
    data = [
        {"identityValues": "a", "cuid": 1, "errorCode": 0},
        {"identityValues": "a", "cuid": 2, "errorCode": 0},
    ]
    out = harness.run(OPS["getCuids"], [httpx.Response(200, json=envelope(data=data))], args=("id", ["a"]))
    assert out.result == [CuidResult("a", 1, 0)]


def test_get_cuids_item_without_cuid_or_error_code(harness: Harness) -> None:
    data = [{"identityValues": "a"}, {"identityValues": "b", "cuid": 5}]
    out = harness.run(
        OPS["getCuids"], [httpx.Response(200, json=envelope(data=data))], args=("id", ["a", "b"])
    )
    assert out.result == [CuidResult("a", None, None), CuidResult("b", 5, None)]
    assert [item.ok for item in out.result] == [False, True]


def test_cuid_result_is_frozen() -> None:
    item = CuidResult("a", 1, 0)
    with pytest.raises(AttributeError):
        item.cuid = 2  # type: ignore[misc]


def test_set_user_channels_body_mixes_models_and_dicts(harness: Harness) -> None:
    model = UserChannels(
        cuid=103629, channels=[Channel(id=219, channel_values=ChannelValues.from_dict({"默认联系": "1"}))]
    )
    out = harness.run(OPS["setUserChannels"], [OK], args=([CHANNELS, model],))
    assert sent_json(out) == [
        CHANNELS,
        {"cuid": 103629, "channels": [{"id": 219, "channelValues": {"默认联系": "1"}}]},
    ]
    assert "默认联系".encode() in out.requests[0].content  # UTF-8, not \\u escapes


# --- validation happens before any request is sent -------------------------------------------

MAX = _spec.operation("reportEvents").max_records
LONG = "9" * 257


def event(**changes: Any) -> dict[str, Any]:
    return {**EVENT, **changes}


INVALID = [
    pytest.param("reportEvents", ([event()] * (MAX + 1),), "body.data", "maxItems", id="events-too-many"),
    pytest.param("reportEvents", ([],), "body.data", "minItems", id="events-empty"),
    pytest.param(
        "reportEvents", ([event(eventName="Open-App")],), "body.data[0].eventName", "pattern", id="event-name"
    ),
    pytest.param(
        "reportEvents",
        ([event(properties={"BadName": 1})],),
        "body.data[0].properties",
        "propertyNames",
        id="prop-name",
    ),
    pytest.param(
        "reportEvents",
        ([event(properties={1: "x"})],),
        "body.data[0].properties",
        "propertyNames",
        id="prop-name-not-a-string",
    ),
    pytest.param("reportEvents", ([event(cuid="1")],), "body.data[0].cuid", "type", id="cuid-type"),
    pytest.param(
        "reportEvents", ([event(randomId=LONG)],), "body.data[0].randomId", "maxLength", id="random-id-long"
    ),
    pytest.param(
        "reportEvents", ([event(itime=1654076420)],), "body.data[0].itime", "minimum", id="itime-seconds"
    ),
    pytest.param("reportEvents", (EVENT,), "events", "type", id="single-event-not-a-list"),
    pytest.param("reportEvents", (5,), "events", "type", id="events-not-iterable"),
    pytest.param("reportEvents", (["x"],), "body.data[0]", "type", id="event-not-object"),
    pytest.param("setUserAttributes", (1, {}), "body.data", "minProperties", id="attrs-empty"),
    pytest.param("setUserAttributes", (1, {"User": 1}), "body.data", "propertyNames", id="attr-name"),
    pytest.param("setUserAttributes", (1, {7: 1}), "body.data", "propertyNames", id="attr-name-not-a-string"),
    pytest.param("setUserAttributes", (True, {"user_a": 1}), "body.cuid", "type", id="cuid-bool"),
    pytest.param("setUserAttributes", (1, [("user_a", 1)]), "attributes", "type", id="attrs-not-mapping"),
    pytest.param("setUserAttributes", (1, {"user_a": math.nan}), "body", "json", id="attr-nan"),
    pytest.param("getCuids", ("phone", [LONG]), "body.identityValues[0]", "maxLength", id="value-257-chars"),
    pytest.param(
        "getCuids", ("phone", ["1"] * (MAX + 1)), "body.identityValues", "maxItems", id="values-too-many"
    ),
    pytest.param("getCuids", ("phone", []), "body.identityValues", "minItems", id="values-empty"),
    pytest.param("getCuids", ("phone", "18012345678"), "identity_values", "type", id="values-single-string"),
    pytest.param("getCuids", ("", ["1"]), "body.identityName", "minLength", id="name-empty"),
    pytest.param("getCuids", ("phone", [18012345678]), "body.identityValues[0]", "type", id="value-int"),
    pytest.param("setUserChannels", ([],), "body", "minItems", id="channels-empty"),
    pytest.param("setUserChannels", ([CHANNELS] * (MAX + 1),), "body", "maxItems", id="channels-too-many"),
    pytest.param("setUserChannels", (CHANNELS,), "items", "type", id="channels-single"),
    pytest.param(
        "setUserChannels",
        ([{"cuid": 1, "channels": []}],),
        "body[0].channels",
        "minItems",
        id="channels-none",
    ),
]


@pytest.mark.parametrize(("operation_id", "args", "field", "rule"), INVALID)
def test_invalid_input_raises_before_any_request(
    harness: Harness, operation_id: str, args: tuple[Any, ...], field: str, rule: str
) -> None:
    op: Op = OPS[operation_id]
    out = harness.run(op, [OK], args=args, kwargs={})
    assert type(out.error) is RequestValidationError
    assert isinstance(out.error, ValueError)
    assert (out.error.field, out.error.rule) == (field, rule)
    assert out.requests == []


def test_exactly_the_limit_is_accepted(harness: Harness) -> None:
    out = harness.run(OPS["getCuids"], [httpx.Response(200, json=envelope(data=[]))], args=("p", ["v"] * MAX))
    # All MAX values are the same, so one item would answer them; none is a malformed answer.
    assert out.requests and len(sent_json(out)["identityValues"]) == MAX
    out = harness.run(OPS["reportEvents"], [OK], args=([event()] * MAX,), kwargs={})
    assert out.error is None


def test_limits_come_from_the_spec() -> None:
    assert {
        _spec.operation(op_id).max_records for op_id in ("reportEvents", "getCuids", "setUserChannels")
    } == {100}


def test_validation_error_message_names_field_and_limit() -> None:
    client = GrowthClient("1", "s", transport=httpx.MockTransport(lambda r: OK))
    with client, pytest.raises(RequestValidationError) as caught:
        client.get_cuids("phone", [LONG])
    assert str(caught.value).startswith("body.identityValues[0]:")
    assert "256" in str(caught.value)


def test_a_mapping_subclass_is_accepted_as_an_event(harness: Harness) -> None:
    class Record(Mapping[str, Any]):
        def __init__(self, data: dict[str, Any]) -> None:
            self._data = data

        def __getitem__(self, key: str) -> Any:
            return self._data[key]

        def __iter__(self) -> Any:
            return iter(self._data)

        def __len__(self) -> int:
            return len(self._data)

    out = harness.run(OPS["reportEvents"], [OK], args=([Record(event(randomId="r"))],), kwargs={})
    assert out.error is None
    assert sent_json(out)["data"] == [event(randomId="r")]


@pytest.mark.parametrize(
    ("send", "field"),
    [
        (lambda client: client.set_user_attributes(1.0, {"user_level": 3}), "body.cuid"),
        (
            lambda client: client.report_events(
                [{"cuid": 10000091198, "eventName": "open_app", "itime": 1654076420772.0}]
            ),
            "body.data[0].itime",
        ),
    ],
    ids=["cuid", "itime"],
)
def test_a_decimal_where_the_spec_wants_an_integer_is_refused_before_sending(send: Any, field: str) -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(500))
    with (
        GrowthClient("100102", "secret", transport=transport) as client,
        pytest.raises(RequestValidationError) as caught,
    ):
        send(client)
    assert (caught.value.field, caught.value.rule) == (field, "type")
    assert sent == []


def test_a_decimal_stays_valid_where_a_number_is_allowed() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"code": 0, "msg": "ok"})

    with GrowthClient("100102", "secret", transport=httpx.MockTransport(answer)) as client:
        client.set_user_attributes(10000091198, {"user_level": 3.0})
    assert json.loads(sent[0].content)["data"] == {"user_level": 3.0}


HUGE = 10**5000
"""More digits than Python writes as text (4,300 by default): JSON cannot carry it."""


@pytest.mark.parametrize(
    ("operation_id", "args", "field"),
    [
        ("reportEvents", ([{**EVENT, "cuid": HUGE}],), "body.data[0].cuid"),
        ("reportEvents", ([{**EVENT, "properties": {"n": -HUGE}}],), "body.data[0].properties.n"),
        ("setUserAttributes", (HUGE, {"a": 1}), "body.cuid"),
        ("setUserAttributes", (1, {"a": HUGE}), "body.data.a"),
        ("setUserChannels", ([{**CHANNELS, "cuid": HUGE}],), "body[0].cuid"),
    ],
    ids=["event-cuid", "event-property", "attributes-cuid", "attribute-value", "channels-cuid"],
)
def test_an_integer_too_long_to_write_is_a_validation_error_naming_field_and_rule(
    harness: Harness, operation_id: str, args: tuple[Any, ...], field: str
) -> None:
    out = harness.run(OPS[operation_id], [OK], args=args, kwargs={})
    assert type(out.error) is RequestValidationError, repr(out.error)
    assert (out.error.field, out.error.rule) == (field, "integerDigits")
    assert str(out.error) == f"{field}: an integer of more than 4,300 digits cannot be written as JSON"
    assert out.requests == []
