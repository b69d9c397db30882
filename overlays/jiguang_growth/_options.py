"""Per-call and per-client request options: ``timeout``, ``max_retries``, headers; checked before sending.

Headers given by the caller (``default_headers``, ``extra_headers``) may add
or replace any header except ``Authorization``: the credentials come from
``project_id`` and ``project_secret`` alone, so a stray header can never send
a call under another project. Nor the framing headers httpx writes from the
body and the URL (``Content-Length``, ``Transfer-Encoding``, ``Host``), which
a wrong value would corrupt. Asking for one is a :class:`ConfigurationError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import NamedTuple

import httpx

from ._call import CallSetup
from ._config import check_max_retries
from ._exceptions import ConfigurationError

__all__ = ["CallOptions", "check_headers", "check_timeout", "merge_headers", "per_call"]

Timeout = float | httpx.Timeout

_FRAMING = frozenset(("content-length", "transfer-encoding", "host"))
_TIMEOUT_PARTS = ("connect", "read", "write", "pool")


class CallOptions(NamedTuple):
    """What one call is sent with: its route, its request headers and its timeout."""

    route: CallSetup
    headers: dict[str, str] | None
    """Headers to send on top of the HTTP client's own; ``None``: only those."""
    timeout: Timeout | None
    """``None``: the HTTP client's timeout."""


def check_timeout(timeout: object, name: str = "timeout") -> Timeout:
    """``timeout`` if it is a positive, finite number of seconds, or an ``httpx.Timeout`` of such parts."""
    if isinstance(timeout, httpx.Timeout):
        for part in _TIMEOUT_PARTS:
            value = getattr(timeout, part)
            if value is not None and not _positive(value):
                raise ConfigurationError(
                    f"{name}.{part} must be a positive, finite number of seconds or None, got {value!r}"
                )
        return timeout
    if not _positive(timeout):
        raise ConfigurationError(
            f"{name} must be a positive, finite number of seconds or an httpx.Timeout, got {timeout!r}"
        )
    return float(timeout)  # type: ignore[arg-type]


def _positive(value: object) -> bool:
    return type(value) in (int, float) and math.isfinite(value) and value > 0  # type: ignore[arg-type,operator]


def check_headers(headers: object, name: str) -> dict[str, str]:
    """``headers`` as a dict with lower-case names; not a mapping of strings, or Authorization: raise."""
    if not isinstance(headers, Mapping):
        raise ConfigurationError(
            f"{name} must be a mapping of header names to values, got {type(headers).__name__}"
        )
    checked: dict[str, str] = {}
    for key, value in headers.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigurationError(
                f"{name} must map strings to strings, got {key!r}: {type(value).__name__}"
            )
        if any(c in key or c in value for c in "\r\n\0") or not key.strip():
            raise ConfigurationError(f"{name} has an invalid header {key!r} (empty, or a line break)")
        if key.lower() == "authorization":
            raise ConfigurationError(
                f"{name} must not set Authorization: the client sends project_id and project_secret"
            )
        if key.lower() in _FRAMING:
            raise ConfigurationError(f"{name} must not set {key}: httpx writes it from the request")
        checked[key.lower()] = value
    return checked


def merge_headers(base: dict[str, str] | None, extra: dict[str, str]) -> dict[str, str] | None:
    """``extra`` (lower-case names) on top of ``base``, whose names need not be lower-case."""
    if not extra:
        return base
    if base is None:
        return extra
    return {**{key.lower(): value for key, value in base.items()}, **extra}


def per_call(
    route: CallSetup,
    headers: dict[str, str] | None,
    timeout: Timeout | None,
    *,
    call_timeout: object,
    call_max_retries: object,
    extra_headers: object,
) -> CallOptions:
    """The options of one call: the client's, with those given to the method on top (checked)."""
    if call_timeout is not None:
        timeout = check_timeout(call_timeout)
    if call_max_retries is not None:
        route = replace(route, max_retries=check_max_retries(call_max_retries))
    if extra_headers is not None:
        headers = merge_headers(headers, check_headers(extra_headers, "extra_headers"))
    return CallOptions(route, headers, timeout)
