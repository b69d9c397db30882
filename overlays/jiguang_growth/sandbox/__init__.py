"""A local stand-in for the Growth API: the four operations, in-memory state, faults, a network.

Needs the ``sandbox`` extra (``pip install 'jiguang-growth[sandbox]'``) for the
server parts. This package imports Starlette and uvicorn only when
:func:`run_sandbox`, :class:`SandboxServer`, :class:`SandboxApp` or
:func:`create_app` is first used, so the pytest plugin and the configuration
types load without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._codes import SandboxCode, injected_code
from ._config import (
    DEFAULT_ATTRIBUTES,
    DEFAULT_PROJECT_ID,
    DEFAULT_PROJECT_SECRET,
    AttributeDef,
    AttributeRule,
    AttributeType,
    SandboxConfig,
    load_config,
)
from ._faults import Draw, Fault, FaultConfig, FaultInjector, FaultKind
from ._network import NetworkConfig
from ._ratelimit import LimiterKind
from ._state import RequestRecord, SandboxState, StateSnapshot

if TYPE_CHECKING:
    from ._app import INSPECTION_PATH, SandboxApp, create_app
    from ._handshakes import handshake_transport
    from ._server import PortInUseError, SandboxServer, SandboxStartError, run_sandbox

__all__ = [
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

_LAZY = {
    "INSPECTION_PATH": "._app",
    "SandboxApp": "._app",
    "create_app": "._app",
    "PortInUseError": "._server",
    "SandboxServer": "._server",
    "SandboxStartError": "._server",
    "run_sandbox": "._server",
    "handshake_transport": "._handshakes",
}

EXTRA_HINT = "the sandbox server needs the 'sandbox' extra: pip install 'jiguang-growth[sandbox]'"


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(module_name, __name__)
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] in {"starlette", "uvicorn"}:
            raise ImportError(f"{EXTRA_HINT} ({error})") from error
        raise
    value = getattr(module, name)
    globals()[name] = value
    return value
