"""A spec change that breaks a generated client fails, naming the language and what broke; a
missing tool stops the build naming the install step, never a silent skip."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT, clients, difference, same_json

pytestmark = pytest.mark.timeout(300)


def _spec_copy(tmp_path: Path, edit: Any) -> Path:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    edit(spec["components"]["schemas"])
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_a_float_number_format_changes_go_round_trips(tmp_path: Path) -> None:
    def single_precision(schemas: dict[str, Any]) -> None:
        schemas["NumberValue"]["format"] = "float"

    spec = _spec_copy(tmp_path, single_precision)
    out = tmp_path / "clients"
    clients.build_go(spec, out)
    examples = clients.write_examples(spec, out)
    run = subprocess.run(
        [str(out / "go" / "clientcheck"), "roundtrip", str(examples)],
        capture_output=True,
        text=True,
        check=True,
    )
    encoded = json.loads(run.stdout)
    changed = sorted(
        e.name for e in clients.spec_examples.load(spec) if not same_json(encoded[e.name], e.value)
    )
    assert "reportEvents request bounds" in changed  # 16777217 comes back as 16777216
    assert "setUserAttributes request every_type" in changed
    bounds = next(e for e in clients.spec_examples.load(spec) if e.name == "reportEvents request bounds")
    assert difference(bounds.value, encoded[bounds.name]) == (
        "$.data[0].properties.count: 16777217 came back as 16777216"
    )


def test_value_unions_without_the_integer_branch_change_pydantic_round_trips(tmp_path: Path) -> None:
    def no_integer_branch(schemas: dict[str, Any]) -> None:
        for union in ("EventPropertyValue", "UserAttributeValue"):
            branches = schemas[union]["anyOf"]
            branches.remove({"$ref": "#/components/schemas/IntegerValue"})

    spec = _spec_copy(tmp_path, no_integer_branch)
    out = tmp_path / "clients"
    clients.build_pydantic(spec, out)
    examples = clients.write_examples(spec, out)
    python, script = clients.command("pydantic")[:2]
    run = subprocess.run(
        [python, script, str(out / "pydantic"), "roundtrip", str(examples)],
        capture_output=True,
        text=True,
        check=True,
    )
    encoded = json.loads(run.stdout)
    assert same_json(encoded["reportEvents request documented"]["data"][0]["properties"]["property_b"], 2.0)
    assert same_json(
        encoded["setUserAttributes request every_type"]["data"]["is_vip"], 1.0
    )  # a BOOL 1 as 1.0
    assert not same_json(encoded["setUserAttributes request every_type"], _value(spec, "every_type"))


def _value(spec: Path, name: str) -> Any:
    return next(e.value for e in clients.spec_examples.load(spec) if e.name.endswith(f" request {name}"))


def test_enums_without_varnames_stop_the_go_build(tmp_path: Path) -> None:
    def plain_enums(schemas: dict[str, Any]) -> None:
        for name in ("EventBoolValue", "UserBoolValue"):
            del schemas[name]["x-enum-varnames"]

    spec = _spec_copy(tmp_path, plain_enums)
    with pytest.raises(clients.ClientBuildError) as failure:
        clients.build_go(spec, tmp_path / "clients")
    assert str(failure.value).startswith("go: go build of the generated client failed")
    assert "redeclared" in str(failure.value)


def test_a_missing_tools_venv_names_the_pip_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "VENV", tmp_path / "no-venv")
    for builder, language in ((clients.build_go, "go"), (clients.build_pydantic, "pydantic")):
        with pytest.raises(clients.ClientBuildError) as failure:
            builder(ROOT / "openapi.yaml", tmp_path / "out")
        message = str(failure.value)
        assert message.startswith(f"{language}: install step 'pip install -r clients/requirements.txt'")
        assert "make clients" in message


@pytest.mark.parametrize(
    ("language", "program", "step"),
    [
        ("java", "java", "apt-get install openjdk-17-jdk-headless"),
        ("kotlin", "java", "apt-get install openjdk-17-jdk-headless"),
        ("typescript", "node", "apt-get install nodejs npm"),
    ],
)
def test_a_missing_system_tool_names_the_install_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str, program: str, step: str
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no java, no node
    with pytest.raises(clients.ClientBuildError) as failure:
        clients.BUILDERS[language](ROOT / "openapi.yaml", tmp_path / "out")
    assert str(failure.value) == f"{language}: install step '{step}' did not leave '{program}' on PATH"


def test_a_second_build_is_served_from_the_cache(tmp_path: Path) -> None:
    assert clients.build(["pydantic"])["pydantic"] in {"built", "cached"}
    assert clients.build(["pydantic"]) == {"pydantic": "cached"}


@pytest.mark.parametrize("language", ["java", "kotlin"])
def test_a_missing_maven_names_its_install_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    for tool in ("java", "javac"):  # Java is there, Maven is not
        found = shutil.which(tool)
        assert found is not None
        (tmp_path / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(clients.ClientBuildError) as failure:
        clients.BUILDERS[language](ROOT / "openapi.yaml", tmp_path / "out")
    assert (
        str(failure.value) == f"{language}: install step 'apt-get install maven' did not leave 'mvn' on PATH"
    )


def test_an_unreachable_module_proxy_stops_oapi_codegen_naming_the_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clients, "OUT", tmp_path / "clients")  # an empty module cache
    monkeypatch.setenv("GOPROXY", "off")  # as when the proxy cannot be reached
    with pytest.raises(clients.ClientBuildError) as failure:
        clients.build_oapi_codegen(ROOT / "openapi.yaml", tmp_path / "out")
    message = str(failure.value)
    assert message.startswith("oapi-codegen: go mod download (the first build downloads the modules"), message
    assert "module lookup disabled by GOPROXY=off" in message


def test_an_unreachable_maven_central_stops_the_java_build_naming_the_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clients, "MAVEN_REPO", tmp_path / "m2")  # an empty local repository
    settings = tmp_path / ".m2" / "settings.xml"  # every download goes to a closed port on loopback
    settings.parent.mkdir()
    settings.write_text(
        "<settings><mirrors><mirror><id>closed</id><mirrorOf>*</mirrorOf>"
        "<url>http://127.0.0.1:9/maven2</url></mirror></mirrors></settings>",
        encoding="utf-8",
    )
    monkeypatch.setenv("MAVEN_OPTS", f"-Duser.home={tmp_path}")  # Maven reads ~/.m2/settings.xml
    with pytest.raises(clients.ClientBuildError) as failure:
        clients.build_java(ROOT / "openapi.yaml", tmp_path / "out")
    message = str(failure.value)
    assert message.startswith(
        "java: mvn compile dependency:copy-dependencies -DincludeScope=runtime (first build: "
        "resolves from Maven Central into build/clients/m2) failed"
    ), message
