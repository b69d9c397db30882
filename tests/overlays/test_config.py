"""Constructor: arguments, environment, defaults, and errors at construction time."""

from __future__ import annotations

import ssl
import subprocess
import sys
from typing import Any

import httpx
import pytest

from jiguang_growth import AsyncGrowthClient, ConfigurationError, GrowthClient, GrowthError

from .conftest import OPS, PROJECT_ID, SECRET, Harness, envelope

CLIENTS = [GrowthClient, AsyncGrowthClient]


def api_url(client: GrowthClient | AsyncGrowthClient) -> str:
    return client._routes["reportEvents"].url.removesuffix("/events/report")


@pytest.mark.parametrize("cls", CLIENTS)
def test_credentials_and_base_url_come_from_the_environment(
    cls: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIGUANG_PROJECT_ID", "200200")
    monkeypatch.setenv("JIGUANG_PROJECT_SECRET", "env-secret")
    monkeypatch.setenv("JIGUANG_GROWTH_BASE_URL", "http://127.0.0.1:8765")
    client = cls()
    assert client.project_id == "200200"
    assert client.base_url == "http://127.0.0.1:8765"
    assert api_url(client) == "http://127.0.0.1:8765/smartop/api/v1"
    assert client._auth._auth_header == httpx.BasicAuth("200200", "env-secret")._auth_header


@pytest.mark.parametrize("cls", CLIENTS)
def test_arguments_win_over_the_environment(cls: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIGUANG_PROJECT_ID", "200200")
    monkeypatch.setenv("JIGUANG_PROJECT_SECRET", "env-secret")
    monkeypatch.setenv("JIGUANG_GROWTH_BASE_URL", "http://127.0.0.1:8765")
    client = cls("1", "arg-secret", "https://proxy.example")
    assert (client.project_id, client.base_url) == ("1", "https://proxy.example")


@pytest.mark.parametrize("cls", CLIENTS)
def test_default_base_url_is_production(cls: Any) -> None:
    client = cls(PROJECT_ID, SECRET)
    assert client.base_url == "https://growth.jiguang.cn"
    assert client._routes["getCuids"].url == "https://growth.jiguang.cn/smartop/api/v1/user/register"


@pytest.mark.parametrize(
    ("given", "base", "api"),
    [
        (
            "https://growth.jiguang.cn/",
            "https://growth.jiguang.cn",
            "https://growth.jiguang.cn/smartop/api/v1",
        ),
        (
            "https://growth.jiguang.cn/smartop/api/v1",
            "https://growth.jiguang.cn",
            "https://growth.jiguang.cn/smartop/api/v1",
        ),
        (
            "https://growth.jiguang.cn/smartop/api/v1/",
            "https://growth.jiguang.cn",
            "https://growth.jiguang.cn/smartop/api/v1",
        ),
        ("http://localhost:9000/jg", "http://localhost:9000/jg", "http://localhost:9000/jg/smartop/api/v1"),
        (
            "http://localhost:9000/jg/smartop/api/v1",
            "http://localhost:9000/jg",
            "http://localhost:9000/jg/smartop/api/v1",
        ),
    ],
)
def test_base_path_is_added_once(given: str, base: str, api: str) -> None:
    client = GrowthClient(PROJECT_ID, SECRET, given)
    assert client.base_url == base
    assert api_url(client) == api


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    ("kwargs", "env", "phrase"),
    [
        (
            {},
            {},
            "project_id is missing: pass project_id=... or set the JIGUANG_PROJECT_ID environment variable",
        ),
        ({"project_id": "1"}, {}, "project_secret is missing"),
        ({"project_secret": "s"}, {}, "project_id is missing"),
        ({"project_id": "1"}, {"JIGUANG_PROJECT_SECRET": ""}, "project_secret is missing"),
        ({"project_id": "", "project_secret": "s"}, {}, "project_id is missing"),
        ({"project_id": "a:b", "project_secret": "s"}, {}, "must not contain ':'"),
        ({"project_id": 100102, "project_secret": "s"}, {}, "project_id must be a string"),
    ],
)
def test_missing_or_bad_credentials_fail_at_construction(
    cls: Any, kwargs: dict[str, Any], env: dict[str, str], phrase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        cls(**kwargs)
    assert phrase in str(caught.value)
    assert isinstance(caught.value, GrowthError)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("base_url", "phrase"),
    [
        ("growth.jiguang.cn", "must be an http(s) URL with a host"),
        ("ftp://growth.jiguang.cn", "must be an http(s) URL with a host"),
        ("https://", "must be an http(s) URL with a host"),
        ("https://growth.jiguang.cn?x=1", "must not have a query or fragment"),
        ("https://growth.jiguang.cn:99999", "invalid port"),
        ("https://u:p@growth.jiguang.cn", "must not contain credentials"),
    ],
)
def test_bad_base_url_fails_at_construction(base_url: str, phrase: str) -> None:
    with pytest.raises(ConfigurationError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        GrowthClient(PROJECT_ID, SECRET, base_url)


def test_plain_http_to_a_remote_host_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    GrowthClient(PROJECT_ID, SECRET, "http://growth.example").close()
    assert any("plain HTTP" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    caplog.clear()
    GrowthClient(PROJECT_ID, SECRET, "http://127.0.0.1:8765").close()
    assert not caplog.records


@pytest.mark.parametrize("max_retries", [-1, 1.5, True, "2"])
def test_bad_max_retries(max_retries: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_retries"):
        GrowthClient(PROJECT_ID, SECRET, max_retries=max_retries)


def test_defaults_timeout_retries_and_tls_verification() -> None:
    client = GrowthClient(PROJECT_ID, SECRET)
    assert client.max_retries == 2
    assert client._http.timeout == httpx.Timeout(10.0, connect=5.0)
    context = client._http._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    client.close()


def test_verify_can_be_turned_off_only_explicitly() -> None:
    client = GrowthClient(PROJECT_ID, SECRET, verify=False, timeout=3.0)
    context = client._http._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert context.verify_mode == ssl.CERT_NONE
    assert client._http.timeout == httpx.Timeout(3.0)
    client.close()


@pytest.mark.parametrize(
    "option", [{"timeout": 1.0}, {"verify": False}, {"transport": httpx.MockTransport(print)}]
)
def test_http_client_excludes_options_it_owns(option: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="on http_client itself"):
        GrowthClient(PROJECT_ID, SECRET, http_client=httpx.Client(), **option)


def test_user_agent(harness: Harness) -> None:
    out = harness.run(OPS["getCuids"], [httpx.Response(200, json=envelope(data=[]))], args=("p", ["v"]))
    assert out.requests[0].headers["User-Agent"].startswith("jiguang-growth/")
    out = harness.run(
        OPS["getCuids"],
        [httpx.Response(200, json=envelope(data=[]))],
        args=("p", ["v"]),
        user_agent="app/1.0",
    )
    assert out.requests[0].headers["User-Agent"] == "app/1.0"


def test_sync_context_manager_closes_its_own_pool() -> None:
    with GrowthClient(PROJECT_ID, SECRET) as client:
        assert not client._http.is_closed
    assert client._http.is_closed


async def test_async_context_manager_closes_its_own_pool() -> None:
    async with AsyncGrowthClient(PROJECT_ID, SECRET) as client:
        assert not client._http.is_closed
    assert client._http.is_closed


async def test_async_client_leaves_a_passed_http_client_open() -> None:
    own = httpx.AsyncClient()
    async with AsyncGrowthClient(PROJECT_ID, SECRET, http_client=own):
        pass
    assert not own.is_closed
    await own.aclose()


def test_importing_the_package_does_not_import_asyncio() -> None:
    """Sync-only programs do not pay for asyncio; the async client imports it on first wait."""
    code = "import sys, jiguang_growth; print('asyncio' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
