"""The Rust client (OpenAPI Generator -g rust, reqwest) needs one template override, and has
gaps a Rust team must know (docs/clients.md). test_round_trip.py and test_live.py prove the four
proofs for it like for every language; these tests pin why the override exists, that it is the
generator's own template plus one block, what the unions keep beyond the spec's examples, and
what the generated error gives.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from jiguang_growth.sandbox import SandboxServer

from .conftest import built, clients, difference, run_check

pytestmark = pytest.mark.timeout(900)

UNIONS = ("event_property_value.rs", "user_attribute_value.rs")


def _generate(tmp_path: Path, *options: str) -> Path:
    generator = clients.VENV / "bin" / "openapi-generator-cli"
    target = tmp_path / "client"
    subprocess.run(
        [str(generator), "generate", "-i", str(clients.SPEC), "-g", "rust", "-o", str(target), *options],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target / "src"


def test_the_build_uses_the_template_folder_it_writes() -> None:
    assert ("-t", str(clients.RUST_TEMPLATES)) == clients.RUST_OPTIONS
    built("rust")
    assert [path.name for path in clients.RUST_TEMPLATES.iterdir()] == ["model.mustache"]


def test_the_template_is_the_generators_own_with_only_the_any_of_block(tmp_path: Path) -> None:
    """The repository holds only its block; the rest comes from the pinned generator itself."""
    generator = clients.VENV / "bin" / "openapi-generator-cli"
    subprocess.run(
        [str(generator), "author", "template", "-g", "rust", "-o", str(tmp_path / "builtin")],
        check=True,
        capture_output=True,
        timeout=300,
    )
    ours = (clients.rust_templates(tmp_path / "ours") / "model.mustache").read_text(encoding="utf-8")
    block = clients.RUST_BLOCK.read_text(encoding="utf-8")
    block = block[block.index("}}\n") + 3 :]  # without its comment
    assert ours.count(block) == 1 and ours.count("{{#anyOf.isEmpty}}") == 1
    original = ours.replace("{{/anyOf.isEmpty}}\n" + block, "").replace("{{#anyOf.isEmpty}}", "")
    assert original == (tmp_path / "builtin" / "model.mustache").read_text(encoding="utf-8")


def test_a_generator_whose_template_moved_on_stops_the_build_naming_the_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clients, "RUST_STRUCT_END", "{{/oneOf.isEmpty}}\n{{^noSuchSection}}")
    with pytest.raises(clients.ClientBuildError, match=r"rust: .*any_of\.mustache cannot be inserted"):
        clients.rust_templates(tmp_path)


def test_without_the_template_the_unions_are_empty_structs_and_nothing_else_differs(tmp_path: Path) -> None:
    source = _generate(tmp_path)
    for name in UNIONS:
        text = (source / "models" / name).read_text(encoding="utf-8")
        assert re.search(r"pub struct \w+ \{\n\}", text), f"{name} now holds a value:\n{text}"
    built("rust")
    ours = clients.OUT / "rust" / "client"
    files = sorted(path.relative_to(ours) for path in ours.rglob("*") if path.is_file())
    assert files == sorted(
        path.relative_to(source.parent) for path in source.parent.rglob("*") if path.is_file()
    )
    differ = [
        str(name) for name in files if (ours / name).read_bytes() != (source.parent / name).read_bytes()
    ]
    assert differ == [f"src/models/{name}" for name in UNIONS]


def test_schema_mappings_drop_the_union_models_but_not_their_references(tmp_path: Path) -> None:
    mapping = "EventPropertyValue=serde_json::Value,UserAttributeValue=serde_json::Value"
    models = _generate(tmp_path, "--schema-mappings", mapping) / "models"
    assert not any((models / name).exists() for name in UNIONS)
    event = (models / "event.rs").read_text(encoding="utf-8")
    assert "HashMap<String, models::EventPropertyValue>" in event  # so the crate does not compile


def test_with_the_template_the_unions_are_untagged_enums_in_the_specs_order() -> None:
    built("rust")
    models = clients.OUT / "rust" / "client" / "src" / "models"
    event = (models / "event_property_value.rs").read_text(encoding="utf-8")
    variants = re.findall(r"^    (AnyOf\d)\(([^)]*)\),$", event, re.MULTILINE)
    assert variants == [
        ("AnyOf0", "models::EventBoolValue"),
        ("AnyOf1", "i64"),
        ("AnyOf2", "i64"),
        ("AnyOf3", "f64"),
        ("AnyOf4", "String"),
        ("AnyOf5", "Vec<String>"),
    ]
    assert "#[serde(untagged)]\npub enum EventPropertyValue {" in event


def _examples(tmp_path: Path, properties: dict[str, Any], attributes: dict[str, Any]) -> Path:
    path = tmp_path / "examples.json"
    found = [
        {
            "name": "events",
            "schema": "ReportEventsRequest",
            "value": {"data": [{"cuid": 1, "eventName": "e", "itime": 1, "properties": properties}]},
        },
        {
            "name": "attributes",
            "schema": "SetUserAttributesRequest",
            "value": {"cuid": 1, "data": attributes},
        },
    ]
    path.write_text(json.dumps(found), encoding="utf-8")
    return path


def test_the_unions_keep_values_the_examples_do_not_show(tmp_path: Path) -> None:
    properties = {
        "past_2_53": 9007199254740993,
        "i64_max": 9223372036854775807,
        "whole_decimal": 1.0,
        "negative": -0.5,
        "huge": 1e300,
        "digits": "2",
        "bool_digit": "1",
        "empty_list": [],
    }
    attributes = {"zero": 0, "two": 2, "decimal": 2.5, "min": -9007199254740991, "text": "1"}
    encoded = run_check("rust", "roundtrip", str(_examples(tmp_path, properties, attributes)))
    assert difference(properties, encoded["events"]["data"][0]["properties"]) is None, encoded["events"]
    assert difference(attributes, encoded["attributes"]["data"]) is None, encoded["attributes"]


@pytest.mark.parametrize("value", [True, {"nested": 1}, [1], None], ids=["bool", "object", "numbers", "null"])
def test_the_unions_refuse_values_no_branch_accepts(tmp_path: Path, value: Any) -> None:
    encoded = run_check("rust", "roundtrip", str(_examples(tmp_path, {"p": value}, {"a": value})))
    assert "did not match any variant" in encoded["events"]["error"], encoded
    assert "did not match any variant" in encoded["attributes"]["error"], encoded


def test_the_generated_error_has_no_headers_and_puts_every_envelope_in_its_first_variant(
    growth_sandbox: SandboxServer, examples_file: Any
) -> None:
    built("rust")
    apis = (clients.OUT / "rust" / "client" / "src" / "apis" / "mod.rs").read_text(encoding="utf-8")
    content = re.search(r"pub struct ResponseContent<T> \{(.*?)\}", apis, re.DOTALL)
    assert content is not None
    assert re.findall(r"pub (\w+):", content.group(1)) == ["status", "content", "entity"]
    user, password = growth_sandbox.auth
    result = run_check("rust", "live", str(examples_file), growth_sandbox.api_url, user, password)
    assert (result["failure"]["status"], result["failure"]["model"]) == (400, "Status401"), result["failure"]
    assert (result["unauthorized"]["status"], result["unauthorized"]["model"]) == (401, "Status401")
