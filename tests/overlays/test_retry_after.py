"""``Retry-After`` is a delay only in the two forms RFC 9110 allows; anything else counts as absent."""

from __future__ import annotations

import httpx
import pytest

from jiguang_growth import APIError, InternalServerError, _retry
from jiguang_growth._retry import parse_retry_after

from .conftest import OPS, Harness, envelope

NOW = 784111777.0  # Sun, 06 Nov 1994 08:49:37 GMT


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("10", 10.0),
        ("  10\t", 10.0),  # optional whitespace around a field value (RFC 9110 5.5)
        ("0000000000000000000000012", 12.0),
        ("9" * 5000, float(_retry.LONGEST_DELTA_SECONDS)),  # beyond int()'s digit limit
        ("Sun, 06 Nov 1994 08:50:37 GMT", 60.0),  # IMF-fixdate
        ("Sunday, 06-Nov-94 08:50:37 GMT", 60.0),  # obsolete RFC 850 form
        ("Sun Nov  6 08:50:37 1994", 60.0),  # obsolete asctime form
        ("Sun, 06 Nov 1994 08:00:00 GMT", 0.0),  # in the past
    ],
)
def test_delta_seconds_and_http_dates_are_delays(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize(
    "value",
    [
        "1_0",
        "1e3",
        "-1",
        "+5",
        "1.5",
        "inf",
        "nan",
        "Infinity",
        "0x10",
        "1 0",
        "١٢",  # Arabic-Indic digits: str.isdigit() says yes, RFC 9110 says DIGIT is ASCII
        "",
        "   ",
        "Sun, 06 Nov 1994 08:49:37 +0000",  # HTTP dates are GMT, spelled GMT
        "06 Nov 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "soon",
    ],
)
def test_anything_else_is_not_a_delay(value: str) -> None:
    assert parse_retry_after(value, now=NOW) is None


@pytest.mark.parametrize("value", ["1_0", "1e3", "inf", "-1", "nan"])
def test_an_unreadable_retry_after_on_a_429_waits_the_ordinary_backoff(harness: Harness, value: str) -> None:
    limited = httpx.Response(429, json=envelope(code=4), headers={"Retry-After": value})
    ok = httpx.Response(200, json=envelope())
    out = harness.run(OPS["setUserAttributes"], [limited, ok], max_retries=1)
    assert out.error is None
    assert len(out.sleeps) == 1
    assert _retry.INITIAL_DELAY / 2 <= out.sleeps[0] <= _retry.INITIAL_DELAY


@pytest.mark.parametrize("value", ["1_0", "1e3", "inf"])
def test_a_503_with_an_unreadable_retry_after_is_a_bare_503(harness: Harness, value: str) -> None:
    """Only a readable ``Retry-After`` makes a 503 a refusal; without one a write may have happened."""
    answer = httpx.Response(503, json=envelope(code=5), headers={"Retry-After": value})
    out = harness.run(OPS["setUserAttributes"], [answer, httpx.Response(200, json=envelope())], max_retries=2)
    assert type(out.error) is InternalServerError
    assert out.error.retry_after is None
    assert len(out.requests) == 1  # not replay-safe, and possibly applied
    assert _retry.possibly_applied(out.error)
    readable = APIError("x", status_code=503, retry_after=parse_retry_after("10"))
    assert not _retry.possibly_applied(readable)
