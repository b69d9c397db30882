"""Start-up costs: ``make generate`` wall time, and ``import jiguang_growth`` in a fresh interpreter.

* ``make generate`` runs ``codegen/generate.py``. It is timed in a throwaway
  git copy of the files it reads and writes, so the shared ``generated/`` is
  never swapped while someone else runs tests; after every run ``git status``
  in the copy must show ``generated/`` unchanged (the committed tree is what
  the generator makes).
* The import is timed inside fresh interpreters (``time.perf_counter``
  around the import statement), median of the runs, next to ``import httpx``,
  which it includes. ``python -X importtime`` then names the modules that
  cost the most.
* Both are timed from byte code, as installed packages are (pip compiles
  them): the modules are compiled first, and ``PYTHONDONTWRITEBYTECODE`` is
  dropped for the timed interpreters. With it set, the overlays and
  generated/ (imported from the source tree) would be compiled from source
  on every run while httpx, from site-packages, is not.

    .venv/bin/python benchmarks/startup.py            # the figures in docs/benchmarks.md
    .venv/bin/python benchmarks/startup.py --quick    # one generate run, 3 imports: a smoke test
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED = Path("generated")
COPIED = ["openapi.yaml", "codegen", "generated"]
"""What codegen/generate.py reads (the spec, its settings) and writes (generated/)."""

_IMPORT = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
}


def _git(copy: Path, *args: str) -> str:
    env = {**os.environ, **_GIT_ENV}
    done = subprocess.run(["git", *args], cwd=copy, env=env, check=True, capture_output=True, text=True)
    return done.stdout


def generate_times(runs: int) -> list[float]:
    """Seconds per ``codegen/generate.py`` run; raises if a run changes ``generated/``."""
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        copy = Path(tmp)
        for name in COPIED:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(
                    source, copy / name, ignore=shutil.ignore_patterns("__pycache__", ".generate-*")
                )
            else:
                shutil.copy2(source, copy / name)
        (copy / ".gitignore").write_text("__pycache__/\n")
        _git(copy, "init", "-q")
        _git(copy, "add", "-A")
        _git(copy, "commit", "-qm", "copy")
        # As make does: the venv's tools (ruff, for the generator's post hooks) come first on PATH.
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, str(copy / "codegen" / "generate.py")],
                env=env,
                check=False,
                capture_output=True,
                text=True,
            )
            seconds.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise RuntimeError(f"codegen/generate.py failed:\n{done.stdout}{done.stderr}")
            drift = _git(copy, "status", "--porcelain", "--untracked-files=all", "--", str(GENERATED))
            if drift:
                raise RuntimeError(f"codegen/generate.py changed generated/:\n{drift}")
        return seconds


def _byte_code_env() -> dict[str, str]:
    """The environment of the timed interpreters: byte code is read and written."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def compile_sources() -> None:
    """Write the byte code of the overlays and generated/, as installing the wheel would."""
    for folder in ("overlays", "generated"):
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(ROOT / folder)],
            env=_byte_code_env(),
            check=True,
            capture_output=True,
        )


def import_seconds(module: str, runs: int) -> list[float]:
    """Seconds to import ``module`` in each of ``runs`` fresh interpreters."""
    seconds = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _IMPORT.format(module=module)],
            cwd=ROOT,
            env=_byte_code_env(),
            check=True,
            capture_output=True,
            text=True,
        )
        seconds.append(float(done.stdout.strip()))
    return seconds


def top_imports(module: str, count: int) -> list[tuple[str, float]]:
    """The ``count`` modules with the largest cumulative import time (ms), from ``-X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        env=_byte_code_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        rows.append((name.strip(), int(cumulative) / 1000))
    rows.sort(key=lambda row: row[1], reverse=True)
    return [row for row in rows if row[0] != module][:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1 generate run, 3 imports: a smoke test")
    parser.add_argument("--generate-runs", type=int, default=3, help="codegen/generate.py runs (default 3)")
    parser.add_argument("--import-runs", type=int, default=21, help="fresh interpreters per import (21)")
    args = parser.parse_args(argv)
    generate_runs = 1 if args.quick else args.generate_runs
    import_runs = 3 if args.quick else args.import_runs

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"python {platform.python_version()} on {platform.machine()}, {cpus} CPUs")
    print()
    generate = generate_times(generate_runs)
    compile_sources()
    ours = statistics.median(import_seconds("jiguang_growth", import_runs)) * 1000
    httpx = statistics.median(import_seconds("httpx", import_runs)) * 1000
    print("| what | median | runs |")
    print("|---|---:|---:|")
    print(
        f"| `make generate` (codegen/generate.py) | {statistics.median(generate):.2f} s | {generate_runs} |"
    )
    print(f"| `import jiguang_growth` | {ours:.1f} ms | {import_runs} |")
    print(f"| `import httpx` | {httpx:.1f} ms | {import_runs} |")
    print()
    print(f"import ratio jiguang_growth / httpx: {ours / httpx:.2f}")
    print("generated/ unchanged after every run (git status in the copy)")
    print()
    print("largest cumulative imports under jiguang_growth (python -X importtime, one run):")
    for name, millis in top_imports("jiguang_growth", 8):
        print(f"  {millis:7.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
