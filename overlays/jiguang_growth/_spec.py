"""Read-only access to the OpenAPI description the client was generated from.

``make generate`` copies ``openapi.yaml`` as JSON into the generated package,
so the overlays, the sandbox and the bulk helpers read the very limits, names
and paths the generated code was built from. Nothing here restates them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

SPEC_RESOURCE = "openapi.json"
PROVENANCE_RESOURCE = "provenance.json"
QPS_EXTENSION = "x-qps-limit"
KEY_PATTERN_EXTENSION = "x-key-pattern"
REPLAY_EXTENSION = "x-replay-safe"
RANDOM_ID_EXTENSION = "x-random-id-field"


@dataclass(frozen=True)
class Operation:
    """What the spec says about one operation."""

    operation_id: str
    method: str
    path: str
    """Path below the server's base path, e.g. ``/events/report``."""
    qps_limit: int
    request_schema: str
    """Name of the request body's schema under ``components.schemas``."""
    max_records: int
    """Largest batch one call may carry (the body's record array ``maxItems``)."""
    record_schema: str
    """Schema of one record: the record array's item schema, or the body's own."""
    record_field: str | None
    """Body property holding the record array; ``None`` when the body is the array
    itself or the operation takes a single record."""
    replay_safe: bool
    """``x-replay-safe.safe``: whether a retry may resend the call after it may have been applied."""
    replay_reason: str
    """``x-replay-safe.reason``: why (or why not)."""
    data_schema: dict[str, Any] | None
    """The schema of the 200 answer's ``data`` property (through its ``allOf``); ``None`` without one."""
    random_id_field: str | None
    """``x-random-id-field``: the record property the client fills with a fresh random ID before
    the first attempt when the caller left it out; ``None`` for operations without one."""

    @property
    def full_path(self) -> str:
        """Path including the base path, as sent on the wire."""
        return base_path() + self.path


def _read_json(name: str) -> dict[str, Any]:
    text = resources.files("jiguang_growth_generated").joinpath(name).read_text("utf-8")
    value = json.loads(text)
    if not isinstance(value, dict):
        raise RuntimeError(f"jiguang_growth_generated/{name} is not a JSON object")
    return value


@cache
def spec() -> dict[str, Any]:
    """The whole OpenAPI document, as parsed JSON. Treat it as read-only."""
    return _read_json(SPEC_RESOURCE)


@cache
def provenance() -> dict[str, str]:
    """Spec version and hash, and generator versions, recorded by ``make generate``."""
    return {str(k): str(v) for k, v in _read_json(PROVENANCE_RESOURCE).items()}


def schema(name: str) -> dict[str, Any]:
    """A named schema from ``components.schemas``."""
    value: dict[str, Any] = spec()["components"]["schemas"][name]
    return value


def _ref_name(ref: str) -> str:
    prefix = "#/components/schemas/"
    if not ref.startswith(prefix):
        raise RuntimeError(f"unsupported $ref {ref!r}; the spec must be a single file")
    return ref[len(prefix) :]


def _batch_layout(schema_name: str) -> tuple[int, str, str | None]:
    """``(max_records, record_schema, record_field)`` of a request body schema.

    The record array is the body itself or the body's one required array
    property; a body without one is a single record.
    """
    body = schema(schema_name)
    if body.get("type") == "array":
        return int(body["maxItems"]), _ref_name(body["items"]["$ref"]), None
    required = set(body.get("required", []))
    arrays = [
        (name, prop)
        for name, prop in body.get("properties", {}).items()
        if prop.get("type") == "array" and name in required
    ]
    if len(arrays) == 1:
        name, prop = arrays[0]
        items = prop["items"]
        item_schema = _ref_name(items["$ref"]) if "$ref" in items else schema_name
        return int(prop["maxItems"]), item_schema, name
    return 1, schema_name, None


def _data_schema(op: dict[str, Any]) -> dict[str, Any] | None:
    node = op["responses"]["200"]["content"]["application/json"]["schema"]
    answer = schema(_ref_name(node["$ref"])) if "$ref" in node else node
    for part in [answer, *answer.get("allOf", [])]:
        resolved = schema(_ref_name(part["$ref"])) if "$ref" in part else part
        data = resolved.get("properties", {}).get("data")
        if data is not None:
            return dict(data)
    return None


@cache
def operations() -> dict[str, Operation]:
    """Every operation of the spec, keyed by operationId."""
    found: dict[str, Operation] = {}
    for path, item in spec()["paths"].items():
        for method, op in item.items():
            if method not in {"get", "put", "post", "patch", "delete"}:
                continue
            body_schema = op["requestBody"]["content"]["application/json"]["schema"]
            name = _ref_name(body_schema["$ref"])
            max_records, record_schema, record_field = _batch_layout(name)
            found[op["operationId"]] = Operation(
                operation_id=op["operationId"],
                method=method.upper(),
                path=path,
                qps_limit=int(op[QPS_EXTENSION]),
                request_schema=name,
                max_records=max_records,
                record_schema=record_schema,
                record_field=record_field,
                replay_safe=bool(op[REPLAY_EXTENSION]["safe"]),
                replay_reason=str(op[REPLAY_EXTENSION]["reason"]),
                data_schema=_data_schema(op),
                random_id_field=op.get(RANDOM_ID_EXTENSION),
            )
    return found


def operation(operation_id: str) -> Operation:
    """One operation by its operationId."""
    return operations()[operation_id]


@cache
def base_path() -> str:
    """Path part of the first (production) server URL, e.g. ``/smartop/api/v1``."""
    url: str = spec()["servers"][0]["url"]
    return urlsplit(url).path.rstrip("/")


@cache
def default_base_url() -> str:
    """Scheme and host of the production server, e.g. ``https://growth.jiguang.cn``."""
    parts = urlsplit(spec()["servers"][0]["url"])
    return f"{parts.scheme}://{parts.netloc}"
