"""The sync client's own transport: proxies from the environment, and the deadline through them.

The sync client sends through ``DeadlineTransport`` (an httpcore pool with a wrapped network
backend behind httpx's public transport interface). httpx reads proxy variables only for the
transports it makes itself, so the client reads them; these tests fail if it did not.
"""

from __future__ import annotations

import pytest

from jiguang_growth import APITimeoutError, GrowthClient
from jiguang_growth._deadline_streams import proxy_patterns

from .test_hostile_answers import PROJECT_ID, SECRET, HostileServer, drip

EVENT = {"cuid": 1, "eventName": "e", "itime": 1654076420772}


def test_a_proxy_from_the_environment_carries_the_call_and_keeps_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTP_PROXY points at a server that drips its answer for 8 s: the call goes there, and ends at 1 s."""
    proxy = HostileServer(drip(headers_too=True))
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("http_proxy", proxy.url)
    try:
        with (
            GrowthClient(
                PROJECT_ID, SECRET, "http://growth.example.invalid", max_retries=0, attempt_timeout=1
            ) as client,
            pytest.raises(APITimeoutError, match=r"attempt_timeout \(1 s\)"),
        ):
            client.report_events([EVENT])
    finally:
        proxy.close()
    assert proxy.requests[0].startswith(b"POST http://growth.example.invalid/smartop/api/v1/")


@pytest.mark.parametrize(
    ("found", "patterns"),
    [
        ({}, {}),
        ({"no": "example.com"}, {}),
        ({"https": "http://p:3128"}, {"https://": "http://p:3128"}),
        ({"http": "p:3128"}, {"http://": "http://p:3128"}),
        (
            {"all": "socks5://p:1080", "no": "localhost, 10.0.0.1,::1,.corp.example,https://x.example"},
            {
                "all://": "socks5://p:1080",
                "all://localhost": None,
                "all://10.0.0.1": None,
                "all://[::1]": None,
                "all://*.corp.example": None,
                "https://x.example": None,
            },
        ),
        ({"http": "http://p:3128", "no": "*"}, {}),
    ],
)
def test_proxy_variables_become_httpx_mount_patterns(
    found: dict[str, str], patterns: dict[str, str | None]
) -> None:
    assert proxy_patterns(found) == patterns
