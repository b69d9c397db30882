"""jiguang_growth._spec reads limits and paths from the spec, not from constants."""

from __future__ import annotations

from typing import Any

from jiguang_growth import _spec


def test_operations_match_the_document(spec: dict[str, Any]) -> None:
    ops = _spec.operations()
    assert set(ops) == {"reportEvents", "setUserAttributes", "getCuids", "setUserChannels"}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            info = ops[op["operationId"]]
            assert (info.method, info.path) == (method.upper(), path)
            assert info.full_path == "/smartop/api/v1" + path
            assert info.qps_limit == op["x-qps-limit"]


def test_record_layout_of_each_operation() -> None:
    layout = {
        op.operation_id: (op.max_records, op.record_schema, op.record_field)
        for op in _spec.operations().values()
    }
    assert layout == {
        "reportEvents": (100, "Event", "data"),
        "getCuids": (100, "IdentityValue", "identityValues"),
        "setUserChannels": (100, "UserChannels", None),
        "setUserAttributes": (1, "SetUserAttributesRequest", None),
    }


def test_server_parts() -> None:
    assert _spec.default_base_url() == "https://growth.jiguang.cn"
    assert _spec.base_path() == "/smartop/api/v1"


def test_replay_safety_and_random_id_field_come_from_the_extensions(spec: dict[str, Any]) -> None:
    ops = _spec.operations()
    assert {op_id: (op.replay_safe, op.random_id_field) for op_id, op in ops.items()} == {
        "reportEvents": (True, "randomId"),
        "setUserAttributes": (False, None),
        "getCuids": (True, None),
        "setUserChannels": (True, None),
    }
    for item in spec["paths"].values():
        for op in item.values():
            assert ops[op["operationId"]].replay_reason == op["x-replay-safe"]["reason"]


def test_each_description_states_the_replay_safety_of_its_extension(spec: dict[str, Any]) -> None:
    """Swagger UI does not show extensions, so the description says the same, in the same words."""
    for item in spec["paths"].values():
        for op in item.values():
            replay = op["x-replay-safe"]
            sentence = f"Replay-safe: {'yes' if replay['safe'] else 'no'}. {replay['reason']}"
            paragraphs = [" ".join(p.split()) for p in op["description"].split("\n\n")]
            assert sentence in paragraphs, op["operationId"]
            assert sum("Replay-safe:" in p for p in paragraphs) == 1, op["operationId"]


def test_the_random_id_field_is_a_string_property_of_the_records() -> None:
    for op in _spec.operations().values():
        if op.random_id_field is not None:
            record = _spec.schema(op.record_schema)
            assert record["properties"][op.random_id_field]["type"] == "string"
            assert op.random_id_field not in record.get("required", [])
