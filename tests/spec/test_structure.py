"""Every operation is present with the parts generators, linters and readers rely on."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from .conftest import iter_operations, resolve

DOCUMENTED = {
    ("/events/report", "post"): "reportEvents",
    ("/user/attribute", "put"): "setUserAttributes",
    ("/user/register", "post"): "getCuids",
    ("/user/channel/batch", "put"): "setUserChannels",
}


def test_version_and_server(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.0.3"
    assert re.fullmatch(r"\d+\.\d+\.\d+", spec["info"]["version"])
    assert spec["servers"][0]["url"] == "https://growth.jiguang.cn/smartop/api/v1"


def test_exactly_the_four_documented_operations(spec: dict[str, Any]) -> None:
    found = {(path, method): op["operationId"] for path, method, op in iter_operations(spec)}
    assert found == DOCUMENTED


def test_basic_auth_at_root_and_on_every_operation(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["basicAuth"] == {
        **spec["components"]["securitySchemes"]["basicAuth"],
        "type": "http",
        "scheme": "basic",
    }
    assert spec["security"] == [{"basicAuth": []}]
    for path, method, op in iter_operations(spec):
        assert op.get("security") == [{"basicAuth": []}], f"{method} {path} must declare basicAuth itself"


@pytest.mark.parametrize("key", sorted(DOCUMENTED.values()))
def test_operation_has_required_parts(spec: dict[str, Any], key: str) -> None:
    op = next(op for _, _, op in iter_operations(spec) if op["operationId"] == key)
    assert op["summary"] and op["description"]
    assert len(op["tags"]) == 1 and op["tags"][0].isascii()
    assert op["tags"][0] in {tag["name"] for tag in spec["tags"]}
    assert op["externalDocs"]["url"].startswith("https://docs.jiguang.cn/")
    assert op["x-qps-limit"] == 100
    media = op["requestBody"]["content"]["application/json"]
    assert op["requestBody"]["required"] is True
    assert media["schema"]["$ref"].startswith("#/components/schemas/")
    assert media["examples"], "request example missing"
    ok = op["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["$ref"].endswith("Response")
    assert {"success", "failure"} <= set(ok["examples"])
    for status in ("429", "4XX", "5XX"):
        error = resolve(spec, op["responses"][status])
        assert (
            resolve(spec, error["content"]["application/json"]["schema"])
            is spec["components"]["schemas"]["Envelope"]
        )


def test_envelope_shape(spec: dict[str, Any]) -> None:
    envelope = spec["components"]["schemas"]["Envelope"]
    assert envelope["required"] == ["code"]
    assert envelope["properties"]["code"]["type"] == "integer"
    assert envelope["properties"]["msg"]["type"] == "string"
    assert "data" not in envelope["properties"], "data must stay out of the base envelope"


def test_every_response_schema_is_envelope_plus_typed_nullable_data(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for _, _, op in iter_operations(spec):
        name = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        parts = schemas[name]["allOf"]
        assert parts[0] == {"$ref": "#/components/schemas/Envelope"}
        data = resolve(spec, parts[1]["properties"]["data"])
        assert data["nullable"] is True, f"{name}.data must accept null"
        assert "required" not in parts[1], f"{name}.data must be optional"


def test_no_inline_object_schemas_outside_components(spec: dict[str, Any]) -> None:
    """Request and response bodies point at named schemas, so no *Response200 classes appear."""
    for path, method, op in iter_operations(spec):
        bodies = [op["requestBody"]["content"]["application/json"]["schema"]]
        for response in op["responses"].values():
            response = resolve(spec, response)
            bodies.extend(media["schema"] for media in response.get("content", {}).values())
        for body in bodies:
            assert set(body) == {"$ref"}, f"inline schema in {method} {path}"


def test_single_file_no_external_refs(spec: dict[str, Any]) -> None:
    refs = re.findall(r'"\$ref": "([^"]*)"', json.dumps(spec))
    assert refs and all(ref.startswith("#/") for ref in refs)


def test_every_int64_is_bounded(spec: dict[str, Any]) -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("format") == "int64":
                assert "minimum" in node and "maximum" in node, where
                assert node["maximum"] <= 2**53 - 1, where
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    walk(spec, "$")


def test_descriptions_carry_no_vendor_json_comments(spec: dict[str, Any]) -> None:
    """Examples were cleaned: nothing in the document still holds a // comment."""
    text = json.dumps(spec, ensure_ascii=False)
    assert "//" not in text.replace("https://", "").replace("http://", "")


def test_server_descriptions_are_plain_text(spec: dict[str, Any]) -> None:
    """Swagger UI's server list and Redoc show a server's description as it is, not as Markdown."""
    for server in spec["servers"]:
        assert not re.search(r"[`*_\[\]<>]", server["description"]), server["description"]


def test_the_example_swagger_ui_prefills_for_get_cuids_shows_two_different_values(
    spec: dict[str, Any],
) -> None:
    """Swagger UI's "Try it out" starts from the first example; the vendor's own one stays as it is."""
    op = next(op for _, _, op in iter_operations(spec) if op["operationId"] == "getCuids")
    examples = op["requestBody"]["content"]["application/json"]["examples"]
    first = resolve(spec, next(iter(examples.values())))["value"]["identityValues"]
    assert len(first) == len(set(first)) >= 2
    assert examples["documented"]["value"]["identityValues"] == ["18012345678", "18012345678"]
    answer = op["responses"]["200"]["content"]["application/json"]["examples"]["success"]["value"]
    assert [item["identityValues"] for item in answer["data"]] == first
