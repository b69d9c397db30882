"""One entry per operation: its :class:`~._engine.Job`, input format and run-wide settings.

The :class:`BulkOperation` entries (:data:`EVENTS`, :data:`CUIDS`, ...) are
the one table that both the library helpers of :mod:`jiguang_growth.bulk`
and the bulk subcommands of the CLI run from.
Batch sizes, record schemas and the rules of run-wide settings come from
openapi.yaml through ``_spec``; the outcome of each record follows from what
the client returns.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import _operations as ops
from .. import _spec
from .._client import AsyncGrowthClient, GrowthClient
from .._delivery import Accepted, Failure
from .._exceptions import RequestValidationError
from .._operations import CuidResult
from .._random_ids import RANDOM_ID_FIELD, stable_random_id
from .._validation import validate_property
from ._engine import Job
from ._input import InputFormat, Record
from ._outcomes import ResultWriter

__all__ = [
    "ATTRIBUTES",
    "CHANNELS",
    "CUIDS",
    "EVENTS",
    "BulkOperation",
    "Flag",
    "Setting",
    "attributes_job",
    "channels_job",
    "cuid_result_line",
    "cuids_job",
    "events_job",
]

CUID_REF = "#/components/schemas/Cuid"

Client = GrowthClient | AsyncGrowthClient
"""A job's call works with either client: the async one returns an awaitable of the same result."""


def _job(
    operation_id: str,
    call: Callable[[Any, list[Any]], Any],
    outcomes: Callable[[list[Any], Any], list[Accepted | Failure]] | None = None,
    prepare: Callable[[uuid.UUID, Record], Any] | None = None,
    *,
    ordered_per_user: bool = False,
) -> Job:
    operation = _spec.operation(operation_id)
    key = _user_key(operation.record_schema) if ordered_per_user else None
    return Job(operation_id, operation.record_schema, operation.max_records, call, outcomes, prepare, key)


def _user_key(record_schema: str) -> Callable[[Any], Any]:
    """The user a checked record writes to: its property that refers to the ``Cuid`` schema."""
    properties = _spec.schema(record_schema)["properties"]
    (field,) = (name for name, node in properties.items() if node.get("$ref") == CUID_REF)

    def key(record: Any) -> Any:
        return record[field]

    return key


def events_job(app_key: str | None = None) -> Job:
    """Report events; an event without a ``randomId`` gets one fixed by the run and its line."""

    def prepare(run_id: uuid.UUID, record: Record) -> Any:
        value = record.value
        if isinstance(value, dict) and RANDOM_ID_FIELD not in value:
            return {**value, RANDOM_ID_FIELD: stable_random_id(run_id, f"line:{record.line}")}
        return value

    def call(client: Client, events: list[Any]) -> Any:
        return client.report_events(events, app_key=app_key)

    return _job(ops.REPORT_EVENTS, call, prepare=prepare)


def cuids_job(identity_name: str, strip: bool = False) -> Job:
    """Look up CUIDs; an item without a CUID, or with a non-zero error code, is rejected.

    A value with white space around it is rejected with that reason (a lookup
    would miss it silently); with ``strip`` the white space is removed first.
    """

    def prepare(run_id: uuid.UUID, record: Record) -> Any:
        value = record.value
        if isinstance(value, str) and value != value.strip():
            if strip:
                return value.strip()
            raise RequestValidationError(
                f"record: has white space around it (got {value!r}); remove it, or strip it with "
                "strip=True (--strip)",
                field="record",
                rule="whitespace",
            )
        return value

    def call(client: Client, values: list[Any]) -> Any:
        return client.get_cuids(identity_name, values)

    def outcomes(values: list[Any], results: list[CuidResult]) -> list[Accepted | Failure]:
        return [_cuid_outcome(result) for result in results]

    return _job(ops.GET_CUIDS, call, outcomes, prepare)


