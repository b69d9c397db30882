"""Regenerate generated/jiguang_growth_generated from openapi.yaml.

The client is generated into a temporary folder beside the target and swapped
in only when every step succeeded, so a failed run leaves generated/ as it was.
Besides the generator's output the package gets:

* ``py.typed``;
* ``openapi.json``, the spec the code was generated from, which the overlays
  and the sandbox read at run time;
* ``provenance.json``, the spec version and SHA-256 and the tool versions;
* an ``__init__.py`` that imports ``client.py`` on first use of ``Client`` or
  ``AuthenticatedClient`` instead of at once, so that the overlays, which use
  only ``models`` and ``types``, never load the generated client or ``api/``
  (they stay in the package for direct use).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
CONFIG = ROOT / "codegen" / "config.yaml"
PACKAGE = "jiguang_growth_generated"
TARGET = ROOT / "generated" / PACKAGE

EAGER_CLIENT_IMPORT = "from .client import AuthenticatedClient, Client\n"
"""The line of the generator's ``__init__.py`` that :func:`lazy_client_import` replaces."""
LAZY_CLIENT_IMPORT = """from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import AuthenticatedClient, Client
"""
LAZY_CLIENT_GETATTR = '''

def __getattr__(name: str) -> Any:
    """Import client.py on first use (added by codegen/generate.py; models need no client)."""
    if name in __all__:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
'''


def lazy_client_import(text: str) -> str:
    """The generator's ``__init__.py`` with its client import deferred to first use."""
    if text.count(EAGER_CLIENT_IMPORT) != 1 or "__all__ = (" not in text:
        raise RuntimeError(f"generate: {PACKAGE}/__init__.py no longer has the expected client import")
    return text.replace(EAGER_CLIENT_IMPORT, LAZY_CLIENT_IMPORT) + LAZY_CLIENT_GETATTR


def main() -> int:
    raw = SPEC.read_bytes()
    document = yaml.safe_load(raw)
    TARGET.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".generate-", dir=TARGET.parent) as tmp:
        staged = Path(tmp) / PACKAGE
        command = [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(SPEC),
            "--config",
            str(CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(staged),
            "--fail-on-warning",
        ]
        result = subprocess.run(command, cwd=tmp, check=False)
        if result.returncode != 0:
            print(
                f"generate: openapi-python-client failed (exit {result.returncode}); "
                f"{TARGET.relative_to(ROOT)} left untouched",
                file=sys.stderr,
            )
            return result.returncode
        (staged / "py.typed").write_text("")
        init = staged / "__init__.py"
        init.write_text(lazy_client_import(init.read_text("utf-8")), encoding="utf-8")
        (staged / "openapi.json").write_text(
            json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        provenance = {
            "spec_file": SPEC.name,
            "spec_version": str(document["info"]["version"]),
            "spec_sha256": hashlib.sha256(raw).hexdigest(),
            "generator": f"openapi-python-client {version('openapi-python-client')}",
            "formatter": f"ruff {version('ruff')}",
        }
        (staged / "provenance.json").write_text(json.dumps(provenance, indent=1) + "\n")
        retired = Path(tmp) / "previous"
        if TARGET.exists():
            TARGET.rename(retired)
        staged.rename(TARGET)
    print(f"generate: wrote {TARGET.relative_to(ROOT)} from {SPEC.name} {provenance['spec_version']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
