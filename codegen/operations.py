"""The per-operation methods of both clients, written from openapi.yaml into ``operations.py``.

For every operation of the spec, one method on :class:`Operations` (sync) and one on
:class:`AsyncOperations`, which ``GrowthClient`` and ``AsyncGrowthClient`` inherit:

* the name is the operationId in snake_case (``reportEvents`` -> ``report_events``);
* the parameters are the request body's properties in snake_case, the required ones first,
  each typed from its schema (a JSON-array body is one parameter, ``items``); the optional
  ones default to ``None`` (left out of the body);
* the result is typed from the 200 answer's ``data``;
* the docstring is the operation's summary and description;
* every method takes the per-call options ``timeout``, ``max_retries`` and ``extra_headers``.

A method only hands its arguments to the client's ``_call``, which builds, checks, sends and
parses the call from the spec at run time (``jiguang_growth._operations``). The rendering is a
Jinja template (codegen/templates/operations.py.jinja), formatted by ruff with the client.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"
METHODS = ("get", "put", "post", "patch", "delete")
SCHEMAS = "#/components/schemas/"

ARGUMENT_NAMES = {
    ("reportEvents", "data"): "events",
    ("setUserAttributes", "data"): "attributes",
}
"""Parameters not named after their body property: ``data`` says nothing about what is in it.

These are the names the 0.1.0 API was released with; any other property keeps its own name.
"""

RESULT_TYPES = {"getCuids": ("list[CuidResult]", "from jiguang_growth import CuidResult")}
"""Results that are not the generated model of ``data``, with the type-checking import they need.

``getCuids`` answers with one item per requested value, in an order the vendor does not
promise; the client pairs each with the value asked for and returns them in request order, as
the small ``CuidResult`` tuple of the runtime (which also tells whether an item succeeded).
"""

BODY_ARGUMENT = "items"
"""The one parameter of an operation whose request body is a JSON array."""
DOCSTRING_WIDTH = 80


@dataclass(frozen=True)
class Argument:
    """One parameter of a generated method."""

    name: str
    wire: str
    """Body property it fills; ``""`` for the whole (array) body."""
    annotation: str
    required: bool


@dataclass(frozen=True)
class Method:
    """One generated method."""

    name: str
    operation_id: str
    arguments: tuple[Argument, ...]
    result: str
    docstring: str


def snake_case(name: str) -> str:
    """``identityValues`` -> ``identity_values``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _schema_name(node: dict[str, Any]) -> str | None:
    ref = node.get("$ref")
    return ref[len(SCHEMAS) :] if isinstance(ref, str) and ref.startswith(SCHEMAS) else None


class _Types:
    """Python annotations of the spec's schemas, as the generated models and TypedDicts name them."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._schemas: dict[str, Any] = spec["components"]["schemas"]

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        name = _schema_name(node)
        return self._schemas[name] if name else node

    def scalar(self, node: dict[str, Any]) -> str | None:
        kind = self.resolve(node).get("type")
        return {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}.get(kind)

    def argument(self, node: dict[str, Any]) -> str:
        """What a parameter accepts for a body property (models and plain dicts alike)."""
        scalar = self.scalar(node)
        if scalar is not None and self.resolve(node).get("type") != "array":
            return scalar
        schema = self.resolve(node)
        if schema.get("type") == "array":
            return f"Iterable[{self.argument(schema['items'])}]"
        name = _schema_name(node)
        if name is None:
            return "Any"
        values = schema.get("additionalProperties")
        if not schema.get("properties") and isinstance(values, dict) and _schema_name(values):
            return f"{name} | Mapping[str, params.{_schema_name(values)}]"
        return f"params.{name} | {name}"

    def result(self, node: dict[str, Any] | None) -> str:
        """The type of a success's ``data``."""
        if node is None:
            return "None"
        schema = self.resolve(node)
        if schema.get("type") == "array":
            return f"list[{self.result(schema['items'])}]"
        name = _schema_name(node)
        return name if name else (self.scalar(node) or "Any")

    def models(self, annotations: list[str]) -> list[str]:
        """The generated model classes the annotations name."""
        words = set(re.findall(r"(?<![.\w])([A-Z]\w*)", " ".join(annotations)))
        return sorted(words & set(self._schemas) - {"Any", "Mapping", "Iterable"})


def _data_schema(spec: dict[str, Any], op: dict[str, Any], types: _Types) -> dict[str, Any] | None:
    """The ``data`` property of the 200 answer's schema (through its ``allOf``), or ``None``."""
    answer = types.resolve(op["responses"]["200"]["content"]["application/json"]["schema"])
    for part in [answer, *answer.get("allOf", [])]:
        data = types.resolve(part).get("properties", {}).get("data")
        if data is not None:
            return dict(data)
    return None


def _docstring(op: dict[str, Any]) -> str:
    summary = op["summary"].strip().rstrip(".")
    paragraphs = [" ".join(part.split()) for part in op.get("description", "").split("\n\n") if part.strip()]
    wrapped = [textwrap.fill(part, DOCSTRING_WIDTH) for part in paragraphs]
    options = "``timeout``, ``max_retries`` and ``extra_headers`` apply to this call alone."
    return "\n\n".join([f"{summary}.", *wrapped, options])


def _arguments(op_id: str, body: dict[str, Any], types: _Types) -> tuple[Argument, ...]:
    schema = types.resolve(body)
    if schema.get("type") == "array":
        return (Argument(BODY_ARGUMENT, "", types.argument(body), True),)
    required = set(schema.get("required", []))
    found = [
        Argument(
            ARGUMENT_NAMES.get((op_id, wire), snake_case(wire)),
            wire,
            types.argument(node),
            wire in required,
        )
        for wire, node in schema.get("properties", {}).items()
    ]
    return tuple(sorted(found, key=lambda argument: not argument.required))


def methods(spec: dict[str, Any]) -> list[Method]:
    """Every operation of ``spec`` as a method, in the spec's order."""
    types = _Types(spec)
    found = []
    for item in spec["paths"].values():
        for verb in METHODS:
            op = item.get(verb)
            if op is None:
                continue
            op_id = op["operationId"]
            body = op["requestBody"]["content"]["application/json"]["schema"]
            special = RESULT_TYPES.get(op_id)
            result = special[0] if special else types.result(_data_schema(spec, op, types))
            found.append(
                Method(snake_case(op_id), op_id, _arguments(op_id, body, types), result, _docstring(op))
            )
    return found


def render(spec: dict[str, Any]) -> str:
    """The text of ``operations.py`` (before ruff formats it)."""
    types = _Types(spec)
    found = methods(spec)
    annotations = [a.annotation for m in found for a in m.arguments] + [m.result for m in found]
    special_imports = sorted(
        {RESULT_TYPES[m.operation_id][1] for m in found if m.operation_id in RESULT_TYPES}
    )
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Python source, not HTML
    )
    template = environment.get_template("operations.py.jinja")
    return template.render(
        methods=found,
        models=types.models([a for a in annotations if a not in {kind for kind, _ in RESULT_TYPES.values()}]),
        special_imports=special_imports,
        uses_params=any("params." in a for a in annotations),
    )