def _cuid_outcome(result: CuidResult) -> Accepted | Failure:
    if result.ok:
        return Accepted(result)
    if result.error_code:
        return Failure("item_error", code=result.error_code, msg="the server gave this value an error code")
    return Failure("no_cuid", msg="the server gave no CUID for this value")


def cuid_result_line(line: int, result: CuidResult) -> dict[str, Any]:
    """One line of ``results.jsonl`` for a CUID lookup."""
    return {"line": line, "identityValue": result.identity_value, "cuid": result.cuid}


def channels_job() -> Job:
    """Set users' contact values, up to a batch of users per call; each user's writes in input order."""

    def call(client: Client, items: list[Any]) -> Any:
        return client.set_user_channels(items)

    return _job(ops.SET_USER_CHANNELS, call, ordered_per_user=True)


def attributes_job() -> Job:
    """Set one user's attributes per call (``{"cuid": ..., "data": {...}}`` records).

    The operation is not safe to replay, so a call that may have been applied
    is never sent again: its record ends as unknown. Writes to one user go out
    one after another, in input order, so "overwrite" keeps the last line's value.
    """

    def call(client: Client, records: list[Any]) -> Any:
        from jiguang_growth_generated.models import SetUserAttributesRequest  # noqa: PLC0415 - on first use

        (record,) = records  # the spec's batch size for this operation is 1
        body = SetUserAttributesRequest.from_dict(record)  # already checked against the schema
        return client.set_user_attributes(body.cuid, body.data)

    return _job(ops.SET_USER_ATTRIBUTES, call, ordered_per_user=True)


@dataclass(frozen=True)
class Setting:
    """A value that holds for a whole run (an app key, an identity name), checked once up front."""

    name: str
    """The helper's keyword argument, e.g. ``identity_name`` (the CLI's ``--identity-name``)."""
    property: str
    """The request body property it becomes, whose schema in openapi.yaml checks it."""
    required: bool
    help: str


@dataclass(frozen=True)
class Flag:
    """A yes/no choice for a whole run (``strip``), off unless asked for."""

    name: str
    help: str


@dataclass(frozen=True)
class BulkOperation:
    """What a bulk run of one operation needs: its job, input format, settings and result file."""

    operation_id: str
    fmt: InputFormat
    """How its input file is read: JSON lines, or one raw value per line."""
    build: Callable[..., Job]
    """Makes the job from the settings, passed by name."""
    settings: tuple[Setting, ...] = ()
    result_line: ResultWriter | None = None
    """Writes an accepted record's result to ``results.jsonl``; ``None`` when there is none."""
    flags: tuple[Flag, ...] = ()

    def job(self, values: Mapping[str, Any], *, argument: Callable[[str], str] = str) -> Job:
        """Check the settings in ``values`` and build the job.

        A bad value raises :class:`~jiguang_growth.RequestValidationError`
        whose message leads with ``argument(setting.name)``, so each caller
        names the value the way its user wrote it.
        """
        request_schema = _spec.operation(self.operation_id).request_schema
        chosen = {setting.name: values.get(setting.name) for setting in self.settings}
        for setting in self.settings:
            value = chosen[setting.name]
            if value is not None or setting.required:
                validate_property(request_schema, setting.property, value, argument=argument(setting.name))
        flags = {flag.name: bool(values.get(flag.name)) for flag in self.flags}
        return self.build(**chosen, **flags)


EVENTS = BulkOperation(
    ops.REPORT_EVENTS,
    "jsonl",
    events_job,
    (Setting("app_key", "appKey", False, "appKey of the project's HTTP API data source"),),
)
CUIDS = BulkOperation(
    ops.GET_CUIDS,
    "text",
    cuids_job,
    (Setting("identity_name", "identityName", True, "the identifier, e.g. phone"),),
    result_line=cuid_result_line,
    flags=(Flag("strip", "remove white space around each value instead of rejecting it"),),
)
ATTRIBUTES = BulkOperation(ops.SET_USER_ATTRIBUTES, "jsonl", attributes_job)
CHANNELS = BulkOperation(ops.SET_USER_CHANNELS, "jsonl", channels_job)
