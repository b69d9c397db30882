"""The Java and Kotlin clients have one model per schema, and OpenAPI Generator names the BOOL
enum constants from ``x-enum-varnames`` (before, Java had ``_0``/``NUMBER_0``). Both are compiled
and run by the other tests of this folder.
"""

from __future__ import annotations

import pytest

from .conftest import built, clients


@pytest.mark.parametrize(("language", "suffix"), [("java", ".java"), ("kotlin", ".kt")])
def test_generated_with_one_model_per_schema_and_named_enum_constants(language: str, suffix: str) -> None:
    built(language)  # fails the test, naming the step, if the generator refuses the spec
    files = {path.name: path for path in (clients.OUT / language / "client").rglob(f"*{suffix}")}
    for schema in ("ReportEventsRequest", "SetUserAttributesRequest", "GetCuidsRequest", "UserChannels"):
        assert f"{schema}{suffix}" in files, f"{language}: no model file for {schema}"
    enum = files[f"UserBoolValue{suffix}"].read_text(encoding="utf-8")
    assert "USER_BOOL_TRUE" in enum and "NUMBER_1" not in enum, f"{language}: {enum[:400]}"
