"""Validate request bodies against the schemas in openapi.yaml.

The OpenAPI 3.0 schemas are translated once into JSON Schema (draft 7) and
compiled with fastjsonschema: ``nullable`` becomes a ``"null"`` type and our
``x-key-pattern`` extension becomes ``propertyNames``. The overlays call this
before sending, and the sandbox calls it on what it receives.

A valid body is recognised first by a plain yes/no function compiled from the
same translated schemas (:mod:`._fast`), which costs a fraction of
fastjsonschema on the happy path; fastjsonschema runs when that function says
no, and it alone decides what is rejected and how the error reads.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from .. import _spec
from .._exceptions import RequestValidationError
from ._fast import Check, compile_check
from ._integers import decimal_for_integer

if TYPE_CHECKING:
    from fastjsonschema import JsonSchemaValueException

_Validator = Callable[[Any], Any]


def _to_json_schema(node: Any) -> Any:
    """Translate an OpenAPI 3.0 schema tree into draft-7 JSON Schema."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in {"example", "examples", "description", "nullable", "format"} or key.startswith("x-"):
            continue
        out[key] = _to_json_schema(value)
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    if _spec.KEY_PATTERN_EXTENSION in node:
        out["propertyNames"] = {"pattern": node[_spec.KEY_PATTERN_EXTENSION]}
    return out


@cache
def _components() -> dict[str, Any]:
    translated: dict[str, Any] = _to_json_schema(_spec.spec()["components"]["schemas"])
    return translated


def _compile(pointer: str) -> _Validator:
    """A validator of the translated schema at ``pointer`` (under ``#/components/schemas/``)."""
    import fastjsonschema  # noqa: PLC0415  (imported by the first slow-path check, not by every program)

    root = {"$ref": f"#/components/schemas/{pointer}", "components": {"schemas": _components()}}
    compiled: _Validator = fastjsonschema.compile(root, use_formats=False)
    return compiled


def _failure(validator: _Validator, value: Any) -> JsonSchemaValueException | None:
    """What a compiled validator says is wrong with ``value``; ``None`` if nothing."""
    from fastjsonschema import JsonSchemaValueException  # noqa: PLC0415  (loaded by _compile)

    try:
        validator(value)
    except JsonSchemaValueException as error:
        return error
    return None


@cache
def _validator(schema_name: str) -> _Validator:
    return _compile(schema_name)


@cache
def _fast_check(schema_name: str) -> Check | None:
    return compile_check(_components(), schema_name)


def _field(path: list[str] | None, root: str = "body") -> str:
    parts = list(path or ["data"])
    parts[0] = root
    text = ""
    for part in parts:
        if str(part).isdigit():
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _explain(error: JsonSchemaValueException) -> tuple[str, str]:
    """Return ``(field, message)`` for a fastjsonschema failure."""
    field = _field(list(error.path) if error.path else None)
    rule = error.rule or "schema"
    definition = error.rule_definition
    value = error.value
    if rule == "propertyNames" and isinstance(value, dict) and isinstance(definition, dict):
        pattern = definition.get("pattern", "")
        bad = [k for k in value if not re.search(pattern, str(k))]
        shown = ", ".join(repr(k) for k in bad[:3])
        return field, f"{field}: key {shown} does not match the name rule {pattern}"
    if rule == "anyOf":
        return field, f"{field}: {value!r} is not a valid value for any of the documented formats"
    detail = error.message.split(" ", 1)[1] if " " in error.message else error.message
    if rule in {"maxItems", "minItems", "maxLength", "minLength", "maxProperties", "minProperties"}:
        size = len(value) if hasattr(value, "__len__") else value
        detail = f"{detail} (got {size})"
    elif rule in {"maximum", "minimum", "pattern", "enum", "type"}:
        detail = f"{detail} (got {value!r})"
    return field, f"{field}: {detail}"


def validate_request(operation_id: str, body: Any) -> None:
    """Raise :class:`RequestValidationError` if ``body`` breaks the operation's schema."""
    validate_schema(_spec.operation(operation_id).request_schema, body)


