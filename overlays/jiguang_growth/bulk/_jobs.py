"""One entry per operation: its :class:`~._engine.Job`, input format and run-wide settings.

The :class:`BulkOperation` entries (:data:`BULK`, and :data:`EVENTS`, :data:`CUIDS`, ... among
them) are the one table that both the library helpers of :mod:`jiguang_growth.bulk` and the
bulk subcommands of the CLI run from. Each entry is read from openapi.yaml through ``_spec``:

* the records are the request's record array (or its whole body, for an operation that takes
  one record per call); batch size and record schema are the spec's;
* the body's other properties are run-wide settings, checked once against their schemas;
* an input of string records is read one raw value per line, any other as JSON lines;
* an operation with ``x-random-id-field`` gives a record without that field an ID fixed by the
  run and the record's line, so a resumed run resends the same IDs;
* a ``PUT`` whose records name a user (a property of the ``Cuid`` schema) writes each user's
  records one after another, in input order, so the last line wins;
* the job calls the operation's generated method on the client.

What is special about one operation is in :data:`SPECIAL`, with its reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jiguang_growth_generated.operations import ARGUMENTS, METHOD_NAMES

from .. import _spec
from .._client import AsyncGrowthClient, GrowthClient
from .._delivery import Accepted, Failure
from .._exceptions import RequestValidationError
from .._operations import OPERATIONS, CuidResult
from .._random_ids import stable_random_id
from .._validation import validate_property
from ._engine import Job
from ._input import InputFormat, Record
from ._outcomes import ResultWriter

__all__ = [
    "ATTRIBUTES",
    "BULK",
    "CHANNELS",
    "CUIDS",
    "EVENTS",
    "SPECIAL",
    "BulkOperation",
    "Flag",
    "Setting",
    "Special",
    "cuid_result_line",
    "job",
]

CUID_REF = "#/components/schemas/Cuid"

Client = GrowthClient | AsyncGrowthClient
"""A job's call works with either client: the async one returns an awaitable of the same result."""

Prepare = Callable[[uuid.UUID, Record], Any]
Outcomes = Callable[[list[Any], Any], list[Accepted | Failure]]


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
class Special:
    """What a bulk run of one operation does beyond what the spec says."""

    prepare: Callable[[Mapping[str, bool]], Prepare] | None = None
    """Makes the step that readies each record (from the run's flags)."""
    outcomes: Outcomes | None = None
    """Turns a call's result into each record's outcome (default: all accepted)."""
    result_line: ResultWriter | None = None
    """Writes an accepted record's result to ``results.jsonl``."""
    flags: tuple[Flag, ...] = ()


def _first_sentence(text: str) -> str:
    sentence = " ".join(text.split()).split(". ", 1)[0].rstrip(".")
    return sentence[:1].lower() + sentence[1:] if sentence[1:2].islower() else sentence


def _settings(operation: _spec.Operation) -> tuple[Setting, ...]:
    """The body's properties besides the records, as run-wide settings named like the method's parameters."""
    if operation.record_schema == operation.request_schema:
        return ()
    body = _spec.schema(operation.request_schema)
    required = set(body.get("required", []))
    return tuple(
        Setting(
            name, wire, wire in required, _first_sentence(body["properties"][wire].get("description", wire))
        )
        for name, wire in ARGUMENTS[operation.operation_id]
        if wire and wire != operation.record_field
    )


def _user_key(operation: _spec.Operation) -> Callable[[Any], Any] | None:
    """For a ``PUT`` of records that name a user: the user a checked record writes to."""
    properties = _spec.schema(operation.record_schema).get("properties", {})
    fields = [name for name, node in properties.items() if node.get("$ref") == CUID_REF]
    if operation.method != "PUT" or len(fields) != 1:
        return None
    (name,) = fields

    def key(record: Any) -> Any:
        return record[name]

    return key


def _random_ids(field_name: str) -> Prepare:
    def prepare(run_id: uuid.UUID, record: Record) -> Any:
        value = record.value
        if isinstance(value, dict) and field_name not in value:
            return {**value, field_name: stable_random_id(run_id, f"line:{record.line}")}
        return value

    return prepare


