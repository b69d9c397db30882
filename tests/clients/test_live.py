"""Each generated client calls all four operations on the sandbox over loopback.

The stripe-mock pattern: one local mock, every language's client against it. Each client sends
the spec's documented request examples with HTTP Basic auth and reads ``code`` 0, then reads a
failure envelope (an attribute the sandbox does not define: HTTP 400, ``code`` != 0) and a 401
with its ``WWW-Authenticate`` challenge.
"""

from __future__ import annotations

from typing import Any

import pytest

from jiguang_growth import _spec
from jiguang_growth.sandbox import SandboxServer

from .conftest import RUNNABLE, run_check

OPERATIONS = sorted(_spec.operations())


def _live(language: str, sandbox: SandboxServer, examples_file: Any) -> dict[str, Any]:
    user, password = sandbox.auth
    # Go uses the spec's own sandbox server entry and fills in its port variable.
    target = str(sandbox.port) if language == "go" else sandbox.api_url
    result: dict[str, Any] = run_check(language, "live", str(examples_file), target, user, password)
    return result


@pytest.mark.parametrize("language", RUNNABLE)
def test_every_operation_and_two_failures_against_the_sandbox(
    language: str, growth_sandbox: SandboxServer, examples_file: Any
) -> None:
    result = _live(language, growth_sandbox, examples_file)
    for operation in OPERATIONS:
        assert result[operation].get("error") is None, f"{language} {operation}: {result[operation]}"
        assert (result[operation]["status"], result[operation]["code"]) == (200, 0), (
            f"{language} {operation}: {result[operation]}"
        )
    assert isinstance(result["getCuids"]["cuid"], int), (
        f"{language} getCuids read no CUID: {result['getCuids']}"
    )
    failure = result["failure"]
    assert failure["status"] == 400 and failure["code"] not in (0, None), f"{language} failure: {failure}"
    denied = result["unauthorized"]
    assert denied["status"] == 401 and denied["code"] not in (0, None), f"{language} 401: {denied}"
    assert denied["www_authenticate"].startswith("Basic "), f"{language} 401: {denied}"
    state = growth_sandbox.state
    assert len(state.events()) == 2, f"{language}: the sandbox stored {len(state.events())} events"
