"""Every house rule in .spectral.yaml fires on a spec that breaks it.

Each case edits one thing in a copy of openapi.yaml. All copies are linted in
a single Spectral run (one Node start-up), and each case asserts that the rule
it targets is reported for its copy and for no other reason than that edit:
the unedited copy, written the same way, gives no result at all.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPECTRAL = ROOT / "node_modules/.bin/spectral"
RULESET = ROOT / ".spectral.yaml"

Spec = dict[str, Any]


def _op(spec: Spec) -> Spec:
    operation: Spec = spec["paths"]["/events/report"]["post"]
    return operation


def _json_body(spec: Spec) -> Spec:
    body: Spec = _op(spec)["requestBody"]["content"]["application/json"]
    return body


def _ok_answer(spec: Spec) -> Spec:
    answer: Spec = _op(spec)["responses"]["200"]["content"]["application/json"]
    return answer


BROKEN: dict[str, tuple[str, Callable[[Spec], None]]] = {}


def case(name: str, rule: str) -> Callable[[Callable[[Spec], None]], Callable[[Spec], None]]:
    def register(edit: Callable[[Spec], None]) -> Callable[[Spec], None]:
        BROKEN[name] = (rule, edit)
        return edit

    return register


@case("operation-id-missing", "house-operation-id")
def _(spec: Spec) -> None:
    del _op(spec)["operationId"]


@case("operation-id-not-lower-camel", "house-operation-id")
def _(spec: Spec) -> None:
    _op(spec)["operationId"] = "Report_events"


@case("tag-missing", "house-operation-one-ascii-tag")
def _(spec: Spec) -> None:
    del _op(spec)["tags"]


@case("two-tags", "house-operation-one-ascii-tag")
def _(spec: Spec) -> None:
    _op(spec)["tags"] = ["events", "identity"]


@case("non-ascii-tag", "house-operation-one-ascii-tag")
def _(spec: Spec) -> None:
    _op(spec)["tags"] = ["事件"]


@case("summary-missing", "house-operation-summary")
def _(spec: Spec) -> None:
    del _op(spec)["summary"]


@case("summary-empty", "house-operation-summary")
def _(spec: Spec) -> None:
    _op(spec)["summary"] = ""


@case("external-docs-missing", "house-operation-external-docs")
def _(spec: Spec) -> None:
    del _op(spec)["externalDocs"]


@case("external-docs-not-vendor", "house-operation-external-docs")
def _(spec: Spec) -> None:
    _op(spec)["externalDocs"]["url"] = "https://example.com/report"


@case("qps-limit-missing", "house-operation-qps-limit")
def _(spec: Spec) -> None:
    del _op(spec)["x-qps-limit"]


@case("qps-limit-zero", "house-operation-qps-limit")
def _(spec: Spec) -> None:
    _op(spec)["x-qps-limit"] = 0


@case("qps-limit-string", "house-operation-qps-limit")
def _(spec: Spec) -> None:
    _op(spec)["x-qps-limit"] = "100"


@case("replay-safe-missing", "house-operation-replay-safe")
def _(spec: Spec) -> None:
    del _op(spec)["x-replay-safe"]


@case("replay-safe-without-reason", "house-operation-replay-safe")
def _(spec: Spec) -> None:
    del _op(spec)["x-replay-safe"]["reason"]


@case("replay-safe-not-boolean", "house-operation-replay-safe")
def _(spec: Spec) -> None:
    _op(spec)["x-replay-safe"]["safe"] = "yes"


@case("replay-safe-not-in-description", "house-operation-replay-safe")
def _(spec: Spec) -> None:
    _op(spec)["description"] = _op(spec)["description"].replace("Replay-safe: yes.", "Replays are fine.")


@case("random-id-field-not-a-name", "house-operation-random-id-field")
def _(spec: Spec) -> None:
    _op(spec)["x-random-id-field"] = "random id"


@case("operation-security-missing", "house-operation-security")
def _(spec: Spec) -> None:
    del _op(spec)["security"]


@case("operation-security-empty", "house-operation-security")
def _(spec: Spec) -> None:
    _op(spec)["security"] = []


@case("request-examples-missing", "house-request-examples")
def _(spec: Spec) -> None:
    del _json_body(spec)["examples"]


@case("response-examples-missing", "house-response-examples")
def _(spec: Spec) -> None:
    del _ok_answer(spec)["examples"]


@case("response-failure-example-missing", "house-response-examples")
def _(spec: Spec) -> None:
    del _ok_answer(spec)["examples"]["failure"]


@case("response-success-example-missing", "house-response-examples")
def _(spec: Spec) -> None:
    del _ok_answer(spec)["examples"]["success"]


@case("request-schema-inline", "house-named-request-schema")
def _(spec: Spec) -> None:
    _json_body(spec)["schema"] = {"type": "object"}


@case("request-schema-not-a-request", "house-named-request-schema")
def _(spec: Spec) -> None:
    _json_body(spec)["schema"] = {"$ref": "#/components/schemas/Event"}


@case("response-schema-inline", "house-envelope-response")
def _(spec: Spec) -> None:
    _ok_answer(spec)["schema"] = {"type": "object", "properties": {"code": {"type": "integer"}}}


@case("response-schema-bare-envelope", "house-envelope-response")
def _(spec: Spec) -> None:
    _ok_answer(spec)["schema"] = {"$ref": "#/components/schemas/Envelope"}


@case("response-content-missing", "house-envelope-response")
def _(spec: Spec) -> None:
    del _op(spec)["responses"]["200"]["content"]


@case("response-schema-without-allof", "house-response-schema-extends-envelope")
def _(spec: Spec) -> None:
    spec["components"]["schemas"]["ReportEventsResponse"] = {
        "type": "object",
        "properties": {"code": {"type": "integer"}},
    }


@case("response-schema-allof-other-base", "house-response-schema-extends-envelope")
def _(spec: Spec) -> None:
    spec["components"]["schemas"]["ReportEventsResponse"]["allOf"][0] = {
        "$ref": "#/components/schemas/SetUserChannelsResult"
    }


@case("request-description-missing", "house-request-description")
def _(spec: Spec) -> None:
    del _op(spec)["requestBody"]["description"]


@case("unauthorized-response-missing", "house-error-responses")
def _(spec: Spec) -> None:
    del _op(spec)["responses"]["401"]


@case("rate-limit-response-missing", "house-error-responses")
def _(spec: Spec) -> None:
    del _op(spec)["responses"]["429"]


@case("server-error-response-missing", "house-error-responses")
def _(spec: Spec) -> None:
    del _op(spec)["responses"]["5XX"]


@case("int64-without-maximum", "house-int64-bounded")
def _(spec: Spec) -> None:
    del spec["components"]["schemas"]["Cuid"]["maximum"]


@case("int64-without-minimum", "house-int64-bounded")
def _(spec: Spec) -> None:
    del spec["components"]["schemas"]["Channel"]["properties"]["id"]["minimum"]


UNCHANGED = "unchanged"


def _write(spec: Spec, path: Path) -> None:
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Spectral's results for every copy, keyed by case name (one Spectral run)."""
    folder = tmp_path_factory.mktemp("spectral")
    original = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    _write(original, folder / f"{UNCHANGED}.yaml")
    for name, (_, edit) in BROKEN.items():
        broken = copy.deepcopy(original)
        edit(broken)
        _write(broken, folder / f"{name}.yaml")
    files = sorted(str(path) for path in folder.glob("*.yaml"))
    run = subprocess.run(
        [str(SPECTRAL), "lint", *files, "--ruleset", str(RULESET), "--format", "json", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode in (0, 1), run.stderr
    results: dict[str, list[dict[str, Any]]] = {Path(f).stem: [] for f in files}
    for result in json.loads(run.stdout or "[]"):
        results[Path(result["source"]).stem].append(result)
    return results


def _house_rules() -> set[str]:
    rules = yaml.safe_load(RULESET.read_text(encoding="utf-8"))["rules"]
    return {name for name in rules if name.startswith("house-")}


def test_the_unchanged_spec_has_no_findings(findings: dict[str, list[dict[str, Any]]]) -> None:
    assert findings[UNCHANGED] == []


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_the_house_rule_fires_on_a_spec_that_breaks_it(
    name: str, findings: dict[str, list[dict[str, Any]]]
) -> None:
    rule, _ = BROKEN[name]
    codes = {result["code"] for result in findings[name]}
    assert rule in codes, f"{name}: expected {rule}, Spectral reported {sorted(codes)}"
    fired = [result for result in findings[name] if result["code"] == rule]
    # Every house rule is an error, so `make lint` fails on it whatever --fail-severity says.
    assert all(result["severity"] == 0 for result in fired)


def test_every_house_rule_has_a_breaking_case() -> None:
    assert _house_rules() == {rule for rule, _ in BROKEN.values()}


def test_an_int64_bounded_at_zero_counts_as_bounded(tmp_path: Path) -> None:
    """`minimum: 0` is a bound; a truthiness check would report it."""
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    spec["components"]["schemas"]["Channel"]["properties"]["id"]["minimum"] = 0
    _write(spec, tmp_path / "zero.yaml")
    run = subprocess.run(
        [str(SPECTRAL), "lint", str(tmp_path / "zero.yaml"), "--ruleset", str(RULESET), "-f", "json", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout or "[]") == []
