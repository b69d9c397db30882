"""Envelope ``code`` values of the sandbox: sandbox only, not vendor codes.

The vendor documents no failure codes for this API (the only failure example
stops after ``{"code": 4``), so these codes are the sandbox's own choice. They
follow one pattern: the HTTP status times 100, plus a small number. A fault
injected on purpose answers with the status times 100 plus 99 (``50399`` for
an injected 503), so a test can tell it from a real rejection. Never rely on
these values against the real API.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum

__all__ = ["INJECTED_SUFFIX", "SandboxCode", "injected_code"]

INJECTED_SUFFIX = 99
"""Last two digits of the code of an injected fault answer."""


class SandboxCode(IntEnum):
    """One envelope ``code`` of the sandbox, with its HTTP status and meaning."""

    OK = 0
    INVALID_JSON = 40001
    INVALID_REQUEST = 40002
    UNKNOWN_ATTRIBUTE = 40003
    ATTRIBUTE_TYPE_MISMATCH = 40004
    UNKNOWN_EVENT = 40005
    UNKNOWN_IDENTITY = 40006
    UNKNOWN_CHANNEL_LABEL = 40007
    CORS_REJECTED = 40008
    UNAUTHORIZED = 40100
    NOT_FOUND = 40400
    METHOD_NOT_ALLOWED = 40500
    BODY_TIMEOUT = 40800
    BODY_TOO_LARGE = 41300
    UNSUPPORTED_MEDIA_TYPE = 41500
    HOST_NOT_ALLOWED = 42100
    RATE_LIMITED = 42900
    INTERNAL_ERROR = 50000

    @property
    def status(self) -> int:
        """The HTTP status that goes with this code."""
        return _TABLE[self][0]

    @property
    def meaning(self) -> str:
        """One line saying when the sandbox answers with this code."""
        return _TABLE[self][1]


_TABLE: Mapping[SandboxCode, tuple[int, str]] = {
    SandboxCode.OK: (200, "success"),
    SandboxCode.INVALID_JSON: (400, "the body is empty, not UTF-8, or not JSON"),
    SandboxCode.INVALID_REQUEST: (400, "the body breaks openapi.yaml; `msg` names the field and the rule"),
    SandboxCode.UNKNOWN_ATTRIBUTE: (400, "a user attribute is not defined in the sandbox configuration"),
    SandboxCode.ATTRIBUTE_TYPE_MISMATCH: (
        400,
        "a user attribute value does not fit its configured type or rule",
    ),
    SandboxCode.UNKNOWN_EVENT: (400, "an event name is not in the configured `event_names`"),
    SandboxCode.UNKNOWN_IDENTITY: (400, "the identity name is not in the configured `identity_names`"),
    SandboxCode.UNKNOWN_CHANNEL_LABEL: (400, "a contact label is not in the configured `channel_labels`"),
    SandboxCode.CORS_REJECTED: (400, "a CORS preflight from a non-loopback origin or asking for more"),
    SandboxCode.UNAUTHORIZED: (401, "no, malformed or wrong HTTP Basic credentials"),
    SandboxCode.NOT_FOUND: (404, "no such path"),
    SandboxCode.METHOD_NOT_ALLOWED: (
        405,
        "wrong method for the path; the `Allow` header lists the right one",
    ),
    SandboxCode.BODY_TIMEOUT: (408, "the body did not arrive within `body_timeout_seconds`"),
    SandboxCode.BODY_TOO_LARGE: (413, "the body is larger than `max_body_bytes`"),
    SandboxCode.UNSUPPORTED_MEDIA_TYPE: (415, "a `Content-Type` other than JSON"),
    SandboxCode.HOST_NOT_ALLOWED: (
        421,
        "the `Host` header is not 127.0.0.1, localhost or [::1] with the sandbox's port (DNS rebinding)",
    ),
    SandboxCode.RATE_LIMITED: (429, "over the operation's calls-per-second limit; see `Retry-After`"),
    SandboxCode.INTERNAL_ERROR: (500, "a bug in the sandbox; the details go to its log, never to the answer"),
}


def injected_code(status: int) -> int:
    """The envelope code of a fault injected with HTTP ``status``, e.g. 50399 for 503."""
    return status * 100 + INJECTED_SUFFIX
