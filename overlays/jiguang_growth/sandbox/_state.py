"""What the sandbox has received, in memory, and what the four operations do to it.

Every method takes a lock, so the server's worker threads can write while a
test thread reads: one lock for the data, another for the request log, so that
logging a call never waits for a long write. Writes are all or nothing: a
request that breaks a rule changes nothing. Readers get copies
(:class:`StateSnapshot`), never the live structures.

Semantics, where the vendor leaves room:

* reportEvents drops an event whose ``randomId`` was seen before (also within
  one batch); events without ``randomId`` are always stored.
* getCuids maps each (identityName, value) to one CUID for good; a value never
  seen gets the next CUID of a counter that starts at ``first_cuid``.
* setUserAttributes applies each attribute's configured rule (overwrite, once,
  accumulate, append with duplicates removed). A NUMBER, and an accumulated
  total, must fit a 64-bit float (finite, at most about 1.8e308 in size), so
  that what is stored can always be served as JSON. Append de-duplicates with
  a set per user and attribute: linear in the elements sent.
* setUserChannels merges: per CUID, per channel ID, per contact label, the
  latest value wins; labels not in the request are kept.
* None of the writes checks that the CUID came from getCuids.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ._codes import SandboxCode
from ._config import AttributeDef, AttributeRule, AttributeType, SandboxConfig

__all__ = ["RequestRecord", "RequestRejectedError", "SandboxState", "StateSnapshot", "short_repr"]

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
"""The "yyyy-MM-dd HH:mm:ss" of UserDatetimeValue; checked as a real date and time."""


class RequestRejectedError(Exception):
    """A request the sandbox refuses for a reason beyond the schema (unknown attribute ...)."""

    def __init__(self, code: SandboxCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RequestRecord:
    """One request the sandbox answered (or, for some faults, did not answer)."""

    seq: int
    operation: str | None
    """operationId, or ``None`` for a path that is not an operation."""
    method: str
    path: str
    status: int | None
    """HTTP status sent; ``None`` when the connection was closed without an answer."""
    code: int | None
    """Envelope code sent; ``None`` when no envelope was sent."""
    fault: str | None
    """Label of the injected fault (``"503"``, ``"drop"`` ...), or ``None``."""
    applied: bool
    """Whether the request changed the state."""
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StateSnapshot:
    """A copy of the whole state at one moment. Changing it changes nothing in the sandbox."""

    events: tuple[dict[str, Any], ...]
    """Stored events in arrival order: ``seq``, ``appKey``, ``cuid``, ``eventName``, ``itime``,
    ``randomId`` (or ``None``) and ``properties``."""
    duplicate_events: int
    """Events dropped because their ``randomId`` had been seen."""
    identities: dict[str, dict[str, int]]
    """identityName -> identity value -> CUID."""
    attributes: dict[int, dict[str, Any]]
    """CUID -> attribute name -> stored value."""
    channels: dict[int, dict[int, dict[str, str]]]
    """CUID -> channel ID -> contact label -> contact value."""
    requests: tuple[RequestRecord, ...]
    """The request log, oldest first (at most ``request_log_limit`` records)."""

    def to_json(self) -> dict[str, Any]:
        """The snapshot as JSON-ready data (object keys become strings)."""
        return {
            "events": list(self.events),
            "duplicate_events": self.duplicate_events,
            "identities": self.identities,
            "attributes": {str(cuid): values for cuid, values in self.attributes.items()},
            "channels": {
                str(cuid): {str(channel): labels for channel, labels in by_channel.items()}
                for cuid, by_channel in self.channels.items()
            },
            "requests": [record.to_json() for record in self.requests],
        }


def _int(value: Any) -> int:
    """An integer the schema accepted; JSON Schema lets ``5.0`` through as an integer."""
    return int(value)


def short_repr(value: Any) -> str:
    """``repr(value)`` cut to 60 characters, for messages that quote what was sent."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


NUMBER_RANGE = "a NUMBER must fit a 64-bit float (finite, magnitude at most about 1.8e308)"


