"""``import jiguang_growth`` loads neither the generated models nor attrs; the first call does.

``make generate`` keeps no generated HTTP client (``client.py``, ``api/``): the clients' methods
are the generated ``operations`` module, loaded with the package.
"""

from __future__ import annotations

import json
import subprocess
import sys

NEVER = ("jiguang_growth_generated.client", "jiguang_growth_generated.api")
FIRST_USE = ("jiguang_growth_generated.models", "jiguang_growth_generated.params", "attrs")

_PROBE = """
import json, sys
import httpx
import jiguang_growth
from jiguang_growth import GrowthClient
phases = {}
def answer(request):
    return httpx.Response(200, json={"code": 0, "msg": "ok", "data": {}})
client = GrowthClient("1", "secret-12345678", transport=httpx.MockTransport(answer))
phases["import"] = sorted(sys.modules)
client.report_events([{"cuid": 1, "eventName": "open_app", "itime": 1700000000000}])
client.close()
phases["call"] = sorted(sys.modules)
print(json.dumps(phases))
"""


def _loaded(names: list[str], module: str) -> bool:
    return any(name == module or name.startswith(module + ".") for name in names)


def test_import_and_construction_leave_the_models_unloaded_and_the_first_call_loads_them() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], check=True, capture_output=True, text=True)
    phases = json.loads(done.stdout)
    for module in (*FIRST_USE, *NEVER):
        assert not _loaded(phases["import"], module), f"import jiguang_growth loaded {module}"
    assert _loaded(phases["call"], "jiguang_growth_generated.models")  # the probe did reach them
    for module in NEVER:
        assert not _loaded(phases["call"], module), module


def test_the_typed_dict_names_load_on_first_use() -> None:
    probe = (
        "import sys, jiguang_growth as g; "
        "assert 'jiguang_growth_generated.params' not in sys.modules; "
        "from jiguang_growth import EventParam; "
        "print(EventParam.__module__, 'jiguang_growth_generated.params' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    assert done.stdout.split() == ["jiguang_growth_generated.params", "True"]


def test_the_generated_package_has_no_http_client_of_its_own() -> None:
    probe = (
        "import importlib.util as u, jiguang_growth; "
        "names = ('client', 'api', 'errors'); "
        "print([u.find_spec(f'jiguang_growth_generated.{name}') is None for name in names])"
    )
    done = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    assert done.stdout.strip() == "[True, True, True]"