def _caller(operation: _spec.Operation, settings: Mapping[str, Any]) -> Callable[[Any, list[Any]], Any]:
    """Calls the operation's generated method with a batch of records and the run's settings."""
    method = METHOD_NAMES[operation.operation_id]
    arguments = ARGUMENTS[operation.operation_id]
    whole_body = operation.record_schema == operation.request_schema and operation.max_records == 1

    def call(client: Client, records: list[Any]) -> Any:
        if whole_body:  # one record per call, which is the body: its properties are the arguments
            (record,) = records
            values = {name: record.get(wire) for name, wire in arguments}
        else:
            values = {
                name: records if wire in {"", operation.record_field} else settings.get(name)
                for name, wire in arguments
            }
        return getattr(client, method)(**values)

    return call


def job(operation_id: str, values: Mapping[str, Any]) -> Job:
    """The job of a bulk run of ``operation_id`` with the (checked) settings and flags in ``values``."""
    operation = _spec.operation(operation_id)
    special = SPECIAL.get(operation_id, Special())
    prepare = special.prepare(values) if special.prepare is not None else None
    if prepare is None and operation.random_id_field is not None:
        prepare = _random_ids(operation.random_id_field)
    return Job(
        operation_id,
        operation.record_schema,
        operation.max_records,
        _caller(operation, values),
        special.outcomes,
        prepare,
        _user_key(operation),
    )


def _strip_or_refuse(flags: Mapping[str, bool]) -> Prepare:
    """A value with white space around it is rejected with that reason (a lookup would miss it
    silently); with ``strip`` the white space is removed first."""
    strip = bool(flags.get("strip"))

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

    return prepare


def _cuid_outcomes(values: list[Any], results: list[CuidResult]) -> list[Accepted | Failure]:
    """An item without a CUID, or with a non-zero error code, is rejected."""
    return [_cuid_outcome(result) for result in results]


def _cuid_outcome(result: CuidResult) -> Accepted | Failure:
    if result.ok:
        return Accepted(result)
    if result.error_code:
        return Failure("item_error", code=result.error_code, msg="the server gave this value an error code")
    return Failure("no_cuid", msg="the server gave no CUID for this value")


def cuid_result_line(line: int, result: CuidResult) -> dict[str, Any]:
    """One line of ``results.jsonl`` for a CUID lookup."""
    return {"line": line, "identityValue": result.identity_value, "cuid": result.cuid}


@dataclass(frozen=True)
class BulkOperation:
    """What a bulk run of one operation needs: its job, input format, settings and result file."""

    operation_id: str
    fmt: InputFormat
    """How its input file is read: JSON lines, or one raw value per line."""
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
        return job(self.operation_id, {**chosen, **flags})


SPECIAL: Mapping[str, Special] = {
    "getCuids": Special(
        prepare=_strip_or_refuse,
        outcomes=_cuid_outcomes,
        result_line=cuid_result_line,
        flags=(Flag("strip", "remove white space around each value instead of rejecting it"),),
    ),
}
"""Bulk behaviour the spec does not state, keyed by operationId.

``getCuids``: the answer says per value whether it got a CUID, so each value is accepted or
rejected on its own and the CUIDs go to ``results.jsonl``; and a value with white space around
it would silently miss, so it is refused unless the run strips it.
"""


def _bulk_operation(operation_id: str) -> BulkOperation:
    operation = _spec.operation(operation_id)
    special = SPECIAL.get(operation_id, Special())
    record = _spec.schema(operation.record_schema)
    return BulkOperation(
        operation_id,
        "text" if record.get("type") == "string" else "jsonl",
        _settings(operation),
        special.result_line,
        special.flags,
    )


BULK: Mapping[str, BulkOperation] = {
    operation_id: _bulk_operation(operation_id) for operation_id in OPERATIONS
}
"""Every operation of the spec, ready for a bulk run."""
EVENTS = BULK["reportEvents"]
CUIDS = BULK["getCuids"]
ATTRIBUTES = BULK["setUserAttributes"]
CHANNELS = BULK["setUserChannels"]
