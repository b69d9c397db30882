"""Typed, production-grade Python client for the Jiguang Operation Growth REST API."""

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

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APITimeoutError",
    "AsyncGrowthClient",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "CuidResult",
    "GrowthClient",
    "GrowthError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "RequestValidationError",
    "is_retryable",
    "possibly_applied",
    "retry_delay",
]
