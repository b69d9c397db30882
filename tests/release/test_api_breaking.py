"""make breaking, Python half: the public API of jiguang_growth against the released baseline.

Each case edits a copy of the package and of CHANGELOG.md and runs tools/api_breaking.py on
it in this process (griffe reads the source; nothing is imported).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ROOT, load_tool

Guard = Callable[..., tuple[int, str]]


def _baseline() -> Path:
    return load_tool("api_breaking").latest_baseline()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A copy of overlays/ and generated/ (the .py files and py.typed) to edit."""
    ignore = shutil.ignore_patterns("__pycache__", ".generate-*", "*.json")
    for folder in ("overlays", "generated"):
        shutil.copytree(ROOT / folder, tmp_path / "src" / folder, ignore=ignore)
    shutil.copy(ROOT / "CHANGELOG.md", tmp_path / "CHANGELOG.md")
    return tmp_path / "src"


@pytest.fixture
def guard(source: Path, capsys: pytest.CaptureFixture[str]) -> Guard:
    def run(*extra: str) -> tuple[int, str]:
        changelog = source.parent / "CHANGELOG.md"
        status = load_tool("api_breaking").main(
            ["--source", str(source), "--changelog", str(changelog), *extra]
        )
        captured = capsys.readouterr()
        return status, captured.out + captured.err

    return run


