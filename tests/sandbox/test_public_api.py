"""The public names of ``jiguang_growth.sandbox``: a change to this list is a change to the API."""

from __future__ import annotations

import importlib

import pytest

import jiguang_growth.sandbox as sandbox

PUBLIC_NAMES = [
    "DEFAULT_ATTRIBUTES",
    "DEFAULT_PROJECT_ID",
    "DEFAULT_PROJECT_SECRET",
    "INSPECTION_PATH",
    "AttributeDef",
    "AttributeRule",
    "AttributeType",
    "Draw",
    "Fault",
    "FaultConfig",
    "FaultInjector",
    "FaultKind",
    "LimiterKind",
    "NetworkConfig",
    "PortInUseError",
    "RequestRecord",
    "SandboxApp",
    "SandboxCode",
    "SandboxConfig",
    "SandboxServer",
    "SandboxStartError",
    "SandboxState",
    "StateSnapshot",
    "create_app",
    "handshake_transport",
    "injected_code",
    "load_config",
    "run_sandbox",
]


def test_all_is_exactly_the_public_names() -> None:
    assert sandbox.__all__ == PUBLIC_NAMES


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_each_public_name_exists(name: str) -> None:
    assert getattr(sandbox, name) is not None


def test_star_import_gives_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from jiguang_growth.sandbox import *", namespace)
    assert sorted(set(namespace) - {"__builtins__"}) == sorted(PUBLIC_NAMES)


@pytest.mark.parametrize("name", ["app", "codes", "config", "faults", "ratelimit", "server", "state"])
def test_submodules_are_private(name: str) -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"jiguang_growth.sandbox.{name}")
    importlib.import_module(f"jiguang_growth.sandbox._{name}")
