"""docs/clients.md's matrix says what make clients really builds: its readers, their pinned
versions and options, the warnings each compile allows, and which readers keep unnamed fields.
The pins of clients/java/pom.xml and clients/kotlin/pom.xml are those the generated build files
ask for."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import ROOT, built, clients

MATRIX = (ROOT / "docs" / "clients.md").read_text(encoding="utf-8")
ROWS = {
    match.group(1): [cell.strip() for cell in match.group(2).split("|")]
    for match in re.finditer(r"^\| `([\w-]+)` \| (.*) \|$", MATRIX, re.MULTILINE)
}
COLUMNS = ("generator", "options", "compile", "round trip", "live", "tolerant", "keeps", "notes")
PINS = dict(
    line.split("==", 1)
    for line in (ROOT / "clients" / "requirements.txt").read_text().splitlines()
    if "==" in line
)
NPM = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["devDependencies"]
GO_MOD = (ROOT / "clients" / "oapi-codegen" / "go.mod").read_text(encoding="utf-8")
NOT_BUILT = {"ogen"}
"""Readers the matrix lists beside clients.LANGUAGES: ogen does not read the spec (its row says why)."""


def _cell(language: str, column: str) -> str:
    return ROWS[language][COLUMNS.index(column)]


def _go_module(path: str) -> str:
    found = re.search(rf"{re.escape(path)} (v\S+)", GO_MOD)
    assert found is not None, path
    return found.group(1)


def test_the_matrix_has_one_row_per_reader() -> None:
    assert set(ROWS) - NOT_BUILT == set(clients.LANGUAGES)
    assert all(len(cells) == len(COLUMNS) for cells in ROWS.values()), ROWS


@pytest.mark.parametrize("language", clients.LANGUAGES)
def test_every_built_reader_passes_all_four_proofs(language: str) -> None:
    # tests/clients/test_round_trip.py and test_live.py prove these for every language.
    assert [_cell(language, c) for c in ("round trip", "live", "tolerant")] == ["pass"] * 3


def test_the_versions_are_the_pinned_ones() -> None:
    generator = f"OpenAPI Generator {PINS['openapi-generator-cli']}"
    for language in ("go", "java", "kotlin", "rust"):
        assert _cell(language, "generator").startswith(generator), language
    assert f"oapi-codegen {_go_module('github.com/oapi-codegen/oapi-codegen/v2')}" in _cell(
        "oapi-codegen", "generator"
    )
    assert f"runtime {_go_module('github.com/oapi-codegen/runtime')}" in _cell("oapi-codegen", "generator")
    typescript = _cell("typescript", "generator")
    for package in ("openapi-typescript", "openapi-fetch"):
        assert f"{package} {NPM[package]}" in typescript
    assert f"TypeScript {NPM['typescript']}" in typescript
    pydantic = _cell("pydantic", "generator")
    assert f"datamodel-code-generator {PINS['datamodel-code-generator']}" in pydantic
    assert f"pydantic {PINS['pydantic']}" in pydantic


def test_the_options_are_the_ones_the_build_uses() -> None:
    assert _cell("java", "options") == f"`{' '.join(clients.JAVA_OPTIONS)}`"
    assert _cell("kotlin", "options") == f"`{' '.join(clients.KOTLIN_OPTIONS)}`"
    config = (ROOT / "clients" / "oapi-codegen" / "oapi-codegen.yaml").read_text(encoding="utf-8")
    suffix = re.search(r"^\s+response-type-suffix: (\w+)$", config, re.MULTILINE)
    assert suffix is not None and f"`response-type-suffix: {suffix.group(1)}`" == _cell(
        "oapi-codegen", "options"
    )
    for option in ("--strict-types", "--field-constraints", "--use-annotated"):
        assert option in clients.PYDANTIC_OPTIONS and option in _cell("pydantic", "options")
    block = clients.RUST_BLOCK.relative_to(ROOT)
    assert ("-t", str(clients.RUST_TEMPLATES)) == clients.RUST_OPTIONS
    assert _cell("rust", "options").startswith(
        f"`-t rust-templates` (the generator's own template plus `{block}`"
    )


def test_a_reader_that_hides_headers_says_so() -> None:
    for language in clients.LANGUAGES:
        says = "no `WWW-Authenticate`, no `Retry-After`" in _cell(language, "notes")
        assert says == (language in clients.HIDES_RESPONSE_HEADERS), language


def test_the_allowed_warnings_are_the_ones_the_poms_allow() -> None:
    java = (ROOT / "clients" / "java" / "pom.xml").read_text(encoding="utf-8")
    lint = re.search(r"<arg>-Xlint:all,(.*?)</arg>", java)
    assert lint is not None
    allowed = sorted(name.removeprefix("-") for name in lint.group(1).split(","))
    assert allowed == sorted(re.findall(r"`(\w+)`", _cell("java", "compile").split("except", 1)[1])[:2])
    kotlin = (ROOT / "clients" / "kotlin" / "pom.xml").read_text(encoding="utf-8")
    disabled = re.findall(r"-Xwarning-level=(\w+):disabled", kotlin)
    assert disabled == re.findall(r"except `(\w+)`", _cell("kotlin", "compile"))


def test_the_keeps_unnamed_fields_column_is_what_the_tolerant_test_expects() -> None:
    keeps = {language for language in clients.LANGUAGES if _cell(language, "keeps") == "yes"}
    assert keeps == clients.KEEPS_UNNAMED_FIELDS
    assert all(_cell(language, "keeps") in {"yes", "no"} for language in clients.LANGUAGES)
    assert _cell("rust", "keeps") == "no"
    assert f"except `{clients.RUST_FLAGS.split(' -A ')[1]}`" in _cell("rust", "compile")


def _properties(pom: str) -> dict[str, str]:
    block = re.search(r"<properties>(.*?)</properties>", pom, re.DOTALL)
    assert block is not None
    return dict(re.findall(r"<([\w.-]+)>([^<]+)</\1>", block.group(1)))


def test_the_java_pom_pins_what_the_generated_pom_asks_for() -> None:
    built("java")
    generated = _properties(
        (clients.OUT / "java" / "client" / "pom.xml.generated").read_text(encoding="utf-8")
    )
    ours = _properties((ROOT / "clients" / "java" / "pom.xml").read_text(encoding="utf-8"))
    shared = {name for name in ours if name.endswith("version")} & set(generated)
    assert len(shared) >= 6, shared
    assert {name: ours[name] for name in shared} == {name: generated[name] for name in shared}


def test_the_kotlin_pom_pins_what_the_generated_build_gradle_asks_for() -> None:
    built("kotlin")
    gradle = (clients.OUT / "kotlin" / "client" / "build.gradle.generated").read_text(encoding="utf-8")
    ours = _properties((ROOT / "clients" / "kotlin" / "pom.xml").read_text(encoding="utf-8"))
    kotlin = re.search(r"kotlin_version = '([^']+)'", gradle)
    assert kotlin is not None and ours["kotlin_version"] == kotlin.group(1)
    for group, artifact, name in (
        ("com.squareup.moshi", "moshi-kotlin", "moshi-version"),
        ("com.squareup.moshi", "moshi-adapters", "moshi-version"),
        ("com.squareup.okhttp3", "okhttp", "okhttp-version"),
    ):
        assert f'"{group}:{artifact}:{ours[name]}"' in gradle, (
            f"{artifact} is not {ours[name]} in build.gradle"
        )


def test_the_page_names_no_reader_the_build_lacks() -> None:
    for path in re.findall(r"`(clients/[\w/.-]+)`", MATRIX):
        assert (ROOT / path).exists(), path
    assert Path(ROOT / "docs" / "dist-README.md").read_text(encoding="utf-8").count("docs/clients.md") == 1