def validate_schema(schema_name: str, value: Any) -> None:
    """Raise :class:`RequestValidationError` if ``value`` breaks a named schema."""
    check = _fast_check(schema_name)
    if check is not None and check(value):
        return
    check_integer_text(value)  # before a message shows the value: such an integer cannot be written
    error = _failure(_validator(schema_name), value)
    if error is not None:
        field, message = _explain(error)
        raise RequestValidationError(message, field=field, rule=error.rule or "schema") from None
    path = _non_string_key(value, ["body"])
    if path is not None:  # fastjsonschema skips such keys; JSON would turn them into strings
        field = _field(path[:-1]) if len(path) > 1 else "body"
        raise RequestValidationError(
            f"{field}: key {path[-1]!r} is not a string (JSON object keys are strings)",
            field=field,
            rule="propertyNames",
        )
    decimal = decimal_for_integer(schema_name, value)
    if decimal is not None:  # fastjsonschema takes 1.0 for an integer; OpenAPI 3.0 does not
        raise RequestValidationError(
            f"{decimal} must be an integer, without a decimal point", field=decimal, rule="type"
        )


INTEGER_TEXT_RULE = "integerDigits"
"""The ``rule`` of a :class:`RequestValidationError` for an integer too long to write as JSON text."""


def check_integer_text(value: Any, root: str = "body") -> None:
    """Raise :class:`RequestValidationError` naming the first integer in ``value`` that has more
    digits than Python writes as text (``sys.get_int_max_str_digits()``, 4,300 by default).

    JSON cannot carry such an integer, and no schema rule can take it either (repr fails too), so
    the client, its validation messages and the bulk runs all refuse it here, by its path.
    """
    limit = sys.get_int_max_str_digits()
    if not limit:
        return
    path = _long_integer(value, [root], _smallest_with_digits(limit + 1))
    if path is not None:
        field = _field(path, root)
        raise RequestValidationError(
            f"{field}: an integer of more than {limit:,} digits cannot be written as JSON",
            field=field,
            rule=INTEGER_TEXT_RULE,
        )


@cache
def _smallest_with_digits(digits: int) -> int:
    return int(10 ** (digits - 1))


def _long_integer(value: Any, path: list[str], too_long: int) -> list[str] | None:
    """Path to the first integer at or past ``too_long`` in size; ``None`` if none."""
    if isinstance(value, int):
        return path if not isinstance(value, bool) and abs(value) >= too_long else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _long_integer(item, [*path, str(key)], too_long)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _long_integer(item, [*path, str(index)], too_long)
            if found is not None:
                return found
    return None


def _non_string_key(value: Any, path: list[str]) -> list[str] | None:
    """Path to the first object key that is not a string, ending with that key; ``None`` if none."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return [*path, key]
            found = _non_string_key(item, [*path, key])
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _non_string_key(item, [*path, str(index)])
            if found is not None:
                return found
    return None


@cache
def _property_validator(schema_name: str, property_name: str) -> _Validator:
    if property_name not in _spec.schema(schema_name).get("properties", {}):
        raise KeyError(f"openapi.yaml: {schema_name} has no property {property_name!r}")
    return _compile(f"{schema_name}/properties/{property_name}")


def validate_property(schema_name: str, property_name: str, value: Any, *, argument: str) -> None:
    """Raise :class:`RequestValidationError` if ``value`` breaks one property of a named schema.

    For settings that apply to a whole bulk run (an identity name, an app
    key), checked once before the first record is read. ``argument`` is the
    caller's name for the value and leads the message.
    """
    error = _failure(_property_validator(schema_name, property_name), value)
    if error is not None:
        _, message = _explain(error)
        detail = message.split(": ", 1)[1] if ": " in message else message
        raise RequestValidationError(
            f"{argument} ({property_name}): {detail}", field=argument, rule=error.rule or "schema"
        ) from None
