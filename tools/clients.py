"""Build the clients other language teams generate from openapi.yaml, as they would.

``tools/clients.py build`` (run by tests/clients, so by ``make clients`` and ``make test``)
writes into ``build/clients/``:

* ``examples.json``: every JSON example of the spec (tools/spec_examples.py);
* ``go/``: OpenAPI Generator ``-g go`` with default options, ``go build`` and ``go vet`` of the
  package, then ``clients/go/main.go`` built against it as ``go/clientcheck``;
* ``typescript/``: openapi-typescript types, and ``clients/typescript/client.ts`` (openapi-fetch)
  compiled by ``tsc --strict`` to ``typescript/out/client.js`` for Node;
* ``pydantic/``: datamodel-code-generator's pydantic v2 models, imported with warnings as errors
  and checked by ``mypy --strict``;
* ``java/`` and ``kotlin/``: OpenAPI Generator ``-g java`` / ``-g kotlin``, compiled with Maven;
* ``rust/``: OpenAPI Generator ``-g rust`` with its own model template plus the block of
  ``clients/rust/any_of.mustache`` (``rust-templates/``, shipped in ``dist/``), compiled with cargo
  and ``clients/rust/Cargo.lock``.

Each language is rebuilt only when the spec, its own sources or a tool version changed (the key
is in ``<language>/.key``). The tools come from ``build/clients-venv`` (``clients/requirements.txt``,
installed by ``make clients``), Java 17 and Node; a missing one stops the build with a message that
names the install step. :func:`command` gives the command line of a built client's check
program (``roundtrip`` and ``live``; see clients/*/).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import spec_examples  # tools/ is a folder of scripts, so the folder goes on the path first

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
OUT = ROOT / "build" / "clients"
SOURCES = ROOT / "clients"
VENV = ROOT / "build" / "clients-venv"
REQUIREMENTS = SOURCES / "requirements.txt"
NODE_BIN = ROOT / "node_modules" / ".bin"
LANGUAGES = ("go", "oapi-codegen", "typescript", "pydantic", "java", "kotlin", "rust")
KEEPS_UNNAMED_FIELDS = frozenset({"go", "oapi-codegen", "typescript", "pydantic", "java"})
"""Languages whose answer models keep the fields the spec does not name (Kotlin's Moshi models
and Rust's serde structs decode such answers but drop those fields)."""
HIDES_RESPONSE_HEADERS = frozenset({"rust"})
"""Languages whose generated client gives a failed call's status and body but no header, so
neither ``WWW-Authenticate`` nor ``Retry-After`` can be read (Rust's ``ResponseContent``)."""
GO_MODULE = "github.com/GIT_USER_ID/GIT_REPO_ID"
"""The module path OpenAPI Generator's Go output has with default options."""
PYDANTIC_OPTIONS = (
    "--output-model-type=pydantic_v2.BaseModel",
    "--field-constraints",
    "--use-annotated",
    "--strict-types",
    "str",
    "bytes",
    "int",
    "float",
    "bool",
    "--target-python-version=3.11",
)
"""mypy-friendly constraints; strict scalars so that a JSON ``true`` is no event number."""
PYDANTIC_FORMATTERS = ("--formatters", "black", "isort")
"""Named explicitly: datamodel-code-generator warns that its default will change."""


class ClientBuildError(Exception):
    """A step failed; the message names the language and the step."""


def _run(
    command: Sequence[str | Path],
    step: str,
    *,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    quiet: bool = False,
) -> str:
    """Run one step; fail when it fails, or (``quiet``) when it prints anything, e.g. a warning."""
    try:
        run = subprocess.run(
            [str(part) for part in command],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    except FileNotFoundError as error:
        raise ClientBuildError(f"{step}: {error.filename} is missing") from None
    except subprocess.TimeoutExpired:
        raise ClientBuildError(f"{step}: no result within 600 s") from None
    if run.returncode != 0:
        raise ClientBuildError(f"{step} failed (exit {run.returncode}):\n{run.stdout}{run.stderr}".rstrip())
    if quiet and (run.stdout + run.stderr).strip():
        raise ClientBuildError(f"{step} printed warnings:\n{run.stdout}{run.stderr}".rstrip())
    return run.stdout + run.stderr


def _need(path: Path, step: str, install: str) -> Path:
    if not path.exists():
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        raise ClientBuildError(f"{step}: {shown} is missing; {install}")
    return path


def _venv_tool(name: str, language: str) -> Path:
    return _need(
        VENV / "bin" / name,
        f"{language}: install step 'pip install -r clients/requirements.txt' into build/clients-venv",
        "run 'make clients' (it installs the pinned tools from PyPI)",
    )


def _system_tool(name: str, language: str, install: str) -> Path:
    found = shutil.which(name)
    if found is None:
        raise ClientBuildError(f"{language}: install step '{install}' did not leave '{name}' on PATH")
    return Path(found)


def _java(language: str) -> Path:
    java = _system_tool("java", language, "apt-get install openjdk-17-jdk-headless")
    version = _run([java, "-version"], f"{language}: java -version")
    if 'version "17' not in version and 'version "2' not in version:
        raise ClientBuildError(f"{language}: OpenAPI Generator needs Java 17 or newer, found:\n{version}")
    return java


def _key(language: str, spec: Path, inputs: Sequence[Path], tools: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for path in (spec, *inputs):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update("\0".join((language, *tools)).encode())
    return digest.hexdigest()


def _cached(folder: Path, key: str) -> bool:
    stamp = folder / ".key"
    return stamp.exists() and stamp.read_text(encoding="utf-8") == key


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _generator(language: str, spec: Path, target: Path, options: Sequence[str] = ()) -> None:
    _java(language)
    generator = _venv_tool("openapi-generator-cli", language)
    _run(
        [generator, "generate", "-i", spec, "-g", language, "-o", target, *options],
        f"{language}: openapi-generator generate -g {language}",
    )


def go_env() -> dict[str, str]:
    """Offline Go: no module proxy (it is not reachable); one build cache under build/clients/."""
    return {
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",
        "GOTOOLCHAIN": "local",
        "GOPATH": str(OUT / "go-path"),
        "GOCACHE": str(OUT / "go-cache"),
    }


GO_HARNESS = SOURCES / "go" / "harness.go"
"""What both Go check programs share (examples, round trip, command line); copied beside each."""


def _vet_and_build(
    go: Path, language: str, what: str, *, cwd: Path, env: dict[str, str], binary: Path
) -> None:
    """go vet and go build of a check program; any output (a warning, a download) fails the step."""
    _run([go, "vet", "./..."], f"{language}: go vet of {what}", cwd=cwd, env=env, quiet=True)
    _run([go, "build", "-o", binary, "."], f"{language}: go build of {what}", cwd=cwd, env=env, quiet=True)


def build_go(spec: Path, out: Path) -> str:
    folder = out / "go"
    go = _venv_tool("go", "go")
    harness = SOURCES / "go" / "main.go"
    key = _key("go", spec, [harness, GO_HARNESS], [_run([go, "version"], "go: go version")])
    if _cached(folder, key):
        return "cached"
    _fresh(folder)
    _generator("go", spec, folder / "client")
    env = go_env()
    # The generated test/ folder needs testify from the module proxy; the package itself needs nothing.
    _run(
        [go, "build", "."], "go: go build of the generated client", cwd=folder / "client", env=env, quiet=True
    )
    _run([go, "vet", "."], "go: go vet of the generated client", cwd=folder / "client", env=env, quiet=True)
    check = folder / "clientcheck-src"
    check.mkdir()
    shutil.copy(harness, check / "main.go")
    shutil.copy(GO_HARNESS, check / GO_HARNESS.name)
    (check / "go.mod").write_text(
        f"module clientcheck\n\ngo 1.23\n\nrequire {GO_MODULE} v0.0.0\n\nreplace {GO_MODULE} => ../client\n",
        encoding="utf-8",
    )
    _vet_and_build(go, "go", "clients/go/main.go", cwd=check, env=env, binary=folder / "clientcheck")
    (folder / ".key").write_text(key, encoding="utf-8")
    return "built"


def oapi_codegen_env() -> dict[str, str]:
    """Go modules from the module proxy on the first build, then only from build/clients/go-mod;
    go.mod and go.sum (committed in clients/oapi-codegen/) are never rewritten."""
    return {
        "GOFLAGS": "-mod=readonly",
        "GOTOOLCHAIN": "local",
        "GOMODCACHE": str(OUT / "go-mod"),
        "GOPATH": str(OUT / "go-path"),
        "GOCACHE": str(OUT / "go-cache"),
    }


def build_oapi_codegen(spec: Path, out: Path) -> str:
    folder = out / "oapi-codegen"
    go = _venv_tool("go", "oapi-codegen")
    names = ("go.mod", "go.sum", "oapi-codegen.yaml", "main.go")
    sources = [*(SOURCES / "oapi-codegen" / name for name in names), GO_HARNESS]
    key = _key("oapi-codegen", spec, sources, [_run([go, "version"], "oapi-codegen: go version")])
    if _cached(folder, key):
        return "cached"
    _fresh(folder)
    for source in sources:
        shutil.copy(source, folder / source.name)
    env = oapi_codegen_env()
    _run(
        [go, "mod", "download"],
        "oapi-codegen: go mod download (the first build downloads the modules pinned in "
        "clients/oapi-codegen/go.sum from the Go module proxy into build/clients/go-mod)",
        cwd=folder,
        env=env,
    )
    _run(
        [go, "tool", "oapi-codegen", "-config", "oapi-codegen.yaml", spec],
        "oapi-codegen: go tool oapi-codegen",
        cwd=folder,
        env=env,
        quiet=True,
    )
    what = "the generated client and clients/oapi-codegen/main.go"
    _vet_and_build(go, "oapi-codegen", what, cwd=folder, env=env, binary=folder / "clientcheck")
    (folder / ".key").write_text(key, encoding="utf-8")
    return "built"


def build_typescript(spec: Path, out: Path) -> str:
    folder = out / "typescript"
    node = _system_tool("node", "typescript", "apt-get install nodejs npm")
    tools = [
        _need(NODE_BIN / name, "typescript: install step 'npm ci'", "run 'make setup'")
        for name in ("openapi-typescript", "tsc")
    ]
    sources = [SOURCES / "typescript" / name for name in ("client.ts", "node.d.ts", "tsconfig.json")]
    versions = [
        _run([node, "--version"], "typescript: node --version"),
        *(_run([tool, "--version"], f"typescript: {tool.name} --version") for tool in tools),
    ]
    key = _key("typescript", spec, [*sources, ROOT / "package-lock.json"], versions)
    if _cached(folder, key):
        return "cached"
    _fresh(folder)
    _run([tools[0], spec, "-o", folder / "schema.d.ts"], "typescript: openapi-typescript")
    config = {
        "extends": str(SOURCES / "typescript" / "tsconfig.json"),
        "compilerOptions": {
            "noEmit": False,
            "outDir": "./out",
            "rootDir": str(SOURCES / "typescript"),
            "paths": {"jiguang-growth-api": ["./schema.d.ts"]},
        },
        "files": [str(path) for path in sources[:2]],
    }
    (folder / "tsconfig.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    _run(
        [tools[1], "--project", folder / "tsconfig.json", "--pretty", "false"],
        "typescript: tsc --strict of clients/typescript/client.ts",
        quiet=True,
    )
    (folder / "out" / "package.json").write_text('{"type": "module"}\n', encoding="utf-8")
    (folder / ".key").write_text(key, encoding="utf-8")
    return "built"


def build_pydantic(spec: Path, out: Path) -> str:
    folder = out / "pydantic"
    codegen = _venv_tool("datamodel-codegen", "pydantic")
    python = _venv_tool("python", "pydantic")
    harness = SOURCES / "pydantic" / "clientcheck.py"
    version = _run([codegen, "--version"], "pydantic: datamodel-codegen --version")
    key = _key("pydantic", spec, [harness], [version, *PYDANTIC_OPTIONS])
    if _cached(folder, key):
        return "cached"
    _fresh(folder)
    models = folder / "growth_models.py"
    _run(
        [
            codegen,
            "--input",
            spec,
            "--input-file-type=openapi",
            "--output",
            models,
            *PYDANTIC_OPTIONS,
            *PYDANTIC_FORMATTERS,
        ],
        "pydantic: datamodel-codegen",
    )
    _run([python, "-W", "error", "-c", "import growth_models"], "pydantic: import of the models", cwd=folder)
    mypy = _need(ROOT / ".venv" / "bin" / "mypy", "pydantic: install step 'make setup'", "run 'make setup'")
    _run(
        [mypy, "--strict", "--no-incremental", "--python-executable", python, models, harness],
        "pydantic: mypy --strict of the models and clients/pydantic/clientcheck.py",
        env={"MYPYPATH": str(folder)},
    )
    (folder / ".key").write_text(key, encoding="utf-8")
    return "built"


JAVA_OPTIONS = (
    "--schema-mappings",
    "EventPropertyValue=com.google.gson.JsonElement,UserAttributeValue=com.google.gson.JsonElement",
)
"""The value unions as Gson's JsonElement: the default okhttp-gson anyOf classes drop strings,
cannot write arrays and cut 46.2 to 46 (docs/clients.md)."""
MAVEN_REPO = OUT / "m2"
"""Maven's local repository for make clients: kept across spec changes, never ~/.m2."""


def _maven(language: str, project: Path, goals: Sequence[str], key_inputs: Sequence[Path]) -> None:
    """Run Maven offline when this pom's artifacts were resolved before, else resolve them first."""
    mvn = _system_tool("mvn", language, "apt-get install maven")
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in key_inputs)).hexdigest()[:16]
    stamp = MAVEN_REPO / f".resolved-{language}-{digest}"
    base: list[str | Path] = [mvn, "-B", "-q", f"-Dmaven.repo.local={MAVEN_REPO}"]
    if stamp.exists():
        _run(
            [*base, "-o", *goals],
            f"{language}: mvn -o {' '.join(goals)} (offline, warnings as errors)",
            cwd=project,
        )
        return
    _run(
        [*base, *goals],
        f"{language}: mvn {' '.join(goals)} (first build: resolves from Maven Central into build/clients/m2)",
        cwd=project,
    )
    stamp.write_text(digest, encoding="utf-8")


KOTLIN_OPTIONS = ("--schema-mappings", "EventPropertyValue=kotlin.Any,UserAttributeValue=kotlin.Any")
"""The value unions as kotlin.Any: the default Moshi models make them empty classes that hold no
value. ClientCheck.kt adds an exact-number adapter for Any to the generated Serializer."""
JVM = {
    "java": (JAVA_OPTIONS, "ClientCheck.java", "pom.xml", Path("src/main/java/clientcheck")),
    "kotlin": (KOTLIN_OPTIONS, "ClientCheck.kt", "build.gradle", Path("src/main/kotlin/clientcheck")),
}
"""Per JVM language: generator options, check program, the generated build file our pom replaces
(kept as ``<name>.generated``), and where the check program goes."""


def _build_jvm(language: str, spec: Path, out: Path) -> str:
    options, program, build_file, package = JVM[language]
    folder = out / language
    java = _java(language)
    _system_tool("javac", language, "apt-get install openjdk-17-jdk-headless")
    mvn = _system_tool("mvn", language, "apt-get install maven")
    generator = _venv_tool("openapi-generator-cli", language)
    sources = [SOURCES / language / name for name in ("pom.xml", program)]
    versions = [
        _run([generator, "version"], f"{language}: openapi-generator version"),
        _run([java, "-version"], f"{language}: java -version"),
        _run([mvn, "-v"], f"{language}: mvn -v"),
    ]
    key = _key(language, spec, sources, [*versions, *options])
    if _cached(folder, key):
        return "cached"
    _fresh(folder)
    project = folder / "client"
    _generator(language, spec, project, options)
    os.replace(project / build_file, project / f"{build_file}.generated")
    shutil.rmtree(project / "src" / "test", ignore_errors=True)  # the generator's test stubs
    shutil.copy(sources[0], project / "pom.xml")
    (project / package).mkdir(parents=True)
    shutil.copy(sources[1], project / package / program)
    goals = ["compile", "dependency:copy-dependencies", "-DincludeScope=runtime"]
    _maven(language, project, goals, sources[:1])
    (folder / ".key").write_text(key, encoding="utf-8")
    return "built"


def build_java(spec: Path, out: Path) -> str:
    return _build_jvm("java", spec, out)


def build_kotlin(spec: Path, out: Path) -> str:
    return _build_jvm("kotlin", spec, out)


RUST_BLOCK = SOURCES / "rust" / "any_of.mustache"
"""The one block the Rust client's template adds to the generator's own rust/model.mustache: an
anyOf schema becomes a #[serde(untagged)] enum of its branches in the spec's order (with the
built-in template the value unions are empty structs, and this generator ignores
--schema-mappings). :func:`rust_templates` writes the template; make bundle ships it in dist/."""
RUST_TEMPLATES = OUT / "rust-templates"
"""Where :func:`build_rust` has :func:`rust_templates` write the template it generates with."""
RUST_OPTIONS = ("-t", str(RUST_TEMPLATES))
RUST_STRUCT = "{{#oneOf.isEmpty}}#[derive(Clone, Default, Debug, PartialEq, Serialize, Deserialize)]"
"""Where the built-in template opens a plain struct: the block closes that section for anyOf schemas."""
RUST_STRUCT_END = "{{/oneOf.isEmpty}}\n{{^oneOf.isEmpty}}"
"""Where the built-in template ends the plain struct and opens the oneOf enum: the block goes here."""
RUST_FLAGS = "-D warnings -A non-camel-case-types"
"""Warnings are errors except one: the BOOL enums' variants are named by the spec's
``x-enum-varnames`` (``EVENT_BOOL_TRUE``), chosen for Go and Java, not in Rust's UpperCamelCase."""


def rust_env() -> dict[str, str]:
    """Crates from crates.io on the first build (pinned by clients/rust/Cargo.lock), then only from
    build/clients/cargo-home; compiled dependencies stay in build/clients/rust-target."""
    return {
        "CARGO_HOME": str(OUT / "cargo-home"),
        "CARGO_TARGET_DIR": str(OUT / "rust-target"),
        "RUSTFLAGS": RUST_FLAGS,
    }


def rust_templates(target: Path) -> Path:
    """Write the Rust template folder (``model.mustache``) into ``target``: the pinned generator's
    own template (``author template -g rust``) with :data:`RUST_BLOCK` inserted. Fails naming the
    step when the generator's template no longer has the places the block goes."""
    _java("rust")
    generator = _venv_tool("openapi-generator-cli", "rust")
    with tempfile.TemporaryDirectory() as scratch:
        _run(
            [generator, "author", "template", "-g", "rust", "-o", scratch],
            "rust: openapi-generator author template",
        )
        builtin = (Path(scratch) / "model.mustache").read_text(encoding="utf-8")
    block = re.sub(r"\A\{\{!.*?\}\}\n", "", RUST_BLOCK.read_text(encoding="utf-8"), flags=re.DOTALL)
    for anchor in (RUST_STRUCT, RUST_STRUCT_END):
        if builtin.count(anchor) != 1:
            raise ClientBuildError(
                f"rust: the generator's rust/model.mustache no longer has {anchor!r} once; "
                f"{RUST_BLOCK.relative_to(ROOT)} cannot be inserted"
            )
    struct = RUST_STRUCT.replace("{{#oneOf.isEmpty}}", "{{#oneOf.isEmpty}}{{#anyOf.isEmpty}}")
    ours = builtin.replace(RUST_STRUCT, struct).replace(
        RUST_STRUCT_END, "{{/anyOf.isEmpty}}\n" + block + RUST_STRUCT_END
    )
    _fresh(target)
    (target / "model.mustache").write_text(ours, encoding="utf-8")
    return target


def build_rust(spec: Path, out: Path) -> str:
    """The Rust client, generated with the template override and compiled with clients/rust."""
    folder = out / "rust"
    cargo = _system_tool("cargo", "rust", "apt-get install cargo")
    generator = _venv_tool("openapi-generator-cli", "rust")
    sources = [SOURCES / "rust" / name for name in ("Cargo.toml", "Cargo.lock", "src/main.rs")]
    versions = [
        _run([generator, "version"], "rust: openapi-generator version"),
        _run([cargo, "--version"], "rust: cargo --version"),
        _run(["rustc", "--version"], "rust: rustc --version"),
    ]
    key = _key("rust", spec, [*sources, RUST_BLOCK], [*versions, RUST_FLAGS])
    if _cached(folder, key):
        return "cached"
    _fresh(folder)
    rust_templates(RUST_TEMPLATES)
    _generator("rust", spec, folder / "client", RUST_OPTIONS)
    check = folder / "check"
    (check / "src").mkdir(parents=True)
    for source in sources:
        shutil.copy(source, check / source.relative_to(SOURCES / "rust"))
    _run(
        [cargo, "build", "--locked", "--quiet"],
        "rust: cargo build of the generated client and clients/rust (the first build downloads the "
        "crates pinned in clients/rust/Cargo.lock from crates.io into build/clients/cargo-home)",
        cwd=check,
        env=rust_env(),
    )
    shutil.copy(OUT / "rust-target" / "debug" / "clientcheck", folder / "clientcheck")
    (folder / ".key").write_text(key, encoding="utf-8")
    return "built"


BUILDERS: dict[str, Callable[[Path, Path], str]] = {
    "go": build_go,
    "oapi-codegen": build_oapi_codegen,
    "typescript": build_typescript,
    "pydantic": build_pydantic,
    "java": build_java,
    "kotlin": build_kotlin,
    "rust": build_rust,
}


def write_examples(spec: Path = SPEC, out: Path = OUT) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "examples.json"
    found = [example.to_json() for example in spec_examples.load(spec)]
    path.write_text(json.dumps(found, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def build(languages: Sequence[str] = LANGUAGES, spec: Path = SPEC, out: Path = OUT) -> dict[str, str]:
    """Build each language (or reuse its cache); raise ClientBuildError on the first failure."""
    write_examples(spec, out)
    return {language: BUILDERS[language](spec, out) for language in languages}


def command(language: str, out: Path = OUT) -> list[str]:
    """The command that runs a built client's check program (append its arguments)."""
    if language in {"go", "oapi-codegen", "rust"}:
        return [str(out / language / "clientcheck")]
    if language == "typescript":
        return [shutil.which("node") or "node", str(out / "typescript" / "out" / "client.js")]
    if language == "pydantic":
        return [
            str(VENV / "bin" / "python"),
            str(SOURCES / "pydantic" / "clientcheck.py"),
            str(out / "pydantic"),
        ]
    if language in JVM:
        project = out / language / "client" / "target"
        return [
            shutil.which("java") or "java",
            "-cp",
            f"{project / 'classes'}{os.pathsep}{project / 'dependency' / '*'}",
            "clientcheck.ClientCheck" + ("Kt" if language == "kotlin" else ""),
        ]
    raise ValueError(f"no check program for {language}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/clients.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["build"], help="build every client (or those given by --only)")
    parser.add_argument(
        "--only", default=",".join(BUILDERS), help=f"comma-separated subset of {','.join(BUILDERS)}"
    )
    args = parser.parse_args(argv)
    languages = [name for name in args.only.split(",") if name]
    unknown = sorted(set(languages) - set(BUILDERS))
    if unknown:
        parser.error(f"unknown languages {unknown}")
    failed = False
    for language in languages:
        started = time.monotonic()
        try:
            write_examples()
            result = BUILDERS[language](SPEC, OUT)
        except ClientBuildError as error:
            print(f"clients: {error}", file=sys.stderr)
            failed = True
            continue
        print(f"clients: {language}: {result} ({time.monotonic() - started:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
