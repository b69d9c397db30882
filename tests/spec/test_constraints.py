"""The documented limits are encoded so that both an independent OAS validator
and the project's own pre-send validator reject bad data."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from jiguang_growth import RequestValidationError, _validation

from .conftest import oas_validator

EVENT = {"cuid": 10000091198, "eventName": "open_app", "itime": 1654076420772}


def events_body(count: int, **changes: Any) -> dict[str, Any]:
    event = {**EVENT, **changes}
    return {"appKey": "96441e4d73207a6517abfbbc", "data": [copy.deepcopy(event) for _ in range(count)]}


def cuids_body(values: list[str]) -> dict[str, Any]:
    return {"identityName": "phone_test", "identityValues": values}


def channels_body(count: int) -> list[dict[str, Any]]:
    item = {"cuid": 10362819, "channels": [{"id": 210, "channelValues": {"默认联系": "15088888888"}}]}
    return [copy.deepcopy(item) for _ in range(count)]


def attributes_body(data: dict[str, Any]) -> dict[str, Any]:
    return {"cuid": 10362473, "data": data}


SCHEMA_OF = {
    "reportEvents": "ReportEventsRequest",
    "getCuids": "GetCuidsRequest",
    "setUserChannels": "SetUserChannelsRequest",
    "setUserAttributes": "SetUserAttributesRequest",
}

# (operation, body builder, field the error must name, rule it must name)
REJECTED: list[tuple[str, Callable[[], Any], str, str]] = [
    ("reportEvents", lambda: events_body(101), "body.data", "maxItems"),
    ("reportEvents", lambda: events_body(0), "body.data", "minItems"),
    ("reportEvents", lambda: events_body(1, eventName="Open_App"), "body.data[0].eventName", "pattern"),
    ("reportEvents", lambda: events_body(1, eventName="1open"), "body.data[0].eventName", "pattern"),
    ("reportEvents", lambda: events_body(1, itime=16540764207720), "body.data[0].itime", "maximum"),
    ("reportEvents", lambda: events_body(1, itime=165407642077), "body.data[0].itime", "minimum"),
    ("reportEvents", lambda: events_body(1, cuid="10000091198"), "body.data[0].cuid", "type"),
    ("reportEvents", lambda: events_body(1, cuid=2**53), "body.data[0].cuid", "maximum"),
    (
        "reportEvents",
        lambda: events_body(1, properties={"flag": None}),
        "body.data[0].properties.flag",
        "anyOf",
    ),
    (
        "reportEvents",
        lambda: events_body(1, properties={"flag": True}),
        "body.data[0].properties.flag",
        "anyOf",
    ),
    ("reportEvents", lambda: {"data": [{"cuid": 1, "itime": 1654076420772}]}, "body.data[0]", "required"),
    ("getCuids", lambda: cuids_body(["x" * 257]), "body.identityValues[0]", "maxLength"),
    ("getCuids", lambda: cuids_body(["1"] * 101), "body.identityValues", "maxItems"),
    ("getCuids", lambda: cuids_body([]), "body.identityValues", "minItems"),
    ("setUserChannels", lambda: channels_body(101), "body", "maxItems"),
    ("setUserChannels", lambda: channels_body(0), "body", "minItems"),
    ("setUserChannels", lambda: {"cuid": 1, "channels": []}, "body", "type"),
    ("setUserAttributes", lambda: attributes_body({}), "body.data", "minProperties"),
    ("setUserAttributes", lambda: attributes_body({"user_flag": {"a": 1}}), "body.data.user_flag", "anyOf"),
]


@pytest.mark.parametrize(("operation_id", "build", "field", "rule"), REJECTED)
def test_independent_validator_rejects(
    spec: dict[str, Any], operation_id: str, build: Callable[[], Any], field: str, rule: str
) -> None:
    schema = {"$ref": f"#/components/schemas/{SCHEMA_OF[operation_id]}"}
    assert list(oas_validator(spec, schema).iter_errors(build())), "openapi-schema-validator accepted it"


@pytest.mark.parametrize(("operation_id", "build", "field", "rule"), REJECTED)
def test_client_validator_rejects_and_names_field_and_rule(
    operation_id: str, build: Callable[[], Any], field: str, rule: str
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        _validation.validate_request(operation_id, build())
    assert caught.value.field == field
    assert caught.value.rule == rule
    assert str(caught.value).startswith(field)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("operation_id", "body"),
    [
        ("reportEvents", events_body(100)),
        ("getCuids", cuids_body(["x" * 256] * 100)),
        ("setUserChannels", channels_body(100)),
        ("reportEvents", events_body(1, itime=1000000000000, properties={"ok": ["a"], "n": 1.5, "b": "0"})),
        ("setUserAttributes", attributes_body({"user_flag": 1, "user_when": "2023-12-12 00:56:23"})),
    ],
)
def test_limits_are_inclusive(spec: dict[str, Any], operation_id: str, body: Any) -> None:
    _validation.validate_request(operation_id, body)
    schema = {"$ref": f"#/components/schemas/{SCHEMA_OF[operation_id]}"}
    assert not list(oas_validator(spec, schema).iter_errors(body))


@pytest.mark.parametrize("bad_key", ["PropertyA", "1st", "has-dash", "中文", ""])
def test_attribute_and_property_names_follow_the_name_rule(bad_key: str) -> None:
    """x-key-pattern (OAS 3.0 has no propertyNames) is enforced by the client validator."""
    with pytest.raises(RequestValidationError) as caught:
        _validation.validate_request("setUserAttributes", attributes_body({bad_key: 1}))
    assert caught.value.rule == "propertyNames"
    assert repr(bad_key) in str(caught.value)
    with pytest.raises(RequestValidationError):
        _validation.validate_request("reportEvents", events_body(1, properties={bad_key: 1}))
