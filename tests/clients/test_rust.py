"""The Rust client (OpenAPI Generator -g rust, reqwest): compiled with warnings as errors, and
checked for what it can and cannot do.

Its value unions (``EventPropertyValue``, ``UserAttributeValue``) are generated as empty structs
that hold no value, and the generator ignores ``--schema-mappings``, so Rust is not one of
``clients.LANGUAGES``: every example that carries an event property or a user attribute fails
to decode, and so do the documented ``reportEvents`` and ``setUserAttributes`` requests. These
tests pin exactly that, so the matrix in docs/clients.md has to change when the generator does.
"""

from __future__ import annotations

import json
import subprocess
from functools import cache
from typing import Any

import pytest

from jiguang_growth.sandbox import SandboxServer

from .conftest import EXAMPLES, clients, difference

pytestmark = pytest.mark.timeout(900)


@cache
def _built() -> str:
    return clients.build(["rust"])["rust"]


def _check(*arguments: str) -> Any:
    try:
        _built()
    except clients.ClientBuildError as error:
        pytest.fail(f"rust client: {error}", pytrace=False)
    run = subprocess.run(
        [*clients.command("rust"), *arguments], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _has_union_values(example: Any) -> bool:
    value = example.value
    if example.schema == "ReportEventsRequest":
        return any(event.get("properties") for event in value["data"])
    return example.schema == "SetUserAttributesRequest"


def test_every_example_without_a_union_value_round_trips_and_the_others_fail_to_decode(
    examples_file: Any,
) -> None:
    encoded = _check("roundtrip", str(examples_file))
    for example in EXAMPLES:
        back = encoded[example.name]
        if _has_union_values(example):
            assert "error" in back, f"{example.name}: the Rust union models now hold values: {back}"
        else:
            assert difference(example.value, back) is None, (
                f"{example.name}: {difference(example.value, back)}"
            )


@pytest.mark.parametrize("extended", [False, True], ids=["plain", "vendor-extended"])
def test_the_operations_without_union_values_work_live(
    growth_sandbox: SandboxServer, vendor_extended: str, examples_file: Any, extended: bool
) -> None:
    user, password = growth_sandbox.auth
    result = _check(
        "live", str(examples_file), vendor_extended if extended else growth_sandbox.api_url, user, password
    )
    for operation in ("getCuids", "setUserChannels"):
        assert (result[operation]["status"], result[operation]["code"]) == (200, 0), result[operation]
        assert result[operation]["msg"], result[operation]
    assert isinstance(result["getCuids"]["cuid"], int)
    for operation in ("reportEvents", "setUserAttributes"):  # the documented requests cannot be built
        assert result[operation]["error"].startswith("could not build the request"), result[operation]
    failure = result["failure"]
    assert (failure["status"], failure["data"]["field"]) == (400, "body.data[0].eventName"), failure
    assert failure["code"] not in (0, None) and failure["msg"], failure
    assert ("vendorNote" in failure["data"]) is extended
    denied = result["unauthorized"]
    assert denied["status"] == 401 and denied["code"] not in (0, None), denied
    assert all(result[call]["extra"] == [] for call in result), "the Rust models keep no unnamed field"
