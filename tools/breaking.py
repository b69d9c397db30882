"""Breaking-change guard: compare openapi.yaml with the last released spec.

The released spec is the committed baseline ``spec-baseline/openapi-<version>.yaml`` with the
highest version (``--baseline`` picks another file). The comparison is done by the pinned npm
``openapi-diff``, plus three checks for changes it does not report (found by trying them):
narrower security requirements, a removed request or response media type, and an enum that
loses a value.

It fails (exit 1) when

* a change is breaking and the major part of ``info.version`` was not raised;
* ``info.version`` is lower than the baseline's;
* the spec changed but ``CHANGELOG.md`` has no entry above the baseline's section, the entry
  for a new ``info.version`` has no ``## [<version>]`` heading, or a breaking change is not
  marked "(breaking change)".

It stops with exit 2 and a message, and never passes, when the baseline or the spec cannot be
read, is not valid OpenAPI, or openapi-diff itself fails.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT, SPEC, node_tool
from _versioning import CHANGELOG, GuardError, changelog_problems, report, version_problems, version_tuple

BASELINES = ROOT / "spec-baseline"
OPENAPI_DIFF = node_tool("openapi-diff")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
BASELINE_NAME = re.compile(r"^openapi-(\d+\.\d+\.\d+)\.ya?ml$")


@dataclass(frozen=True)
class Change:
    code: str
    where: str

    def __str__(self) -> str:
        return f"{self.code} at {self.where}"


# --- reading -----------------------------------------------------------------------------------


def load_spec(path: Path, role: str) -> dict[str, Any]:
    """Read and validate one OpenAPI document, or raise GuardError saying what is wrong."""
    from openapi_spec_validator import validate  # noqa: PLC0415 - slow import, only when needed

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GuardError(f"the {role} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise GuardError(f"cannot read the {role} {path}: {error}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise GuardError(f"the {role} {path} is not YAML or JSON: {error}") from None
    if not isinstance(document, dict) or "openapi" not in document:
        raise GuardError(f"the {role} {path} is not an OpenAPI document (no 'openapi' key)")
    try:
        validate(document)
    except Exception as error:  # the validator raises several unrelated types
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise GuardError(f"the {role} {path} is not valid OpenAPI: {first_line}") from None
    version_tuple(document.get("info", {}).get("version"), str(path))
    return document


def latest_baseline(folder: Path = BASELINES) -> Path:
    """The ``openapi-<version>.yaml`` in ``folder`` with the highest version."""
    if not folder.is_dir():
        raise GuardError(f"there is no baseline folder {folder}; see 'Releasing the spec' in docs/spec.md")
    found = []
    for path in folder.iterdir():
        match = BASELINE_NAME.match(path.name)
        if match:
            found.append((version_tuple(match.group(1), str(path)), path))
    if not found:
        raise GuardError(
            f"{folder} holds no openapi-<version>.yaml; see 'Releasing the spec' in docs/spec.md"
        )
    return max(found)[1]


# --- openapi-diff ------------------------------------------------------------------------------


def _location(difference: dict[str, Any]) -> str:
    for side in ("sourceSpecEntityDetails", "destinationSpecEntityDetails"):
        details = difference.get(side) or []
        if details and details[0].get("location"):
            return str(details[0]["location"])
    return "?"


def openapi_diff(baseline: dict[str, Any], current: dict[str, Any]) -> tuple[list[Change], list[Change]]:
    """(breaking, other) differences according to openapi-diff."""
    if not OPENAPI_DIFF.exists():
        raise GuardError("node_modules/.bin/openapi-diff is missing; run 'make setup'")
    with tempfile.TemporaryDirectory(prefix="breaking-") as folder:
        paths = []
        for name, document in (("baseline.json", baseline), ("current.json", current)):
            path = Path(folder) / name
            path.write_text(json.dumps(document), encoding="utf-8")
            paths.append(str(path))
        # Node cuts output written to a pipe at 64 KiB when it exits, so use a file.
        output_path = Path(folder) / "output.txt"
        with output_path.open("w", encoding="utf-8") as output:
            run = subprocess.run(
                [str(OPENAPI_DIFF), *paths],
                stdout=output,
                stderr=subprocess.PIPE,
                text=True,
                check=False,
                timeout=120,
            )
        text = output_path.read_text(encoding="utf-8")
    headline, _, body = text.partition("\n")
    if run.returncode not in (0, 1) or (run.returncode == 1 and not headline.startswith("Breaking")):
        raise GuardError(f"openapi-diff failed (exit {run.returncode}):\n{text}{run.stderr}".rstrip())
    if not body.strip():
        if headline.startswith("No changes"):
            return [], []
        raise GuardError(f"openapi-diff gave no result:\n{text}{run.stderr}".rstrip())
    try:
        result = json.loads(body)
    except json.JSONDecodeError as error:
        raise GuardError(f"cannot read openapi-diff's answer ({error}):\n{text[:2000]}") from None
    breaking = [Change(d["code"], _location(d)) for d in result.get("breakingDifferences", [])]
    other = [
        Change(d["code"], _location(d))
        for key in ("nonBreakingDifferences", "unclassifiedDifferences")
        for d in result.get(key, [])
    ]
    if bool(breaking) != (run.returncode == 1):
        raise GuardError(f"openapi-diff's exit status {run.returncode} disagrees with its answer")
    return breaking, other


# --- what openapi-diff 0.24.1 does not report --------------------------------------------------


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in (document.get("paths") or {}).items():
        for method in METHODS:
            if isinstance(item, dict) and isinstance(item.get(method), dict):
                yield f"{method.upper()} {path}", item[method]


def _security(document: dict[str, Any], operation: dict[str, Any]) -> set[frozenset[str]]:
    requirements = operation.get("security", document.get("security", []))
    return {frozenset(requirement) for requirement in requirements or [{}]}


def _media_types(node: Any) -> set[str]:
    return set((node or {}).get("content") or {}) if isinstance(node, dict) else set()


def _enums(node: Any, where: str = "#") -> Iterator[tuple[str, list[Any]]]:
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield where, node["enum"]
        for key, value in node.items():
            if key not in ("example", "examples"):
                yield from _enums(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _enums(value, f"{where}/{index}")


def extra_breaking(baseline: dict[str, Any], current: dict[str, Any]) -> list[Change]:
    """The breaking changes openapi-diff does not report, found by comparing the two documents."""
    return [
        *_operation_changes(baseline, current),
        *_scheme_changes(baseline, current),
        *_enum_changes(baseline, current),
    ]


def _operation_changes(baseline: dict[str, Any], current: dict[str, Any]) -> Iterator[Change]:
    """Narrower security and removed media types of the operations both documents have."""
    now = dict(_operations(current))
    for name, before in _operations(baseline):
        after = now.get(name)
        if after is None:
            continue  # openapi-diff reports removed operations
        # A client meeting one of the old alternatives must still meet one of the new ones.
        alternatives = _security(current, after)
        if any(not any(new <= old for new in alternatives) for old in _security(baseline, before)):
            yield Change("security.requirement.change", name)
        for media in _media_types(before.get("requestBody")) - _media_types(after.get("requestBody")):
            yield Change("request.media-type.remove", f"{name} {media}")
        yield from _response_media_changes(name, before, after)


def _response_media_changes(name: str, before: dict[str, Any], after: dict[str, Any]) -> Iterator[Change]:
    for status, response in (before.get("responses") or {}).items():
        after_response = (after.get("responses") or {}).get(status)
        if after_response is None:
            continue  # openapi-diff reports removed statuses
        for media in _media_types(response) - _media_types(after_response):
            yield Change("response.media-type.remove", f"{name} {status} {media}")


def _scheme_changes(baseline: dict[str, Any], current: dict[str, Any]) -> Iterator[Change]:
    schemes_before = (baseline.get("components") or {}).get("securitySchemes") or {}
    schemes_after = (current.get("components") or {}).get("securitySchemes") or {}
    for scheme, definition in schemes_before.items():
        if scheme in schemes_after and _scheme_key(definition) != _scheme_key(schemes_after[scheme]):
            yield Change("security.scheme.change", scheme)


def _enum_changes(baseline: dict[str, Any], current: dict[str, Any]) -> Iterator[Change]:
    after_enums = dict(_enums(current))
    for where, values in _enums(baseline):
        if where in after_enums:
            lost = [value for value in values if value not in after_enums[where]]
            if lost:
                yield Change(f"enum.value.remove {lost!r}", where)


def _scheme_key(definition: Any) -> tuple[Any, ...]:
    if not isinstance(definition, dict):
        return (definition,)
    return tuple(definition.get(key) for key in ("type", "scheme", "in", "name", "bearerFormat"))


# --- the rule ----------------------------------------------------------------------------------


def check(spec: Path, baseline: Path, changelog: Path) -> list[str]:
    """Every reason the spec cannot go out as it is (empty: it can). Prints the comparison."""
    before = load_spec(baseline, "baseline")
    after = load_spec(spec, "spec")
    old = before["info"]["version"]
    new = after["info"]["version"]
    print(f"breaking: {spec.name} {new} against baseline {baseline.name} {old}")
    if before == after:
        print("breaking: no change since the baseline")
        return []
    breaking, other = openapi_diff(before, after)
    breaking += extra_breaking(before, after)
    for change in other:
        print(f"  non-breaking: {change}")
    for change in breaking:
        print(f"  BREAKING:     {change}")
    if not breaking and not other:
        print("  (changes openapi-diff does not classify, e.g. descriptions or examples)")
    problems = version_problems(
        old, new, len(breaking), sources=(str(baseline), str(spec)), what="info.version"
    )
    problems += changelog_problems(changelog, old, new, bool(breaking))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/breaking.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=SPEC, help="the spec to check (default openapi.yaml)")
    parser.add_argument("--baseline", type=Path, help="released spec (default: newest in spec-baseline/)")
    parser.add_argument("--changelog", type=Path, default=CHANGELOG, help="default CHANGELOG.md")
    args = parser.parse_args(argv)
    try:
        baseline = args.baseline or latest_baseline()
        problems = check(args.spec, baseline, args.changelog)
    except GuardError as error:
        print(f"breaking: cannot check: {error}", file=sys.stderr)
        return 2
    except subprocess.TimeoutExpired:
        print("breaking: cannot check: openapi-diff did not finish in time", file=sys.stderr)
        return 2
    return report("breaking", problems)


if __name__ == "__main__":
    sys.exit(main())
