"""pytest fixtures for the sandbox, loaded automatically once jiguang-growth is installed.

``growth_sandbox`` runs a fresh sandbox on a free loopback port for one test
and yields its :class:`~jiguang_growth.sandbox.SandboxServer` handle::

    def test_signup_reports_an_event(growth_sandbox):
        my_app.signup(base_url=growth_sandbox.base_url, auth=growth_sandbox.auth)
        assert [e["eventName"] for e in growth_sandbox.state.events()] == ["sign_up"]

Change the settings for one test with the marker
``@pytest.mark.growth_sandbox(qps_limit=5, strict_attributes=False)`` (keyword
arguments are :class:`~jiguang_growth.sandbox.SandboxConfig` fields), or for
many by overriding the ``growth_sandbox_config`` fixture in a conftest.py.

This module imports nothing of the sandbox until a fixture is used, so it
costs nothing in test runs that do not use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from jiguang_growth.sandbox import SandboxConfig, SandboxServer

MARKER = "growth_sandbox"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(**settings): SandboxConfig fields for this test's growth_sandbox fixture"
    )


@pytest.fixture
def growth_sandbox_config() -> SandboxConfig:
    """The settings of ``growth_sandbox``; override this fixture to change them."""
    from jiguang_growth.sandbox import SandboxConfig  # noqa: PLC0415

    return SandboxConfig()


@pytest.fixture
def growth_sandbox(
    request: pytest.FixtureRequest, growth_sandbox_config: SandboxConfig
) -> Iterator[SandboxServer]:
    """A sandbox running on 127.0.0.1 for the duration of one test."""
    from jiguang_growth.sandbox import run_sandbox  # noqa: PLC0415

    config = growth_sandbox_config
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword arguments only")
        config = replace(config, **marker.kwargs)
    with run_sandbox(config) as sandbox:
        yield sandbox
