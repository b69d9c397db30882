"""CONTRIBUTING.md's layout table names every module of the package, and nothing that is gone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "overlays" / "jiguang_growth"
ROWS = {
    "overlays/jiguang_growth/": PACKAGE,
    "overlays/jiguang_growth/bulk/": PACKAGE / "bulk",
    "overlays/jiguang_growth/sandbox/": PACKAGE / "sandbox",
}


def _row(path: str) -> str:
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    match = re.search(rf"^\| `{re.escape(path)}` \|(.*)\|$", text, re.MULTILINE)
    assert match, f"CONTRIBUTING.md has no layout row for {path}"
    return match.group(1)


def _modules(folder: Path) -> set[str]:
    """The folder's modules and subpackages, as a reader would name them (``_call``, ``_validation/``)."""
    names = {p.stem for p in folder.glob("*.py") if p.name != "__init__.py"}
    names |= {
        f"{p.name}/"
        for p in folder.iterdir()
        if (p / "__init__.py").is_file() and p.name not in {"bulk", "sandbox"}
    }
    return names


@pytest.mark.parametrize("path", sorted(ROWS))
def test_layout_row_names_every_module(path: str) -> None:
    named = set(re.findall(r"`([A-Za-z_][\w]*/?)`", _row(path)))
    missing = _modules(ROWS[path]) - named
    assert not missing, f"CONTRIBUTING.md's row for {path} does not name {sorted(missing)}"


def test_layout_row_names_no_module_that_is_gone() -> None:
    named = set(re.findall(r"`(_\w+/?)`", _row("overlays/jiguang_growth/")))
    everywhere = {name for folder in PACKAGE.glob("**/") for name in _modules(folder)}
    gone = named - everywhere
    assert not gone, f"CONTRIBUTING.md names modules that do not exist: {sorted(gone)}"
