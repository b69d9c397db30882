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

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APITimeoutError",
    "AsyncGrowthClient",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "ChannelParam",
    "ConfigurationError",
    "CuidResult",
    "EventParam",
    "GrowthClient",
    "GrowthError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "RequestValidationError",
    "SetUserAttributesParam",
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


def __getattr__(name: str) -> Any:
    """The TypedDicts of ``_params``, imported on first use (``import jiguang_growth`` stays lean)."""
    if name in _PARAMS:
        from . import _params  # noqa: PLC0415

        return getattr(_params, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
