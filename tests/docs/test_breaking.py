"""make breaking: openapi.yaml against the released baseline, the major-bump rule, CHANGELOG.md.

The make tests run in a copy of the repository; the rest call tools/breaking.py on files in a
temporary folder.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT, load_tool, make

Spec = dict[str, Any]
BREAKING = sys.executable, str(ROOT / "tools" / "breaking.py")


def _baseline() -> Path:
    found = sorted((ROOT / "spec-baseline").glob("openapi-*.yaml"))
    assert found, "no committed baseline"
    return found[-1]


def _edit(path: Path, change: Callable[[Spec], None], version: str | None = None) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    if version:
        document["info"]["version"] = version
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _log(path: Path, entry: str) -> None:
    """Add an entry above the released sections of CHANGELOG.md."""
    text = path.read_text(encoding="utf-8")
    first = text.index("\n## [")
    path.write_text(text[: first + 1] + entry.strip() + "\n\n" + text[first + 1 :], encoding="utf-8")


def _released_only(path: Path) -> None:
    """Drop the unreleased entries of CHANGELOG.md, so that only the baseline's sections remain."""
    text = path.read_text(encoding="utf-8")
    version = yaml.safe_load(_baseline().read_text(encoding="utf-8"))["info"]["version"]
    first, released = text.find("\n## ["), text.index(f"\n## [{version}]")
    path.write_text(text[: first + 1] + text[released + 1 :] if first < released else text, encoding="utf-8")


def shorter_identity_name(spec: Spec) -> None:
    spec["components"]["schemas"]["GetCuidsRequest"]["properties"]["identityName"]["maxLength"] = 10


def longer_identity_values(spec: Spec) -> None:
    spec["components"]["schemas"]["IdentityValue"]["maxLength"] = 512


# --- the guard on this checkout ----------------------------------------------------------------


