"""The compiled yes/no check in front of fastjsonschema: never more lenient, and fast on valid bodies.

``_validation.validate_schema`` trusts a ``True`` from the check and asks
fastjsonschema otherwise, so the check must never accept what fastjsonschema
rejects. These tests compare the two on hand-picked and generated values, and
pin the translation details (anyOf branch choice, "$" in patterns, remembered
names) that would let a bad value through if they were wrong.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import fastjsonschema
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiguang_growth import (
    APIResponseError,
    GrowthClient,
    RequestValidationError,
    _operations,
    _spec,
    _validation,
)
from jiguang_growth._validation._fast import compile_check

REQUEST_SCHEMAS = sorted({_spec.operation(op_id).request_schema for op_id in _operations.OPERATIONS})
RECORD_SCHEMAS = sorted({_spec.operation(op_id).record_schema for op_id in _operations.OPERATIONS})
VALUE_SCHEMAS = ["EventPropertyValue", "UserAttributeValue", "EventProperties", "UserAttributes"]


def fjs_accepts(schema_name: str, value: Any) -> bool:
    try:
        _validation._validator(schema_name)(value)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


def fast(schema_name: str) -> Any:
    check = _validation._fast_check(schema_name)
    assert check is not None, f"{schema_name} has no compiled check"
    return check


@pytest.mark.parametrize("schema_name", REQUEST_SCHEMAS + RECORD_SCHEMAS + VALUE_SCHEMAS)
def test_every_schema_the_clients_send_has_a_compiled_check(schema_name: str) -> None:
    """Otherwise validation silently falls back to fastjsonschema alone, the slow path."""
    assert callable(fast(schema_name))


# --- anyOf: the branch is chosen by the value, and a value no branch takes is refused ------------

SYNTHETIC = {
    "Value": {
        "anyOf": [
            {"type": "string", "enum": ["true", "false"]},
            {"type": "integer", "minimum": 5, "maximum": 9},
            {"$ref": "#/components/schemas/Words"},
        ]
    },
    "Words": {"type": "array", "items": {"type": "string", "minLength": 1}},
}


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("true", True),  # 1st branch
        (7, True),  # only the 2nd branch
        (["a", "b"], True),  # only the 3rd branch, through a $ref
        ("maybe", False),  # a string, but not the 1st branch's enum
        (4, False),  # an integer below the 2nd branch's minimum
        (True, False),  # bool is not an integer
        (7.5, False),
        ([""], False),  # an array, but an item breaks minLength
        ([1], False),
        (None, False),
        ({}, False),
    ],
)
def test_any_of_takes_the_branch_that_fits(value: Any, ok: bool) -> None:
    check = compile_check(SYNTHETIC, "Value")
    assert check is not None
    assert check(value) is ok


def test_a_value_only_the_second_branch_accepts_passes_validation() -> None:
    # UserAttributeValue: [UserBoolValue (0/1), NumberValue, UserDatetimeValue, StringValue, ListValue]
    assert fast("UserAttributeValue")(46.2)
    _validation.validate_request("setUserAttributes", {"cuid": 1, "data": {"user_score": 46.2}})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"data": [{"cuid": 1, "eventName": "e", "itime": 1654076420772, "properties": {"p": True}}]},
            "body.data[0].properties.p",
        ),
        (
            {"data": [{"cuid": 1, "eventName": "e", "itime": 1654076420772, "properties": {"p": ["a", 1]}}]},
            "body.data[0].properties.p",
        ),
    ],
)
def test_a_value_no_branch_accepts_is_refused_naming_the_field(body: Any, field: str) -> None:
    assert not fast("ReportEventsRequest")(body)
    with pytest.raises(RequestValidationError) as caught:
        _validation.validate_request("reportEvents", body)
    assert (caught.value.field, caught.value.rule) == (field, "anyOf")
    assert str(caught.value).startswith(field)


# --- patterns and remembered names --------------------------------------------------------------


@pytest.mark.parametrize("name", ["open_app\n", "Open_app", "1open", "", "open-app"])
def test_pattern_end_is_the_end_of_the_string(name: str) -> None:
    check = fast("Event")
    good = {"cuid": 1, "eventName": "open_app", "itime": 1654076420772}
    assert check(good)
    assert not check({**good, "eventName": name})
    assert not check({**good, "properties": {name: 1}})
    assert not fjs_accepts("Event", {**good, "eventName": name})


def test_a_remembered_name_does_not_let_others_through() -> None:
    check = fast("EventProperties")
    for i in range(50):
        assert check({f"p{i}": 1})
    assert not check({"P0": 1})
    assert not check({"p0\n": 1})
    assert not check({1: "x"})  # json.dumps would send "1", which breaks the name rule


# --- never more lenient than fastjsonschema -------------------------------------------------------

EVENT = {
    "cuid": 10000091198,
    "eventName": "open_app",
    "itime": 1654076420772,
    "randomId": "5b102148-0d28-4a6a-8658-483f7d1c735e",
    "properties": {"page": "home", "n": 2, "x": 1.5, "b": "true", "t": 1654076420772, "l": ["a"]},
}
VALID = {
    "ReportEventsRequest": {"appKey": "k", "data": [EVENT, {**EVENT, "properties": {}}]},
    "GetCuidsRequest": {"identityName": "phone", "identityValues": ["18012345678", "x" * 256]},
    "SetUserChannelsRequest": [{"cuid": 1, "channels": [{"id": 210, "channelValues": {"默认联系": "1"}}]}],
    "SetUserAttributesRequest": {
        "cuid": 1,
        "data": {"a": 1, "b": 0, "c": -2.5, "d": "2023-12-12 00:56:23", "e": "s", "f": ["x"]},
    },
}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.sampled_from([0, 1, 2, 999999999999, 1000000000000, 9999999999999, 10000000000000, 2**53 - 1, 2**53]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1.0, 46.2]),
    st.text(max_size=5),
    st.sampled_from(["", "true", "0", "open_app", "Open", "a\n", "x" * 257, "2023-12-12 00:56:23"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["a", "cuid", "data", "id", "B", "x_1", "", "itime"]), inner, max_size=3
        ),
    ),
    max_leaves=6,
)


def _slots(value: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) in ``value``, where a mutation can go."""
    if isinstance(value, dict):
        for key, item in value.items():
            out.append((value, key))
            _slots(item, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.append((value, index))
            _slots(item, out)
    return out


@pytest.mark.parametrize("schema_name", sorted(VALID))
def test_the_valid_examples_take_the_fast_path(schema_name: str) -> None:
    assert fast(schema_name)(VALID[schema_name])
    assert fjs_accepts(schema_name, VALID[schema_name])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_name=st.sampled_from(sorted(VALID)), data=st.data())
