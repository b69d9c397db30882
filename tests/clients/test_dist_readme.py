"""docs/dist-README.md (dist/README.md) tells other teams the commands make clients really runs,
and each language's snippet runs as written against the sandbox."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from jiguang_growth.sandbox import SandboxServer

from .conftest import ROOT, built, clients

README = (ROOT / "docs" / "dist-README.md").read_text(encoding="utf-8")
PINS = dict(
    line.split("==", 1)
    for line in (ROOT / "clients" / "requirements.txt").read_text().splitlines()
    if "==" in line
)
NPM = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["devDependencies"]
SNIPPETS = dict(re.findall(r"<!-- snippet: ([\w-]+) -->\n```\w+\n(.*?)```", README, re.DOTALL))
"""Each language's program, as a reader copies it."""


def test_the_versions_in_the_readme_are_the_pinned_ones() -> None:
    assert f"openapi-generator-cli=={PINS['openapi-generator-cli']}" in README
    assert f"datamodel-code-generator=={PINS['datamodel-code-generator']}" in README
    assert f"openapi-typescript@{NPM['openapi-typescript']}" in README
    assert f"openapi-fetch@{NPM['openapi-fetch']}" in README
    assert f"TypeScript {NPM['typescript']}" in README
    go_mod = (ROOT / "clients" / "oapi-codegen" / "go.mod").read_text(encoding="utf-8")
    for module in ("github.com/oapi-codegen/oapi-codegen/v2", "github.com/oapi-codegen/runtime"):
        version = re.search(rf"{re.escape(module)} (v\S+)", go_mod)
        assert version is not None and f"{module}@{version.group(1)}" in README.replace(
            "/cmd/oapi-codegen", ""
        )


def test_the_pydantic_command_has_the_options_the_tool_uses() -> None:
    command = re.search(r"datamodel-codegen .*?```", README, re.DOTALL)
    assert command is not None
    words = command.group(0).replace("\\\n", " ").split()
    for option in clients.PYDANTIC_OPTIONS:
        flag, _, value = option.partition("=")
        assert flag in words and (not value or value in words), f"{option} is missing from dist-README.md"


@pytest.mark.parametrize(
    ("language", "options"),
    [
        ("go", ()),
        ("java", clients.JAVA_OPTIONS),
        ("kotlin", clients.KOTLIN_OPTIONS),
        ("rust", ("-t", "rust-templates")),  # dist/rust-templates: clients.rust_templates (make bundle)
    ],
)
def test_the_generator_commands_are_the_ones_make_clients_runs(
    language: str, options: tuple[str, ...]
) -> None:
    found = re.search(
        rf"openapi-generator-cli generate -i openapi\.yaml -g {language} -o \S+(.*?)\n(?!\s)",
        README,
        re.DOTALL,
    )
    assert found is not None, f"no {language} command"
    assert found.group(1).replace("\\\n", " ").split() == list(options)


def test_the_oapi_codegen_configuration_is_the_pinned_one() -> None:
    config = (ROOT / "clients" / "oapi-codegen" / "oapi-codegen.yaml").read_text(encoding="utf-8")
    wanted = [line for line in config.splitlines() if line and not line.startswith("#")]
    assert "\n".join(wanted) in README


WITH_SNIPPET = clients.LANGUAGES


def test_every_language_has_one_snippet() -> None:
    assert sorted(SNIPPETS) == sorted(WITH_SNIPPET)


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    run = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, f"{' '.join(command)} failed:\n{run.stdout}{run.stderr}"
    return run.stdout