def test_this_checkout_passes_the_guard() -> None:
    """CI: openapi.yaml as committed may go out against the newest released baseline."""
    run = subprocess.run([*BREAKING], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "breaking: OK" in run.stdout


def test_the_baseline_is_a_released_version_listed_in_the_changelog() -> None:
    baseline = _baseline()
    version = yaml.safe_load(baseline.read_text(encoding="utf-8"))["info"]["version"]
    assert baseline.name == f"openapi-{version}.yaml"
    assert f"\n## [{version}]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


# --- make breaking in a copy -------------------------------------------------------------------


def test_a_breaking_edit_without_a_major_bump_fails(repo: Path) -> None:
    _edit(repo / "openapi.yaml", shorter_identity_name, version="1.1.0")
    _log(repo / "CHANGELOG.md", "## [1.1.0]\n\n- `identityName` has at most 10 characters (breaking change).")
    result = make(repo, "breaking")
    assert result.returncode != 0
    assert "BREAKING:     request.body.scope.remove at paths./user/register.post" in result.stdout
    assert "need a new major version: set info.version to 2.0.0 (now 1.1.0)" in result.stderr


def test_the_same_edit_with_a_major_bump_and_a_marked_entry_passes(repo: Path) -> None:
    _edit(repo / "openapi.yaml", shorter_identity_name, version="2.0.0")
    _log(repo / "CHANGELOG.md", "## [2.0.0]\n\n- `identityName` has at most 10 characters (breaking change).")
    result = make(repo, "breaking")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BREAKING:" in result.stdout and "breaking: OK" in result.stdout


def test_a_major_bump_without_marking_the_entry_fails(repo: Path) -> None:
    # CHANGELOG.md's introduction says "(breaking change)" too; only the entries count.
    assert "(breaking change)" in (repo / "CHANGELOG.md").read_text(encoding="utf-8").split("\n## ")[0]
    _edit(repo / "openapi.yaml", shorter_identity_name, version="2.0.0")
    _log(repo / "CHANGELOG.md", "## [2.0.0]\n\n- `identityName` has at most 10 characters.")
    result = make(repo, "breaking")
    assert result.returncode != 0
    assert "does not mark the breaking change '(breaking change)'" in result.stderr


def test_a_non_breaking_edit_with_a_changelog_entry_passes(repo: Path) -> None:
    _edit(repo / "openapi.yaml", longer_identity_values)
    _log(repo / "CHANGELOG.md", "## [Unreleased]\n\n- Identity values may have up to 512 characters.")
    result = make(repo, "breaking")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "non-breaking: request.body.scope.add" in result.stdout
    assert "BREAKING" not in result.stdout


def test_a_non_breaking_edit_without_a_changelog_entry_fails(repo: Path) -> None:
    _released_only(repo / "CHANGELOG.md")  # the working CHANGELOG may hold unreleased entries
    _edit(repo / "openapi.yaml", longer_identity_values)
    result = make(repo, "breaking")
    assert result.returncode != 0
    assert "CHANGELOG.md lists no change above '## [1.0.0]'" in result.stderr


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing", None, "does not exist"),
        ("folder", "<dir>", "cannot read the baseline"),
        ("not-utf8", b"openapi: 3.0.3\ninfo: \xff\xfe\n", "cannot read the baseline"),
        ("not-yaml", "openapi: [3.0.3\n", "is not YAML or JSON"),
        ("not-openapi", "title: a list of things\n", "is not an OpenAPI document"),
        ("invalid-openapi", "openapi: 3.0.3\ninfo: {title: x, version: 1.0.0}\n", "is not valid OpenAPI"),
        ("empty", "", "is not an OpenAPI document"),
    ],
)
def test_an_unreadable_baseline_fails_clearly(
    repo: Path, name: str, content: str | bytes | None, message: str
) -> None:
    baseline = repo / "spec-baseline" / f"bad-{name}.yaml"
    if content == "<dir>":
        baseline.mkdir()
    elif isinstance(content, bytes):
        baseline.write_bytes(content)
    elif content is not None:
        baseline.write_text(content, encoding="utf-8")
    result = make(repo, "breaking", f"BASELINE={baseline}")
    assert result.returncode != 0, result.stdout
    assert "breaking: cannot check:" in result.stderr and message in result.stderr, result.stderr
    assert "breaking: OK" not in result.stdout
    assert "Traceback" not in result.stderr


def test_no_baseline_at_all_fails_clearly(repo: Path) -> None:
    for baseline in (repo / "spec-baseline").glob("*"):
        baseline.unlink()
    result = make(repo, "breaking")
    assert result.returncode != 0
    assert "holds no openapi-<version>.yaml" in result.stderr


