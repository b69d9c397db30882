"""The column-at-a-time pairing of an in-order ``get_cuids`` answer agrees with the item-by-item one."""

from __future__ import annotations

from typing import Any

import pytest

from jiguang_growth import CuidResult
from jiguang_growth._call import ResponseShapeError
from jiguang_growth._operations import _cuid_parser, _in_request_order

REQUESTED = ["a", "b", "c"]


def items(*rows: dict[str, Any]) -> list[Any]:
    return [dict(row) for row in rows]


IN_ORDER = [
    items(*({"identityValues": v, "cuid": i, "errorCode": 0} for i, v in enumerate(REQUESTED))),
    items(
        {"identityValues": "a", "cuid": 1},
        {"identityValues": "b", "cuid": None},
        {"identityValues": "c", "cuid": 3, "errorCode": 7},
    ),
]
NOT_FAST = [
    items(
        {"identityValues": "b", "cuid": 1},
        {"identityValues": "a", "cuid": 2},
        {"identityValues": "c", "cuid": 3},
    ),
    items({"identityValues": "a", "cuid": 1}, {"identityValues": "b", "cuid": 2}),
    items(
        {"identityValues": "a", "cuid": True},
        {"identityValues": "b", "cuid": 2},
        {"identityValues": "c", "cuid": 3},
    ),
    items(
        {"identityValues": "a", "cuid": 1, "errorCode": None},
        {"identityValues": "b"},
        {"identityValues": "c"},
    ),
    items({"identityValues": "a", "cuid": "1"}, {"identityValues": "b"}, {"identityValues": "c"}),
    [{"identityValues": "a", "cuid": 1}, ["b"], {"identityValues": "c"}],
]


@pytest.mark.parametrize("data", IN_ORDER)
def test_an_in_order_answer_takes_the_fast_path_with_the_same_results(data: list[Any]) -> None:
    fast = _in_request_order(REQUESTED, data)
    assert fast is not None and all(type(r) is CuidResult for r in fast)
    expected = [CuidResult(d["identityValues"], d.get("cuid"), d.get("errorCode")) for d in data]
    assert fast == expected == _cuid_parser(REQUESTED)(data[::-1])  # reversed: the item-by-item path


@pytest.mark.parametrize("data", NOT_FAST)
def test_anything_else_is_left_to_the_item_by_item_pairing(data: list[Any]) -> None:
    assert _in_request_order(REQUESTED, data) is None
    try:
        slow: Any = _cuid_parser(REQUESTED)(data)
    except ResponseShapeError as error:
        slow = error
    if data is NOT_FAST[0]:
        assert [r.cuid for r in slow] == [2, 1, 3]
    else:
        assert isinstance(slow, ResponseShapeError)
