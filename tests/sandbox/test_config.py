"""Sandbox settings: defaults, checks, and reading them from JSON and YAML files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jiguang_growth import _spec
from jiguang_growth.sandbox import (
    DEFAULT_ATTRIBUTES,
    AttributeDef,
    AttributeRule,
    AttributeType,
    FaultConfig,
    SandboxConfig,
    load_config,
)


def test_defaults() -> None:
    config = SandboxConfig()
    assert (config.project_id, config.project_secret) == ("100102", "sandbox-secret")
    assert config.strict_attributes is True
    assert config.attributes == DEFAULT_ATTRIBUTES
    assert config.faults == FaultConfig()
    assert not config.faults.active
    assert "sandbox-secret" not in repr(config)


def test_default_attributes_cover_every_type_and_rule() -> None:
    kinds = {d.type for d in DEFAULT_ATTRIBUTES.values()}
    rules = {d.rule for d in DEFAULT_ATTRIBUTES.values()}
    assert kinds == set(AttributeType)
    assert rules == set(AttributeRule)
    example = _spec.spec()["paths"]["/user/attribute"]["put"]["requestBody"]["content"]["application/json"]
    assert set(example["examples"]["documented"]["value"]["data"]) <= set(DEFAULT_ATTRIBUTES)


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ("NUMBER:accumulate", AttributeDef(AttributeType.NUMBER, AttributeRule.ACCUMULATE)),
        ("list:append", AttributeDef(AttributeType.LIST, AttributeRule.APPEND)),
        ("STRING", AttributeDef(AttributeType.STRING, AttributeRule.OVERWRITE)),
        ({"type": "BOOL", "rule": "once"}, AttributeDef(AttributeType.BOOL, AttributeRule.ONCE)),
    ],
)
def test_attribute_definitions_parse(definition: Any, expected: AttributeDef) -> None:
    assert AttributeDef.parse(definition) == expected


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"total": "STRING:accumulate"}, "does not apply to STRING"),
        ({"tags": "NUMBER:append"}, "does not apply to NUMBER"),
        ({"UserLevel": "NUMBER"}, "name rule"),
        ({"x": "COLOUR"}, "COLOUR"),
        ({"x": {"type": "NUMBER", "kind": "once"}}, "needs 'type'"),
    ],
)
def test_bad_attribute_definitions_are_refused(attributes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SandboxConfig.from_dict({"attributes": attributes})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"project_id": "a:b"}, "must not contain ':'"),
        ({"project_secret": ""}, "non-empty"),
        ({"first_cuid": 0}, "CUID range"),
        ({"first_cuid": 2**53}, "CUID range"),
        ({"max_body_bytes": 0}, "at least 1"),
        ({"event_names": "open_app"}, "list of non-empty strings"),
        ({"qps": 5}, "unknown sandbox settings"),
        ({"faults": {"drop": 0.1}}, "unknown fault settings"),
    ],
)
def test_bad_settings_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SandboxConfig.from_dict(settings)


FILE_SETTINGS = {
    "project_id": "7",
    "project_secret": "file-secret",
    "qps_limit": 50,
    "qps_limits": {"getCuids": 5},
    "first_cuid": 100,
    "attributes": {"points": {"type": "NUMBER", "rule": "accumulate"}, "labels": "LIST:append"},
    "strict_attributes": False,
    "event_names": ["open_app"],
    "identity_names": ["phone"],
    "channel_labels": ["默认联系"],
    "faults": {"seed": 3, "error_rates": {"503": 0.05}, "drop_rate": 0.01, "malformed_kinds": ["html"]},
}


def check_file_settings(config: SandboxConfig) -> None:
    assert (config.project_id, config.project_secret) == ("7", "file-secret")
    assert config.limit_for("reportEvents") == 50
    assert config.limit_for("getCuids") == 5
    assert config.first_cuid == 100
    assert config.attributes == {
        "points": AttributeDef(AttributeType.NUMBER, AttributeRule.ACCUMULATE),
        "labels": AttributeDef(AttributeType.LIST, AttributeRule.APPEND),
    }
    assert config.strict_attributes is False
    assert config.event_names == frozenset({"open_app"})
    assert config.channel_labels == frozenset({"默认联系"})
    assert config.faults.seed == 3
    assert dict(config.faults.error_rates) == {503: 0.05}
    assert config.faults.malformed_kinds == ("html",)


def test_json_files_load(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    path.write_text(json.dumps(FILE_SETTINGS, ensure_ascii=False), encoding="utf-8")
    check_file_settings(load_config(path))


def test_yaml_files_load(tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "sandbox.yaml"
    path.write_text(yaml.safe_dump(FILE_SETTINGS, allow_unicode=True), encoding="utf-8")
    check_file_settings(load_config(path))


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"qps_limit": "fast"}', encoding="utf-8")

    with pytest.raises(ValueError, match=r"broken\.json: not valid JSON"):
        load_config(broken)
    with pytest.raises(ValueError, match=r"wrong\.json: .*qps_limit"):
        load_config(wrong)
