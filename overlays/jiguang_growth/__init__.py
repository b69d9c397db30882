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
from ._hooks import Attempt
from ._operations import CuidResult
from ._response import RawResponse
from ._retry import is_retryable, possibly_applied, retry_delay
from ._version import __version__

if TYPE_CHECKING:
    from ._params import (
        ChannelParam,
        EventParam,
        SetUserAttributesParam,
        UserAttributesParam,
        UserChannelsParam,
    )
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
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "ChannelParam",
    "ConfigurationError",
    "CuidResult",
    "EventOutcome",
    "EventParam",
    "EventReporter",
    "GrowthClient",
    "GrowthError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "ReporterClosedError",
    "ReporterStats",
    "RequestValidationError",
    "SetUserAttributesParam",
    "SpoolError",
    "UserAttributesParam",
    "UserChannelsParam",
    "__version__",
    "is_retryable",
    "possibly_applied",
    "retry_delay",
]

_PARAMS = frozenset(
    {"ChannelParam", "EventParam", "SetUserAttributesParam", "UserAttributesParam", "UserChannelsParam"}
)

_REPORTER = {
    "AsyncEventReporter": "_async_sender",
    "EventOutcome": "_outcomes",
    "EventReporter": "_sender",
    "ReporterClosedError": "_errors",
    "ReporterStats": "_outcomes",
    "SpoolError": "_errors",
}
"""The background reporter's names and their modules under ``_reporter``."""


def __getattr__(name: str) -> Any:
    """The TypedDicts of ``_params`` and the reporter's names, imported on first use (a lean import)."""
    if name in _PARAMS:
        from . import _params  # noqa: PLC0415

        return getattr(_params, name)
    if name in _REPORTER:
        import importlib  # noqa: PLC0415

        value = getattr(importlib.import_module(f"._reporter.{_REPORTER[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
