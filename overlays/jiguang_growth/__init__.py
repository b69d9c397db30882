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
from ._operations import CuidResult
from ._retry import is_retryable, possibly_applied, retry_delay

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APITimeoutError",
    "AsyncGrowthClient",
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
    "RequestValidationError",
    "is_retryable",
    "possibly_applied",
    "retry_delay",
]
