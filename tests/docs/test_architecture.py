"""docs/architecture.md's table of parts is the import rule of the package, checked on every import.

Each row names a part, its modules and the parts it may import. Every ``import`` and
``from ... import`` inside overlays/jiguang_growth/ (lazy ones in functions included) must stay in
its own part or go to a part its row lists; and no import takes a ``_``-prefixed name that is
not a module from another part (that would be calling another part's private function).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "overlays" / "jiguang_growth"
DOC = ROOT / "docs" / "architecture.md"
REST = "core"
"""The part of every top-level module that no row names."""


@cache
def parts() -> dict[str, tuple[set[str], set[str]]]:
    """Each part's module names (``bulk/`` for a folder) and the parts it may import."""
    found: dict[str, tuple[set[str], set[str]]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `(\w+)` \|(.*)\|(.*)\|(.*)\|$", line)
        if match is None:
            continue
        name, modules, _, allowed = match.groups()
        names = set() if name == REST else set(re.findall(r"`([\w]+/?)`", modules))
        found[name] = (names, set(re.findall(r"`(\w+)`", allowed)))
    return found


def part_of(module: str) -> str:
    """The part of a dotted module name under ``jiguang_growth``."""
    pieces = module.split(".")[1:]
    if not pieces:
        key = "__init__"
    elif (PACKAGE / pieces[0]).is_dir():
        key = f"{pieces[0]}/"
    else:
        key = pieces[0]
    for name, (modules, _) in parts().items():
        if key in modules:
            return name
    return REST


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    name = ".".join(relative.parts)
    return name.removesuffix(".__init__")


def _is_module(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, module imported, name taken from it) for each of our package's imports; the name is
    None where a whole module is imported."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name, None) for a in node.names if a.name.split(".")[0] == "jiguang_growth"
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").split(".")[0] == "jiguang_growth":
                source = node.module or ""
            else:
                continue
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if _is_module(target):
                    found.append((node.lineno, target, None))
                else:
                    found.append((node.lineno, source, alias.name))
    return found


def test_the_table_covers_the_package() -> None:
    table = parts()
    assert REST in table
    named = {module for modules, _ in table.values() for module in modules}
    for module in named:
        path = PACKAGE / module.rstrip("/")
        assert path.is_dir() or path.with_suffix(".py").is_file(), f"the table names {module}, which is gone"
    for _, allowed in table.values():
        assert allowed <= set(table), f"the table allows parts it does not define: {allowed - set(table)}"


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: str(path.relative_to(PACKAGE))
)
def test_every_import_keeps_to_the_table(path: Path) -> None:
    here = part_of(_module_name(path))
    allowed = parts()[here][1] | {here}
    wrong = []
    for line, source, name in imports(path):
        there = part_of(source)
        if there not in allowed:
            wrong.append(f"line {line}: {here} may not import {there} ({source})")
        elif there != here and name is not None and name.startswith("_") and not name.startswith("__"):
            wrong.append(f"line {line}: {name} is private to {there} ({source})")
    assert not wrong, f"{path.relative_to(ROOT)}:\n" + "\n".join(wrong)


def test_the_rule_would_catch_the_reporter_reaching_into_bulk() -> None:
    """What the table forbids: the reporter importing bulk's engine, as it once did."""
    assert part_of("jiguang_growth._reporter._sender") == "reporter"
    assert part_of("jiguang_growth.bulk._engine") == "bulk"
    assert "bulk" not in parts()["reporter"][1]
    assert "reporter" not in parts()["bulk"][1]


def test_readme_and_contributing_link_the_page() -> None:
    for name in ("README.md", "CONTRIBUTING.md"):
        assert "docs/architecture.md" in (ROOT / name).read_text(encoding="utf-8"), name
