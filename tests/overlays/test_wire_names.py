"""The wire names ``_operations`` writes out are the ones openapi.yaml and the generated models use."""

from __future__ import annotations

from typing import Any

from jiguang_growth import _operations, _spec
from jiguang_growth_generated.models import CuidResult


def test_the_cuid_item_fields_are_the_generated_models_wire_names() -> None:
    value: Any = object()
    cuid: Any = object()
    code: Any = object()
    item = CuidResult(identity_values=value, cuid=cuid, error_code=code).to_dict()
    assert item[_operations.CUID_VALUE_FIELD] is value
    assert item[_operations.CUID_FIELD] is cuid
    assert item[_operations.CUID_ERROR_CODE_FIELD] is code
    written = {_operations.CUID_VALUE_FIELD, _operations.CUID_FIELD, _operations.CUID_ERROR_CODE_FIELD}
    assert written == set(item) == set(_spec.schema("CuidResult")["properties"])