def _edit(source: Path, module: str, old: str, new: str) -> None:
    path = source / "overlays" / "jiguang_growth" / module
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _set_version(source: Path, version: str) -> None:
    path = source / "overlays" / "jiguang_growth" / "_version.py"
    text = re.sub(r'__version__ = "[^"]*"', f'__version__ = "{version}"', path.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")


def _log(source: Path, entry: str) -> None:
    """The changelog's Python package part with only this entry above the released sections."""
    _drop_unreleased(source)
    path = source.parent / "CHANGELOG.md"
    text = path.read_text(encoding="utf-8")
    part = text.index("\n# Python package (jiguang-growth)\n")
    first = text.index("\n## [", part)
    path.write_text(text[: first + 1] + entry.strip() + "\n\n" + text[first + 1 :], encoding="utf-8")


def _drop_unreleased(source: Path) -> None:
    """The changelog as if this checkout's unreleased package entries had not been written yet."""
    path = source.parent / "CHANGELOG.md"
    text = path.read_text(encoding="utf-8")
    part = text.index("\n# Python package (jiguang-growth)\n")
    start = text.find("\n## [Unreleased]", part)
    if start != -1:
        end = text.index("\n## [", start + 1)
        text = text[:start] + text[end:]
    path.write_text(text, encoding="utf-8")


ADD_REQUIRED = (
    "_retry.py",
    "def is_retryable(operation_id: str, error: BaseException)",
    "def is_retryable(operation_id: str, attempt: int, error: BaseException)",
)


def test_this_checkout_passes_the_guard() -> None:
    """CI: the package as committed may go out against the newest released API (as make breaking runs it)."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "api_breaking.py")], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "api-breaking: OK" in run.stdout


def test_make_breaking_runs_both_guards() -> None:
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nbreaking:")[1].split("\n\n")[0]
    assert "tools/breaking.py" in lines and "tools/api_breaking.py" in lines


def test_the_baseline_is_a_released_version_in_the_changelog() -> None:
    version = load_tool("api_breaking").baseline_version(_baseline())
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"\n## [{version}]" in text.split("\n# Python package (jiguang-growth)\n")[1]


def test_a_baseline_of_the_source_compares_equal_to_it(source: Path, guard: Guard, tmp_path: Path) -> None:
    tool = load_tool("api_breaking")
    _set_version(source, "9.0.0")
    written = tool.write_baseline(source, tmp_path / "baselines")  # named after __version__
    assert written.name == "jiguang_growth-9.0.0.tar.gz"
    assert tool.baseline_archive(source) == written.read_bytes()  # reproducible, byte for byte
    _drop_unreleased(source)
    status, out = guard("--baseline", str(written))
    assert status == 0, out  # nothing changed, so the changelog needs nothing either
    assert "no change to the public API since the baseline" in out
    with pytest.raises(tool.GuardError, match="never rewritten"):
        tool.write_baseline(source, tmp_path / "baselines", "9.0.0")


def test_the_baseline_holds_both_packages_and_only_python_source() -> None:
    with tarfile.open(_baseline()) as archive:
        names = archive.getnames()
        assert all(member.mtime == 0 and member.uid == 0 for member in archive.getmembers())
    assert "overlays/jiguang_growth/__init__.py" in names
    assert "generated/jiguang_growth_generated/__init__.py" in names
    assert all(name.endswith(".py") for name in names)


def test_a_breaking_change_without_a_major_bump_fails(source: Path, guard: Guard) -> None:
    _edit(source, *ADD_REQUIRED)
    _log(source, "## [0.2.0]\n\n- `is_retryable` takes the attempt (breaking change).")
    _set_version(source, "0.2.0")
    status, out = guard()
    assert status == 1, out
    assert "BREAKING: " in out and "is_retryable(attempt): Parameter was added as required" in out
    assert "need a new major version: set __version__ to 1.0.0 (now 0.2.0)" in out


def test_the_same_change_with_a_major_bump_and_a_marked_entry_passes(source: Path, guard: Guard) -> None:
    _edit(source, *ADD_REQUIRED)
    _log(source, "## [1.0.0]\n\n- `is_retryable` takes the attempt (breaking change).")
    _set_version(source, "1.0.0")
    status, out = guard()
    assert status == 0, out


def test_a_major_bump_without_marking_the_entry_fails(source: Path, guard: Guard) -> None:
    _edit(source, *ADD_REQUIRED)
    _log(source, "## [1.0.0]\n\n- `is_retryable` takes the attempt.")
    _set_version(source, "1.0.0")
    status, out = guard()
    assert status == 1
    assert "does not mark the breaking change '(breaking change)' in '# Python package" in out


def test_a_name_removed_from_all_is_breaking(source: Path, guard: Guard) -> None:
    _edit(source, "__init__.py", '    "retry_delay",\n', "")
    status, out = guard()
    assert status == 1
    assert "jiguang_growth.retry_delay: removed from __all__" in out


def test_a_removed_public_method_is_breaking(source: Path, guard: Guard) -> None:
    _edit(source, "_client.py", "    def close(self) -> None:", "    def _close(self) -> None:")
    status, out = guard()
    assert status == 1
    assert "GrowthClient.close" in out and "need a new major version" in out


def test_a_generated_method_that_goes_away_is_breaking(source: Path, guard: Guard) -> None:
    """The clients inherit their per-operation methods from the generated package."""
    path = source / "generated" / "jiguang_growth_generated" / "operations.py"
    text = path.read_text(encoding="utf-8")
    assert text.count("    def get_cuids(\n") == 2  # Operations and RawOperations
    path.write_text(text.replace("    def get_cuids(\n", "    def _get_cuids(\n"), encoding="utf-8")
    status, out = guard()
    assert status == 1
    assert "GrowthClient.get_cuids: Public object was removed" in out and "need a new major version" in out
    assert "GrowthClient.report_events: Public object was removed" not in out  # inherited, still there


def test_an_addition_needs_a_changelog_entry(source: Path, guard: Guard) -> None:
    _drop_unreleased(source)
    _edit(source, "__init__.py", "__all__ = [\n", '__all__ = [\n    "brand_new",\n')
    path = source / "overlays" / "jiguang_growth" / "__init__.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n\ndef brand_new() -> None:\n    pass\n")
    status, out = guard()
    assert status == 1
    assert "added:    jiguang_growth.brand_new" in out
    assert "lists no change above '## [0.1.0]' in '# Python package (jiguang-growth)'" in out
    _log(source, "## [Unreleased]\n\n- Typed inputs.")
    assert guard()[0] == 0


def test_a_private_change_needs_no_entry(source: Path, guard: Guard, tmp_path: Path) -> None:
    baseline = load_tool("api_breaking").write_baseline(source, tmp_path / "b", "0.1.0")
    _drop_unreleased(source)
    _edit(
        source,
        "_operations.py",
        "def _where(index: int) -> str:",
        "def _where(index: int, extra: int = 0) -> str:",
    )
    status, out = guard("--baseline", str(baseline))
    assert status == 0, out


def test_a_lower_version_than_released_fails(source: Path, guard: Guard) -> None:
    _set_version(source, "0.0.9")
    status, out = guard()
    assert status == 1
    assert "__version__ 0.0.9 is lower than the released 0.1.0" in out


def test_a_missing_or_unreadable_baseline_stops_clearly(source: Path, guard: Guard, tmp_path: Path) -> None:
    status, out = guard("--baseline", str(tmp_path / "jiguang_growth-0.1.0.tar.gz"))
    assert status == 2 and "does not exist" in out
    broken = tmp_path / "jiguang_growth-0.1.0.tar.gz"
    broken.write_text("not an archive", encoding="utf-8")
    status, out = guard("--baseline", str(broken))
    assert status == 2 and "is not a .tar.gz archive" in out
    with pytest.raises(load_tool("api_breaking").GuardError, match="holds no jiguang_growth-"):
        load_tool("api_breaking").latest_baseline(tmp_path / "empty")


def test_the_newest_baseline_is_the_default(tmp_path: Path) -> None:
    for version in ("0.1.0", "0.10.0", "0.9.0"):
        (tmp_path / f"jiguang_growth-{version}.tar.gz").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("", encoding="utf-8")
    assert load_tool("api_breaking").latest_baseline(tmp_path).name == "jiguang_growth-0.10.0.tar.gz"
