"""docs/dist-README.md (dist/README.md) tells other teams the commands make clients really runs."""

from __future__ import annotations

import json
import re

from .conftest import ROOT, clients

README = (ROOT / "docs" / "dist-README.md").read_text(encoding="utf-8")
PINS = dict(
    line.split("==", 1)
    for line in (ROOT / "clients" / "requirements.txt").read_text().splitlines()
    if "==" in line
)
NPM = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["devDependencies"]


def test_the_versions_in_the_readme_are_the_pinned_ones() -> None:
    assert f"openapi-generator-cli=={PINS['openapi-generator-cli']}" in README
    assert f"datamodel-code-generator=={PINS['datamodel-code-generator']}" in README
    assert f"openapi-typescript@{NPM['openapi-typescript']}" in README
    assert f"openapi-fetch@{NPM['openapi-fetch']}" in README
    assert f"TypeScript {NPM['typescript']}" in README


def test_the_pydantic_command_has_the_options_the_tool_uses() -> None:
    command = re.search(r"datamodel-codegen .*?```", README, re.DOTALL)
    assert command is not None
    words = command.group(0).replace("\\\n", " ").split()
    for option in clients.PYDANTIC_OPTIONS:
        flag, _, value = option.partition("=")
        assert flag in words and (not value or value in words), f"{option} is missing from dist-README.md"


def test_the_generator_commands_use_default_options() -> None:
    for language in ("go", "java", "kotlin"):
        assert re.search(rf"openapi-generator-cli generate -i openapi\.yaml -g {language} -o \S+\n", README)
