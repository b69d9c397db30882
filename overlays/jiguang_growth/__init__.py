"""Typed, production-grade Python client for the Jiguang Operation Growth REST API."""

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
    from ._reporter import (
        AsyncEventReporter,
        EventOutcome,
        EventReporter,
        ReporterClosedError,
        ReporterStats,
        SpoolError,
    )

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

_REPORTER_NAMES = frozenset(
    {
        "AsyncEventReporter",
        "EventOutcome",
        "EventReporter",
        "ReporterClosedError",
        "ReporterStats",
        "SpoolError",
    }
)


def __getattr__(name: str) -> Any:
    """The reporter's names, imported on first use (``import jiguang_growth`` stays as quick)."""
    if name in _REPORTER_NAMES:
        from . import _reporter  # noqa: PLC0415

        value = getattr(_reporter, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
