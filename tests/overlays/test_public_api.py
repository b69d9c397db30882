"""The public names of ``jiguang_growth``, pinned: adding or dropping one is a decision, not an accident."""

from __future__ import annotations

import jiguang_growth

PUBLIC = [
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


def test_all_is_exactly_the_public_names() -> None:
    assert jiguang_growth.__all__ == PUBLIC


def test_every_public_name_exists_and_star_import_gives_exactly_them() -> None:
    for name in PUBLIC:
        assert getattr(jiguang_growth, name, None) is not None, name
    namespace: dict[str, object] = {}
    exec("from jiguang_growth import *", namespace)
    assert sorted(name for name in namespace if name != "__builtins__") == sorted(PUBLIC)
