"""A yes/no check of a request body, compiled from the same schemas fastjsonschema compiles.

Most bodies are valid, and fastjsonschema is slow on valid ones: it formats a
path string for every array item and, for an ``anyOf`` (event property and
user attribute values), raises and catches an exception for every branch that
does not match before the one that does. :func:`compile_check` turns the
draft-7 tree that :mod:`jiguang_growth._validation` translated from ``openapi.yaml`` into a
plain Python function that only answers ``True`` or ``False``: straight-line
type and limit checks, one loop per array or map, and an ``anyOf`` that tries
only the branches whose type fits the value.

:mod:`jiguang_growth._validation` asks this check first and runs fastjsonschema only when
the answer is ``False``, to decide and to name the field and the rule. So the
check may be stricter than the schema (it answers ``False`` for a tuple where
an array is expected, or an int subclass; that only costs the slow path), but
it must never accept a value fastjsonschema rejects; the tests compare the two
on generated values. A schema that uses a keyword this module does not know
gets no check (``None``), and fastjsonschema alone decides, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["Check", "compile_check"]

Check = Callable[[Any], bool]

REF_PREFIX = "#/components/schemas/"

# fastjsonschema searches with every unescaped "$" turned into "\Z" (so "a\n" does not
# match "^a$"); the check must not accept what that search rejects.
_DOLLAR = re.compile(r"(?<!\\)\$")

_ANNOTATIONS = frozenset({"title", "default", "readOnly", "writeOnly", "deprecated", "externalDocs", "xml"})
_ANY_TYPE_KEYWORDS = frozenset({"type", "enum", "anyOf", "oneOf", "allOf"})
_KEYWORDS_OF_TYPE = {
    "string": frozenset({"minLength", "maxLength", "pattern"}),
    "integer": frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}),
    "number": frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}),
    "array": frozenset({"minItems", "maxItems", "items"}),
    "object": frozenset(
        {"required", "properties", "additionalProperties", "minProperties", "maxProperties", "propertyNames"}
    ),
    "boolean": frozenset(),
    "null": frozenset(),
}
_TYPE_TEST = {
    # Exact types on purpose: bool is an int subclass, and JSON has no int subclasses.
    "string": "isinstance({v}, str)",
    "integer": "type({v}) is int",
    "number": "type({v}) in _NUMBER",
    "array": "isinstance({v}, list)",
    "object": "isinstance({v}, dict)",
    "boolean": "type({v}) is bool",
    "null": "{v} is None",
}
_SEEN_LIMIT = 4096
"""Strings remembered per pattern as matching it, so that a name is searched once, not per use."""
_SCALARS = frozenset({"string", "integer", "number", "boolean", "null"})


class _UnsupportedError(Exception):
    """The schema uses something the check does not implement; fastjsonschema alone will decide."""


class _Compiler:
    def __init__(self, components: dict[str, Any]) -> None:
        self.components = components
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"_NUMBER": (int, float)}
        self.functions: dict[str, str] = {}
        self.inlining: list[str] = []
        self.counter = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def constant(self, value: Any) -> str:
        name = self.fresh("_c")
        self.names[name] = value
        return name

    def resolve(self, ref: Any) -> tuple[str, Any]:
        if not isinstance(ref, str) or not ref.startswith(REF_PREFIX):
            raise _UnsupportedError(f"$ref {ref!r}")
        name = ref[len(REF_PREFIX) :]
        if name not in self.components:
            raise _UnsupportedError(f"$ref {ref!r}")
        return name, self.components[name]

    def function_for(self, name: str) -> str:
        """The function checking the named component schema (defined once, so recursion works)."""
        if name not in self.functions:
            self.functions[name] = function = self.fresh("_schema")
            self.inlining.append(name)
            self.define(function, self.components[name])
            self.inlining.pop()
        return self.functions[name]

    def define(self, function: str, node: Any) -> None:
        body: list[str] = []
        self.statements(node, "v", body, 1)
        self.lines += [f"def {function}(v):", *body, "    return True", ""]

    # --- one schema node -------------------------------------------------------------------

    def single_type(self, node: dict[str, Any]) -> tuple[str | None, bool]:
        """``(type, nullable)``: the node's one JSON type besides ``null``, if it has one."""
        declared = node.get("type")
        if declared is None:
            return None, False
        types = [declared] if isinstance(declared, str) else list(declared)
        nullable = "null" in types and len(types) > 1
        rest = [t for t in types if t != "null"] if nullable else types
        if len(rest) != 1 or rest[0] not in _TYPE_TEST:
            raise _UnsupportedError(f"type {declared!r}")
        return rest[0], nullable

    def check_keywords(self, node: dict[str, Any], kind: str | None) -> None:
        allowed = _ANY_TYPE_KEYWORDS | _ANNOTATIONS | (_KEYWORDS_OF_TYPE[kind] if kind else frozenset())
        unknown = set(node) - allowed
        if unknown:
            raise _UnsupportedError(f"keywords {sorted(unknown)} on type {kind}")
        for bound in ("exclusiveMinimum", "exclusiveMaximum"):
            if bound in node and type(node[bound]) not in (int, float):
                raise _UnsupportedError(f"{bound} {node[bound]!r}")  # the OAS 3.0 boolean form

    def scalar(self, node: Any, v: str) -> str | None:
        """An expression that is true when ``v`` fits ``node``, or ``None`` if the node needs loops."""
        if node is True or node == {}:
            return "True"
        if node is False:
            return "False"
        if not isinstance(node, dict):
            raise _UnsupportedError(f"schema {node!r}")
        if "$ref" in node:  # draft 7 ignores the ref's siblings, and so does fastjsonschema
            return self.scalar(self.resolve(node["$ref"])[1], v)
        kind, nullable = self.single_type(node)
        if kind not in _SCALARS or {"anyOf", "oneOf", "allOf"} & set(node):
            return None
        self.check_keywords(node, kind)
        if nullable and "enum" in node:
            raise _UnsupportedError("enum on a nullable type")  # null must then be one of the values
        expression = " and ".join(self.scalar_tests(node, kind, v))
        return f"({v} is None or ({expression}))" if nullable else f"({expression})"

    def scalar_tests(self, node: dict[str, Any], kind: str, v: str) -> list[str]:
        """The tests a non-null ``v`` must pass: type, enum, length, pattern, then bounds."""
        tests = [_TYPE_TEST[kind].format(v=v)]
        if "enum" in node:
            tests.append(self.enum(node["enum"], kind, v))
        tests += self.sizes(node, v, "minLength", "maxLength")
        if "pattern" in node:
            tests.append(self.pattern(node["pattern"], v))
        return tests + self.bounds(node, v)

    def bounds(self, node: dict[str, Any], v: str) -> list[str]:
        """Comparisons of a number ``v`` with the node's minimum and maximum, inclusive or exclusive."""
        tests = []
        for keyword, op in (
            ("minimum", ">="),
            ("maximum", "<="),
            ("exclusiveMinimum", ">"),
            ("exclusiveMaximum", "<"),
        ):
            if keyword in node:
                bound = node[keyword]
                literal = repr(bound) if type(bound) is int else self.constant(bound)
                tests.append(f"{v} {op} {literal}")
        return tests

    def pattern(self, pattern: str, v: str) -> str:
        """Test for a string ``v``: a set lookup for a string that matched before, else the search."""
        seen: set[str] = set()
        search = re.compile(_DOLLAR.sub(r"\\Z", pattern)).search

        def matches(text: str) -> bool:
            if search(text) is None:
                return False
            if len(seen) < _SEEN_LIMIT:  # names (event names, property keys) repeat all the time
                seen.add(text)
            return True

        return f"({v} in {self.constant(seen)} or {self.constant(matches)}({v}))"

    def enum(self, values: Any, kind: str, v: str) -> str:
        exact = {"string": str, "integer": int}.get(kind)
        if exact is None or not isinstance(values, list) or any(type(x) is not exact for x in values):
            raise _UnsupportedError(f"enum {values!r} on type {kind}")
        return f"{v} in {self.constant(frozenset(values))}"

    def branch(self, node: Any, v: str) -> str:
        """An expression for one ``anyOf``/``oneOf`` branch: inline, or a type test then a call."""
        expression = self.scalar(node, v)
        if expression is not None:
            return expression
        target = node
        if isinstance(node, dict) and "$ref" in node:
            name, target = self.resolve(node["$ref"])
            call = f"{self.function_for(name)}({v})"
        else:
            function = self.fresh("_branch")
            self.define(function, node)
            call = f"{function}({v})"
        kind, nullable = self.single_type(target) if isinstance(target, dict) else (None, False)
        if kind is None or nullable:
            return call
        return f"({_TYPE_TEST[kind].format(v=v)} and {call})"  # skip the call when the type cannot fit

    def statements(self, node: Any, v: str, out: list[str], depth: int) -> None:
        """Lines that ``return False`` unless ``v`` fits ``node``."""
        pad = "    " * depth
        expression = self.scalar(node, v)
        if expression is not None:
            if expression != "True":
                out.append(f"{pad}if not {expression}: return False")
            return
        if "$ref" in node:
            self.ref_statements(node["$ref"], v, out, depth)
            return
        kind, nullable = self.single_type(node)
        self.check_keywords(node, kind)
        if "enum" in node:  # scalar() handles enums of strings and integers
            raise _UnsupportedError(f"enum on type {kind}")
        self.combinator_statements(node, v, out, depth)
        if kind is None:
            return
        if nullable:
            out.append(f"{pad}if {v} is not None:")
            depth += 1
            pad += "    "
        out.append(f"{pad}if not {_TYPE_TEST[kind].format(v=v)}: return False")
        if kind == "array":
            self.array(node, v, out, depth)
        elif kind == "object":
            self.object(node, v, out, depth)
        else:
            raise _UnsupportedError(f"type {kind} with {sorted(node)}")

    def ref_statements(self, ref: Any, v: str, out: list[str], depth: int) -> None:
        """Lines for a ``$ref``: the referenced schema inlined, or a call if it is being inlined already."""
        pad = "    " * depth
        name, target = self.resolve(ref)
        if name in self.inlining:  # a recursive schema: call its function
            out.append(f"{pad}if not {self.function_for(name)}({v}): return False")
            return
        self.inlining.append(name)  # otherwise inline it: a call costs more than most checks
        self.statements(target, v, out, depth)
        self.inlining.pop()

    def combinator_statements(self, node: dict[str, Any], v: str, out: list[str], depth: int) -> None:
        """Lines for the node's ``allOf``, ``anyOf`` and ``oneOf``, in that order."""
        pad = "    " * depth
        for sub in node.get("allOf", []):
            self.statements(sub, v, out, depth)
        if "anyOf" in node:
            branches = " or ".join(self.branch(sub, v) for sub in node["anyOf"])
            out.append(f"{pad}if not ({branches}): return False")
        if "oneOf" in node:
            branches = ", ".join(f"bool({self.branch(sub, v)})" for sub in node["oneOf"])
            out.append(f"{pad}if [{branches}].count(True) != 1: return False")

    def sizes(self, node: dict[str, Any], v: str, low: str, high: str) -> list[str]:
        tests = []
        if low in node:
            tests.append(f"len({v}) >= {int(node[low])}")
        if high in node:
            tests.append(f"len({v}) <= {int(node[high])}")
        return tests

    def array(self, node: dict[str, Any], v: str, out: list[str], depth: int) -> None:
        pad = "    " * depth
        tests = self.sizes(node, v, "minItems", "maxItems")
        if tests:
            out.append(f"{pad}if not ({' and '.join(tests)}): return False")
        items = node.get("items", True)
        if items is True or items == {}:
            return
        if not isinstance(items, dict):
            raise _UnsupportedError("items as a list")
        item = self.fresh("x")
        body: list[str] = []
        self.statements(items, item, body, depth + 1)
        if body:
            out += [f"{pad}for {item} in {v}:", *body]

    def object(self, node: dict[str, Any], v: str, out: list[str], depth: int) -> None:
        pad = "    " * depth
        tests = self.sizes(node, v, "minProperties", "maxProperties")
        tests += [f"{name!r} in {v}" for name in node.get("required", [])]
        if tests:
            out.append(f"{pad}if not ({' and '.join(tests)}): return False")
        properties: dict[str, Any] = node.get("properties", {})
        required = set(node.get("required", []))
        for name, sub in properties.items():
            out += self.property_statements(name, sub, name in required, v, depth)
        out += self.key_loop(node, properties, v, depth)

    def property_statements(self, name: str, node: Any, required: bool, v: str, depth: int) -> list[str]:
        """Lines checking ``v[name]`` against ``node``, or none if the property takes any value."""
        pad = "    " * depth
        value = self.fresh("p")
        if required:  # known to be there
            body = [f"{pad}{value} = {v}[{name!r}]"]
            self.statements(node, value, body, depth)
            return body if len(body) > 1 else []
        body = [f"{pad}if {name!r} in {v}:", f"{pad}    {value} = {v}[{name!r}]"]
        self.statements(node, value, body, depth + 1)
        return body if len(body) > 2 else []

    def key_loop(self, node: dict[str, Any], properties: dict[str, Any], v: str, depth: int) -> list[str]:
        """A loop over the items of ``v`` for propertyNames and additionalProperties, if they restrict."""
        pad = "    " * depth
        extra = node.get("additionalProperties", True)
        key, value = self.fresh("k"), self.fresh("p")
        loop = self.key_name_test(node.get("propertyNames", True), key, depth)
        if extra is False:
            known = self.constant(frozenset(properties))
            loop.append(f"{pad}    if {key} not in {known}: return False")
        elif extra is not True and extra != {}:
            loop += self.additional_statements(extra, properties, key, value, depth)
        return [f"{pad}for {key}, {value} in {v}.items():", *loop] if loop else []

    def key_name_test(self, names: Any, key: str, depth: int) -> list[str]:
        """Lines in the key loop that test the key against propertyNames (only a pattern is known)."""
        if names is True or names == {}:
            return []
        if not isinstance(names, dict) or set(names) - {"pattern"}:
            raise _UnsupportedError(f"propertyNames {names!r}")
        pad = "    " * depth
        return [
            f"{pad}    if not (isinstance({key}, str) and {self.pattern(names['pattern'], key)}):",
            f"{pad}        return False",
        ]

    def additional_statements(
        self, extra: Any, properties: dict[str, Any], key: str, value: str, depth: int
    ) -> list[str]:
        """Lines in the key loop that check a ``value`` not under ``properties`` against ``extra``."""
        pad = "    " * depth
        checks: list[str] = []
        self.statements(extra, value, checks, depth + (2 if properties else 1))
        if not properties:
            return checks
        known = self.constant(frozenset(properties))
        return [f"{pad}    if {key} not in {known}:", *checks] if checks else []


def compile_check(components: dict[str, Any], schema_name: str) -> Check | None:
    """A function telling whether a value fits ``components[schema_name]``; ``None`` if unsupported.

    ``components`` are draft-7 schemas keyed by name, with ``$ref``s of the form
    ``#/components/schemas/<name>``.
    """
    compiler = _Compiler(components)
    try:
        root = compiler.function_for(schema_name)
    except _UnsupportedError:
        return None
    source = "\n".join(compiler.lines)
    namespace = dict(compiler.names)
    exec(compile(source, f"<check {schema_name}>", "exec"), namespace)
    check: Check = namespace[root]
    check.__doc__ = f"True when a value fits {schema_name}.\n\n{source}"
    return check
