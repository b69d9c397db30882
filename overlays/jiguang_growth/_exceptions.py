"""The one exception hierarchy of jiguang_growth.

Every failure a caller can see is a :class:`GrowthError`. Exceptions carry no
credentials: of the request only the method and URL are kept, never its
headers; of an answer its status, headers and (a preview of) its body.
All of them pickle, so they cross process boundaries (Celery, multiprocessing).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "DOCUMENTED_CODES",
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CancelledCallError",
    "ConfigurationError",
    "GrowthError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "error_class_for",
]

BODY_PREVIEW_LIMIT = 512
"""How many characters of an unexpected body an exception keeps."""


def _restore(cls: type[GrowthError], args: tuple[Any, ...], state: dict[str, Any]) -> GrowthError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


def preview(body: bytes | str | None) -> str:
    """Return at most BODY_PREVIEW_LIMIT characters of ``body`` as text."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if len(text) <= BODY_PREVIEW_LIMIT:
        return text
    return text[:BODY_PREVIEW_LIMIT] + f"... [{len(text) - BODY_PREVIEW_LIMIT} more characters]"


def _set_answer(
    error: APIResponseError | APIError,
    status_code: int,
    body: bytes | str | None,
    method: str | None,
    url: str | None,
    *,
    headers: Mapping[str, str] | None,
) -> None:
    """Store what both answer errors keep about the request and its answer."""
    error.status_code = status_code
    error.body = preview(body)
    error.method = method
    error.url = url
    error.headers = {} if headers is None else dict(headers)
    error.attempts = 1


class GrowthError(Exception):
    """Base class of every error raised by jiguang_growth."""

    message: str

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, dict(self.__dict__)))

    def __str__(self) -> str:
        return self.message


class RequestValidationError(GrowthError, ValueError):
    """Input breaks a rule of openapi.yaml; raised before any request is sent.

    ``field`` is a dotted path into the request body (``body.data[3].itime``)
    and ``rule`` the schema keyword that failed (``maximum``, ``pattern`` ...).
    """

    field: str
    rule: str

    def __init__(self, message: str, *, field: str, rule: str) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule


class ConfigurationError(GrowthError, ValueError):
    """The client was set up wrongly (missing credentials, a bad base URL ...).

    Raised by the client constructors, before any request exists.
    """


class APIConnectionError(GrowthError):
    """The request did not get an HTTP answer: DNS, connect, reset, TLS ...

    ``request_sent`` tells whether the request may have reached the server;
    when it is True, a write may already have been applied. ``attempts`` is
    how many attempts the call made, this one included.
    """

    method: str
    url: str
    request_sent: bool
    attempts: int

    def __init__(self, message: str, *, method: str, url: str, request_sent: bool) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.request_sent = request_sent
        self.attempts = 1


class APITimeoutError(APIConnectionError):
    """The request timed out: one read or write took longer than ``timeout``, or the whole
    attempt longer than ``attempt_timeout``."""


class CancelledCallError(APIConnectionError):
    """The call was cancelled from another thread (bulk runs stopping) and not retried.

    ``request_sent`` is True when its last attempt may have been applied.
    """


class APIResponseError(GrowthError):
    """A success status whose answer is not a well-formed envelope.

    The body is not JSON, not an object with an integer ``code``, or its
    ``data`` has the wrong JSON types for the operation. ``method`` and
    ``url`` name the request when the client raised it; ``headers`` are the
    answer's (a plain dict, lower-case names) and ``attempts`` how many
    attempts the call made, this one included.
    """

    status_code: int
    body: str
    method: str | None
    url: str | None
    headers: dict[str, str]
    attempts: int

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: bytes | str | None,
        method: str | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        _set_answer(self, status_code, body, method, url, headers=headers)


class APIError(GrowthError):
    """The API reported a failure: an envelope with ``code != 0``, or a non-2xx status.

    ``code`` and ``msg`` come from the envelope when there is one and are
    ``None`` otherwise (an HTML error page, an empty body). ``retry_after``
    is the answer's ``Retry-After`` in seconds, when it sent one; ``method``
    and ``url`` name the request when the client raised it. ``headers`` are
    the answer's (a plain dict, lower-case names) and ``attempts`` how many
    attempts the call made, this one included.
    """

    code: int | None
    msg: str | None
    status_code: int
    body: str
    retry_after: float | None
    method: str | None
    url: str | None
    headers: dict[str, str]
    attempts: int

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: int | None = None,
        msg: str | None = None,
        body: bytes | str | None = None,
        retry_after: float | None = None,
        method: str | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        _set_answer(self, status_code, body, method, url, headers=headers)
        self.code = code
        self.msg = msg
        self.retry_after = retry_after


class BadRequestError(APIError):
    """HTTP 400."""


class AuthenticationError(APIError):
    """HTTP 401: the project ID or secret was not accepted."""


class PermissionDeniedError(APIError):
    """HTTP 403."""


class NotFoundError(APIError):
    """HTTP 404."""


class RateLimitError(APIError):
    """HTTP 429. ``retry_after`` is the server's ``Retry-After`` in seconds, if it sent one."""


class InternalServerError(APIError):
    """HTTP 500 or above."""


_BY_STATUS: Mapping[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}

DOCUMENTED_CODES: Mapping[int, type[APIError]] = {}
"""Envelope ``code`` values with a documented meaning, each mapped to a class.

Every entry must cite its source. None of the vendor's pages that could be
read lists a failure code for this API (the reference's section 4): the one
failure example stops after ``{"code": 4``, and the codes of JPush and
EngageLab belong to other products. So the table is empty, and a non-zero
``code`` is classified by HTTP status alone, or raises plain :class:`APIError`
when the status is 2xx.
"""


def error_class_for(status_code: int, code: int | None) -> type[APIError]:
    """Pick the exception class for a failed answer."""
    if code is not None and code in DOCUMENTED_CODES:
        return DOCUMENTED_CODES[code]
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    if status_code >= 500:
        return InternalServerError
    return APIError
