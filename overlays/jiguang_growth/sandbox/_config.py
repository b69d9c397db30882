"""Settings of one sandbox: credentials, limits, the console's metadata, faults.

The real platform needs user attributes, meta events, identity names and
contact labels to be created in its console before the API accepts them. The
sandbox has no console, so this configuration stands in for it. Limits that
openapi.yaml states (``x-qps-limit``, the CUID range) are read from the spec.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .. import _spec
from .._checks import whole_number
from ._faults import FaultConfig

__all__ = [
    "DEFAULT_ATTRIBUTES",
    "DEFAULT_PROJECT_ID",
    "DEFAULT_PROJECT_SECRET",
    "AttributeDef",
    "AttributeRule",
    "AttributeType",
    "SandboxConfig",
    "load_config",
]

DEFAULT_PROJECT_ID = "100102"
"""The project ID of the vendor's authentication example."""
DEFAULT_PROJECT_SECRET = "sandbox-secret"
"""Fixed, so that commands in the docs work as printed; the sandbox only listens on loopback."""
DEFAULT_FIRST_CUID = 10_000_000_001
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_BODY_TIMEOUT = 10.0
DEFAULT_REQUEST_LOG_LIMIT = 100_000
NAME_LIST_FIELDS = ("event_names", "identity_names", "channel_labels")
"""Settings that list the names the console knows, or are ``None`` (any name)."""
COUNT_FIELDS = ("max_body_bytes", "request_log_limit")
"""Settings that are whole numbers of at least 1."""


class AttributeType(StrEnum):
    """The five attribute data types of the platform."""

    NUMBER = "NUMBER"
    STRING = "STRING"
    BOOL = "BOOL"
    DATETIME = "DATETIME"
    LIST = "LIST"


class AttributeRule(StrEnum):
    """What a write does to a stored user attribute."""

    OVERWRITE = "overwrite"
    """Keep the latest value."""
    ONCE = "once"
    """Keep the first value; ignore later writes."""
    ACCUMULATE = "accumulate"
    """Add the value to the stored total (starting at 0). NUMBER only."""
    APPEND = "append"
    """Add the list's elements that are not stored yet, in order. LIST only."""


ALLOWED_RULES: Mapping[AttributeType, frozenset[AttributeRule]] = {
    AttributeType.NUMBER: frozenset({AttributeRule.OVERWRITE, AttributeRule.ONCE, AttributeRule.ACCUMULATE}),
    AttributeType.STRING: frozenset({AttributeRule.OVERWRITE, AttributeRule.ONCE}),
    AttributeType.BOOL: frozenset({AttributeRule.OVERWRITE, AttributeRule.ONCE}),
    AttributeType.DATETIME: frozenset({AttributeRule.OVERWRITE, AttributeRule.ONCE}),
    AttributeType.LIST: frozenset({AttributeRule.OVERWRITE, AttributeRule.ONCE, AttributeRule.APPEND}),
}
"""The vendor lists overwrite and once for STRING; the rest of its list could not be read.
Accumulate needs numbers and append needs lists, so they are allowed only there."""


@dataclass(frozen=True)
class AttributeDef:
    """A user attribute as the console would define it."""

    type: AttributeType
    rule: AttributeRule = AttributeRule.OVERWRITE

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", _attribute_type(self.type))
        object.__setattr__(self, "rule", _attribute_rule(self.rule))
        if self.rule not in ALLOWED_RULES[self.type]:
            allowed = ", ".join(sorted(ALLOWED_RULES[self.type]))
            raise ValueError(
                f"rule {self.rule} does not apply to {self.type} attributes (allowed: {allowed})"
            )

    @classmethod
    def parse(cls, value: AttributeDef | Mapping[str, Any] | str) -> AttributeDef:
        """Read ``{"type": "NUMBER", "rule": "accumulate"}`` or ``"NUMBER:accumulate"``.

        The rule defaults to overwrite.
        """
        if isinstance(value, AttributeDef):
            return value
        if isinstance(value, str):
            type_name, _, rule = value.partition(":")
            return cls(_attribute_type(type_name.strip()), _attribute_rule(rule.strip() or "overwrite"))
        unknown = set(value) - {"type", "rule"}
        if unknown or "type" not in value:
            raise ValueError(f"an attribute definition needs 'type' and may have 'rule', got {dict(value)!r}")
        return cls(_attribute_type(value["type"]), _attribute_rule(value.get("rule", "overwrite")))