# --- tools/breaking.py directly ----------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path]:
    spec, changelog = tmp_path / "openapi.yaml", tmp_path / "CHANGELOG.md"
    spec.write_text((ROOT / "openapi.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    changelog.write_text((ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), encoding="utf-8")
    return spec, changelog


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_guard(capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """tools/breaking.py's main() in this process (openapi-diff still runs as its own process)."""
    tool = load_tool("breaking")

    def run(spec: Path, changelog: Path, baseline: Path | None = None) -> Outcome:
        arguments = ["--spec", str(spec), "--changelog", str(changelog)]
        if baseline is not None:
            arguments += ["--baseline", str(baseline)]
        capsys.readouterr()
        status = tool.main(arguments)
        captured = capsys.readouterr()
        return Outcome(status, captured.out, captured.err)

    return run


def drop_bool_zero(spec: Spec) -> None:
    spec["components"]["schemas"]["UserBoolValue"]["enum"] = [1]


def api_key_on_get_cuids(spec: Spec) -> None:
    spec["components"]["securitySchemes"]["apiKey"] = {"type": "apiKey", "in": "header", "name": "X-Key"}
    spec["paths"]["/user/register"]["post"]["security"] = [{"apiKey": []}]


def form_instead_of_json(spec: Spec) -> None:
    content = spec["paths"]["/user/register"]["post"]["requestBody"]["content"]
    content["application/x-www-form-urlencoded"] = content.pop("application/json")


@pytest.mark.parametrize(
    ("change", "reported"),
    [
        (drop_bool_zero, "enum.value.remove [0] at #/components/schemas/UserBoolValue"),
        (api_key_on_get_cuids, "security.requirement.change at POST /user/register"),
        (form_instead_of_json, "request.media-type.remove at POST /user/register application/json"),
    ],
)
def test_breaking_changes_openapi_diff_misses_are_caught(
    workspace: tuple[Path, Path],
    run_guard: Callable[..., Outcome],
    change: Callable[[Spec], None],
    reported: str,
) -> None:
    spec, changelog = workspace
    _edit(spec, change, version="1.1.0")
    _log(changelog, "## [1.1.0]\n\n- A change (breaking change).")
    run = run_guard(spec, changelog)
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"BREAKING:     {reported}" in run.stdout
    assert "need a new major version" in run.stderr


def test_optional_security_is_not_breaking(
    workspace: tuple[Path, Path], run_guard: Callable[..., Outcome]
) -> None:
    spec, changelog = workspace
    _edit(spec, lambda s: s["paths"]["/user/register"]["post"].update(security=[{"basicAuth": []}, {}]))
    _log(changelog, "## [Unreleased]\n\n- getCuids also works without credentials.")
    run = run_guard(spec, changelog)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "security.requirement.change" not in run.stdout


def test_a_lower_version_than_released_fails(
    workspace: tuple[Path, Path], run_guard: Callable[..., Outcome]
) -> None:
    spec, changelog = workspace
    _edit(spec, lambda s: None, version="0.9.0")
    _log(changelog, "## [0.9.0]\n\n- Renumbered.")
    run = run_guard(spec, changelog)
    assert run.returncode == 1
    assert "info.version 0.9.0 is lower than the released 1.0.0" in run.stderr


def test_a_new_version_needs_its_own_changelog_heading(
    workspace: tuple[Path, Path], run_guard: Callable[..., Outcome]
) -> None:
    spec, changelog = workspace
    _edit(spec, longer_identity_values, version="1.1.0")
    _log(changelog, "## [Unreleased]\n\n- Identity values may have up to 512 characters.")
    run = run_guard(spec, changelog)
    assert run.returncode == 1
    assert "has no '## [1.1.0]' section for info.version" in run.stderr


def test_a_changed_spec_that_is_invalid_fails_clearly(
    workspace: tuple[Path, Path], run_guard: Callable[..., Outcome]
) -> None:
    spec, changelog = workspace
    spec.write_text(spec.read_text("utf-8").replace("      responses:\n", "      x-responses:\n", 1), "utf-8")
    run = run_guard(spec, changelog)
    assert run.returncode == 2
    assert "the spec" in run.stderr and "is not valid OpenAPI" in run.stderr


def test_a_baseline_whose_version_is_not_semver_fails_clearly(
    workspace: tuple[Path, Path], run_guard: Callable[..., Outcome], tmp_path: Path
) -> None:
    spec, changelog = workspace
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(_baseline().read_text("utf-8").replace("version: 1.0.0", "version: v1", 1), "utf-8")
    run = run_guard(spec, changelog, baseline)
    assert run.returncode == 2
    assert "info.version 'v1' is not MAJOR.MINOR.PATCH" in run.stderr


def test_the_spec_is_compared_with_the_newest_baseline(tmp_path: Path) -> None:
    tool = load_tool("breaking")
    for version in ("1.0.0", "1.10.0", "1.9.3", "0.99.0"):
        document = copy.deepcopy(yaml.safe_load(_baseline().read_text("utf-8")))
        document["info"]["version"] = version
        (tmp_path / f"openapi-{version}.yaml").write_text(yaml.safe_dump(document), "utf-8")
    (tmp_path / "notes.yaml").write_text("x: 1\n", "utf-8")
    assert tool.latest_baseline(tmp_path).name == "openapi-1.10.0.yaml"
