"""The sandbox page's tables (docs/sandbox.md) say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from jiguang_growth.sandbox import Fault, SandboxCode, injected_code

PAGE = Path(__file__).resolve().parents[2] / "docs" / "sandbox.md"


def section(title: str) -> str:
    """The whole page, which is the sandbox's section of the docs."""
    text = PAGE.read_text(encoding="utf-8")
    assert text.startswith(f"# {title}\n")
    return text


def table_rows(text: str, header: str) -> list[list[str]]:
    lines = text[text.index(header) :].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_code_table_lists_every_failure_code_with_its_status() -> None:
    rows = table_rows(section("Sandbox"), "| code | HTTP | when |")
    documented = {int(code): int(status) for code, status, _ in rows if code.isdigit()}

    assert documented == {int(code): code.status for code in SandboxCode if code is not SandboxCode.OK}
    assert ["*status*99", "*status*"] in [row[:2] for row in rows]
    assert injected_code(503) == 50399
    assert "sandbox only, not vendor codes" in section("Sandbox")


def test_the_fault_table_says_which_faults_apply_the_write() -> None:
    rows = table_rows(section("Sandbox"), "| fault | answer | applied |")
    checked = 0
    for labels, _, applied in rows:
        for label in re.findall(r"`([a-z0-9]+)`", labels):
            assert Fault.parse(label).applies_write is (applied == "yes"), label
            checked += 1
    for status, applied in ((404, "no"), (418, "no")):  # "other 4xx"
        assert Fault.parse(status).applies_write is (applied == "yes")
    assert checked >= 10
