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
