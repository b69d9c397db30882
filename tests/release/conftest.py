"""The release as users get it: the sdist and wheel of ``make dist``, a fresh venv with the wheel.

Both are cached under ``build/release/``, keyed by the SHA-256 of everything that goes into
them (the packaged files, pyproject.toml, constraints.txt and tools/dist.py), so a warm run
builds and installs nothing; any change to an input builds and installs afresh.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..docs.conftest import load_tool

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "build" / "release"
INPUTS = ("openapi.yaml", "README.md", "CHANGELOG.md", "LICENSE", "pyproject.toml", "constraints.txt")
INPUT_FOLDERS = ("overlays", "generated", "codegen")
TOOLS = ROOT / "tools"

__all__ = ["CACHE", "ROOT", "Release", "inputs_key", "load_tool"]


def _inputs() -> list[Path]:
    files = [ROOT / name for name in INPUTS] + [TOOLS / "dist.py", TOOLS / "_common.py"]
    for folder in INPUT_FOLDERS:
        files += [
            path
            for path in (ROOT / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and ".generate-" not in str(path)
        ]
    return sorted(files)


def inputs_key() -> str:
    digest = hashlib.sha256()
    for path in _inputs():
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Release:
    sdist: Path
    wheel: Path
    venv: Path

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name


def _build(folder: Path) -> tuple[Path, Path]:
    dist = folder / "dist"
    stamp = folder / "built"
    if not stamp.exists():
        for stale in CACHE.glob("*"):  # builds of other inputs: only the newest is kept
            shutil.rmtree(stale, ignore_errors=True)
        load_tool("dist").build(dist)
        stamp.touch()
    (sdist,), (wheel,) = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    return sdist, wheel


def _install(folder: Path, wheel: Path) -> Path:
    """A fresh venv with the wheel and its sandbox extra (not editable), made once per build."""
    venv = folder / "venv"
    stamp = folder / "installed"
    if not stamp.exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-c",
                str(ROOT / "constraints.txt"),
                f"{wheel}[sandbox]",
            ],
            check=True,
            timeout=600,
        )
        stamp.touch()
    return venv


@pytest.fixture(scope="session")
def release() -> Release:
    folder = CACHE / inputs_key()
    sdist, wheel = _build(folder)
    return Release(sdist, wheel, _install(folder, wheel))