def test_a_mutated_body_is_accepted_only_if_fastjsonschema_accepts_it(schema_name: str, data: Any) -> None:
    body = copy.deepcopy(VALID[schema_name])
    for _ in range(data.draw(st.integers(1, 3))):
        slots = _slots(body, [])
        if not slots:
            break
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        container, key = data.draw(st.sampled_from(slots))
        if action == "delete":
            del container[key]
        elif action == "add" and isinstance(container, dict):
            container[data.draw(st.text(max_size=4))] = data.draw(json_values)
        elif action == "add":
            container.append(data.draw(json_values))
        else:
            container[key] = data.draw(json_values)
    if fast(schema_name)(body):
        assert fjs_accepts(schema_name, body), json.dumps(body)


@settings(max_examples=400, deadline=None)
@given(schema_name=st.sampled_from(VALUE_SCHEMAS), value=json_values)
def test_a_random_value_is_accepted_only_if_fastjsonschema_accepts_it(schema_name: str, value: Any) -> None:
    accepted = fast(schema_name)(value)
    if accepted:
        assert fjs_accepts(schema_name, value)
    elif fjs_accepts(schema_name, value):
        # Stricter is allowed, but for JSON values only where fastjsonschema counts 1.0 as an integer.
        assert "1.0" in json.dumps(value) or ".0" in json.dumps(value), value


# --- what the check does not know, it leaves to fastjsonschema ---------------------------------


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "number", "multipleOf": 2},
        {"enum": ["a", "b"]},  # an enum without a type
        {"type": ["string", "null"], "enum": ["a"]},  # nullable enum: null must be listed
        {"type": "object", "patternProperties": {"^a": {"type": "string"}}},
        {"type": "array", "items": [{"type": "string"}]},
        {"type": "integer", "exclusiveMinimum": True},  # the OAS 3.0 boolean form
        {"$ref": "#/components/schemas/Missing"},
    ],
)
def test_an_unknown_keyword_gives_no_check(schema: dict[str, Any]) -> None:
    assert compile_check({"S": schema}, "S") is None


def test_a_nullable_type_accepts_null() -> None:
    check = compile_check({"S": {"type": ["string", "null"], "minLength": 2}}, "S")
    assert check is not None
    assert check(None) and check("ab")
    assert not check("a") and not check(1)


def test_additional_properties_false_and_required() -> None:
    schema = {
        "type": "object",
        "required": ["a"],
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
        "additionalProperties": False,
    }
    check = compile_check({"S": schema}, "S")
    assert check is not None
    assert check({"a": 1}) and check({"a": 1, "b": "x"})
    assert not check({"b": "x"}) and not check({"a": 1, "c": 1}) and not check({"a": "1"})


# --- get_cuids items are read by the generated model's wire names --------------------------------


def cuid_fields() -> tuple[str, str, str]:
    return _operations.CUID_VALUE_FIELD, _operations.CUID_FIELD, _operations.CUID_ERROR_CODE_FIELD


def test_cuid_item_fields_are_the_spec_names() -> None:
    assert set(cuid_fields()) == set(_spec.schema("CuidResult")["properties"])
    assert cuid_fields() == ("identityValues", "cuid", "errorCode")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"identityValues": "1", "cuid": 5, "errorCode": None}, "error code of 'data[0]' is null"),
        ({"identityValues": "1", "cuid": 5.0}, "cuid of 'data[0]' is a number"),
        ({"cuid": 5}, "identity value of 'data[0]' is missing"),
    ],
)
def test_a_bad_cuid_item_is_still_refused(item: dict[str, Any], message: str) -> None:
    answer = httpx.Response(200, json={"code": 0, "data": [item]})
    client = GrowthClient("1", "s", transport=httpx.MockTransport(lambda r: answer))
    with client, pytest.raises(APIResponseError, match=re.escape(message)):
        client.get_cuids("phone", ["1"])


def test_a_cuid_item_without_cuid_or_code() -> None:
    answer = httpx.Response(200, json={"code": 0, "data": [{"identityValues": "1", "extra": 1}]})
    with GrowthClient("1", "s", transport=httpx.MockTransport(lambda r: answer)) as client:
        [result] = client.get_cuids("phone", ["1"])
    assert (result.identity_value, result.cuid, result.error_code, result.ok) == ("1", None, None, False)
