"""The wheel as users install it: into a fresh venv, not editable, with the ``sandbox`` extra.

Every probe runs the venv's Python isolated (``-I``) from a folder outside the repository, so
nothing can come from the source tree.
"""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from .conftest import ROOT, Release, load_tool

PROBE = """
import json, sys
import jiguang_growth, jiguang_growth_generated
from jiguang_growth import _spec
from jiguang_growth._config import user_agent
print(json.dumps({
    "version": jiguang_growth.__version__,
    "files": [jiguang_growth.__file__, jiguang_growth_generated.__file__],
    "spec_version": _spec.spec()["info"]["version"],
    "operations": sorted(_spec.operations()),
    "provenance": _spec.provenance(),
    "user_agent": user_agent(),
}))
"""


def _run(
    release: Release, tmp_path: Path, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{release.venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(
        list(args), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _version() -> str:
    namespace: dict[str, str] = {}
    exec((ROOT / "overlays" / "jiguang_growth" / "_version.py").read_text(encoding="utf-8"), namespace)
    return namespace["__version__"]


def test_the_files_are_named_after_the_one_version(release: Release) -> None:
    version = _version()
    assert release.wheel.name == f"jiguang_growth-{version}-py3-none-any.whl"
    assert release.sdist.name == f"jiguang_growth-{version}.tar.gz"
    with zipfile.ZipFile(release.wheel) as archive:
        metadata = archive.read(f"jiguang_growth-{version}.dist-info/METADATA").decode()
    assert f"\nVersion: {version}\n" in metadata


def test_the_package_imports_from_the_venv_and_the_spec_resource_loads(
    release: Release, tmp_path: Path
) -> None:
    done = _run(release, tmp_path, str(release.bin("python")), "-I", "-c", PROBE)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    site = str(release.venv / "lib")
    assert all(file.startswith(site) for file in found["files"]), found["files"]
    assert found["version"] == _version()
    assert found["user_agent"].startswith(f"jiguang-growth/{_version()} python-httpx/")
    spec = json.loads((ROOT / "generated/jiguang_growth_generated/openapi.json").read_text(encoding="utf-8"))
    assert found["spec_version"] == spec["info"]["version"]
    assert found["operations"] == sorted(["reportEvents", "setUserAttributes", "getCuids", "setUserChannels"])
    assert found["provenance"]["spec_version"] == spec["info"]["version"]


def test_the_console_script_runs(release: Release, tmp_path: Path) -> None:
    done = _run(release, tmp_path, str(release.bin("jiguang-growth")), "--help")
    assert done.returncode == 0, done.stderr
    for command in ("sandbox", "report-events", "get-cuids", "set-attributes", "set-channels"):
        assert command in done.stdout


def test_the_sandbox_extra_runs_the_demo_against_a_sandbox(release: Release, tmp_path: Path) -> None:
    """The demo starts a sandbox (Starlette and uvicorn from the extra) and calls every operation."""
    done = _run(release, tmp_path, str(release.bin("python")), "-I", "-m", "jiguang_growth.demo", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for operation in ("getCuids", "reportEvents", "setUserAttributes", "setUserChannels"):
        assert operation in done.stdout
    probe = "import starlette, uvicorn; print(starlette.__file__, uvicorn.__file__)"
    done = _run(release, tmp_path, str(release.bin("python")), "-I", "-c", probe)
    assert all(path.startswith(str(release.venv)) for path in done.stdout.split()), done.stdout


def test_the_wheel_holds_the_two_packages_with_py_typed_and_nothing_else(release: Release) -> None:
    assert load_tool("dist").wheel_problems(release.wheel) == []
    with zipfile.ZipFile(release.wheel) as archive:
        names = archive.namelist()
    assert {name.split("/")[0] for name in names} == {
        "jiguang_growth",
        "jiguang_growth_generated",
        f"jiguang_growth-{_version()}.dist-info",
    }
    assert "jiguang_growth/py.typed" in names and "jiguang_growth_generated/py.typed" in names
    assert "jiguang_growth_generated/params.py" in names  # the TypedDicts ship
    assert not [name for name in names if "/tests/" in name or name.endswith(".pyc")]


def test_the_wheel_check_reports_tests_build_output_and_a_missing_py_typed(
    release: Release, tmp_path: Path
) -> None:
    bad = tmp_path / release.wheel.name
    with zipfile.ZipFile(release.wheel) as source, zipfile.ZipFile(bad, "w") as target:
        for item in source.infolist():
            if item.filename != "jiguang_growth/py.typed":
                target.writestr(item, source.read(item))
        target.writestr("tests/test_x.py", "")
        target.writestr("jiguang_growth/__pycache__/x.cpython-311.pyc", "")
        target.writestr("jiguang_growth/build/lib/x.py", "")
    problems = "\n".join(load_tool("dist").wheel_problems(bad))
    assert "lacks jiguang_growth/py.typed" in problems
    assert "tests/test_x.py, outside the packages" in problems
    assert "test or build output: jiguang_growth/__pycache__/x.cpython-311.pyc" in problems
    assert "test or build output: jiguang_growth/build/lib/x.py" in problems


def test_the_sdist_regenerates_the_client(release: Release, tmp_path: Path) -> None:
    """``make generate``'s script, run inside the unpacked sdist, rewrites generated/ unchanged."""
    with tarfile.open(release.sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (unpacked,) = tmp_path.iterdir()
    names = {path.relative_to(unpacked).as_posix() for path in unpacked.rglob("*") if path.is_file()}
    assert not [name for name in names if name.startswith(("tests/", "build/", "dist/", ".venv/"))]
    shipped = tmp_path / "shipped"
    (unpacked / "generated").rename(shipped)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [sys.executable, str(unpacked / "codegen" / "generate.py")],
        cwd=unpacked,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    _assert_same_tree(unpacked / "generated", shipped)
    _assert_same_tree(unpacked / "generated", ROOT / "generated")


def _assert_same_tree(left: Path, right: Path) -> None:
    def files(root: Path) -> set[str]:
        return {
            path.relative_to(root).as_posix()
            for path in root.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }

    assert files(left) == files(right)
    _, mismatch, errors = filecmp.cmpfiles(left, right, sorted(files(left)), shallow=False)
    assert not mismatch and not errors, (mismatch, errors)
