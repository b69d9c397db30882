"""Seeded, reproducible fault injection for the four API operations.

Every call to an operation that passed authentication and the rate limit takes
two numbers from a ``random.Random(seed)``: one for added latency, one that
picks at most one fault. The n-th such call therefore meets the same fault for
the same :class:`FaultConfig`, whatever the requests contain. Under concurrent
calls the order is the order in which the calls reach the sandbox.

Whether the write happened before the failure is fixed per kind of fault
(:attr:`Fault.applies_write`):

========================  ==================================================  =======
fault                     answer                                              applied
========================  ==================================================  =======
error 429 / 503           envelope with that status and ``Retry-After``       no
error 4xx (other)         envelope with that status                           no
error 5xx (not 503)       envelope with that status                           yes
``drop``                  connection closed without an answer                 no
``html``                  502 with an HTML page, as a proxy would send        yes
``truncated``             the real answer, its JSON body cut in half          yes
``timeout``               no answer for ``hang_seconds``, then closed         yes
========================  ==================================================  =======

"Applied" faults first process the request exactly as without a fault, so a
client faces the real ambiguity of not knowing whether its write landed.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeGuard

from .. import _spec
from .._checks import whole_number

__all__ = ["NO_FAULT", "Draw", "Fault", "FaultConfig", "FaultInjector", "FaultKind"]

REFUSING_STATUSES = frozenset({429, 503})
"""Injected statuses that say "refused, try later": they carry ``Retry-After``."""


class FaultKind(StrEnum):
    ERROR = "error"
    """An envelope with an error status (``Fault.status``)."""
    HTML = "html"
    """A 502 with an HTML body instead of JSON."""
    TRUNCATED = "truncated"
    """The real answer (200 on success) with its JSON body stopping half-way."""
    DROP = "drop"
    """The connection is closed without any answer."""
    TIMEOUT = "timeout"
    """The request is applied, then the connection stays silent, then is closed."""


MALFORMED_KINDS = (FaultKind.HTML, FaultKind.TRUNCATED)


@dataclass(frozen=True)
class Fault:
    """One fault to inject into one call."""

    kind: FaultKind
    status: int | None = None
    """The HTTP status of an ``ERROR`` fault; ``None`` for the other kinds."""

    def __post_init__(self) -> None:
        if (self.kind is FaultKind.ERROR) != (self.status is not None):
            raise ValueError("an error fault needs a status, and only an error fault has one")
        if self.status is not None:
            _check_status(self.status)

    @property
    def applies_write(self) -> bool:
        """Whether the request is applied to the state before the fault answers."""
        if self.kind is FaultKind.ERROR:
            assert self.status is not None
            return self.status >= 500 and self.status not in REFUSING_STATUSES
        return self.kind is not FaultKind.DROP

    @property
    def label(self) -> str:
        """``"503"``, ``"drop"``, ``"html"`` ...; the form :meth:`parse` reads."""
        return str(self.status) if self.status is not None else self.kind.value

    @classmethod
    def error(cls, status: int) -> Fault:
        return cls(FaultKind.ERROR, status)

    @classmethod
    def parse(cls, value: Fault | FaultKind | str | int) -> Fault:
        """A fault from ``503``, ``"503"``, ``"drop"``, ``"html"``, ``"truncated"`` or ``"timeout"``."""
        if isinstance(value, Fault):
            return value
        if isinstance(value, FaultKind):
            return cls(value)
        text = str(value).strip().lower()
        if text.isdigit():
            return cls.error(int(text))
        try:
            kind = FaultKind(text)
        except ValueError:
            names = ", ".join(k.value for k in FaultKind if k is not FaultKind.ERROR)
            raise ValueError(
                f"unknown fault {value!r}: use an HTTP status (e.g. 503) or one of {names}"
            ) from None
        return cls(kind)


RATE_FIELDS = ("malformed_rate", "drop_rate", "timeout_after_receipt_rate")
"""The rates besides ``error_rates``; all rates together are at most 1."""
DURATION_FIELDS = ("latency_ms", "latency_jitter_ms", "hang_seconds")
LONGEST_RETRY_AFTER = 3600


def _check_status(status: int) -> None:
    _check_between("an injected error status", status, 400, 599)


def _check_between(name: str, value: object, low: int, high: int) -> None:
    if not low <= whole_number(name, value) <= high:
        raise ValueError(f"{name} must be {low}..{high}, got {value!r}")


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_rate(name: str, rate: object) -> None:
    if not (_is_number(rate) and 0.0 <= rate <= 1.0):
        raise ValueError(f"{name} must be a number from 0 to 1, got {rate!r}")


def _check_duration(name: str, value: object) -> None:
    if not (_is_number(value) and value >= 0):
        raise ValueError(f"{name} must be a number of at least 0, got {value!r}")


def _error_rates(error_rates: Mapping[int, float]) -> Mapping[int, float]:
    rates = {int(status): float(rate) for status, rate in dict(error_rates).items()}
    for status, rate in rates.items():
        _check_status(status)
        _check_rate(f"error rate of {status}", rate)
    return MappingProxyType(dict(sorted(rates.items())))


def _malformed_kinds(values: Iterable[FaultKind | str]) -> tuple[FaultKind, ...]:
    kinds = tuple(FaultKind(kind) for kind in values)
    if not kinds or any(kind not in MALFORMED_KINDS for kind in kinds):
        raise ValueError(f"malformed_kinds must be a non-empty choice of html, truncated; got {kinds!r}")
    return kinds


def _operations(values: Iterable[str]) -> frozenset[str]:
    operations = frozenset(values)
    unknown = operations - set(_spec.operations())
    if unknown:
        raise ValueError(f"unknown operations in faults.operations: {sorted(unknown)}")
    return operations


@dataclass(frozen=True)
class FaultConfig:
    """What to inject, and how often. The default injects nothing."""

    seed: int = 0
    latency_ms: float = 0.0
    """Added to every call before it is processed."""
    latency_jitter_ms: float = 0.0
    """A further random 0..jitter milliseconds per call."""
    error_rates: Mapping[int, float] = field(default_factory=dict)
    """HTTP status -> share of calls answered with it, e.g. ``{503: 0.05, 429: 0.02}``."""
    malformed_rate: float = 0.0
    """Share of calls answered with a malformed body of one of ``malformed_kinds``."""
    malformed_kinds: tuple[FaultKind, ...] = MALFORMED_KINDS
    drop_rate: float = 0.0
    """Share of calls whose connection is closed without an answer (not applied)."""
    timeout_after_receipt_rate: float = 0.0
    """Share of calls that are applied and then never answered (see ``hang_seconds``)."""
    hang_seconds: float = 30.0
    """How long a ``timeout`` fault keeps the connection silent before closing it."""
    retry_after_seconds: int = 1
    """``Retry-After`` of injected 429 and 503 answers."""
    operations: frozenset[str] | None = None
    """operationIds that faults hit; ``None`` means all four."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "error_rates", _error_rates(self.error_rates))
        for name in RATE_FIELDS:
            _check_rate(name, getattr(self, name))
        total = sum([*self.error_rates.values(), *(getattr(self, name) for name in RATE_FIELDS)])
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {total:g}; at most 1 is possible")
        object.__setattr__(self, "malformed_kinds", _malformed_kinds(self.malformed_kinds))
        for name in DURATION_FIELDS:
            _check_duration(name, getattr(self, name))
        _check_between("retry_after_seconds", self.retry_after_seconds, 0, LONGEST_RETRY_AFTER)
        whole_number("seed", self.seed)
        if self.operations is not None:
            object.__setattr__(self, "operations", _operations(self.operations))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultConfig:
        """Read the ``faults`` section of a configuration file (keys as the field names)."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}; known: {sorted(known)}")
        values = dict(data)
        if "error_rates" in values:
            values["error_rates"] = {int(k): v for k, v in dict(values["error_rates"]).items()}
        if "malformed_kinds" in values:
            values["malformed_kinds"] = tuple(values["malformed_kinds"])
        if values.get("operations") is not None:
            values["operations"] = frozenset(values["operations"])
        return cls(**values)

    @property
    def active(self) -> bool:
        """Whether this configuration injects anything at all."""
        return bool(
            self.latency_ms
            or self.latency_jitter_ms
            or any(self.error_rates.values())
            or self.malformed_rate
            or self.drop_rate
            or self.timeout_after_receipt_rate
        )

    def pick(self, number: float) -> Fault | None:
        """The fault for a uniform ``number`` in [0, 1): each fault owns a band of its rate's width."""
        edge = 0.0
        for status, rate in self.error_rates.items():
            edge += rate
            if number < edge:
                return Fault.error(status)
        if number < edge + self.malformed_rate:
            share = (number - edge) / self.malformed_rate
            kinds = self.malformed_kinds
            return Fault(kinds[min(int(share * len(kinds)), len(kinds) - 1)])
        edge += self.malformed_rate
        for rate, kind in (
            (self.drop_rate, FaultKind.DROP),
            (self.timeout_after_receipt_rate, FaultKind.TIMEOUT),
        ):
            edge += rate
            if number < edge:
                return Fault(kind)
        return None


