"""Client settings: arguments, then environment variables, then defaults; checked once."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlsplit, urlunsplit

import httpx

from . import _spec
from ._checks import whole_number
from ._exceptions import ConfigurationError
from ._version import __version__

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "ENV_BASE_URL",
    "ENV_PROJECT_ID",
    "ENV_PROJECT_SECRET",
    "Settings",
    "check_attempt_timeout",
    "check_max_response_bytes",
    "resolve",
]

logger = logging.getLogger("jiguang_growth")

ENV_PROJECT_ID = "JIGUANG_PROJECT_ID"
ENV_PROJECT_SECRET = "JIGUANG_PROJECT_SECRET"
ENV_BASE_URL = "JIGUANG_GROWTH_BASE_URL"

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
"""10 s to send or read, 5 s to connect."""
DEFAULT_MAX_RETRIES = 2

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class Settings:
    project_id: str
    project_secret: str = field(repr=False)
    base_url: str
    """Scheme, host and any path prefix, without the API's base path."""
    api_url: str
    """``base_url`` followed by the API's base path; operation paths go after it."""
    max_retries: int


def resolve(
    project_id: str | None,
    project_secret: str | None,
    base_url: str | None,
    max_retries: int,
) -> Settings:
    """Fill in what was not passed from the environment and defaults, and check it all."""
    project_id = _credential("project_id", project_id, ENV_PROJECT_ID)
    if ":" in project_id:
        raise ConfigurationError("project_id must not contain ':' (HTTP Basic uses it as the separator)")
    project_secret = _credential("project_secret", project_secret, ENV_PROJECT_SECRET)
    check_max_retries(max_retries)
    root, api_url = _api_url(base_url if base_url is not None else os.environ.get(ENV_BASE_URL) or None)
    return Settings(project_id, project_secret, root, api_url, max_retries)


def check_max_retries(max_retries: object) -> int:
    """``max_retries`` if it is a whole number of at least 0; otherwise raise."""
    return whole_number("max_retries", max_retries, 0, ConfigurationError)


def check_attempt_timeout(attempt_timeout: object) -> float | None:
    """``attempt_timeout`` if it is ``None`` or a finite number of seconds above 0; otherwise raise."""
    if attempt_timeout is None:
        return None
    if isinstance(attempt_timeout, bool) or not isinstance(attempt_timeout, int | float):
        raise ConfigurationError(
            f"attempt_timeout must be a number of seconds or None, got {type(attempt_timeout).__name__}"
        )
    if not math.isfinite(attempt_timeout) or attempt_timeout <= 0:
        raise ConfigurationError(f"attempt_timeout must be a finite number above 0, got {attempt_timeout!r}")
    return float(attempt_timeout)


def check_max_response_bytes(max_response_bytes: object) -> int:
    """``max_response_bytes`` if it is a whole number of at least 1; otherwise raise."""
    return whole_number("max_response_bytes", max_response_bytes, 1, ConfigurationError)


def _credential(name: str, value: str | None, variable: str) -> str:
    if value is None:
        value = os.environ.get(variable)
    if value is None or value == "":
        raise ConfigurationError(
            f"{name} is missing: pass {name}=... or set the {variable} environment variable"
        )
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a string, got {type(value).__name__}")
    return value


def _api_url(base_url: str | None) -> tuple[str, str]:
    """``(base_url, api_url)``; a base URL that already ends with the base path keeps it once."""
    if base_url is None:
        base_url = _spec.default_base_url()
    if not isinstance(base_url, str):
        raise ConfigurationError(f"base_url must be a string, got {type(base_url).__name__}")
    parts = urlsplit(base_url.strip())
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError("base_url must not contain credentials; pass project_id and project_secret")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigurationError(f"base_url has an invalid port: {base_url!r}") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base_url must not have a query or fragment, got {base_url!r}")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        logger.warning("base_url %s is plain HTTP: the credentials travel unencrypted", base_url)
    path = parts.path.rstrip("/")
    base_path = _spec.base_path()
    if path.endswith(base_path):
        path = path[: -len(base_path)]
    root = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    return root, root + base_path


@cache
def user_agent() -> str:
    """Default User-Agent: this package's version and httpx's."""
    return f"jiguang-growth/{__version__} python-httpx/{httpx.__version__}"
