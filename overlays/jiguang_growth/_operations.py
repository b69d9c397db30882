"""How a call is built from the spec and its answer read; the clients only drive these calls.

The generated methods (``jiguang_growth_generated.operations``) hand their arguments here, in the
order of the generated ``ARGUMENTS``. :func:`request` turns them into the request body the
operation's schema describes: a record array becomes a list of plain dicts (generated models
through their ``to_dict``, plain dicts as they are), a mapping of values a dict, an optional
argument left at ``None`` is left out, and records of an operation with ``x-random-id-field``
get a fresh ID where they have none. The body is validated and sent by :mod:`._call`; the
answer's ``data`` becomes the generated model of the response's ``data`` schema.

What is special about one operation is in :data:`SPECIAL_RESULTS`, with its reason.

The generated models (and attrs with them, about 20 ms of start-up) are imported by the first
call that needs them, not by ``import jiguang_growth``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from itertools import repeat
from typing import Any, NamedTuple, Protocol, Self, TypeVar

from . import _spec
from ._call import DATA_FIELD, Call, CallSetup, ResponseShapeError, call, encode, json_kind
from ._exceptions import RequestValidationError
from ._random_ids import with_random_ids

__all__ = [
    "OPERATIONS",
    "REPORT_EVENTS",
    "SPECIAL_RESULTS",
    "CuidResult",
    "request",
]

GET_CUIDS = "getCuids"
REPORT_EVENTS = "reportEvents"
"""The operation the EventReporter sends through: the only one whose records are events."""


def _operation_ids() -> tuple[str, ...]:
    from jiguang_growth_generated.operations import ARGUMENTS  # noqa: PLC0415

    return tuple(ARGUMENTS)


OPERATIONS: tuple[str, ...] = _operation_ids()
"""The operationIds the clients have a generated method for, in the spec's order."""

CUID_VALUE_FIELD = "identityValues"
CUID_FIELD = "cuid"
CUID_ERROR_CODE_FIELD = "errorCode"
"""Wire names of a ``CuidResult`` item's identity value, cuid and error code.

Written out so that the items are read straight from the decoded dicts, which
costs a fraction of building a model per item; the tests check them against
openapi.yaml and the generated models.
"""


class _FromDict(Protocol):
    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self: ...


M = TypeVar("M", bound=_FromDict)


def _object_parser(model: type[M]) -> Callable[[Any], M]:
    """Parse an object-or-null ``data``; an absent or null one gives an empty model."""

    def parse(data: Any) -> M:
        if data is None:
            return model.from_dict({})
        if not isinstance(data, dict):
            raise ResponseShapeError(f"'{DATA_FIELD}' is {json_kind(data)}, expected an object or null")
        return model.from_dict(data)

    return parse


def _as_record_dicts(items: Any, argument: str, model: type[Any] | None) -> list[Any]:
    """The batch as a list of plain dicts (other items are left for validation to report)."""
    if isinstance(items, (Mapping, str, bytes)) or (model is not None and isinstance(items, model)):
        raise RequestValidationError(
            f"{argument} must be a list of records, not a single {type(items).__name__}; wrap it in a list",
            field=argument,
            rule="type",
        )
    try:
        records = list(items)
    except TypeError:
        raise RequestValidationError(
            f"{argument} must be a list of records, not {type(items).__name__}", field=argument, rule="type"
        ) from None
    for i, item in enumerate(records):
        if type(item) is dict:  # the common case first: the Mapping check below is slow
            continue
        if model is not None and isinstance(item, model):
            records[i] = item.to_dict()
        elif isinstance(item, Mapping) and not isinstance(item, dict):
            records[i] = dict(item)
    return records


class CuidResult(NamedTuple):
    """The answer for one requested identifier value of ``get_cuids``.

    ``cuid`` is ``None`` when the server gave none; ``error_code`` is the
    item's ``errorCode`` (``None`` when absent). Which non-zero item codes
    exist is not documented. A named tuple: immutable, picklable, and cheap
    to build a hundred times per call.
    """

    identity_value: str
    cuid: int | None
    error_code: int | None

    @property
    def ok(self) -> bool:
        """The item has a CUID and no non-zero error code."""
        return self.cuid is not None and not self.error_code


class _Absent:
    """The type of :data:`_ABSENT` (so that a set of item types can hold it)."""


_ABSENT: Any = _Absent()
"""What ``dict.get`` gives for a field the item does not have (told apart from an explicit null)."""

_new_tuple = tuple.__new__
"""Builds a ``CuidResult`` without the Python-level ``__new__`` of named tuples (a hundred per call)."""


