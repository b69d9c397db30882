"""Build the sdist and the wheel (``make dist``) and check what the wheel holds.

``python -m build`` (pinned in pyproject.toml) builds the sdist, then the wheel from the
sdist, in an isolated environment with the pinned hatchling; ``PIP_CONSTRAINT`` pins
hatchling's own dependencies to constraints.txt. The wheel must hold both packages with
their ``py.typed`` and ``openapi.json``, and nothing else: no tests, no build output, no
byte code. tests/release/ installs the result into a fresh venv.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from _common import ROOT

CONSTRAINTS = ROOT / "constraints.txt"
PACKAGES = ("jiguang_growth", "jiguang_growth_generated")
REQUIRED = (
    "jiguang_growth/py.typed",
    "jiguang_growth_generated/py.typed",
    "jiguang_growth_generated/openapi.json",
)
FORBIDDEN_PARTS = frozenset({"tests", "build", "dist", "__pycache__", ".venv", "node_modules"})
"""Path parts that mark test or build output inside a wheel."""


class BuildError(Exception):
    """``python -m build`` failed or did not leave one sdist and one wheel."""


def build(outdir: Path, source: Path = ROOT) -> tuple[Path, Path]:
    """Build ``source`` into ``outdir``; the (sdist, wheel) paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    for old in [*outdir.glob("*.tar.gz"), *outdir.glob("*.whl")]:
        old.unlink()
    env = {**os.environ, "PIP_CONSTRAINT": str(CONSTRAINTS), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(outdir), str(source)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise BuildError(f"python -m build failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    sdists, wheels = sorted(outdir.glob("*.tar.gz")), sorted(outdir.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        raise BuildError(f"expected one sdist and one wheel in {outdir}, found {sdists + wheels}")
    return sdists[0], wheels[0]


def wheel_problems(wheel: Path) -> list[str]:
    """What is wrong with the wheel's contents (empty: nothing)."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    problems = [f"{wheel.name} lacks {name}" for name in REQUIRED if name not in names]
    for name in names:
        top, *_ = name.split("/")
        if top.endswith(".dist-info"):
            continue
        if top not in PACKAGES:
            problems.append(f"{wheel.name} holds {name}, outside the packages {', '.join(PACKAGES)}")
        elif FORBIDDEN_PARTS.intersection(name.split("/")[:-1]) or name.endswith((".pyc", ".pyo")):
            problems.append(f"{wheel.name} holds test or build output: {name}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/dist.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--outdir", type=Path, default=ROOT / "dist", help="default dist/")
    args = parser.parse_args(argv)
    try:
        sdist, wheel = build(args.outdir)
    except BuildError as error:
        print(f"dist: {error}", file=sys.stderr)
        return 1
    problems = wheel_problems(wheel)
    for problem in problems:
        print(f"dist: FAIL: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"dist: built {sdist.relative_to(ROOT) if sdist.is_relative_to(ROOT) else sdist}")
    print(f"dist: built {wheel.relative_to(ROOT) if wheel.is_relative_to(ROOT) else wheel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
