"""Every request and response example in openapi.yaml survives each generated client's models.

Each example is decoded into the model its schema became in that language and encoded again;
the result must be the same JSON value: same keys, integers still integers, 13-digit timestamps,
11-digit CUIDs and the ±(2^53-1) bounds exact, BOOL values unchanged.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from .conftest import EXAMPLES, RUNNABLE, difference, run_check

NUMBERS = (1698168389000, 16777217, 10000091198, 9007199254740991, -9007199254740991)
"""The numbers the issue names: each must appear in some example, so each is round-tripped."""


@cache
def _encoded(language: str, examples_file: str) -> dict[str, Any]:
    result: dict[str, Any] = run_check(language, "roundtrip", examples_file)
    return result


def _numbers(value: Any) -> set[Any]:
    if isinstance(value, dict):
        return set().union(*(_numbers(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_numbers(v) for v in value)) if value else set()
    return {value} if isinstance(value, int) and not isinstance(value, bool) else set()


def test_the_examples_hold_the_numbers_that_break_weak_models() -> None:
    found = set().union(*(_numbers(example.value) for example in EXAMPLES))
    assert set(NUMBERS) <= found, f"missing from every example: {sorted(set(NUMBERS) - found)}"


@pytest.mark.parametrize("language", RUNNABLE)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.name)
def test_example_round_trips(language: str, example: Any, examples_file: Any) -> None:
    encoded = _encoded(language, str(examples_file))
    assert example.name in encoded, f"{language}: example {example.name!r} was not round-tripped"
    back = encoded[example.name]
    changed = difference(example.value, back)
    assert changed is None, (
        f"{language} client changed example {example.name!r} ({example.schema}) at {changed}\n"
        f"  sent      {json.dumps(example.value, ensure_ascii=False)}\n"
        f"  came back {json.dumps(back, ensure_ascii=False)}"
    )
