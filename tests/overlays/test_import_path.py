"""``import jiguang_growth`` loads the generated models, never the generated client or ``api/``."""

from __future__ import annotations

import json
import subprocess
import sys

UNUSED = ("jiguang_growth_generated.client", "jiguang_growth_generated.api")

_PROBE = """
import json, sys
import jiguang_growth
from jiguang_growth import GrowthClient
GrowthClient("1", "secret-12345678").close()
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_and_using_the_package_leaves_the_generated_client_and_api_unloaded() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], check=True, capture_output=True, text=True)
    loaded = json.loads(done.stdout)
    assert "jiguang_growth_generated.models" in loaded  # the probe did import the generated package
    for module in UNUSED:
        assert not [name for name in loaded if name == module or name.startswith(module + ".")], module


def test_the_generated_client_classes_still_import_on_first_use() -> None:
    probe = (
        "import jiguang_growth_generated as g, sys; "
        "assert 'jiguang_growth_generated.client' not in sys.modules; "
        "from jiguang_growth_generated import AuthenticatedClient, Client; "
        "print(Client.__module__, AuthenticatedClient.__module__)"
    )
    done = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    assert done.stdout.split() == ["jiguang_growth_generated.client"] * 2