@dataclass(frozen=True)
class Draw:
    """What one call meets: an added delay and at most one fault."""

    latency_seconds: float
    fault: Fault | None
    retry_after_seconds: int
    hang_seconds: float


NO_FAULT = Draw(0.0, None, 1, 0.0)


class FaultInjector:
    """The live fault settings of one sandbox; safe to change from any thread while it runs."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._config = config or FaultConfig()
        self._random = random.Random(self._config.seed)
        self._forced: deque[Fault | None] = deque()

    @property
    def config(self) -> FaultConfig:
        return self._config

    def configure(self, config: FaultConfig | None = None, /, **changes: Any) -> FaultConfig:
        """Replace the settings (a whole ``FaultConfig``, or changes to the current one).

        The random sequence restarts from the configuration's seed, so the same
        settings give the same faults again. Forced faults stay queued.
        """
        with self._lock:
            base = config or self._config
            new = replace(base, **changes) if changes else base
            self._config = new
            self._random = random.Random(new.seed)
        return new

    def clear(self) -> None:
        """Inject nothing from now on, and forget forced faults."""
        with self._lock:
            self._config = FaultConfig()
            self._random = random.Random(0)
            self._forced.clear()

    def force(self, *faults: Fault | FaultKind | str | int | None) -> None:
        """Make the next calls meet these faults, in order (``None``: no fault for that call).

        Forced faults hit any operation, ignore ``operations`` and do not advance
        the random sequence; random faults resume once the queue is empty.
        """
        parsed = [None if fault is None else Fault.parse(fault) for fault in faults]
        with self._lock:
            self._forced.extend(parsed)

    @property
    def pending(self) -> int:
        """How many forced faults are still queued."""
        with self._lock:
            return len(self._forced)

    def draw(self, operation_id: str) -> Draw:
        """The latency and fault for the next call to ``operation_id``."""
        with self._lock:
            config = self._config
            if self._forced:
                fault = self._forced.popleft()
                latency = config.latency_ms / 1000.0
            else:
                if config.operations is not None and operation_id not in config.operations:
                    return NO_FAULT
                if not config.active:
                    return NO_FAULT
                jitter, number = self._random.random(), self._random.random()
                latency = (config.latency_ms + jitter * config.latency_jitter_ms) / 1000.0
                fault = config.pick(number)
            return Draw(latency, fault, config.retry_after_seconds, config.hang_seconds)

    def preview(self, count: int) -> list[Fault | None]:
        """The next ``count`` random faults, without using them up (forced faults not included)."""
        with self._lock:
            probe = random.Random()
            probe.setstate(self._random.getstate())
            config = self._config
        if not config.active:
            return [None] * count
        found: list[Fault | None] = []
        for _ in range(count):
            probe.random()
            found.append(config.pick(probe.random()))
        return found


def parse_error_rates(items: Iterable[str]) -> dict[int, float]:
    """``["503=0.05", "429=0.02"]`` -> ``{503: 0.05, 429: 0.02}`` (the CLI's ``--error-rate``)."""
    rates: dict[int, float] = {}
    for item in items:
        status, sep, rate = item.partition("=")
        try:
            if not sep:
                raise ValueError
            rates[int(status)] = float(rate)
        except ValueError:
            raise ValueError(f"expected STATUS=RATE such as 503=0.05, got {item!r}") from None
    return rates