def _cuid_parser(requested: list[str]) -> Callable[[Any], list[CuidResult]]:
    """Pair the answer's items with the requested values, in request order.

    Items are matched by their identity value. A value asked for more than
    once gets the same result each time. An answer without a result for some
    requested value is malformed; items for values not asked for are ignored.
    """

    def parse(data: Any) -> list[CuidResult]:
        if data is None:
            raise ResponseShapeError(
                f"'{DATA_FIELD}' is missing or null; expected one result per requested value"
            )
        if not isinstance(data, list):
            raise ResponseShapeError(f"'{DATA_FIELD}' is {json_kind(data)}, expected an array")
        in_order = _in_request_order(requested, data)
        if in_order is not None:
            return in_order
        found: dict[str, CuidResult] = {}
        for index, item in enumerate(data):
            if type(item) is dict:  # the common, well-formed item, checked inline
                value = item.get(CUID_VALUE_FIELD)
                cuid, code = item.get(CUID_FIELD), item.get(CUID_ERROR_CODE_FIELD, _ABSENT)
                if (
                    type(value) is str
                    and (cuid is None or type(cuid) is int)
                    and (type(code) is int or code is _ABSENT)
                ):
                    if value not in found:
                        found[value] = _new_tuple(
                            CuidResult, (value, cuid, code if type(code) is int else None)
                        )
                    continue
            result = _cuid_item(index, item)  # anything else: the full check and its message
            found.setdefault(result.identity_value, result)
        try:
            return [found[value] for value in requested]
        except KeyError:
            missing = [value for value in dict.fromkeys(requested) if value not in found]
            shown = ", ".join(repr(value) for value in missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            raise ResponseShapeError(
                f"'{DATA_FIELD}' has no result for the requested value(s) {shown}{more}"
            ) from None

    return parse


_CUID_TYPES = frozenset((int, type(None)))
_CODE_TYPES = frozenset((int, _Absent))


def _in_request_order(requested: list[str], data: list[Any]) -> list[CuidResult] | None:
    """The results when ``data`` holds exactly one well-formed item per requested value, in request order.

    The usual answer, checked a column at a time in C (``map``, ``set``,
    list equality) instead of item by item; anything else gives ``None``
    and is left to the item-by-item pairing.
    """
    if len(data) != len(requested) or set(map(type, data)) != {dict}:
        return None
    values = [item.get(CUID_VALUE_FIELD) for item in data]
    if values != requested:  # equal lists of the requested strings: every value is that string
        return None
    cuids = [item.get(CUID_FIELD) for item in data]
    codes = [item.get(CUID_ERROR_CODE_FIELD, _ABSENT) for item in data]
    if not set(map(type, cuids)) <= _CUID_TYPES or not set(map(type, codes)) <= _CODE_TYPES:
        return None
    if _ABSENT in codes:
        codes = [None if code is _ABSENT else code for code in codes]
    return list(map(_new_tuple, repeat(CuidResult), zip(values, cuids, codes, strict=True)))


def _cuid_item(index: int, item: Any) -> CuidResult:
    if not isinstance(item, dict):
        raise ResponseShapeError(f"{_where(index)} is {json_kind(item)}, expected an object")
    value, cuid = item.get(CUID_VALUE_FIELD, _ABSENT), item.get(CUID_FIELD)
    code = item.get(CUID_ERROR_CODE_FIELD, _ABSENT)
    if not isinstance(value, str):
        what = "missing" if value is _ABSENT else f"{json_kind(value)}, expected a string"
        raise ResponseShapeError(f"the identity value of {_where(index)} is {what}")
    if cuid is not None and type(cuid) is not int:
        raise ResponseShapeError(
            f"the cuid of {_where(index)} is {json_kind(cuid)}, expected an integer or null"
        )
    if code is not _ABSENT and type(code) is not int:
        raise ResponseShapeError(
            f"the error code of {_where(index)} is {json_kind(code)}, expected an integer"
        )
    return CuidResult(value, cuid, None if code is _ABSENT else code)


def _where(index: int) -> str:
    return f"'{DATA_FIELD}[{index}]'"


# --- building a request from the spec ---------------------------------------------------------


def _model(schema_name: str | None) -> Any:
    """The generated model class of a schema (``None`` for none, or for a schema without one)."""
    if schema_name is None:
        return None
    from jiguang_growth_generated import models  # noqa: PLC0415 - on first use

    return getattr(models, schema_name, None)


def _ref(node: Mapping[str, Any]) -> str | None:
    ref = node.get("$ref")
    return ref.rsplit("/", 1)[1] if isinstance(ref, str) else None


def _resolved(node: Mapping[str, Any]) -> Mapping[str, Any]:
    name = _ref(node)
    return _spec.schema(name) if name else node


@dataclass(frozen=True)
class _Argument:
    """How one argument of a generated method becomes (part of) the request body."""

    name: str
    wire: str
    """Body property; ``""`` for the whole body."""
    kind: str
    """``records`` (array of objects), ``values`` (array of scalars), ``mapping`` (an object
    schema, taken as a model or any mapping) or ``value`` (anything else, sent as it is)."""
    model: Any
    """The generated model of a record or mapping (``None`` for the other kinds)."""
    required: bool
    random_id_field: str | None
    """Filled in each record without it (the operation's ``x-random-id-field``, records only)."""


def _argument(
    op: _spec.Operation, name: str, wire: str, node: Mapping[str, Any], required: bool
) -> _Argument:
    schema = _resolved(node)
    if schema.get("type") == "array":
        items = schema["items"]
        if _resolved(items).get("type") in {"object", None}:
            return _Argument(name, wire, "records", _model(_ref(items)), required, op.random_id_field)
        return _Argument(name, wire, "values", None, required, None)
    if schema.get("type") == "object":
        return _Argument(name, wire, "mapping", _model(_ref(node)), required, None)
    return _Argument(name, wire, "value", None, required, None)


@cache
def _arguments(operation_id: str) -> tuple[_Argument, ...]:
    """The arguments of an operation's generated method, read from its request schema."""
    from jiguang_growth_generated.operations import ARGUMENTS  # noqa: PLC0415

    op = _spec.operation(operation_id)
    body = _spec.schema(op.request_schema)
    if body.get("type") == "array":
        ((name, wire),) = ARGUMENTS[operation_id]
        return (_argument(op, name, wire, {"$ref": f"#/components/schemas/{op.request_schema}"}, True),)
    properties, required = body.get("properties", {}), set(body.get("required", []))
    return tuple(
        _argument(op, name, wire, properties[wire], wire in required)
        for name, wire in ARGUMENTS[operation_id]
    )


def _body_value(argument: _Argument, value: Any) -> Any:
    """What one argument puts into the body (or is, for an array body)."""
    if argument.kind == "records":
        records = _as_record_dicts(value, argument.name, argument.model)
        return (
            records
            if argument.random_id_field is None
            else with_random_ids(records, argument.random_id_field)
        )
    if argument.kind == "values":
        if isinstance(value, str | bytes):
            raise RequestValidationError(
                f"{argument.name} must be a list of values, not a single string; wrap it in a list",
                field=argument.name,
                rule="type",
            )
        try:
            return list(value)
        except TypeError:
            raise RequestValidationError(
                f"{argument.name} must be a list of values, not {type(value).__name__}",
                field=argument.name,
                rule="type",
            ) from None
    if argument.kind == "mapping":
        if argument.model is not None and isinstance(value, argument.model):
            return value.to_dict()
        if isinstance(value, Mapping):
            return dict(value)
        raise RequestValidationError(
            f"{argument.name} must be a mapping of names to values, not {type(value).__name__}",
            field=argument.name,
            rule="type",
        )
    return value


def request(route: CallSetup, values: tuple[Any, ...]) -> Call[Any]:
    """The call of ``route``'s operation with the arguments of its generated method, in order."""
    operation_id = route.operation_id
    arguments = _arguments(operation_id)
    body: Any = {}
    for argument, value in zip(arguments, values, strict=True):
        if not argument.wire:
            body = _body_value(argument, value)
        elif value is not None or argument.required:
            body[argument.wire] = _body_value(argument, value)
    special = SPECIAL_RESULTS.get(operation_id)
    parse = special(body) if special is not None else _result_parser(operation_id)
    return call(route, encode(operation_id, body), parse)


@cache
def _result_parser(operation_id: str) -> Callable[[Any], Any]:
    """Turns a success's ``data`` into the generated model of the response's ``data`` schema."""
    data = _spec.operation(operation_id).data_schema
    if data is None:
        return _nothing
    schema = _resolved(data)
    if schema.get("type") == "array":
        item = _model(_ref(schema["items"]))
        return _list_parser(item) if item is not None else _any
    model = _model(_ref(data))
    return _object_parser(model) if model is not None else _any


def _nothing(data: Any) -> None:
    return None


def _any(data: Any) -> Any:
    return data


def _list_parser(model: type[M]) -> Callable[[Any], list[M]]:
    """Parse an array-or-null ``data``; an absent or null one gives an empty list."""

    def parse(data: Any) -> list[M]:
        if data is None:
            return []
        if not isinstance(data, list):
            raise ResponseShapeError(f"'{DATA_FIELD}' is {json_kind(data)}, expected an array or null")
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                raise ResponseShapeError(f"{_where(index)} is {json_kind(item)}, expected an object")
        return [model.from_dict(item) for item in data]

    return parse


SPECIAL_RESULTS: dict[str, Callable[[Any], Callable[[Any], Any]]] = {
    GET_CUIDS: lambda body: _cuid_parser(body[CUID_VALUE_FIELD]),
}
"""Operations whose answer is read by hand, keyed by operationId; each entry makes the parser from
the request body.

``getCuids``: the answer has one item per requested value, in no promised order; the items are
paired with the values asked for and returned in request order, as :class:`CuidResult` tuples
(a hundred per call, so not generated models), and an answer missing a value is malformed.
"""
