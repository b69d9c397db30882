"""Typed, production-grade Python client for the Jiguang Operation Growth REST API."""

import importlib
from typing import TYPE_CHECKING, Any

from ._client import AsyncGrowthClient, GrowthClient
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    GrowthError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
)
from ._results import CuidResult

if TYPE_CHECKING:
    from ._reporter._async_sender import AsyncEventReporter
    from ._reporter._errors import ReporterClosedError, SpoolError
    from ._reporter._outcomes import EventOutcome, ReporterStats
    from ._reporter._sender import EventReporter

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APITimeoutError",
    "AsyncEventReporter",
    "AsyncGrowthClient",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "CuidResult",
    "EventOutcome",
    "EventReporter",
    "GrowthClient",
    "GrowthError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReporterClosedError",
    "ReporterStats",
    "RequestValidationError",
    "SpoolError",
]

_LAZY = {
    "AsyncEventReporter": "._reporter._async_sender",
    "EventOutcome": "._reporter._outcomes",
    "EventReporter": "._reporter._sender",
    "ReporterClosedError": "._reporter._errors",
    "ReporterStats": "._reporter._outcomes",
    "SpoolError": "._reporter._errors",
}
"""The reporter's names, imported on first use, so ``import jiguang_growth`` costs no more for them."""


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value
