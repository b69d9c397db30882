"""What each operation sends and what it returns; the clients only drive these calls.

Inputs may be generated models or plain dicts (typed as the generated
TypedDicts of :mod:`._params`). Dicts are validated and sent as they are,
without a round trip through the models; models are turned into dicts with
their ``to_dict``. Results are built with the generated models' ``from_dict``
after :mod:`._call` has checked the envelope; the items of a ``get_cuids``
answer are read by their wire names, written out below.

The generated models (and attrs with them, about 20 ms of start-up) are
imported by the first call that needs them, not by ``import jiguang_growth``;
an import of an already loaded module costs well under a microsecond.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import repeat
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, Self, TypeVar

from ._call import DATA_FIELD, Call, CallSetup, ResponseShapeError, call, encode, json_kind
from ._exceptions import RequestValidationError
from ._random_ids import with_random_ids

if TYPE_CHECKING:
    from jiguang_growth_generated.models import (
        Event,
        ReportEventsResult,
        SetUserAttributesResult,
        SetUserChannelsResult,
        UserAttributes,
        UserChannels,
    )

    from ._params import EventParam, UserAttributesParam, UserChannelsParam

__all__ = [
    "GET_CUIDS",
    "OPERATIONS",
    "REPORT_EVENTS",
    "SET_USER_ATTRIBUTES",
    "SET_USER_CHANNELS",
    "CuidResult",
    "get_cuids",
    "report_events",
    "set_user_attributes",
    "set_user_channels",
]

REPORT_EVENTS = "reportEvents"
SET_USER_ATTRIBUTES = "setUserAttributes"
GET_CUIDS = "getCuids"
SET_USER_CHANNELS = "setUserChannels"
OPERATIONS = (REPORT_EVENTS, SET_USER_ATTRIBUTES, GET_CUIDS, SET_USER_CHANNELS)
"""The operationIds the clients implement, one method each."""

EVENTS_FIELD = "data"
"""Body property of ``ReportEventsRequest`` that holds the events (its record array)."""
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


def _as_record_dicts(items: Any, argument: str, model: type[Any]) -> list[Any]:
    """The batch as a list of plain dicts (other items are left for validation to report)."""
    if isinstance(items, (Mapping, str, bytes, model)):
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
        if isinstance(item, model):
            records[i] = item.to_dict()
        elif isinstance(item, Mapping) and not isinstance(item, dict):
            records[i] = dict(item)
    return records


def report_events(
    route: CallSetup, events: Iterable[EventParam | Event], app_key: str | None
) -> Call[ReportEventsResult]:
    """Validate and encode a report; every event without a ``randomId`` gets one first."""
    from jiguang_growth_generated.models import Event, ReportEventsRequest, ReportEventsResult  # noqa: PLC0415
    from jiguang_growth_generated.types import UNSET  # noqa: PLC0415

    records = with_random_ids(_as_record_dicts(events, "events", Event))
    body = ReportEventsRequest(data=[], app_key=UNSET if app_key is None else app_key).to_dict()
    body[EVENTS_FIELD] = records
    return call(route, encode(route.operation_id, body), _object_parser(ReportEventsResult))


def set_user_attributes(
    route: CallSetup, cuid: int, attributes: UserAttributes | UserAttributesParam
) -> Call[SetUserAttributesResult]:
    from jiguang_growth_generated.models import (  # noqa: PLC0415
        SetUserAttributesRequest,
        SetUserAttributesResult,
        UserAttributes,
    )

    if isinstance(attributes, UserAttributes):
        data = attributes
    elif isinstance(attributes, Mapping):
        data = UserAttributes()
        data.additional_properties = dict(attributes)
    else:
        raise RequestValidationError(
            f"attributes must be a mapping of attribute names to values, not {type(attributes).__name__}",
            field="attributes",
            rule="type",
        )
    body = SetUserAttributesRequest(cuid=cuid, data=data).to_dict()
    return call(route, encode(route.operation_id, body), _object_parser(SetUserAttributesResult))


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


def get_cuids(route: CallSetup, identity_name: str, identity_values: Iterable[str]) -> Call[list[CuidResult]]:
    if isinstance(identity_values, str | bytes):
        raise RequestValidationError(
            "identity_values must be a list of values, not a single string; wrap it in a list",
            field="identity_values",
            rule="type",
        )
    from jiguang_growth_generated.models import GetCuidsRequest  # noqa: PLC0415

    values = list(identity_values)
    body = GetCuidsRequest(identity_name=identity_name, identity_values=values).to_dict()
    return call(route, encode(route.operation_id, body), _cuid_parser(values))


def set_user_channels(
    route: CallSetup, items: Iterable[UserChannelsParam | UserChannels]
) -> Call[SetUserChannelsResult]:
    from jiguang_growth_generated.models import SetUserChannelsResult, UserChannels  # noqa: PLC0415

    body = _as_record_dicts(items, "items", UserChannels)
    return call(route, encode(route.operation_id, body), _object_parser(SetUserChannelsResult))


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