def _attribute_type(value: object) -> AttributeType:
    """The type a name stands for, in any case (``number`` is ``NUMBER``)."""
    return AttributeType(str(value).upper())


def _attribute_rule(value: object) -> AttributeRule:
    """The rule a name stands for, in any case (``ONCE`` is ``once``)."""
    return AttributeRule(str(value).lower())


def _definitions(items: Mapping[str, tuple[AttributeType, AttributeRule]]) -> Mapping[str, AttributeDef]:
    return MappingProxyType({name: AttributeDef(kind, rule) for name, (kind, rule) in items.items()})


DEFAULT_ATTRIBUTES: Mapping[str, AttributeDef] = _definitions(
    {
        # The names of the vendor's example request.
        "user_number_once": (AttributeType.NUMBER, AttributeRule.ONCE),
        "user_string_once": (AttributeType.STRING, AttributeRule.ONCE),
        "user_datetime_once": (AttributeType.DATETIME, AttributeRule.ONCE),
        # One attribute per remaining type and rule, for first tries.
        "user_level": (AttributeType.NUMBER, AttributeRule.OVERWRITE),
        "nickname": (AttributeType.STRING, AttributeRule.OVERWRITE),
        "is_vip": (AttributeType.BOOL, AttributeRule.OVERWRITE),
        "last_login": (AttributeType.DATETIME, AttributeRule.OVERWRITE),
        "total_spend": (AttributeType.NUMBER, AttributeRule.ACCUMULATE),
        "tags": (AttributeType.LIST, AttributeRule.APPEND),
    }
)
"""Attributes a sandbox knows when its configuration names none."""


def _name_pattern() -> str:
    pattern: str = _spec.schema("UserAttributes")[_spec.KEY_PATTERN_EXTENSION]
    return pattern


