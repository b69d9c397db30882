"""Fail if any $ref in an OpenAPI document points nowhere.

openapi-spec-validator 0.9.0 accepts a dangling ``$ref`` inside a media-type
schema, so ``make validate`` runs this after it. Only local (``#/...``) refs
are allowed: the spec is a single file, and openapi-python-client cannot read
remote ones.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import yaml


def iter_refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """Yield ``(location, ref)`` for every ``$ref`` under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from iter_refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from iter_refs(value, f"{where}/{index}")


def resolves(document: Any, ref: str) -> bool:
    target = document
    for raw in ref.removeprefix("#/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or part not in target:
            return False
        target = target[part]
    return True


def problems(document: Any) -> list[str]:
    found = []
    for where, ref in iter_refs(document):
        if not ref.startswith("#/"):
            found.append(f"{where}: $ref {ref!r} is not local; keep the spec in one file")
        elif not resolves(document, ref):
            found.append(f"{where}: $ref {ref!r} points nowhere")
    return found


def main(paths: list[str]) -> int:
    status = 0
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        for problem in problems(document):
            print(f"{path}: {problem}", file=sys.stderr)
            status = 1
        if status == 0:
            print(f"{path}: every $ref resolves")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
