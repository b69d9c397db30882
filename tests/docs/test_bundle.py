"""make bundle: dist/openapi.json and dist/openapi.yaml say what openapi.yaml says, and are valid."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml
from openapi_spec_validator import validate

from .conftest import make


def test_make_bundle_writes_both_formats_valid_and_equal_to_the_spec(
    repo: Path, spec: dict[str, Any]
) -> None:
    result = make(repo, "bundle")
    assert result.returncode == 0, result.stdout + result.stderr

    dist = repo / "dist"
    as_json = json.loads((dist / "openapi.json").read_text(encoding="utf-8"))
    as_yaml = yaml.safe_load((dist / "openapi.yaml").read_text(encoding="utf-8"))
    for document in (as_json, as_yaml):
        validate(document)  # raises on anything invalid
        assert document == spec
    assert sorted(path.name for path in dist.iterdir()) == [
        "README.md",
        "openapi.json",
        "openapi.yaml",
        "rust-templates",
    ]
    shipped = dist / "rust-templates"
    assert [path.name for path in shipped.iterdir()] == ["model.mustache"]
    template = (shipped / "model.mustache").read_text(encoding="utf-8")
    block = (repo / "clients" / "rust" / "any_of.mustache").read_text(encoding="utf-8")
    assert block[block.index("}}\n") + 3 :] in template  # the block, without its comment
    assert template.count("{{#anyOf.isEmpty}}") == 1  # and the plain struct closed for anyOf

    readme = (dist / "README.md").read_text(encoding="utf-8")
    assert f"OpenAPI {spec['info']['version']}" in readme.splitlines()[0]
    for name in ("openapi.json", "openapi.yaml"):
        assert hashlib.sha256((dist / name).read_bytes()).hexdigest() in readme
    headings = [line for line in readme.splitlines() if line.startswith("### ")]
    for language in ("TypeScript", "Go", "Python", "Java", "Kotlin", "Rust"):  # one section per language
        assert any(language in heading for heading in headings), f"no section for {language}"
    assert not re.search(r"\{\{[a-z0-9_]+\}\}", readme)  # every placeholder filled (Go code has {{URL: ...}})


def test_make_bundle_refuses_an_invalid_spec_and_writes_nothing(repo: Path) -> None:
    spec = repo / "openapi.yaml"
    spec.write_text(spec.read_text("utf-8").replace("      responses:\n", "      x-responses:\n", 1), "utf-8")
    result = make(repo, "bundle")
    assert result.returncode != 0
    assert "not valid OpenAPI" in result.stderr or "redocly bundle failed" in result.stderr, result.stderr
    assert not (repo / "dist" / "openapi.json").exists()
    assert not (repo / "dist" / "openapi.yaml").exists()