def _check_credentials(project_id: object, project_secret: object) -> None:
    for name, value in (("project_id", project_id), ("project_secret", project_secret)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string")
    if ":" in str(project_id):
        raise ValueError("project_id must not contain ':' (HTTP Basic uses it as the separator)")


def _qps_limits(qps_limit: object, qps_limits: Mapping[str, int]) -> Mapping[str, int]:
    """The per-operation limits, checked; ``qps_limit`` (the one for all) is checked too."""
    operations = _spec.operations()
    limits = dict(qps_limits)
    unknown = set(limits) - set(operations)
    if unknown:
        raise ValueError(
            f"qps_limits names unknown operations {sorted(unknown)}; known: {sorted(operations)}"
        )
    for name, limit in [("qps_limit", qps_limit), *limits.items()]:
        if limit is not None:
            whole_number(f"QPS limit {name}", limit, 1)
    return MappingProxyType(limits)


def _check_first_cuid(first_cuid: object) -> None:
    largest = int(_spec.schema("Cuid")["maximum"])
    if not 1 <= whole_number("first_cuid", first_cuid) <= largest:
        raise ValueError(f"first_cuid must be 1..{largest} (the spec's CUID range), got {first_cuid}")


def _attributes(
    attributes: Mapping[str, AttributeDef | Mapping[str, Any] | str],
) -> Mapping[str, AttributeDef]:
    """The definitions read with :meth:`AttributeDef.parse`; every name must follow the spec's rule."""
    pattern = _name_pattern()
    definitions = {str(name): AttributeDef.parse(value) for name, value in dict(attributes).items()}
    for name in definitions:
        if not re.search(pattern, name):
            raise ValueError(f"attribute name {name!r} breaks the name rule {pattern}")
    return MappingProxyType(definitions)


def _faults(faults: object) -> FaultConfig:
    if isinstance(faults, Mapping):
        return FaultConfig.from_dict(faults)
    if not isinstance(faults, FaultConfig):
        raise ValueError(f"faults must be a FaultConfig, got {type(faults).__name__}")
    return faults


def _names(value: Any, what: str) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(item, str) and item for item in value):
        raise ValueError(f"{what} must be a list of non-empty strings or null, got {value!r}")
    return frozenset(value)


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that decides how one sandbox behaves (not where it listens)."""

    project_id: str = DEFAULT_PROJECT_ID
    project_secret: str = field(default=DEFAULT_PROJECT_SECRET, repr=False)
    qps_limit: int | None = None
    """Calls per rolling second for every operation; ``None`` uses each one's ``x-qps-limit``."""
    qps_limits: Mapping[str, int] = field(default_factory=dict)
    """Per-operation limits by operationId; they win over ``qps_limit``."""
    first_cuid: int = DEFAULT_FIRST_CUID
    """The CUID given to the first identity value never seen before; later ones count up."""
    attributes: Mapping[str, AttributeDef] = field(default_factory=lambda: DEFAULT_ATTRIBUTES)
    """User attributes "created in the console": name -> type and rule."""
    strict_attributes: bool = True
    """Reject writes of attributes missing from ``attributes`` (as the platform requires them to
    exist). When False they are stored with the overwrite rule and any type."""
    event_names: frozenset[str] | None = None
    """Meta events that may be reported; ``None`` accepts any name the spec allows."""
    identity_names: frozenset[str] | None = None
    """Identity names getCuids accepts; ``None`` accepts any."""
    channel_labels: frozenset[str] | None = None
    """Contact labels setUserChannels accepts; ``None`` accepts any."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """Larger bodies get 413 without being read."""
    body_timeout_seconds: float = DEFAULT_BODY_TIMEOUT
    """A body that has not fully arrived after this long gets 408."""
    request_log_limit: int = DEFAULT_REQUEST_LOG_LIMIT
    """How many request records the inspection view keeps (the oldest go first)."""
    faults: FaultConfig = field(default_factory=FaultConfig)

    def __post_init__(self) -> None:
        _check_credentials(self.project_id, self.project_secret)
        object.__setattr__(self, "qps_limits", _qps_limits(self.qps_limit, self.qps_limits))
        _check_first_cuid(self.first_cuid)
        object.__setattr__(self, "attributes", _attributes(self.attributes))
        for name in NAME_LIST_FIELDS:
            object.__setattr__(self, name, _names(getattr(self, name), name))
        for name in COUNT_FIELDS:
            whole_number(name, getattr(self, name), 1)
        if not isinstance(self.body_timeout_seconds, int | float) or self.body_timeout_seconds <= 0:
            raise ValueError(f"body_timeout_seconds must be positive, got {self.body_timeout_seconds!r}")
        object.__setattr__(self, "faults", _faults(self.faults))

    def limit_for(self, operation_id: str) -> int:
        """The calls-per-second limit of one operation."""
        if operation_id in self.qps_limits:
            return self.qps_limits[operation_id]
        if self.qps_limit is not None:
            return self.qps_limit
        return _spec.operation(operation_id).qps_limit

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SandboxConfig:
        """Build a configuration from parsed JSON/YAML; keys are the field names."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a sandbox configuration must be an object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown sandbox settings {sorted(unknown)}; known: {sorted(known)}")
        values = dict(data)
        if "faults" in values:
            values["faults"] = FaultConfig.from_dict(values["faults"] or {})
        return cls(**values)


def load_config(path: str | Path) -> SandboxConfig:
    """Read a configuration file: JSON, or YAML when it ends in .yaml/.yml (needs PyYAML)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in {".yaml", ".yml"}:
        try:
            import yaml  # noqa: PLC0415 - optional dependency
        except ImportError:
            raise ValueError(f"{path}: reading YAML needs PyYAML (pip install pyyaml), or use JSON") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML: {error}") from None
    else:
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ValueError(f"{path}: not valid JSON: {error}") from None
    try:
        return SandboxConfig.from_dict(data or {})
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from None
