"""Every JSON request and response example in openapi.yaml, with the schema it belongs to.

``tools/clients.py`` writes them to ``build/clients/examples.json`` for the generated clients'
round trips, and tests/clients parametrizes over them. Each example is named
``<operationId> request <name>`` or ``<operationId> <status> <name>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from _common import SPEC

METHODS = ("get", "put", "post", "patch", "delete")
JSON = "application/json"


@dataclass(frozen=True)
class Example:
    name: str
    operation: str
    kind: str
    """``request`` or ``response``."""
    schema: str
    """Name of the body's schema under ``#/components/schemas/``."""
    value: Any
    status: str | None = None
    """The response's status key (``200``, ``4XX``); ``None`` for a request."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """``node``, or what its local ``$ref`` chain points at."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _schema_name(media: dict[str, Any], where: str) -> str:
    reference = media.get("schema", {}).get("$ref", "")
    if not reference.startswith("#/components/schemas/"):
        raise ValueError(f"{where}: the JSON body has no named schema")
    return str(reference.rsplit("/", 1)[1])


def _values(spec: dict[str, Any], media: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if "example" in media:
        yield "example", media["example"]
    for name, reference in (media.get("examples") or {}).items():
        example = resolve(spec, reference)
        if "value" in example:
            yield name, example["value"]


def examples(spec: dict[str, Any]) -> Iterator[Example]:
    """Every example of a JSON request or response body, in the order of the spec."""
    for item in spec["paths"].values():
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]["operationId"]
            body = resolve(spec, item[method].get("requestBody") or {})
            media = (body.get("content") or {}).get(JSON)
            if media:
                schema = _schema_name(media, f"{op} request")
                for name, value in _values(spec, media):
                    yield Example(f"{op} request {name}", op, "request", schema, value)
            for status, reference in item[method].get("responses", {}).items():
                media = (resolve(spec, reference).get("content") or {}).get(JSON)
                if media:
                    schema = _schema_name(media, f"{op} {status}")
                    for name, value in _values(spec, media):
                        yield Example(f"{op} {status} {name}", op, "response", schema, value, status)


def load(spec_path: Path = SPEC) -> list[Example]:
    """The examples of the spec at ``spec_path``."""
    return list(examples(yaml.safe_load(spec_path.read_text(encoding="utf-8"))))
