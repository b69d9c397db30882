"""The generated models read every example and every envelope variant."""

from __future__ import annotations

from typing import Any

import pytest

from jiguang_growth_generated import models

from .conftest import iter_operations
from .test_examples import media_examples


def model(ref: str) -> Any:
    return getattr(models, ref.rsplit("/", maxsplit=1)[-1])


def operation_cases(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(op["operationId"], op) for _, _, op in iter_operations(spec)]


def test_every_request_example_round_trips(spec: dict[str, Any]) -> None:
    checked = 0
    for _, op in operation_cases(spec):
        media = op["requestBody"]["content"]["application/json"]
        schema = spec["components"]["schemas"][media["schema"]["$ref"].split("/")[-1]]
        for _, value in media_examples(spec, media):
            if schema.get("type") == "array":  # top-level array body: a list of item models
                item = model(schema["items"]["$ref"])
                assert [item.from_dict(entry).to_dict() for entry in value] == value
            else:
                assert model(media["schema"]["$ref"]).from_dict(value).to_dict() == value
            checked += 1
    assert checked == 7  # one per operation, the two edge-value examples, getCuids' two values


def test_every_success_and_failure_example_round_trips(spec: dict[str, Any]) -> None:
    checked = 0
    for _, op in operation_cases(spec):
        media = op["responses"]["200"]["content"]["application/json"]
        cls = model(media["schema"]["$ref"])
        for _, value in media_examples(spec, media):
            parsed = cls.from_dict(value)
            assert parsed.to_dict() == value
            assert parsed.code == value["code"]
            checked += 1
    assert checked == 8


def response_classes(spec: dict[str, Any]) -> list[Any]:
    return [
        model(op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"])
        for _, op in operation_cases(spec)
    ]


@pytest.mark.parametrize(
    ("envelope", "has_data", "has_msg"),
    [
        ({"code": 0, "msg": "success"}, False, True),  # data missing
        ({"code": 0, "msg": "ok", "data": None}, True, True),  # data null
        ({"code": 0}, False, False),  # msg and data missing
        ({"code": 40001, "data": None}, True, False),  # failure, msg missing
    ],
)
def test_envelope_variants_parse_in_every_response_model(
    spec: dict[str, Any], envelope: dict[str, Any], has_data: bool, has_msg: bool
) -> None:
    from jiguang_growth_generated.types import UNSET

    for cls in response_classes(spec):
        parsed = cls.from_dict(envelope)
        assert parsed.code == envelope["code"]
        assert (parsed.data is None) if has_data else (parsed.data is UNSET)
        assert (parsed.msg == envelope["msg"]) if has_msg else (parsed.msg is UNSET)
        assert parsed.to_dict() == envelope


def test_unknown_envelope_keys_are_kept(spec: dict[str, Any]) -> None:
    for cls in response_classes(spec):
        parsed = cls.from_dict({"code": 0, "requestId": "abc"})
        assert parsed.additional_properties == {"requestId": "abc"}


def test_cuid_items_parse_with_null_cuid() -> None:
    response = models.GetCuidsResponse.from_dict(
        {"code": 0, "data": [{"identityValues": "a", "cuid": None, "errorCode": 7}]}
    )
    assert response.data[0].cuid is None
    assert response.data[0].error_code == 7


def test_provenance_records_spec_and_generator(root: Any, spec: dict[str, Any]) -> None:
    import hashlib
    import json

    from jiguang_growth import _spec

    provenance = _spec.provenance()
    assert provenance["spec_sha256"] == hashlib.sha256((root / "openapi.yaml").read_bytes()).hexdigest()
    assert provenance["generator"] == "openapi-python-client 0.29.1"
    snapshot = json.loads((root / "generated/jiguang_growth_generated/openapi.json").read_text("utf-8"))
    assert snapshot == spec, "generated/ carries a stale copy of openapi.yaml"
    assert _spec.spec() == spec