def _is_number(value: Any) -> bool:
    """A JSON number that a 64-bit float can hold (Python's integers have no limit)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer beyond the float range
        return False


def _fits(kind: AttributeType, value: Any) -> bool:
    if kind is AttributeType.NUMBER:
        return _is_number(value)
    if kind is AttributeType.STRING:
        return isinstance(value, str)
    if kind is AttributeType.BOOL:
        return type(value) is int and value in (0, 1)
    if kind is AttributeType.DATETIME:
        if not isinstance(value, str):
            return False
        try:
            datetime.strptime(value, DATETIME_FORMAT)
        except ValueError:
            return False
        return True
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


class SandboxState:
    """The in-memory data of one sandbox."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self._config = config or SandboxConfig()
        self._lock = threading.Lock()
        self._log_lock = threading.Lock()
        self._handlers: Mapping[str, Callable[[Any], dict[str, Any]]] = {
            "reportEvents": self._report_events,
            "setUserAttributes": self._set_user_attributes,
            "getCuids": self._get_cuids,
            "setUserChannels": self._set_user_channels,
        }
        self._clear()

    def _clear(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._random_ids: set[str] = set()
        self._duplicates = 0
        self._identities: dict[str, dict[str, int]] = {}
        self._next_cuid = self._config.first_cuid
        self._attributes: dict[int, dict[str, Any]] = {}
        self._members: dict[tuple[int, str], set[str]] = {}
        """(CUID, name) -> the elements of an append attribute's stored list."""
        self._channels: dict[int, dict[int, dict[str, str]]] = {}
        self._requests: deque[RequestRecord] = deque(maxlen=self._config.request_log_limit)
        self._request_seq = 0

    @property
    def operations(self) -> frozenset[str]:
        """The operationIds this state implements."""
        return frozenset(self._handlers)

    # --- writes, called by the app with a body that passed validate_request -------------------

    def apply(self, operation_id: str, body: Any) -> dict[str, Any]:
        """Apply one valid request; return the success envelope. Raises :class:`RequestRejectedError`."""
        handler = self._handlers[operation_id]
        with self._lock:
            return handler(body)

    def try_apply(self, operation_id: str, body: Any) -> dict[str, Any] | None:
        """:meth:`apply`, or ``None`` at once (nothing applied) while another write holds the state."""
        handler = self._handlers[operation_id]
        if not self._lock.acquire(blocking=False):
            return None
        try:
            return handler(body)
        finally:
            self._lock.release()

    def _report_events(self, body: Mapping[str, Any]) -> dict[str, Any]:
        events = body["data"]
        allowed = self._config.event_names
        if allowed is not None:
            for index, event in enumerate(events):
                if event["eventName"] not in allowed:
                    raise RequestRejectedError(
                        SandboxCode.UNKNOWN_EVENT,
                        f"body.data[{index}].eventName: meta event {event['eventName']!r} is not defined",
                    )
        accepted = duplicates = 0
        for event in events:
            random_id = event.get("randomId")
            if random_id is not None:
                if random_id in self._random_ids:
                    duplicates += 1
                    continue
                self._random_ids.add(random_id)
            self._events.append(
                {
                    "seq": len(self._events) + 1,
                    "appKey": body.get("appKey"),
                    "cuid": _int(event["cuid"]),
                    "eventName": event["eventName"],
                    "itime": _int(event["itime"]),
                    "randomId": random_id,
                    "properties": copy.deepcopy(event.get("properties") or {}),
                }
            )
            accepted += 1
        self._duplicates += duplicates
        return {"code": 0, "msg": "success", "data": {"accepted": accepted, "duplicates": duplicates}}

    def _set_user_attributes(self, body: Mapping[str, Any]) -> dict[str, Any]:
        cuid = _int(body["cuid"])
        values: Mapping[str, Any] = body["data"]
        definitions = self._config.attributes
        for name, value in values.items():
            definition = definitions.get(name)
            if definition is None:
                if self._config.strict_attributes:
                    raise RequestRejectedError(
                        SandboxCode.UNKNOWN_ATTRIBUTE,
                        f"body.data.{name}: user attribute {name!r} is not defined in the sandbox settings",
                    )
            elif not _fits(definition.type, value):
                rule = f" ({NUMBER_RANGE})" if definition.type is AttributeType.NUMBER else ""
                raise RequestRejectedError(
                    SandboxCode.ATTRIBUTE_TYPE_MISMATCH,
                    f"body.data.{name}: {short_repr(value)} is not a valid {definition.type} value{rule}",
                )
        stored = self._attributes.get(cuid, {})
        plan = []
        for name, value in values.items():
            rule = (definitions.get(name) or _UNDEFINED).rule
            plan.append(
                (name, rule, _next_value(stored, name, rule, value, self._members.get((cuid, name), set())))
            )
        # Every check is done: from here on nothing fails, so the write is all or nothing.
        stored = self._attributes.setdefault(cuid, stored)
        for name, rule, new in plan:
            if rule is not AttributeRule.APPEND:
                stored[name] = new
            elif new or name not in stored:
                stored.setdefault(name, []).extend(new)
                self._members.setdefault((cuid, name), set()).update(new)
        return {"code": 0, "msg": "ok"}

    def _get_cuids(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = body["identityName"]
        allowed = self._config.identity_names
        if allowed is not None and name not in allowed:
            raise RequestRejectedError(
                SandboxCode.UNKNOWN_IDENTITY, f"body.identityName: identity {name!r} is not defined"
            )
        mapping = self._identities.setdefault(name, {})
        items = []
        for value in body["identityValues"]:
            cuid = mapping.get(value)
            if cuid is None:
                cuid = mapping[value] = self._next_cuid
                self._next_cuid += 1
            items.append({"identityValues": value, "cuid": cuid, "errorCode": 0})
        return {"code": 0, "msg": "success", "data": items}

    def _set_user_channels(self, body: list[Mapping[str, Any]]) -> dict[str, Any]:
        allowed = self._config.channel_labels
        if allowed is not None:
            for index, user in enumerate(body):
                for position, channel in enumerate(user["channels"]):
                    for label in channel["channelValues"]:
                        if label not in allowed:
                            raise RequestRejectedError(
                                SandboxCode.UNKNOWN_CHANNEL_LABEL,
                                f"body[{index}].channels[{position}].channelValues: "
                                f"contact label {label!r} is not defined",
                            )
        for user in body:
            by_channel = self._channels.setdefault(_int(user["cuid"]), {})
            for channel in user["channels"]:
                by_channel.setdefault(_int(channel["id"]), {}).update(channel["channelValues"])
        return {"code": 0, "msg": "success"}

    def record(
        self,
        *,
        operation: str | None,
        method: str,
        path: str,
        status: int | None,
        code: int | None,
        fault: str | None = None,
        applied: bool = False,
        started: float | None = None,
    ) -> RequestRecord:
        """Add one entry to the request log."""
        duration = 0.0 if started is None else (time.perf_counter() - started) * 1000.0
        with self._log_lock:
            self._request_seq += 1
            entry = RequestRecord(
                self._request_seq, operation, method, path, status, code, fault, applied, round(duration, 3)
            )
            self._requests.append(entry)
        return entry

    # --- reads ------------------------------------------------------------------------------

    def snapshot(self) -> StateSnapshot:
        """A deep copy of everything, taken atomically."""
        with self._lock:
            events = tuple(copy.deepcopy(self._events))
            identities = copy.deepcopy(self._identities)
            attributes = copy.deepcopy(self._attributes)
            channels = copy.deepcopy(self._channels)
            with self._log_lock:  # briefly: the event loop logs every call under this lock
                requests = tuple(self._requests)
            return StateSnapshot(events, self._duplicates, identities, attributes, channels, requests)

    def events(self) -> list[dict[str, Any]]:
        """Copies of the stored events, in arrival order."""
        with self._lock:
            return copy.deepcopy(self._events)

    def attributes(self, cuid: int) -> dict[str, Any]:
        """A copy of one user's attributes (empty if none were set)."""
        with self._lock:
            return copy.deepcopy(self._attributes.get(cuid, {}))

    def channels(self, cuid: int) -> dict[int, dict[str, str]]:
        """A copy of one user's contact values: channel ID -> label -> value."""
        with self._lock:
            return copy.deepcopy(self._channels.get(cuid, {}))

    def cuid_for(self, identity_name: str, value: str) -> int | None:
        """The CUID getCuids gave to one identity value, or ``None``."""
        with self._lock:
            return self._identities.get(identity_name, {}).get(value)

    def requests(self) -> list[RequestRecord]:
        """The request log, oldest first."""
        with self._log_lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget everything received; CUIDs start again at ``first_cuid``."""
        with self._lock, self._log_lock:
            self._clear()


_UNDEFINED = AttributeDef(AttributeType.STRING, AttributeRule.OVERWRITE)
"""How an attribute the settings do not define is stored (``strict_attributes=False``)."""


def _next_value(
    stored: Mapping[str, Any], name: str, rule: AttributeRule, value: Any, members: set[str]
) -> Any:
    """What ``rule`` stores for ``value``; for append, the elements to add. Changes nothing."""
    if rule is AttributeRule.ONCE:
        return stored[name] if name in stored else copy.deepcopy(value)
    if rule is AttributeRule.ACCUMULATE:
        current = stored.get(name, 0)
        total = current + value
        if not _is_number(total):
            raise RequestRejectedError(
                SandboxCode.ATTRIBUTE_TYPE_MISMATCH,
                f"body.data.{name}: adding {short_repr(value)} to the stored {short_repr(current)} gives "
                f"a total outside the NUMBER range ({NUMBER_RANGE}); nothing was changed",
            )
        return total
    if rule is AttributeRule.APPEND:
        return [item for item in dict.fromkeys(value) if item not in members]
    return copy.deepcopy(value)
