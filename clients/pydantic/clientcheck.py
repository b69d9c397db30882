"""Exercise the pydantic v2 models datamodel-code-generator makes from openapi.yaml.

    clientcheck.py MODELS_DIR roundtrip EXAMPLES.json
    clientcheck.py MODELS_DIR live EXAMPLES.json BASE_URL USER PASSWORD

``roundtrip`` validates every example into its model and prints it dumped again; ``live`` sends
the documented request examples, built from the models, to the sandbox with HTTP Basic auth and
reads every answer into its model. There is no generated HTTP client for pydantic, so ``live``
uses the standard library. Both print one JSON object; tests/clients compares it with the spec.
"""

from __future__ import annotations

import base64
import importlib
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, TypeAdapter

ROUTES = {
    "reportEvents": ("POST", "/events/report"),
    "setUserAttributes": ("PUT", "/user/attribute"),
    "getCuids": ("POST", "/user/register"),
    "setUserChannels": ("PUT", "/user/channel/batch"),
}


def _adapter(models: ModuleType, schema: str) -> TypeAdapter[Any]:
    model = getattr(models, schema, None)
    if model is None:
        raise LookupError(f"no pydantic model for schema {schema}")
    return TypeAdapter(model)


def _dump(adapter: TypeAdapter[Any], value: Any) -> Any:
    """Validate from JSON text (as a client reads it) and dump back to JSON text."""
    parsed = adapter.validate_json(json.dumps(value))
    return json.loads(adapter.dump_json(parsed, by_alias=True, exclude_unset=True))


def round_trip(models: ModuleType, examples: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for example in examples:
        try:
            out[example["name"]] = _dump(_adapter(models, example["schema"]), example["value"])
        except Exception as error:  # every failure is reported per example
            out[example["name"]] = {"error": f"{type(error).__name__}: {error}"}
    return out


def _send(base_url: str, auth: str, operation: str, body: bytes) -> tuple[int, bytes, str | None]:
    method, path = ROUTES[operation]
    request = urllib.request.Request(
        base_url + path,
        data=body,
        method=method,
        headers={"Authorization": auth, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read(), answer.headers.get("WWW-Authenticate")
    except urllib.error.HTTPError as failure:
        return failure.code, failure.read(), failure.headers.get("WWW-Authenticate")


def _call(
    models: ModuleType, base_url: str, auth: str, operation: str, body: BaseModel | bytes
) -> dict[str, Any]:
    raw = (
        body if isinstance(body, bytes) else body.model_dump_json(by_alias=True, exclude_unset=True).encode()
    )
    status, content, challenge = _send(base_url, auth, operation, raw)
    schema = f"{operation[0].upper()}{operation[1:]}Response" if status == 200 else "Envelope"
    answer = getattr(models, schema).model_validate_json(content)
    extra = dict(answer.model_extra or {})
    result: dict[str, Any] = {
        "status": status,
        "code": answer.code,
        "msg": answer.msg,
        "extra": sorted(extra),
    }
    if status != 200 and "data" in extra:
        result["data"] = extra["data"]
    if challenge is not None:
        result["www_authenticate"] = challenge
    data = getattr(answer, "data", None)
    if operation == "getCuids" and data:
        result["cuid"] = data[0].cuid
    return result


def live(models: ModuleType, examples: list[dict[str, Any]], base_url: str, user: str, password: str) -> Any:
    def basic(secret: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()

    documented = {e["operation"]: e for e in examples if e["name"] == f"{e['operation']} request documented"}
    out: dict[str, Any] = {}
    for operation in ROUTES:
        example = documented[operation]
        body = getattr(models, example["schema"]).model_validate_json(json.dumps(example["value"]))
        out[operation] = _call(models, base_url, basic(password), operation, body)
    # A 400 with its data: an event name the spec's pattern refuses. The model would refuse it
    # before sending, so the body is sent as JSON text.
    invalid = json.loads(json.dumps(documented["reportEvents"]["value"]))
    invalid["data"][0]["eventName"] = "Bad-Name"
    out["failure"] = _call(models, base_url, basic(password), "reportEvents", json.dumps(invalid).encode())
    lookup = models.GetCuidsRequest.model_validate(documented["getCuids"]["value"])
    out["unauthorized"] = _call(models, base_url, basic(f"wrong-{password}"), "getCuids", lookup)
    return out


def main(argv: list[str]) -> int:
    if len(argv) < 3 or (argv[1], len(argv)) not in {("roundtrip", 3), ("live", 6)}:
        print(__doc__, file=sys.stderr)
        return 2
    sys.path.insert(0, argv[0])
    models = importlib.import_module("growth_models")
    examples = json.loads(Path(argv[2]).read_text(encoding="utf-8"))
    result = round_trip(models, examples) if argv[1] == "roundtrip" else live(models, examples, *argv[3:6])
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
