"""Write the spec for other teams: dist/openapi.json, dist/openapi.yaml, dist/README.md and
dist/rust-templates/ (the template override the README's Rust command needs).

Both files are made by ``redocly bundle`` (pinned in package.json) and then checked here:
each must pass openapi-spec-validator, hold only local ``$ref``s that resolve, and say exactly
what ``openapi.yaml`` says. ``dist/README.md`` is ``docs/dist-README.md`` with the version and
checksums filled in; ``dist/rust-templates/`` is the template folder tools/clients.py generates
the Rust client with (the pinned generator's own model template plus ``clients/rust/any_of.mustache``).
``make bundle`` runs this.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT, SPEC, node_tool, redocly_env
from check_refs import problems

import clients

DIST = ROOT / "dist"
README_TEMPLATE = ROOT / "docs" / "dist-README.md"
REDOCLY = node_tool("redocly")
OUTPUTS = ("openapi.json", "openapi.yaml")


PLACEHOLDER = re.compile(r"\{\{[a-z0-9_]+\}\}")


def ref_problems(document: Any) -> list[str]:
    """tools/check_refs.py's check: every $ref is local and resolves."""
    return problems(document)


class BundleError(Exception):
    pass


def _redocly_bundle(output: Path) -> None:
    run = subprocess.run(
        [str(REDOCLY), "bundle", str(SPEC), "--output", str(output)],
        cwd=ROOT,
        env=redocly_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0 or not output.is_file():
        raise BundleError(f"redocly bundle failed for {output.name}:\n{run.stdout}{run.stderr}")


def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def verify(path: Path, source: dict[str, Any]) -> None:
    """Fail unless ``path`` is valid OpenAPI that says the same as ``source``."""
    from openapi_spec_validator import validate  # noqa: PLC0415 - slow import

    document = _load(path)
    try:
        validate(document)
    except Exception as error:  # the validator raises several unrelated types
        raise BundleError(f"{path} is not valid OpenAPI: {str(error).splitlines()[0]}") from None
    broken = ref_problems(document)
    if broken:
        raise BundleError(f"{path}: " + "; ".join(broken))
    if document != source:
        raise BundleError(f"{path} does not say the same as {SPEC.name}")


def bundle(out: Path = DIST) -> dict[str, str]:
    """Write the three files into ``out``; return each spec file's SHA-256."""
    if not REDOCLY.exists():
        raise BundleError("node_modules/.bin/redocly is missing; run 'make setup'")
    source = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    out.mkdir(parents=True, exist_ok=True)
    digests = {}
    with tempfile.TemporaryDirectory(dir=out, prefix=".bundle-") as staging:
        # Nothing lands in ``out`` unless both files pass.
        for name in OUTPUTS:
            staged = Path(staging) / name
            _redocly_bundle(staged)
            verify(staged, source)
            digests[name] = hashlib.sha256(staged.read_bytes()).hexdigest()
        for name in OUTPUTS:
            os.replace(Path(staging) / name, out / name)
    template = README_TEMPLATE.read_text(encoding="utf-8")
    readme = (
        template.replace("{{version}}", str(source["info"]["version"]))
        .replace("{{openapi}}", str(source["openapi"]))
        .replace("{{sha256_json}}", digests["openapi.json"])
        .replace("{{sha256_yaml}}", digests["openapi.yaml"])
    )
    left = PLACEHOLDER.search(readme)  # a placeholder is {{name}}; Go's {{URL: ...}} literal is code
    if left:
        raise BundleError(f"{README_TEMPLATE} has a placeholder this script does not fill: {left.group()}")
    (out / "README.md").write_text(readme, encoding="utf-8")
    clients.rust_templates(out / "rust-templates")
    return digests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/bundle.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DIST, help="output folder (default dist/)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        digests = bundle(args.out)
    except (BundleError, clients.ClientBuildError) as error:
        print(f"bundle: {error}", file=sys.stderr)
        return 1
    for name, digest in digests.items():
        print(f"bundle: {args.out / name}  valid, same as {SPEC.name}  sha256 {digest[:16]}...")
    print(f"bundle: {args.out / 'README.md'}  ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
