"""Cross-language proof: openapi-typescript types for the spec pass a strict TypeScript 5 check.

tools/typescript.py (``make types``) generates the types and a module of every spec example, and
runs tsc on them together with clients/typescript/usage.ts. These tests also show tsc really
checks: a wrong example, and a spec with an operation usage.ts does not know, both fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT, load_tool

TOOL = (sys.executable, str(ROOT / "tools" / "typescript.py"))


def _count_examples(spec: dict[str, Any]) -> int:
    def media_count(media: dict[str, Any]) -> int:
        return int("example" in media) + len(media.get("examples") or {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in node:
            return dict(spec["components"]["responses"][node["$ref"].rsplit("/", 1)[1]])
        return node

    total = 0
    for item in spec["paths"].values():
        for operation in item.values():
            total += media_count(operation["requestBody"]["content"]["application/json"])
            for response in operation["responses"].values():
                total += media_count(resolve(response)["content"]["application/json"])
    return total


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("typescript")
    run = subprocess.run([*TOOL, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    return out, run


def test_types_are_generated_and_pass_strict_tsc(
    generated: tuple[Path, subprocess.CompletedProcess[str]], spec: dict[str, Any]
) -> None:
    out, run = generated
    assert run.returncode == 0, run.stdout + run.stderr
    count = _count_examples(spec)
    assert count >= 12
    assert f"usage.ts and {count} spec examples pass Version 5.9.3 --strict" in run.stdout

    schema = (out / "schema.d.ts").read_text(encoding="utf-8")
    for path, item in spec["paths"].items():
        assert json.dumps(path) + ": {" in schema
        for operation in item.values():
            assert f'operations["{operation["operationId"]}"]' in schema
    examples = (out / "examples.ts").read_text(encoding="utf-8")
    assert examples.count(" satisfies operations[") == count

    config = json.loads((out / "tsconfig.json").read_text(encoding="utf-8"))
    base = json.loads((ROOT / "clients/typescript/tsconfig.json").read_text(encoding="utf-8"))
    assert config["extends"] == str(ROOT / "clients/typescript/tsconfig.json")
    assert base["compilerOptions"]["strict"] is True
    assert base["compilerOptions"]["noEmit"] is True
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    assert pinned["typescript"] == "5.9.3" and pinned["openapi-typescript"] == "7.13.0"


def test_a_wrong_example_fails_the_type_check(
    generated: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    out, run = generated
    assert run.returncode == 0
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("schema.d.ts", "tsconfig.json"):
        (broken / name).write_text((out / name).read_text(encoding="utf-8"), encoding="utf-8")
    module = (out / "examples.ts").read_text(encoding="utf-8")
    wrong = '  { "code": "0", "msg": "ok" } satisfies operations["getCuids"]["responses"][200]["content"]'
    module = module.replace("] as const;", wrong + '["application/json"],\n] as const;')
    (broken / "examples.ts").write_text(module, encoding="utf-8")
    typescript = load_tool("typescript")
    with pytest.raises(typescript.TypeScriptError) as failure:
        typescript.typecheck(broken)
    assert "examples.ts" in str(failure.value)
    assert "error TS2322" in str(failure.value)


def test_an_operation_the_typescript_code_does_not_know_fails_the_type_check(tmp_path: Path) -> None:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    extra = json.loads(json.dumps(spec["paths"]["/user/register"]["post"]))
    extra["operationId"] = "lookupCuids"
    spec["paths"]["/user/lookup"] = {"post": extra}
    changed = tmp_path / "openapi.yaml"
    changed.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    run = subprocess.run(
        [*TOOL, "--spec", str(changed), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1
    assert "usage.ts" in run.stderr and "lookupCuids" in run.stderr


def test_a_spec_example_that_breaks_its_schema_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "openapi.yaml").read_text(encoding="utf-8")
    changed = tmp_path / "openapi.yaml"
    changed.write_text(text.replace("itime: 1654076420235", 'itime: "soon"', 1), encoding="utf-8")
    assert changed.read_text(encoding="utf-8") != text
    run = subprocess.run(
        [*TOOL, "--spec", str(changed), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1
    assert "Example value must conform to the schema" in run.stderr