def _program(language: str, folder: Path) -> list[str]:
    """Wire the built client into a new project as the README says, compile the snippet, and
    return the command that runs it."""
    built(language)
    snippet = SNIPPETS[language]
    out = clients.OUT
    go = str(clients.VENV / "bin" / "go")
    if language == "go":
        (folder / "main.go").write_text(snippet, encoding="utf-8")
        module = clients.GO_MODULE
        (folder / "go.mod").write_text("module example.com/growth-demo\n\ngo 1.23\n", encoding="utf-8")
        _run(
            [go, "mod", "edit", f"-require={module}@v0.0.0", f"-replace={module}={out / 'go' / 'client'}"],
            folder,
        )
        _run([go, "vet", "."], folder, clients.go_env())
        _run([go, "build", "-o", "demo", "."], folder, clients.go_env())
        return [str(folder / "demo")]
    if language == "oapi-codegen":
        (folder / "main.go").write_text(snippet, encoding="utf-8")
        shutil.copytree(out / "oapi-codegen" / "growth", folder / "growth")
        shutil.copy(ROOT / "clients" / "oapi-codegen" / "go.sum", folder / "go.sum")
        go_mod = (ROOT / "clients" / "oapi-codegen" / "go.mod").read_text(encoding="utf-8")
        (folder / "go.mod").write_text(
            go_mod.replace("module clientcheck/oapi", "module example.com/growth-demo")
        )
        _run([go, "vet", "./..."], folder, clients.oapi_codegen_env())
        _run([go, "build", "-o", "demo", "."], folder, clients.oapi_codegen_env())
        return [str(folder / "demo")]
    if language == "typescript":
        # Inside the repository, so that Node and tsc find its node_modules (openapi-fetch).
        folder = ROOT / "build" / "snippets" / "typescript"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copy(out / "typescript" / "schema.d.ts", folder / "growth.d.ts")
        shutil.copy(ROOT / "clients" / "typescript" / "node.d.ts", folder / "node.d.ts")
        (folder / "main.ts").write_text(snippet, encoding="utf-8")
        config = {
            "extends": str(ROOT / "clients" / "typescript" / "tsconfig.json"),
            "compilerOptions": {"noEmit": False, "outDir": "./out", "rootDir": ".", "paths": {}},
            "files": ["main.ts", "node.d.ts"],
        }
        (folder / "tsconfig.json").write_text(json.dumps(config), encoding="utf-8")
        _run(
            [str(ROOT / "node_modules" / ".bin" / "tsc"), "--project", "tsconfig.json", "--pretty", "false"],
            folder,
        )
        (folder / "out" / "package.json").write_text('{"type": "module"}\n', encoding="utf-8")
        return [shutil.which("node") or "node", str(folder / "out" / "main.js")]
    if language == "pydantic":
        (folder / "main.py").write_text(snippet, encoding="utf-8")
        shutil.copy(out / "pydantic" / "growth_models.py", folder / "growth_models.py")
        return [str(clients.VENV / "bin" / "python"), "-W", "error", str(folder / "main.py")]
    target = out / language / "client" / "target"
    classpath = f"{target / 'classes'}{os.pathsep}{target / 'dependency' / '*'}"
    if language == "java":
        (folder / "Main.java").write_text(snippet, encoding="utf-8")
        _run(["javac", "-Xlint:all", "-Werror", "-cp", classpath, "-d", ".", "Main.java"], folder)
        return ["java", "-cp", f"{folder}{os.pathsep}{classpath}", "Main"]
    if language == "rust":
        (folder / "src").mkdir()
        (folder / "src" / "main.rs").write_text(snippet, encoding="utf-8")
        toml = re.search(r"```toml\n(\[dependencies\]\n.*?)```", README, re.DOTALL)
        assert toml is not None
        dependencies = toml.group(1).replace("../growth-rust", str(out / "rust" / "client"))
        (folder / "Cargo.toml").write_text(
            f'[package]\nname = "growth-demo"\nversion = "0.0.0"\nedition = "2021"\n\n{dependencies}',
            encoding="utf-8",
        )
        shutil.copy(ROOT / "clients" / "rust" / "Cargo.lock", folder / "Cargo.lock")
        env = clients.rust_env()  # the crates make clients compiled are reused, nothing is downloaded
        _run(["cargo", "build", "--offline", "--quiet"], folder, env)
        shutil.copy(Path(env["CARGO_TARGET_DIR"]) / "debug" / "growth-demo", folder / "demo")
        return [str(folder / "demo")]
    assert language == "kotlin", language
    project = folder / "project"
    shutil.copytree(out / "kotlin" / "client" / "src", project / "src")
    shutil.copy(ROOT / "clients" / "kotlin" / "pom.xml", project / "pom.xml")
    (project / "src" / "main" / "kotlin" / "Main.kt").write_text(snippet, encoding="utf-8")
    _run(["mvn", "-B", "-q", "-o", f"-Dmaven.repo.local={clients.MAVEN_REPO}", "compile"], project)
    return [
        "java",
        "-cp",
        f"{project / 'target' / 'classes'}{os.pathsep}{target / 'dependency' / '*'}",
        "MainKt",
    ]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("language", WITH_SNIPPET)
def test_the_snippet_runs_as_written_through_a_429_and_a_wrong_secret(
    language: str, growth_sandbox: SandboxServer, tmp_path: Path
) -> None:
    command = _program(language, tmp_path)
    env = {"GROWTH_API_URL": growth_sandbox.api_url}
    growth_sandbox.faults.force(429)
    run = subprocess.run(
        command, cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, f"{language}: {run.stdout}{run.stderr}"
    assert re.search(r"^429: retrying in \d+ s$", run.stdout, re.MULTILINE), f"{language}: {run.stdout}"
    assert re.search(r"^18012345678 -> cuid \d+ \(errorCode 0\)$", run.stdout, re.MULTILINE), run.stdout

    wrong = httpx.post(
        growth_sandbox.api_url + "/user/register",
        auth=(growth_sandbox.project_id, "wrong"),
        json={"identityName": "phone_test", "identityValues": ["18012345678"]},
    ).json()
    env["GROWTH_PROJECT_SECRET"] = "wrong"
    run = subprocess.run(
        command, cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )
    printed = run.stdout + run.stderr
    assert run.returncode != 0, f"{language}: {printed}"
    assert f"failed: HTTP 401 code={wrong['code']} msg={wrong['msg']}" in printed, f"{language}: {printed}"
    assert "0x" not in printed and "%!" not in printed, f"{language} printed a pointer: {printed}"
